#!/usr/bin/env bash
# fwbench.sh: figures for the firmware library (issue 15), printed as markdown.
#   1. loopback download of SIZE_MB (default 2048) from Debian's nginx: `curl -o FILE`
#      against `idevicebench firmware fetch` (which also hashes SHA1 and SHA256), wall
#      time and the process's CPU time;
#   2. `idevicebench firmware` scanning N (default 50) generated IPSWs of a few MiB whose
#      manifests have the size of real ones (1.4 MB, 38 build identities);
#   3. arrival to restore start with the firmware present (the real bench under benchsim,
#      on_recovery = update, phones of three models), from the JSON events.
# usage: bench/fwbench.sh [SIZE_MB] [N]
set -eu
IDB_TOP=$(cd "$(dirname "$0")/.." && pwd)
IDB_BUILD=${IDB_BUILD:-$IDB_TOP/build}
IDEVICEBENCH=$IDB_BUILD/idevicebench
SIZE_MB=${1:-2048}
N=${2:-50}
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
ok() { :; }
not_ok() { echo "FAILED: $*" >&2; }

W="$T/www"
mkdir -p "$W/fw"
# a real zip would take long to build at this size; the index only needs size and hashes
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$W/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw"
nginx_start "$W" >/dev/null
python3 "$MKINDEX" "$W" "http://127.0.0.1:$NGINX_PORT" iPhone10,6 0x8015 0x0e \
	fw/iPhone10,6_16.7.10_20H350_Restore.ipsw:16.7.10:20H350:1
URL="http://127.0.0.1:$NGINX_PORT/fw/iPhone10,6_16.7.10_20H350_Restore.ipsw"
printf '[firmware]\ndir = %s/lib\nindex = http://127.0.0.1:%s\n' "$T" "$NGINX_PORT" >"$T/c.conf"
sync
# run_idb NAME [ENV=VALUE...]: one `firmware fetch` into an empty library; wall, user and
# system time in $T/NAME.time, and each thread's CPU seconds (utime + stime, sampled
# every 20 ms until it exits) in $T/NAME.threads as "COMM SECONDS" lines
run_idb() {
	local name=$1 tpid ipid t c v tick
	shift
	rm -rf "$T/lib"; sync
	local n0
	n0=$(ngx)
	env "$@" /usr/bin/time -f "%e %U %S" -o "$T/$name.time" "$IDEVICEBENCH" -c "$T/c.conf" \
		firmware fetch iPhone10,6 >/dev/null 2>&1 &
	tpid=$!
	ipid=
	for _ in $(seq 1 200); do
		ipid=$(pgrep -P "$tpid" -x idevicebench || true)
		[ -n "$ipid" ] && break
		sleep 0.01
	done
	tick=$(getconf CLK_TCK)
	declare -A cpu=()
	while [ -n "$ipid" ] && [ -d "/proc/$ipid" ]; do
		for t in /proc/"$ipid"/task/*; do
			c=$(cat "$t/comm" 2>/dev/null) || continue
			[ "$t" = "/proc/$ipid/task/$ipid" ] && c=loop
			v=$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null) || continue
			[ -n "$v" ] && [ "$v" -ge "${cpu[$c]:-0}" ] && cpu[$c]=$v
		done
		sleep 0.02
	done
	wait "$tpid" || true
	awk -v a="$n0" -v b="$(ngx)" -v t="$tick" 'BEGIN { printf "%.2f\n", (b - a) / t }' >"$T/$name.ngx"
	: >"$T/$name.threads"
	for c in "${!cpu[@]}"; do
		awk -v c="$c" -v v="${cpu[$c]}" -v t="$tick" 'BEGIN { printf "%s %.2f\n", c, v / t }' >>"$T/$name.threads"
	done
}
# nginx's CPU ticks so far (one process: master_process off): what serving a transfer cost, for the budget
ngx() { awk '{ print $14 + $15 }' "/proc/$NGINX_PID/stat" 2>/dev/null || echo 0; }
# timed LABEL CMD...: CMD's wall, user, sys in $T/LABEL.time, nginx's CPU meanwhile in $T/LABEL.ngx
timed() {
	local l=$1 a
	shift
	a=$(ngx)
	/usr/bin/time -f "%e %U %S" -o "$T/$l.time" "$@" >/dev/null 2>&1 || true
	awk -v a="$a" -v b="$(ngx)" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", (b - a) / t }' >"$T/$l.ngx"
}
thread_cpu() { awk -v c="$2" '$1 == c { print $2; f = 1 } END { if (!f) print 0 }' "$T/$1.threads"; }

timed curl curl -s -o "$T/curl.out" "$URL"
rm -f "$T/curl.out"; sync
timed curls sh -c 'curl -s -o "$1" "$2" && sync "$1"' sh "$T/curl.out" "$URL"
rm -f "$T/curl.out"; sync
timed curlh sh -c 'curl -s "$1" | tee "$2" | sha1sum >/dev/null && sync "$2"' sh "$URL" "$T/curl.out"
rm -f "$T/curl.out"; sync
run_idb idb
run_idb one IDB_FWDL_ONE_HASHER=1
# IDB_BASELINE=BINARY: the same fetch by another build (before/after in one run)
if [ -n "${IDB_BASELINE:-}" ]; then
	rm -rf "$T/lib"; sync
	timed base "$IDB_BASELINE" -c "$T/c.conf" firmware fetch iPhone10,6
fi
# what the two digests alone cost on this CPU (OpenSSL, 512 kB blocks), seconds for SIZE_MB
hcost=$(openssl speed -bytes 524288 -seconds 1 sha1 sha256 2>/dev/null |
	awk -v m="$SIZE_MB" '$1 == "sha1" || $1 == "sha256" { k = $2; sub(/k$/, "", k); s += m * 1048.576 / k } END { printf "%.2f", s }')
row() { # LABEL NAME
	read -r w u s <"$T/$2.time"
	awk -v l="$1" -v w="$w" -v u="$u" -v s="$s" -v m="$SIZE_MB" -v n="$(cat "$T/$2.ngx")" \
		'BEGIN { printf "| %s | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |\n", l, w, m / w, u, s, 100 * (u + s) / w, n }'
}
echo "### Download, $SIZE_MB MiB over loopback from nginx"
echo
echo "| | wall s | MiB/s | user s | sys s | CPU % of a core | nginx CPU s |"
echo "|---|---|---|---|---|---|---|"
row "curl -o FILE" curl
row "curl -o FILE && sync FILE" curls
row "curl \\| tee FILE \\| sha1sum, sync FILE (several processes)" curlh
[ -n "${IDB_BASELINE:-}" ] && row "$(basename "$IDB_BASELINE") firmware fetch (baseline)" base
row "idevicebench firmware fetch, SHA1 and SHA256 on one thread" one
row "idevicebench firmware fetch (SHA256 on a second thread)" idb
read -r cw cu cs <"$T/curl.time"
read -r iw iu is <"$T/idb.time"
read -r ow _ _ <"$T/one.time"
read -r sw _ _ <"$T/curls.time"
echo
awk -v a="$cw" -v b="$iw" -v c="$sw" -v o="$ow" 'BEGIN { printf "throughput: %.0f%% of plain curl'"'"'s, %.0f%% of curl + fsync (one hashing thread: %.0f%%)\n\n", 100 * a / b, 100 * c / b, 100 * a / o }'
awk -v w="$iw" -v l="$(thread_cpu idb loop)" -v n="$(thread_cpu idb fwdl-net)" -v h="$(thread_cpu idb fwdl-hash)" \
	-v h2="$(thread_cpu idb fwdl-sha256)" 'BEGIN { printf "threads (CPU s over %.2f s): console loop %.2f (%.1f%% of a core), network (libcurl receive + copy out) %.2f, write + SHA1 %.2f, SHA256 %.2f\n\n", w, l, 100 * l / w, n, h, h2 }'
ncores=$(nproc)
awk -v cu="$cu" -v cs="$cs" -v cw="$cw" -v h="$hcost" -v iu="$iu" -v is="$is" -v cn="$(cat "$T/curl.ngx")" \
	-v inx="$(cat "$T/idb.ngx")" -v k="$ncores" \
	'BEGIN { low = (cu + cs + cn + h) / k; printf "CPU budget: curl used %.2f s of CPU and nginx %.2f s serving it; SHA1 + SHA256 of the file alone cost %.2f s here (openssl speed, one core each); idevicebench used %.2f s, nginx %.2f s serving it. On %d cores, a fetch that also hashes cannot take less than (curl + nginx + hashes) / %d = %.2f s: at best %.0f%% of curl'"'"'s throughput on this machine\n\n", cu + cs, cn, h, iu + is, inx, k, k, low, 100 * (cw < low ? cw / low : 1) }'
rm -rf "$T/lib" "$W/fw"

# 2. scan
mkdir -p "$T/scan"
for i in $(seq 1 "$N"); do
	python3 "$MKIPSW" "$T/scan/f$i.ipsw" --product iPhone10,6 --cpid 0x8015 --bdid 0x0e \
		--version "16.$i" --build "20H$i" --os-bytes 3000000 --stored --extra-identities 36
done
printf '[firmware]\ndir = %s/scan\n' "$T" >"$T/s.conf"
sync
best=999
for r in 1 2 3; do
	s=$(date +%s.%N)
	"$IDEVICEBENCH" -c "$T/s.conf" firmware >/dev/null
	e=$(date +%s.%N)
	best=$(awk -v a="$best" -v b="$(awk -v s="$s" -v e="$e" 'BEGIN{print e-s}')" 'BEGIN{print (b<a)?b:a}')
done
echo "### Library scan"
echo
msz=$(unzip -l "$T/scan/f1.ipsw" BuildManifest.plist | awk 'NR == 4 { print $1 }')
awk -v t="$best" -v n="$N" -v m="$msz" 'BEGIN { printf "%d IPSWs of 4 MiB, each with a %.1f MB BuildManifest.plist (38 build identities, as real ones): `idevicebench firmware` in %.3f s (best of 3, warm cache; goal < 1 s)\n\n", n, m / 1e6, t }'

# 3. arrival -> restore start
L="$T/lib3"
mkdir -p "$L"
python3 "$MKIPSW" "$L/a.ipsw" --product iPhone9,1 --cpid 0x8010 --bdid 0x08 --version 15.8.3 --build 19H386
python3 "$MKIPSW" "$L/b.ipsw" --product iPhone10,1 --cpid 0x8015 --bdid 0x02 --version 16.7.10 --build 20H350
python3 "$MKIPSW" "$L/c.ipsw" --product iPhone12,1 --cpid 0x8030 --bdid 0x04 --version 18.1 --build 22B83
printf '[bench]\non_recovery = update\n[firmware]\ndir = %s\n' "$L" >"$T/a.conf"
cat >"$T/a.scenario" <<'SCEN'
hub 1-1 ports 4
dialect master
at 3.0 plug 1-1.1 recovery ecid 0xab0001 cpid 0x8010 bdid 0x08
at 3.5 plug 1-1.2 recovery ecid 0xab0002 cpid 0x8015 bdid 0x02
at 4.0 plug 1-1.3 recovery ecid 0xab0003 cpid 0x8030 bdid 0x04
restore 0xab0001 ok 2
restore 0xab0002 ok 2
restore 0xab0003 ok 2
SCEN
timeout 20 "$BENCHSIM" "$T/a.scenario" -- "$IDEVICEBENCH" --json -c "$T/a.conf" --db "$T/a.db" \
	--log-dir "$T/alogs" </dev/null >"$T/a.jsonl" 2>/dev/null || true
echo "### Arrival to restore start, firmware present"
echo
python3 - "$T/a.jsonl" <<'PY'
import json, sys
arr, run = {}, {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "device" and e.get("mode") == "recovery" and e["slot"] not in arr:
        arr[e["slot"]] = e["time"]
    if e["event"] == "job" and e["state"] == "running" and e["slot"] not in run:
        run[e["slot"]] = (e["time"], e.get("firmware"))
for s in sorted(arr):
    if s in run:
        print("- %s: %.0f ms (%s)" % (s, 1000 * (run[s][0] - arr[s]), run[s][1]))
PY
