#!/usr/bin/env bash
# History and judgement end to end: a flaky port is found out (three different phones
# fail there and then succeed elsewhere), and a bench killed with SIGKILL mid-restore
# leaves an attempt that the next start closes as interrupted.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
S="$IDB_TOP/tests/data/scenarios"
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"
cat >"$T/bench.conf" <<'CONF'
[bench]
reconnect_window = 2
stall_timeout = 20
CONF

plug() { # plug PORT ECID: retried while the port is still busy
	local i
	for i in $(seq 1 50); do
		sim_ctl "plug $1 recovery ecid $2 cpid 0x8010 bdid 0x08" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

bench_start "$S/flaky.scenario" -c "$T/bench.conf" --ipsw "$IPSW"
sleep 1
for e in 0xc00001 0xc00002 0xc00003; do
	plug 1-1.1 $e
	wait_event 10 event=device port=1-1.1 ecid=$e >/dev/null
	bench_send "update 1-1.1"
	check "$e fails on the flaky port" wait_event 60 event=job slot=1-1.1 ecid=$e state=failed class=connection-lost
	sim_ctl "unplug 1-1.1" >/dev/null 2>&1
	plug 1-1.2 $e
	wait_event 20 event=device port=1-1.2 ecid=$e mode=recovery >/dev/null
	sleep 0.3
	bench_send "update 1-1.2"
	check "$e succeeds on another port" wait_event 60 event=job slot=1-1.2 ecid=$e state=done
	# a finished restore reboots the phone into normal mode: unplug it only once it is back
	wait_event 20 event=device port=1-1.2 ecid=$e mode=normal >/dev/null
	sim_ctl "unplug 1-1.2" >/dev/null 2>&1
done
plug 1-1.1 0xc00004
check "a fourth phone on the bad port is told the port is suspect" \
	wait_event 10 event=advice slot=1-1.1 ecid=0xc00004 rule=suspect-port port_suspect=true
bench_stop
check "ports: the flaky port's verdict is suspect" \
	bash -c "'$IDEVICEBENCH' ports --db '$T/history.db' | grep -E '^ *1-1\.1 ' | grep -q suspect"
check "ports: the good port is not" \
	bash -c "'$IDEVICEBENCH' ports --db '$T/history.db' | grep -E '^ *1-1\.2 ' | grep -vq suspect"
check "history lists every attempt of a device, newest first" \
	bash -c "[ \$('$IDEVICEBENCH' history --db '$T/history.db' 0xc00001 | grep -c -E 'failed|done') -eq 2 ]"

# kill -9 in the middle of a restore, then start again: the attempt is closed as interrupted
cat >"$T/long.scenario" <<'SC'
hub 1-1 ports 4
plug 1-1.3 recovery ecid 0x0000000000c00009 cpid 0x8010 bdid 0x08
restore 0x0000000000c00009 ok 300
SC
bench_start "$T/long.scenario" -c "$T/bench.conf" --ipsw "$IPSW"
wait_event 10 event=device port=1-1.3 >/dev/null
bench_send "update 1-1.3"
check "long restore running" wait_event 10 event=job slot=1-1.3 state=running
sleep 1
# the bench under benchsim, and its restore (found before the bench dies and it is orphaned)
BPID=$(child_of "$BENCH_PID" idevicebench)
RESTORES=$(descendants "$BPID")
check "the bench and its restore are found" test -n "$BPID" -a -n "$RESTORES"
kill -KILL "$BPID"
sleep 1
kill -KILL $RESTORES 2>/dev/null
wait "$BENCH_PID" 2>/dev/null
exec 9>&-
check "after SIGKILL the attempt is still open in the database" \
	bash -c "[ \"\$(sqlite3 '$T/history.db' \"select count(*) from attempts where ecid = $((0xc00009)) and (ended is null or ended = 0)\")\" = 1 ]"
bench_start "$T/long.scenario" -c "$T/bench.conf" --ipsw "$IPSW"
check "the restart reports the interrupted attempt" wait_event 10 event=error "text=~interrupted"
bench_stop
check "the attempt is closed as interrupted" \
	bash -c "[ \"\$(sqlite3 '$T/history.db' \"select class from attempts where ecid = $((0xc00009))\")\" = interrupted ]"
done_testing
