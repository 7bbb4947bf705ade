#!/usr/bin/env bash
# console_sighup.sh: losing the terminal (SIGHUP, as when an SSH connection
# drops) ends that console only: the REAL bench under benchsim keeps
# supervising its restores and listening. A second console started meanwhile
# attaches to it instead of being locked out; after the drop a new console
# attaches and takes over, sees the restores and their end. The bench ends
# by itself once no console is attached and nothing runs.
. "$IDB_TOP/tests/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
command -v sqlite3 >/dev/null 2>&1 || skip_all "sqlite3 is not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

tmux_init console-hup
at_exit '[ -n "${BPID:-}" ] && kill -KILL "$BPID"'
DB=$T/history.db
LOG=$T/logs/idevicebench.log
sql() { sqlite3 "$DB" "$1" 2>/dev/null; }

cat >"$T/hup.conf" <<EOF
[bench]
ipsw = $T/test.ipsw
stall_timeout = 60
[slots]
A1 = 1-1.1
A2 = 1-1.2
EOF
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$T/test.ipsw"

TM new-session -d -s c -x 80 -y 24 \
	"cd '$IDB_TOP' && exec '$BENCHSIM' --log '$T/sim.log' --ctl '$T/ctl.sock' tests/data/scenarios/console_sighup.scenario -- \
	'$IDEVICEBENCH' -c '$T/hup.conf' --log-dir '$T/logs' --db '$DB' 2>'$T/bench.err'"

tcheck "the console comes up" wait_scr 20 "A2 .*1-1.2"
tcheck "both phones are shown" wait_scr 20 "iPhone X .*REC"
TM send-keys -t c u Right u
tcheck "both updates run" wait_scr 20 " 2 run"
BPID=$(child_of "$(pane_pid c)" idevicebench)
tcheck "the console's process is found" test -n "$BPID"

# a second console on the same bench while the first one runs: it attaches
TM new-session -d -s second -x 80 -y 24 \
	"'$IDEVICEBENCH' -c '$T/hup.conf' --log-dir '$T/logs' --db '$DB'; echo second-exit=\$?; sleep 600"
tcheck "a second console attaches instead of being locked out" wait_scr 10 " 2 run" second
tcheck "both count two consoles" wait_scr 5 "2 consoles" second
tcheck "the first console still shows its jobs" wait_scr 2 " 2 run"

# the terminal goes away: every pane's process gets SIGHUP
TM kill-server
sleep 1
tcheck "the bench survives SIGHUP while restores run" kill -0 "$BPID"
tcheck "its log says the terminal was lost" grep -q "terminal lost" "$LOG"
tcheck "it still listens" test -S "$IDEVICEBENCH_SOCKET"

# a new console (a new SSH login) attaches and takes over
tmux_fresh
TM new-session -d -s c -x 80 -y 24 \
	"'$IDEVICEBENCH' -c '$T/hup.conf' --log-dir '$T/logs' --db '$DB'; echo new-exit=\$?; sleep 600"
tcheck "a new console attaches to the running bench" wait_scr 10 "A2 .*1-1.2"
tcheck "it sees the restores the lost console started" wait_scr 5 " 2 run| 1 run|1 done"
tcheck "and their end: one done" wait_scr 30 " 1 done"
tcheck "and one failed with its code" wait_scr 30 " 1 failed"
tcheck "the failure shows code 53" wait_scr 5 "53"
check "the bench stays while a console is attached, even idle" kill -0 "$BPID"
TM send-keys -t c q
tcheck "q leaves the new console" wait_scr 5 "new-exit=0"
for i in $(seq 1 100); do
	kill -0 "$BPID" 2>/dev/null || break
	sleep 0.1
done
tcheck "the bench ends by itself: no console, nothing running" bash -c "! kill -0 $BPID 2>/dev/null"
tcheck "the success is recorded as done" \
	test "$(sql "select state from attempts where ecid=$((0xd0000001))")" = done
tcheck "the failure is recorded with its code" \
	test "$(sql "select state||' '||class||' '||code from attempts where ecid=$((0xd0000002))")" = "failed device-reported 53"
tcheck "no attempt is left open" test "$(sql 'select count(*) from attempts where ended is null or ended = 0')" = 0
tcheck "the log records the exit after the jobs" bash -c "sed -n '/terminal lost/,\$p' '$LOG' | grep -q exiting"
tcheck "no fake restore is left running" bash -c "! pgrep -f '[f]akerestore.*$T/' >/dev/null"
tcheck "the restores were not cancelled" bash -c "! grep -qi 'cancel' '$LOG'"
tcheck "the socket file is removed" test ! -e "$IDEVICEBENCH_SOCKET"
done_testing
