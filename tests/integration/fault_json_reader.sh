#!/usr/bin/env bash
# Fault injection (issue 14): a JSON reader that stops reading. The bench used to wait
# in select() on stdout, so a reader that stopped froze every restore's supervision.
# Now the bench goes on; the reader loses events and is told so when it reads again.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf

cat >"$T/reader.scenario" <<'SC'
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x00000000000fa001 cpid 0x8010 bdid 0x08
restore 0x00000000000fa001 ok 3
SC

# the reader: copies events to the file, then stops reading for PAUSE seconds once a job runs
cat >"$T/reader.py" <<'PY'
import os, sys, time
out, pause, mark = sys.argv[1], float(sys.argv[2]), sys.argv[3]
paused = False
with open(out, "w", buffering=1) as f:
    for line in sys.stdin:
        f.write(line)
        if not paused and '"state":"running"' in line:
            paused = True
            open(mark + ".paused", "w").close()
            time.sleep(pause)
            open(mark + ".resumed", "w").close()
PY

rm -f "$T/cmd.fifo"
mkfifo "$T/cmd.fifo"
: >"$T/events.jsonl"
("$BENCHSIM" --log "$T/sim.log" "$T/reader.scenario" -- \
	"$IDEVICEBENCH" --json --log-dir "$T/logs" --db "$T/history.db" -c "$T/bench.conf" --ipsw "$IPSW" \
	<"$T/cmd.fifo" 2>"$T/bench.err" | python3 "$T/reader.py" "$T/events.jsonl" 15 "$T/rd") &
exec 9>"$T/cmd.fifo"
at_exit "pkill -f '$T/[r]eader.scenario'"

ev_wait 20 event=device mode=recovery >/dev/null
bench_send "update 1-1.1"
for i in $(seq 1 100); do [ -e "$T/rd.paused" ] && break; sleep 0.1; done
check "the reader stopped reading once the restore ran" [ -e "$T/rd.paused" ]

# 30000 bad commands: each answer is an error event, far more than the pipe and the queue hold
python3 -c "import sys; sys.stdout.write('update nosuchslot\n' * 30000)" >"$T/flood.txt"
(cat "$T/flood.txt" >&9) &
flood=$!

finished_while_paused() {
	local i
	for i in $(seq 1 120); do
		if [ "$(sqlite3 "$T/history.db" "select count(*) from attempts where state = 'done'" 2>/dev/null)" = 1 ]; then
			[ ! -e "$T/rd.resumed" ]
			return
		fi
		sleep 0.1
	done
	return 1
}
check "the restore finished and was recorded while nobody read stdout" finished_while_paused
check "the flood of commands was read meanwhile (stdin never blocked)" \
	bash -c "for i in \$(seq 1 100); do kill -0 $flood 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
for i in $(seq 1 200); do [ -e "$T/rd.resumed" ] && break; sleep 0.1; done
check "once it reads again, the reader is told how many events it lost" \
	ev_wait 20 event=error "text~events were lost"
lost_line=$(grep -n 'events were lost' "$T/events.jsonl" | head -1 | cut -d: -f1)
check "no line in the stream is cut in half" python3 -c "
import json, sys
for l in open('$T/events.jsonl'):
    json.loads(l)
"
check "events flow again after the loss" alive
check "the job's end was sent before the loss or its state is current" \
	bash -c "grep -q '\"state\":\"done\"' '$T/events.jsonl' || [ -n '$lost_line' ]"
bench_send quit
for i in $(seq 1 100); do pgrep -f "$T/[r]eader.scenario" >/dev/null || break; sleep 0.1; done
check "quit still works" bash -c "! pgrep -f '$T/[r]eader.scenario' >/dev/null"
check "history complete: the attempt is closed" history_complete "$T/history.db" 1
exec 9>&-
done_testing
