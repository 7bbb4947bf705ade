#!/usr/bin/env bash
# fwbench.sh: figures for the firmware library (issue 15), printed as markdown.
#   1. loopback download of SIZE_MB (default 2048) from Debian's nginx: `curl -o FILE`
#      against `idevicebench firmware fetch` (which also hashes SHA1 and SHA256), wall
#      time and the process's CPU time;
#   2. `idevicebench firmware` scanning N (default 50) generated IPSWs of a few MiB;
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
/usr/bin/time -f "%e %U %S" -o "$T/curl.time" curl -s -o "$T/curl.out" "$URL"
rm -f "$T/curl.out"; sync
/usr/bin/time -f "%e %U %S" -o "$T/curls.time" sh -c 'curl -s -o "$1" "$2" && sync "$1"' sh "$T/curl.out" "$URL"
rm -f "$T/curl.out"; sync
/usr/bin/time -f "%e %U %S" -o "$T/curlh.time" sh -c 'curl -s "$1" | tee "$2" | sha1sum >/dev/null && sync "$2"' sh "$URL" "$T/curl.out"
rm -f "$T/curl.out"; sync
/usr/bin/time -f "%e %U %S" -o "$T/idb.time" "$IDEVICEBENCH" -c "$T/c.conf" firmware fetch iPhone10,6 \
	>/dev/null 2>&1
read -r cw cu cs <"$T/curl.time"
read -r iw iu is <"$T/idb.time"
read -r sw su ss <"$T/curls.time"
read -r hw hu hs <"$T/curlh.time"
echo "### Download, $SIZE_MB MiB over loopback from nginx"
echo
echo "| | wall s | MiB/s | user s | sys s | CPU % of a core |"
echo "|---|---|---|---|---|---|"
awk -v w="$cw" -v u="$cu" -v s="$cs" -v m="$SIZE_MB" 'BEGIN { printf "| curl -o FILE | %.2f | %.0f | %.2f | %.2f | %.0f |\n", w, m / w, u, s, 100 * (u + s) / w }'
awk -v w="$sw" -v u="$su" -v s="$ss" -v m="$SIZE_MB" 'BEGIN { printf "| curl -o FILE && sync FILE | %.2f | %.0f | %.2f | %.2f | %.0f |\n", w, m / w, u, s, 100 * (u + s) / w }'
awk -v w="$hw" -v u="$hu" -v s="$hs" -v m="$SIZE_MB" 'BEGIN { printf "| curl \\| tee FILE \\| sha1sum, sync FILE (several processes) | %.2f | %.0f | %.2f | %.2f | %.0f |\n", w, m / w, u, s, 100 * (u + s) / w }'
awk -v w="$iw" -v u="$iu" -v s="$is" -v m="$SIZE_MB" 'BEGIN { printf "| idevicebench firmware fetch (SHA1 + SHA256 while receiving) | %.2f | %.0f | %.2f | %.2f | %.0f |\n", w, m / w, u, s, 100 * (u + s) / w }'
awk -v a="$cw" -v b="$iw" -v c="$sw" 'BEGIN { printf "\nthroughput: %.0f%% of plain curl'"'"'s, %.0f%% of curl + fsync\n\n", 100 * a / b, 100 * c / b }'
rm -rf "$T/lib" "$W/fw"

# 2. scan
mkdir -p "$T/scan"
for i in $(seq 1 "$N"); do
	python3 "$MKIPSW" "$T/scan/f$i.ipsw" --product iPhone10,6 --cpid 0x8015 --bdid 0x0e \
		--version "16.$i" --build "20H$i" --os-bytes 3000000 --stored
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
awk -v t="$best" -v n="$N" 'BEGIN { printf "%d IPSWs of 3 MiB: `idevicebench firmware` in %.3f s (best of 3, warm cache)\n\n", n, t }'

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
