#!/usr/bin/env bash
# fwbench.sh: figures for the firmware library (issue 15), printed as markdown.
#   1. loopback download of SIZE_MB (default 2048) from Debian's nginx: `curl -o FILE`
#      (and `&& sync`) against `idevicebench firmware fetch` (which also hashes SHA1 and
#      SHA256 and fsyncs before the rename), FW_ROUNDS (3) rounds in turn, medians: wall
#      time, the process's CPU time, each thread's;
#   2. `idevicebench firmware` scanning N (default 50) generated IPSWs of a few MiB whose
#      manifests have the size of real ones (1.4 MB, 38 build identities), scan cache cold
#      and warm; and the bench loop's answer latency on the control socket while the real
#      bench scans those N files (cache cold);
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

# the served file in RAM when there is room (/dev/shm): this VM drops clean page cache
# within seconds, so from disk nginx would read it back during every transfer
W="$T/www"
if [ "$(df -Pm /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt $((SIZE_MB * 2)) ] 2>/dev/null; then
	W=$(mktemp -d /dev/shm/idb-fwbench.XXXXXX)
	at_exit "rm -rf '$W'"
fi
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

# ROUNDS rounds, each of curl, curl && sync and the two fetches in turn (a busy moment
# hits all of them, not one); each row is then the round with the median wall time
ROUNDS=${FW_ROUNDS:-3}
for r in $(seq 1 "$ROUNDS"); do
	# unmeasured: on this VM the first large writer after files are deleted pays
	# seconds of system time for fresh pages (6.4 s against 2.4 s for the same curl)
	curl -s -o "$T/curl.out" "$URL"
	rm -f "$T/curl.out"; sync
	timed "curl.$r" curl -s -o "$T/curl.out" "$URL"
	rm -f "$T/curl.out"; sync
	timed "curls.$r" sh -c 'curl -s -o "$1" "$2" && sync "$1"' sh "$T/curl.out" "$URL"
	rm -f "$T/curl.out"; sync
	run_idb "idb.$r"
	run_idb "one.$r" IDB_FWDL_ONE_HASHER=1
done
timed curlh sh -c 'curl -s "$1" | tee "$2" | sha1sum >/dev/null && sync "$2"' sh "$URL" "$T/curl.out"
rm -f "$T/curl.out"; sync
# median NAME: NAME.time, .ngx (and .threads) of the round with the median wall time
median() {
	local m
	m=$(for r in $(seq 1 "$ROUNDS"); do echo "$(cut -d' ' -f1 "$T/$1.$r.time") $r"; done |
		sort -n | awk -v k="$ROUNDS" 'NR == int((k + 1) / 2) { print $2 }')
	cp "$T/$1.$m.time" "$T/$1.time"
	cp "$T/$1.$m.ngx" "$T/$1.ngx"
	[ -f "$T/$1.$m.threads" ] && cp "$T/$1.$m.threads" "$T/$1.threads"
	return 0
}
for n in curl curls idb one; do median "$n"; done
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
echo "$ROUNDS rounds of curl, curl && sync and both fetches in turn, each round after an unmeasured curl; each row is its median round (the pipe through sha1sum: one run)."
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
# the same ratios round by round (each against the curl runs of its own round)
for r in $(seq 1 "$ROUNDS"); do
	printf '%s %s %s %s\n' "$(cut -d' ' -f1 "$T/curl.$r.time")" "$(cut -d' ' -f1 "$T/curls.$r.time")" \
		"$(cut -d' ' -f1 "$T/idb.$r.time")" "$(cut -d' ' -f1 "$T/one.$r.time")"
done | awk '{ a = a sep sprintf("%.0f%%", 100 * $1 / $3); b = b sep sprintf("%.0f%%", 100 * $2 / $3);
	c = c sep sprintf("%.0f%%", 100 * $2 / $4); sep = ", " }
	END { printf "round by round: %s of plain curl'"'"'s, %s of curl + fsync (one hashing thread: %s of curl + fsync)\n\n", a, b, c }'

awk -v w="$iw" -v l="$(thread_cpu idb loop)" -v n="$(thread_cpu idb fwdl-net)" -v h="$(thread_cpu idb fwdl-hash)" \
	-v h2="$(thread_cpu idb fwdl-sha256)" 'BEGIN { printf "threads (CPU s over %.2f s): console loop %.2f (%.1f%% of a core), network (libcurl receive + copy out) %.2f, write + SHA1 %.2f, SHA256 %.2f\n\n", w, l, 100 * l / w, n, h, h2 }'
ncores=$(nproc)
awk -v cu="$cu" -v cs="$cs" -v cw="$cw" -v h="$hcost" -v iu="$iu" -v is="$is" -v cn="$(cat "$T/curl.ngx")" \
	-v inx="$(cat "$T/idb.ngx")" -v k="$ncores" \
	'BEGIN { low = (cu + cs + cn + h) / k; printf "CPU budget: curl used %.2f s of CPU and nginx %.2f s serving it; SHA1 + SHA256 of the file alone cost %.2f s here (openssl speed, one core each); idevicebench used %.2f s, nginx %.2f s serving it. On %d cores, a fetch that also hashes cannot take less than (curl + nginx + hashes) / %d = %.2f s: at best %.0f%% of curl'"'"'s throughput on this machine\n\n", cu + cs, cn, h, iu + is, inx, k, k, low, 100 * (cw < low ? cw / low : 1) }'
rm -rf "$T/lib"

# the console's loop during a download: the real bench (serve, under benchsim) with
# download = yes; a recovery-mode phone of the model plugs in and its firmware is
# prefetched from nginx, while a JSON client sends a command every 5 ms (an unknown
# slot: the bench answers with an error event from its loop) and times each answer
mkdir -p "$T/dl/lib"
printf '[bench]\non_recovery = none\n[firmware]\ndir = %s/dl/lib\nindex = http://127.0.0.1:%s\ndownload = yes\n' \
	"$T" "$NGINX_PORT" >"$T/dl.conf"
printf 'hub 1-1 ports 2\ndialect master\nat 2.0 plug 1-1.1 recovery ecid 0xab0101 cpid 0x8015 bdid 0x0e\n' \
	>"$T/dl.scenario"
timeout 300 "$BENCHSIM" "$T/dl.scenario" -- "$IDEVICEBENCH" serve -c "$T/dl.conf" \
	--socket "$T/dl.sock" --db "$T/dl.db" --log-dir "$T/dl/logs" </dev/null >/dev/null \
	2>"$T/dl.err" &
dlpid=$!
python3 - "$T/dl.sock" >"$T/dl.out" <<'PY' || true
import json, socket, sys, time
for _ in range(300):
    try:
        c = socket.socket(socket.AF_UNIX)
        c.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no control socket")
c.settimeout(10)
buf = b""
state = {"started": None, "ended": None, "last": ""}
def lines():
    global buf
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        yield line
def note(line):
    if b'"event":"firmware"' not in line:
        return
    e = json.loads(line)
    st = e.get("state")
    if st == "downloading" and state["started"] is None:
        state["started"] = time.monotonic()
    if st in ("ready", "failed") and state["ended"] is None:
        state["ended"] = time.monotonic()
        state["last"] = st
def ping():
    global buf
    t0 = time.monotonic()
    c.sendall(b"unflag ZZ9\n")
    while True:
        for line in lines():
            note(line)
            if b'"error"' in line and b"ZZ9" in line:
                return time.monotonic() - t0
        buf += c.recv(1 << 20)
during, nxt = [], time.monotonic()
deadline = time.monotonic() + 240
while state["ended"] is None and time.monotonic() < deadline:
    d = ping()
    if state["started"] is not None:
        during.append(d)
    nxt += 0.005
    w = nxt - time.monotonic()
    if w > 0:
        time.sleep(w)
    else:
        nxt = time.monotonic()
c.sendall(b"quit\n")
v = sorted(during) or [0]
took = (state["ended"] or time.monotonic()) - (state["started"] or time.monotonic())
print("%s %.2f %d %.1f %.1f %.1f" % (state["last"] or "none", took, len(during),
      1000 * v[len(v) // 2], 1000 * v[min(len(v) - 1, int(0.99 * len(v)))], 1000 * v[-1]))
PY
wait "$dlpid" || true
read -r dst dtook dn dp50 dp99 dmax <"$T/dl.out" || true
echo "### The console's loop during a download"
echo
echo "The bench prefetching a $SIZE_MB MiB IPSW from nginx for a phone that arrived (download = yes):"
echo "the download ended $dst after $dtook s; $dn commands sent every 5 ms meanwhile were answered"
echo "in p50 $dp50 ms, p99 $dp99 ms, max $dmax ms."
echo
rm -rf "$W/fw" "$T/dl"

# 2. scan: `idevicebench firmware` with the scan cache cold (dir/.meta/.scan removed) and
# warm, then the loop's reply latency while the real bench (serve, under benchsim) scans
# the same files moved into its library after start (cache cold)
mkdir -p "$T/scan"
for i in $(seq 1 "$N"); do
	python3 "$MKIPSW" "$T/scan/f$i.ipsw" --product iPhone10,6 --cpid 0x8015 --bdid 0x0e \
		--version "16.$i" --build "20H$i" --os-bytes 3000000 --stored --extra-identities 36
done
# older than the scan's 2 s "may still be changing" window, as a library's files are
touch -d '-1 minute' "$T"/scan/*.ipsw
printf '[firmware]\ndir = %s/scan\n' "$T" >"$T/s.conf"
sync
timed() { # COMMAND...: "wall / CPU" seconds
	local s e
	s=$(date +%s.%N)
	/usr/bin/time -f "%U %S" -o "$T/scan.time" "$@" >/dev/null
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" '{ printf "%.3f / %.2f\n", e - s, $1 + $2 }' "$T/scan.time"
}
cold=; warm=; base=
for r in 1 2 3; do
	rm -rf "$T/scan/.meta"
	cold="$cold $(timed "$IDEVICEBENCH" -c "$T/s.conf" firmware)"
	warm="$warm $(timed "$IDEVICEBENCH" -c "$T/s.conf" firmware)"
	# IDB_BASELINE=BINARY: another build's scan of the same files, alternated with ours
	[ -n "${IDB_BASELINE:-}" ] && base="$base $(timed "$IDB_BASELINE" -c "$T/s.conf" firmware)"
done
msz=$(unzip -l "$T/scan/f1.ipsw" BuildManifest.plist | awk 'NR == 4 { print $1 }')
fsz=$(stat -c %s "$T/scan/f1.ipsw")

# the bench: an empty library at start, then the N files renamed into it at once
mkdir -p "$T/lat/lib" "$T/lat/src"
mv "$T"/scan/*.ipsw "$T/lat/src/"
printf '[firmware]\ndir = %s/lat/lib\n' "$T" >"$T/lat.conf"
printf 'hub 1-1 ports 2\ndialect master\n' >"$T/lat.scenario"
timeout 120 "$BENCHSIM" "$T/lat.scenario" -- "$IDEVICEBENCH" serve -c "$T/lat.conf" \
	--socket "$T/lat.sock" --db "$T/lat.db" --log-dir "$T/lat/logs" </dev/null >/dev/null \
	2>"$T/lat.err" &
latpid=$!
python3 - "$T/lat.sock" "$T/lat/src" "$T/lat/lib" "$T/lat.err" "$N" >"$T/lat.out" <<'PY' || true
# A JSON client sends a command every 5 ms (an unknown slot: the bench answers with an
# error event from its loop) and times each answer, before, during and after the scan.
import os, re, socket, sys, time
sock, src, lib, errlog, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
for _ in range(300):
    try:
        c = socket.socket(socket.AF_UNIX)
        c.connect(sock)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no control socket")
c.settimeout(5)
buf = b""
def ping():
    global buf
    t0 = time.monotonic()
    c.sendall(b"unflag ZZ9\n")
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if b'"error"' in line and b"ZZ9" in line:
                return time.monotonic() - t0
        buf += c.recv(65536)
# drain the snapshot, settle
time.sleep(1.0)
c.setblocking(False)
try:
    while c.recv(65536):
        pass
except BlockingIOError:
    pass
c.setblocking(True)
c.settimeout(5)
def scan_line():
    for l in open(errlog, errors="replace"):
        m = re.search(r"firmware scan of .*: (\d+) entries, (\d+) manifests read.* ([0-9.]+) s; handed to the bench in ([0-9.]+) ms$", l.strip())
        if m and int(m.group(1)) == n:
            return m
    return None
def run(secs, until_scan=False):
    v = []
    end = time.monotonic() + secs
    nxt = time.monotonic()
    while time.monotonic() < end or (until_scan and scan_line() is None and time.monotonic() < end + 60):
        v.append(ping())
        nxt += 0.005
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()
    return v
before = run(1.0)
for f in sorted(os.listdir(src)):
    os.rename(os.path.join(src, f), os.path.join(lib, f))
t_mv = time.monotonic()
during = run(1.0, until_scan=True)
t_done = time.monotonic()
after = run(0.5)
m = scan_line()
c.sendall(b"quit\n")
def stats(v):
    v = sorted(v)
    return (len(v), 1000 * v[len(v) // 2], 1000 * v[min(len(v) - 1, int(0.99 * len(v)))], 1000 * v[-1])
print("%d %d %.3f %.2f %s" % (int(m.group(1)), int(m.group(2)), float(m.group(3)), t_done - t_mv, m.group(4)) if m else "0 0 0 0 0")
for name, v in (("before", before), ("during", during), ("after", after)):
    print("%s %d %.1f %.1f %.1f" % ((name,) + stats(v)))
PY
wait "$latpid" || true
# the bench started again on the same library: its first scan, from the cache
timeout 60 "$BENCHSIM" "$T/lat.scenario" -- "$IDEVICEBENCH" serve -c "$T/lat.conf" \
	--socket "$T/lat.sock" --db "$T/lat.db" --log-dir "$T/lat/logs" </dev/null >/dev/null \
	2>"$T/lat2.err" &
latpid=$!
for _ in $(seq 1 300); do
	grep -q 'firmware scan of' "$T/lat2.err" 2>/dev/null && break
	sleep 0.1
done
python3 -c 'import socket, sys; c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.sendall(b"quit\n")' \
	"$T/lat.sock" 2>/dev/null || true
wait "$latpid" || true
warmbench=$(sed -n 's/.*firmware scan of .*: \([0-9]*\) entries, \([0-9]*\) manifests read, \([0-9]*\) from the scan cache.*, \([0-9.]*\) s; .*/\1 entries, \2 manifests read, \3 from the cache, in \4 s/p' "$T/lat2.err" | head -1)

echo "### Library scan"
echo
echo "$N IPSWs of $((fsz / 1048576)) MiB, each with a $(awk -v m="$msz" 'BEGIN { printf "%.1f", m / 1e6 }') MB BuildManifest.plist (38 build identities, as real ones); goal < 1 s"
echo
echo "| \`idevicebench firmware\`, wall / CPU s | run 1 | run 2 | run 3 |"
echo "|---|---|---|---|"
[ -n "$base" ] && echo "| $(basename "$IDB_BASELINE") (baseline) |$(printf ' %s %s %s |' $base)"
echo "| scan cache cold (dir/.meta/.scan removed) |$(printf ' %s %s %s |' $cold)"
echo "| scan cache warm |$(printf ' %s %s %s |' $warm)"
echo
if read -r ln lp lsecs lwall lhand <"$T/lat.out" && [ "$ln" -gt 0 ]; then
	echo "The bench (\`idevicebench serve\` under benchsim), its library empty at start, then $N files renamed into it: the scan read $lp manifests in $lsecs s on its worker threads; handing the result to the loop (join, swap, the bench's callback: index, header, schedule) took $lhand ms. A JSON client on the control socket sent a command every 5 ms and timed the bench's answer (goal: no stall over 20 ms):"
	echo
	echo "| | answers | p50 ms | p99 ms | max ms |"
	echo "|---|---|---|---|---|"
	sed 1d "$T/lat.out" | while read -r name cnt p50 p99 max; do
		case $name in
		before) name="1 s before the rename" ;;
		during) name="from the rename to the scan's end (1 s at least)" ;;
		after) name="0.5 s after" ;;
		esac
		echo "| $name | $cnt | $p50 | $p99 | $max |"
	done
	echo
	echo "The same bench started again on that library: its first scan ${warmbench:-was not reported}."
else
	echo "loop latency during a scan: not measured (the bench did not report its scan; see $T/lat.err)"
	cat "$T/lat.err" >&2
fi
echo

# 3. arrival -> restore start
L="$T/lib3"
mkdir -p "$L"
python3 "$MKIPSW" "$L/a.ipsw" --product iPhone9,1 --cpid 0x8010 --bdid 0x08 --version 15.8.3 --build 19H386
python3 "$MKIPSW" "$L/b.ipsw" --product iPhone10,1 --cpid 0x8015 --bdid 0x02 --version 16.7.10 --build 20H350
python3 "$MKIPSW" "$L/c.ipsw" --product iPhone12,1 --cpid 0x8030 --bdid 0x04 --version 18.1 --build 22B83
printf '[bench]\non_recovery = update\n[firmware]\ndir = %s\n' "$L" >"$T/a.conf"
# one hub per root port: max_jobs_per_root (2) would otherwise hold the third phone until
# one of the first two ends, which is the bench's USB rule, not the firmware's readiness
cat >"$T/a.scenario" <<'SCEN'
hub 1-1 ports 4
hub 2-1 ports 4
hub 3-1 ports 4
dialect master
at 3.0 plug 1-1.1 recovery ecid 0xab0001 cpid 0x8010 bdid 0x08
at 3.5 plug 2-1.1 recovery ecid 0xab0002 cpid 0x8015 bdid 0x02
at 4.0 plug 3-1.1 recovery ecid 0xab0003 cpid 0x8030 bdid 0x04
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
