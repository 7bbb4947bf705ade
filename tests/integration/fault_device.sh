#!/usr/bin/env bash
# Fault injection (issue #8), devices: a phone vanishing mid-restore for good, one coming
# back only after the reconnect window, a whole hub unplugged with 7 restores running,
# 100 plug/unplug cycles on one port as fast as the emulator goes. The bench keeps running, every job
# ends in a true final state and the history is complete.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf "reconnect_window=2"

cat >"$T/dev.scenario" <<'SC'
hub 1-1 ports 4
hub 1-2 ports 7
hub 1-3 ports 2
plug 1-1.1 recovery ecid 0x00000000000fb001 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x00000000000fb002 cpid 0x8010 bdid 0x08
plug 1-2.1 recovery ecid 0x00000000000fb1f6 cpid 0x8010 bdid 0x08
plug 1-2.2 recovery ecid 0x00000000000fb2f6 cpid 0x8015 bdid 0x06
plug 1-2.3 recovery ecid 0x00000000000fb3f6 cpid 0x8010 bdid 0x0a
plug 1-2.4 recovery ecid 0x00000000000fb4f6 cpid 0x8010 bdid 0x08
plug 1-2.5 recovery ecid 0x00000000000fb5f6 cpid 0x8015 bdid 0x06
plug 1-2.6 recovery ecid 0x00000000000fb6f6 cpid 0x8010 bdid 0x0c
plug 1-2.7 recovery ecid 0x00000000000fb7f6 cpid 0x8010 bdid 0x08
SC
echo f6 >"$FAULT_OUT/next-0xfb001"
echo f6 >"$FAULT_OUT/next-0xfb002"
fault_start "$T/dev.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh"
wait_count 20 9 event=device mode=recovery
jobs=0

# --- a phone vanishes mid-restore and never comes back
bench_send "update 1-1.1"
jobs=$((jobs + 1))
ev_wait 10 event=job slot=1-1.1 state=running >/dev/null
sim_ctl "unplug 1-1.1" >/dev/null
check "vanished: gone is reported with its ECID" ev_wait 10 event=gone port=1-1.1 ecid=0xfb001
check "vanished: after the reconnect window the job fails as connection-lost" \
	ev_wait 15 event=job slot=1-1.1 state=failed class=connection-lost
check "vanished: its restore program is killed" gone_pid "$FAULT_OUT/pid-0xfb001"
bench_send "update 1-1.1"
check "vanished: a new restore on the empty port is refused" ev_wait 10 event=error "text~1-1.1: no device on this port"

# --- a phone comes back, but only after the window: the failed job stays failed, a retry works
bench_send "update 1-1.2"
jobs=$((jobs + 1))
ev_wait 10 event=job slot=1-1.2 state=running >/dev/null
sim_ctl "unplug 1-1.2" >/dev/null
ev_wait 10 event=gone port=1-1.2 >/dev/null
check "late return: the job fails when the window closes" \
	ev_wait 15 event=job slot=1-1.2 state=failed class=connection-lost
sim_ctl "plug 1-1.2 recovery ecid 0x00000000000fb002 cpid 0x8010 bdid 0x08" >/dev/null
check "late return: the phone is seen again on its port" wait_count 10 2 event=device port=1-1.2 ecid=0xfb002
sleep 0.5
check "late return: the old job is not revived" \
	bash -c "[ \"\$(grep -F '\"slot\":\"1-1.2\"' '$T/events.jsonl' | grep -F '\"event\":\"job\"' | tail -1 | grep -o '\"state\":\"[a-z]*\"')\" = '\"state\":\"failed\"' ]"
bench_send "update 1-1.2"
jobs=$((jobs + 1))
check "late return: a new restore runs and succeeds" ev_wait 15 event=job slot=1-1.2 state=done

# --- a whole hub unplugged with 7 restores running
for p in 1 2 3 4 5 6 7; do bench_send "update 1-2.$p"; done
jobs=$((jobs + 7))
check "hub: 7 restores running" wait_count 15 7 event=job "slot~1-2." state=running
sim_ctl "unplug 1-2" >/dev/null
check "hub: all 7 phones reported gone" wait_count 10 7 event=gone "port~1-2."
check "hub: all 7 jobs fail as connection-lost after the window" \
	wait_count 20 7 event=job "slot~1-2." state=failed class=connection-lost
check "hub: no restore program of the hub is left" \
	bash -c "for e in 1 2 3 4 5 6 7; do p=\$(cat '$FAULT_OUT'/pid-0xfb\${e}f6) || exit 1; for i in \$(seq 1 20); do kill -0 \$p 2>/dev/null || continue 2; sleep 0.2; done; exit 1; done"
check "hub: the bench still answers commands" alive
sim_ctl "hub 1-2 ports 7" >/dev/null
sim_ctl "plug 1-2.3 recovery ecid 0x00000000000fb3f6 cpid 0x8010 bdid 0x0a" >/dev/null
check "hub: plugged back, its phone is seen again" wait_count 10 2 event=device port=1-2.3 ecid=0xfb3f6

# --- 100 plug/unplug cycles on one port, as fast as the emulator can (one control connection)
python3 - "$T/ctl.sock" >"$T/storm.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
t0 = time.time()
plug = "plug 1-3.1 recovery ecid 0x00000000000fc001 cpid 0x8010 bdid 0x08\n"
# one line, one reply: as fast as the harness acts (pipelining more overruns umockdev's
# uevent socket when the bench reads slowly, e.g. under valgrind: a harness limit)
bad = 0
for line in [plug, "unplug 1-3.1\n"] * 100 + [plug]:
    f.write(line); f.flush()
    bad += not f.readline().startswith("ok")
print("storm: %d cycles in %.2f s, %d refused" % (100, time.time() - t0, bad))
sys.exit(1 if bad else 0)
PY
rc=$?
diag "$T/storm.out"
check "storm: the harness did all 100 cycles" [ $rc -eq 0 ]
check "storm: the bench still answers commands" alive
# the port ends with the phone present: its last event is an arrival
settled() {
	local i
	for i in $(seq 1 100); do
		_ev_filter port=1-3.1 | grep -E '"event":"(device|gone)"' | tail -1 | grep -q '"event":"device"' &&
			[ "$(_ev_filter port=1-3.1 | grep -cE '"event":"(device|gone)"')" -ge 1 ] && return 0
		sleep 0.1
	done
	return 1
}
check "storm: the port settles with the phone present" settled
check "storm: arrivals and departures alternate (never two departures in a row)" \
	bash -c "! grep -F '\"port\":\"1-3.1\"' '$T/events.jsonl' | grep -oE '\"event\":\"(device|gone)\"' | uniq -c | grep -q '[2-9] \"event\":\"gone\"\|[0-9][0-9] \"event\":\"gone\"'"
bench_send "update 1-3.1"
jobs=$((jobs + 1))
check "storm: a restore on the port afterwards succeeds" ev_wait 15 event=job slot=1-3.1 state=done
diag <(echo "storm: $(ev_count event=device port=1-3.1) arrivals, $(ev_count event=gone port=1-3.1) departures seen")

bench_stop
check "exits 0 on quit" [ "$BENCH_RC" -eq 0 ]
check "every event is clean JSON" events_clean
check "history complete: $jobs attempts, all closed in a final state" history_complete "$T/history.db" "$jobs"
done_testing
