#!/usr/bin/env bash
# The REAL Debian idevicerestore, started by the bench under benchsim against an emulated
# iPhone 7 in recovery mode, with a small well-formed IPSW and no network: it goes all the
# way to the signing request and fails there. The bench must say so: signing, at prepare.
. "$IDB_TOP/tests/lib.sh"
command -v idevicerestore >/dev/null || skip_all "idevicerestore not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
IPSW="$T/iPhone9,1_15.8.3_19H386_Restore.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW" --product iPhone9,1 --cpid 0x8010 --bdid 0x08 --board d10ap
cat >"$T/real.scenario" <<'SC'
hub 1-2 ports 4
plug 1-2.3 recovery ecid 0x1a2b3c4d5e6f70 cpid 0x8010 bdid 0x08
SC
# no network: the signing server cannot be reached, deterministically
NONET=""
if unshare -n true 2>/dev/null; then NONET="unshare -n"; fi
rm -f "$T/cmd.fifo"; mkfifo "$T/cmd.fifo"
$NONET "$BENCHSIM" --log "$T/sim.log" "$T/real.scenario" -- "$IDEVICEBENCH" --json \
	--restore-cmd idevicerestore --ipsw "$IPSW" --log-dir "$T/logs" --db "$T/history.db" \
	<"$T/cmd.fifo" >"$T/events.jsonl" 2>"$T/bench.err" &
BENCH_PID=$!
exec 9>"$T/cmd.fifo"
at_exit bench_kill
check "the emulated iPhone 7 is seen in recovery" wait_event 20 event=device port=1-2.3 mode=recovery product_type=iPhone9,1
bench_send "update 1-2.3"
check "the real idevicerestore runs" wait_event 20 event=job slot=1-2.3 state=running
check "it fails at signing, step prepare (3194-class)" \
	wait_event 120 event=job slot=1-2.3 state=failed class=signing code=3194 step=prepare
log=$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="job" and e.get("log"): print(e["log"])
' "$T/events.jsonl" | tail -1)
check "the attempt log holds the real output: device identified" grep -q "Identified device as d10ap, iPhone9,1" "$log"
check "the attempt log holds the real output: SHSH failure" grep -q "Unable to get SHSH blobs for this device" "$log"
check "the bench extracted the filesystem once beforehand: the child used the cache" \
	grep -q "Using cached filesystem from '$XDG_CACHE_HOME/idevicebench/" "$log"
check "the program ran with -i 0xECID -y -P" bash -c "grep -q 'Found ECID' '$log' || grep -q 'progress: 1' '$log'"
check "explain on the saved log agrees" bash -c "'$IDEVICEBENCH' explain --json --exit 255 '$log' | grep -q '\"class\": *\"signing\"'"
check "advice says it is not a device problem" wait_event 5 event=advice slot=1-2.3 rule=signing
bench_send quit
for i in $(seq 1 100); do kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 0.1; done
wait "$BENCH_PID"
check "bench exits 0" [ $? -eq 0 ]
exec 9>&-
check "no idevicerestore left running" bash -c "! pgrep -f '[i]devicerestore -i 0x1a2b3c4d5e6f70' >/dev/null"
done_testing
