#!/usr/bin/env bash
# Fault injection and hostile input in the REAL console (issue #8), under benchsim in a
# detached tmux: the terminal resized 1000 times within about a second while restores
# run, then every hostile serial of tests/data/fault/hostile.py (255 bytes of junk,
# overflowing numbers, escapes in place of the ECID) drawn in the detail pane: nothing
# but colours reaches the pane, nothing acts on it, the console keeps working.
# (console_hostile.sh, the console's own test, covers escapes in a valid serial and in
# a child's output; this file keeps to the fault cases.)
. "$IDB_TOP/tests/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf "ipsw=$IPSW" "restore_cmd=$F/restore.sh"
python3 "$F/hostile.py" "$T/hostile.scenario"
# two well-behaved phones whose restores run until cancelled (restore.sh: ECID ...f6)
cat >>"$T/hostile.scenario" <<'SC'
hub 1-2 ports 2
plug 1-2.1 recovery ecid 0x00000000000f01f6 cpid 0x8010 bdid 0x08
plug 1-2.2 recovery ecid 0x00000000000f02f6 cpid 0x8015 bdid 0x06
SC

tmux_init fault-console
# the pane received no escape sequence but colours and attributes (SGR)
only_sgr() {
	! scr_e | sed 's/\x1b\[[0-9;:]*m//g' | grep -q $'[\x1b\x07]'
}
# none of the hostile sequences acted on the pane
untouched() {
	local title
	title=$(TM display-message -p -t c '#{pane_title}')
	[ "$title" != pwned ] || { echo "# pane title changed to '$title'"; return 1; }
	! scr | grep -qE '^E{20,}' || { echo "# the screen was filled by DECALN"; return 1; }
	! scr | grep -qa $'\xc2\x9b' || { echo "# a raw C1 control reached the pane"; return 1; }
	! scr | grep -qa $'\xe2\x80\xae' || { echo "# a bidi override reached the pane"; return 1; }
}
# the console: benchsim's child (whatever $IDEVICEBENCH is, e.g. a valgrind wrapper)
console_pid() {
	local sim i
	for i in $(seq 1 50); do
		sim=$(pgrep -f "^$BENCHSIM --log $T/sim.log" | head -1)
		[ -n "$sim" ] && pgrep -P "$sim" | head -1 && return 0
		sleep 0.1
	done
}

TM new-session -d -s c -x 120 -y 40 \
	"'$BENCHSIM' --log '$T/sim.log' --ctl '$T/ctl.sock' '$T/hostile.scenario' -- \
	'$IDEVICEBENCH' -c '$T/bench.conf' --log-dir '$T/logs' --db '$T/history.db' 2>'$T/bench.err'; sleep 600"
tcheck "the console shows the bench" wait_scr 20 "1-2\\.2"
pid=$(console_pid)
check "the console runs (pid ${pid:-?})" [ -n "$pid" ]

# start the two restores: the last two slots, u on each
TM send-keys -t c End
sleep 0.2
TM send-keys -t c u
sleep 0.2
TM send-keys -t c Left
sleep 0.2
TM send-keys -t c u
check "two restores run" bash -c "for i in \$(seq 1 100); do [ -s '$FAULT_OUT/pid-0xf01f6' ] && [ -s '$FAULT_OUT/pid-0xf02f6' ] && exit 0; sleep 0.1; done; exit 1"

# --- 1000 resizes in one tmux command list (as fast as tmux can apply them)
args=()
for i in $(seq 1 500); do
	args+=(resize-window -t c -x $((60 + i % 140)) -y $((15 + i % 50)) \;)
	args+=(resize-window -t c -x $((200 - i % 130)) -y $((70 - i % 50)) \;)
done
start=$(date +%s.%N)
TM "${args[@]}" 2>"$T/resize.err"
end=$(date +%s.%N)
diag <(echo "1000 resizes took $(echo "$end - $start" | bc) s")
TM resize-window -t c -x 120 -y 40
check "after the resize storm the console is still running" kill -0 "$pid"
tcheck "it redraws at the final size (the last port on screen)" wait_scr 10 "1-2\\.2"
tcheck "... with a clean pane" only_sgr
check "the restores went on through the storm" \
	bash -c "kill -0 \$(cat '$FAULT_OUT/pid-0xf01f6') 2>/dev/null && kill -0 \$(cat '$FAULT_OUT/pid-0xf02f6') 2>/dev/null"

# --- every hostile serial in the detail pane
TM send-keys -t c Home 2>/dev/null
TM send-keys -t c Enter
for i in 1 2 3 4 5 6 7; do
	sleep 0.3
	tcheck "slot 1-1.$i: the hostile serial does not act on the pane" untouched
	tcheck "slot 1-1.$i: only colours reached the pane" only_sgr
	TM send-keys -t c Right
done
check "the console is still running" kill -0 "$pid"
# quit: the restores are cancelled, the history is complete
TM send-keys -t c Enter
sleep 0.2
TM send-keys -t c q
tcheck "q with restores running asks first" wait_scr 5 "quit anyway"
TM send-keys -t c y
for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "q ends the console" bash -c "! kill -0 $pid 2>/dev/null"
check "history complete: both restores closed in a final state" history_complete "$T/history.db" 2
check "no restore program is left" bash -c "$(declare -f gone_pid); gone_pid '$FAULT_OUT/pid-0xf01f6' && gone_pid '$FAULT_OUT/pid-0xf02f6'"
# --- USB cannot be watched at start-up, after the console took the screen (issue 14):
# the console is freed once, the terminal is given back, the reason is printed, exit 1.
# (The console used to be freed twice on this path; ASan, in check-asan, would abort.)
tmux_fresh
TM new-session -d -s c -x 100 -y 30 \
	"IDEVICEBENCH_TEST_FAULT=usb-start '$IDEVICEBENCH' -c '$T/bench.conf' --log-dir '$T/logs2' --db '$T/h2.db' \
	2>'$T/start.err'; echo rc=\$? >'$T/start.rc'; sleep 600"
for i in $(seq 1 100); do [ -s "$T/start.rc" ] && break; sleep 0.1; done
check "USB start-up failure: the console exits 1" grep -qx 'rc=1' "$T/start.rc"
check "USB start-up failure: the reason is printed" grep -q 'cannot watch USB: USB start-up failure injected' "$T/start.err"
check "USB start-up failure: no memory error (double free) on the way out" \
	bash -c "! grep -qE 'AddressSanitizer|double free|free\(\): invalid' '$T/start.err'"
tcheck "USB start-up failure: the terminal is given back (not left in the console's screen)" scr_not 'slots'

done_testing
