#!/usr/bin/env bash
# attach_console.sh: one bench, three consoles in tmux at different sizes.
# The first console runs the bench in its process and listens; the others
# attach (plain `idevicebench` and `idevicebench attach`). All show the same
# state; a key pressed in one acts for all; q in one leaves only that one;
# a confirmation is asked only where it was asked for; Q stops the bench.
. "$IDB_TOP/tests/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
command -v sqlite3 >/dev/null 2>&1 || skip_all "sqlite3 is not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

tmux_init attach-console
wait_until_gone() {
	local i
	for i in $(seq 1 50); do
		scr "$2" | grep -q -- "$1" || return 0
		sleep 0.1
	done
	return 1
}
cat >"$T/a.conf" <<EOF2
[bench]
ipsw = $T/test.ipsw
[slots]
A1 = 1-1.1
A2 = 1-1.2
A3 = 1-1.3
EOF2
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$T/test.ipsw"
BENCH_ARGS="-c '$T/a.conf' --log-dir '$T/logs' --db '$T/history.db'"

TM new-session -d -s c -x 100 -y 30 \
	"cd '$IDB_TOP' && exec '$BENCHSIM' --log '$T/sim.log' --ctl '$T/ctl.sock' tests/data/scenarios/attach.scenario -- \
	'$IDEVICEBENCH' $BENCH_ARGS 2>'$T/c.err'"
tcheck "the first console comes up" wait_scr 20 "A3 .*1-1.3"
tcheck "it shows the phones" wait_scr 20 "iPhone X .*REC"
BPID=$(child_of "$(pane_pid c)" idevicebench)
check "the bench runs in the first console's process" test -n "$BPID"
at_exit '[ -n "${BPID:-}" ] && kill -KILL "$BPID"'
check "and listens on its socket" test -S "$IDEVICEBENCH_SOCKET"

TM new-session -d -s d -x 80 -y 24 "'$IDEVICEBENCH' $BENCH_ARGS 2>'$T/d.err'; echo d-exit=\$?; sleep 600"
TM new-session -d -s e -x 120 -y 40 "'$IDEVICEBENCH' attach 2>'$T/e.err'; echo e-exit=\$?; sleep 600"
tcheck "a second console attaches (80x24)" wait_scr 10 "A3 .*1-1.3" d
tcheck "a third one attaches (120x40)" wait_scr 10 "A3 .*1-1.3" e
tcheck "the first counts three consoles" wait_scr 5 "3 consoles" c
tcheck "the second too" wait_scr 5 "3 consoles" d
tcheck "the third too" wait_scr 5 "3 consoles" e
DPID=$(child_of "$(pane_pid d)" idevicebench)
check "the second console is a client of the first bench, not a bench" \
	grep -q "client pid $DPID (uid 0) attached" "$T/logs/idevicebench.log"

# a key in an attached console acts for all
TM send-keys -t d Right u
tcheck "u in the second console starts the restore there" wait_scr 10 " 1 run" d
tcheck "the first console sees it" wait_scr 5 " 1 run" c
tcheck "the third console sees it" wait_scr 5 " 1 run" e
tcheck "with its step" wait_scr 10 "iPhone X .*RST|prepare|upload_fs|verify_fs|detect" e

# the confirmation is asked where the key was pressed, and only there
TM send-keys -t e Right Right e
tcheck "erase asks in the console that asked" wait_scr 5 "Erase iPhone 7 ECID 0xE0000003\? y/N" e
tcheck "not in the others" scr_not "Erase iPhone" c
TM send-keys -t e n
tcheck "refused there: not erased" wait_scr 5 "not erased" e

# one restore started in the first (the bench's own) console, seen elsewhere to its end
TM send-keys -t c u
tcheck "u in the first console is seen in the third" wait_scr 10 " 2 run" e
tcheck "its end is seen in the second" wait_scr 20 "1 done" d
same_counts() {
	local p
	for p in c d e; do
		wait_scr 5 "1 run 0 queued 1 done" $p || return 1
	done
}
tcheck "all show the same counts" same_counts

# an attached console whose terminal goes away (SIGHUP) ends; nothing else does
TM new-session -d -s f -x 80 -y 24 "exec '$IDEVICEBENCH' attach 2>'$T/f.err'"
tcheck "a fourth console attaches" wait_scr 5 "4 consoles" c
FPID=$(pane_pid f)
check "its process is found" test -n "$FPID"
TM kill-session -t f
for i in $(seq 1 50); do kill -0 "$FPID" 2>/dev/null || break; sleep 0.1; done
check "SIGHUP ends the attached console" bash -c "! kill -0 $FPID 2>/dev/null"
tcheck "the others count three again" wait_scr 5 "3 consoles" c
check "the bench runs on" kill -0 "$BPID"

# an attached console reads past attempts from the history the bench named
TM send-keys -t e Left Left Enter
tcheck "an attached console's detail pane lists past attempts" wait_scr 5 "Attempts:" e
tcheck "with the finished update" wait_scr 5 "update done .*port 1-1.1" e
TM send-keys -t e Enter

# q in an attached console leaves it; the others and the bench run on
TM send-keys -t e q
tcheck "q leaves the third console" wait_scr 5 "e-exit=0" e
tcheck "the first now counts two" wait_scr 5 "2 consoles" c
tcheck "the bench still runs its restore" wait_scr 2 " 1 run" d
check "the bench process is still there" kill -0 "$BPID"

# q in the bench's own console leaves it too while another console is attached
TM send-keys -t c q
for i in $(seq 1 50); do grep -q "keeps running" "$T/c.err" && break; sleep 0.1; done
check "q in the first console leaves it, saying the bench keeps running" grep -q "keeps running" "$T/c.err"
check "the bench keeps running in that process" kill -0 "$BPID"
tcheck "the second console still sees the restore" wait_scr 5 " 1 run" d
tcheck "and counts itself alone" wait_until_gone consoles d

# Q stops the bench from an attached console, asking there first
TM send-keys -t d Q
tcheck "Q asks in that console while a job runs" wait_scr 5 "1 job running: quit anyway" d
TM send-keys -t d y
for i in $(seq 1 100); do kill -0 "$BPID" 2>/dev/null || break; sleep 0.1; done
check "the bench stops" bash -c "! kill -0 $BPID 2>/dev/null"
tcheck "the console ends with it" wait_scr 5 "d-exit=0" d
check "the running restore was cancelled" \
	test "$(sqlite3 "$T/history.db" "select state from attempts where ecid=$((0xe0000002))" 2>/dev/null)" = cancelled
check "the socket file is gone" test ! -e "$IDEVICEBENCH_SOCKET"
done_testing
