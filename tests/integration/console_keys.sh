#!/usr/bin/env bash
# console_keys.sh: the REAL console (build/idevicebench without --json) under
# benchsim in a detached tmux: selection, update with progress to done, erase
# refused, failure codes, guided DFU completed by a replug, flag, help, resize,
# quit with a job running. Assertions are on the screen and on the history db.
. "$IDB_TOP/tests/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
command -v sqlite3 >/dev/null 2>&1 || skip_all "sqlite3 is not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

tmux_init console-keys
DB=$T/history.db

# cell.py LABEL: the text inside the box of slot LABEL (3 lines), from a screen on stdin
cat >"$T/cell.py" <<'EOF'
import re, sys
label = sys.argv[1]
rows = sys.stdin.read().split("\n")
for r, line in enumerate(rows):
	m = re.search("\u250c[>\u2500*]" + re.escape(label) + " ", line)
	if not m:
		continue
	c = m.start()
	end = line.find("\u2510", c)
	for body in rows[r + 1:r + 4]:
		print(body[c + 1:end].strip())
	break
EOF
cell() { scr | python3 "$T/cell.py" "$1"; }
# wait_cell SECONDS LABEL REGEX: until the cell of LABEL matches
wait_cell() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		grep -qE -- "$3" <<<"$(cell "$2")" && return 0
		sleep 0.1
	done
	return 1
}
# wait_scr_not SECONDS STRING: until the screen no longer shows STRING
wait_scr_not() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		scr | grep -qF -- "$2" || return 0
		sleep 0.1
	done
	return 1
}
# scr_not REGEX: the screen does not match
keys() { TM send-keys -t c "$@"; }
# tcheck DESCRIPTION COMMAND...: like check, with the screen as diagnostics on failure
ecid_dec() { printf '%d' "$1"; }

cat >"$T/console.conf" <<EOF
[bench]
ipsw = $T/test.ipsw
max_jobs = 8
max_jobs_per_root = 4
stall_timeout = 60
reconnect_window = 10
kill_grace = 1
[slots]
A1 = 1-1.1
A2 = 1-1.2
A3 = 1-1.3
A4 = 1-1.4
B1 = 1-2.1
B2 = 1-2.2
B3 = 1-2.3
B4 = 1-2.4
EOF
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$T/test.ipsw"

TM new-session -d -s c -x 80 -y 24 \
	"cd '$IDB_TOP' && '$BENCHSIM' --log '$T/sim.log' --ctl '$T/ctl.sock' tests/data/scenarios/console.scenario -- \
	'$IDEVICEBENCH' -c '$T/console.conf' --log-dir '$T/logs' --db '$DB' 2>'$T/bench.err'; \
	echo idevicebench-exit=\$?; sleep 600"

tcheck "the console comes up at 80x24 with the configured slots" wait_scr 20 "idevicebench .* 8 slots"
tcheck "every phone of the scenario is shown in its cell" wait_cell 20 B2 "REC"
tcheck "A1 shows its model and mode" wait_cell 2 A1 "^iPhone 7 +REC$"
tcheck "the selection starts on A1" wait_scr 2 "┌>A1 "

# moving the selection
keys Right Right
tcheck "Right Right moves the selection to A3" wait_scr 3 "┌>A3 "
tcheck "only one slot is selected" test "$(scr | grep -o '┌>' | wc -l)" = 1
keys Left Left
tcheck "Left Left brings it back to A1" wait_scr 3 "┌>A1 "

# u on a recovery device: progress, then done
keys u
tcheck "u starts a job on A1 that shows a step and a percentage" wait_cell 15 A1 "(prepare|upload_fs|verify_fs|flash_fw|flash_bb|fud|detect) .*[0-9]+%"
tcheck "the header counts it as running" wait_scr 5 " 1 run"
tcheck "the job on A1 ends done" wait_cell 40 A1 "done"
tcheck "the history has A1's update closed as done" \
	bash -c "[ \"\$(sqlite3 '$DB' \"select action||' '||state from attempts where ecid=$(ecid_dec 0xc0000001)\")\" = 'update done' ]"

# a failure shows its code
keys Right
tcheck "Right selects A2" wait_scr 3 "┌>A2 "
keys u
tcheck "A2's failure shows status 53 in its cell" wait_cell 30 A2 "^53 "
tcheck "the history has A2's attempt failed with code 53" \
	bash -c "[ \"\$(sqlite3 '$DB' \"select state||' '||code from attempts where ecid=$(ecid_dec 0xc0000002)\")\" = 'failed 53' ]"
tcheck "the footer names the failure" wait_scr 3 "53"

# e without y does nothing
keys Right
tcheck "Right selects A3" wait_scr 3 "┌>A3 "
keys e
tcheck "e asks before erasing" wait_scr 3 "Erase .*y/N"
keys n
tcheck "any key but y answers no" wait_scr 3 "not erased"
tcheck "A3 stays ready" wait_cell 2 A3 "^ready"

# a connection loss shows 4013 (B2, second row)
keys Left Down Right
tcheck "Left Down Right selects B2" wait_scr 3 "┌>B2 "
keys u
tcheck "B2's lost device shows 4013 in its cell" wait_cell 40 B2 "^4013 "

# guided DFU on B1: countdown, done when a DFU device appears on that port
keys Left
tcheck "Left selects B1" wait_scr 3 "┌>B1 "
keys d
tcheck "d opens the guided DFU for B1" wait_scr 5 "Guided DFU +B1 +1-2.1"
tcheck "the DFU guide counts down" wait_scr 5 "> 1\. .* [0-9]+ s left"
left1=$(scr | grep -E '^ *> ' | head -1)
tcheck "the countdown moves on its own" wait_scr_not 5 "$left1"
# the technician's button presses put the phone into DFU: it leaves and comes back as a DFU device
sim_ctl "unplug 1-2.1" >/dev/null
sleep 0.5
sim_ctl "plug 1-2.1 dfu ecid 0x00000000c0000005 cpid 0x8010 bdid 0x08" >/dev/null
tcheck "the guide sees the DFU device on the port" wait_scr 15 "DFU device detected on 1-2.1"
keys q
tcheck "q goes back to the grid; B1 shows DFU detected" wait_cell 5 B1 "DFU detected"
tcheck "B1 is in DFU mode" wait_cell 2 B1 "^iPhone 7 +DFU$"

# f flags A2 (the failed one) with a typed reason
keys Up
tcheck "Up selects A2" wait_scr 3 "┌>A2 "
keys f
tcheck "f opens the flag menu with suggestions" wait_scr 3 "[Ff]lag"
tcheck "the menu suggests A2's own failure" wait_scr 3 "restore fails: "
tcheck "... and not 'N failed restores' after a single failure" scr_not "failed restores"
keys -l "bad flex"
keys Enter
tcheck "A2 is shown flagged" wait_cell 5 A2 "HW|bad flex"
tcheck "the flag and its reason are in the history" \
	bash -c "sqlite3 '$DB' \"select reason from flags where ecid=$(ecid_dec 0xc0000002) and (cleared is null or cleared = 0)\" | grep -qx 'bad flex'"
tcheck "the header counts one HW" wait_scr 3 " 1 HW"

# ? help
keys '?'
tcheck "? shows the key help" wait_scr 5 "guided DFU"
tcheck "the help says when kick applies" wait_scr 2 "when: phone on the port, in recovery mode"
keys PgDn
tcheck "the help lists the quit key" wait_scr 2 "quit this console"
keys q
tcheck "q leaves the help" wait_scr 5 "┌>A2 "

# resize
TM resize-window -t c -x 200 -y 60
tcheck "at 200x60 A1 and A4 share a row" wait_scr 5 "A1 .*A4 "
tcheck "at 200x60 every slot is on one page" scr_not "page 1/"
tcheck "the cells keep their content after the resize" wait_cell 3 A1 "done"
TM resize-window -t c -x 60 -y 20
tcheck "at 60x20 the grid is redrawn with the selection, two cells a row" wait_scr 5 "^┌─A1 .*┌>A2 [^┌]*$"
tcheck "at 60x20 A1 and A4 are no longer on one row" scr_not "A1 .*A4 "
TM resize-window -t c -x 80 -y 24
tcheck "back at 80x24: three cells a row again" wait_scr 5 "┌─A1 .*┌>A2 .*┌─A3 "

# no job was ever started on A3 (e without y)
tcheck "e without y left no attempt for A3" \
	bash -c "[ \"\$(sqlite3 '$DB' \"select count(*) from attempts where ecid=$(ecid_dec 0xc0000003)\")\" = 0 ]"

# q with a job running asks; n keeps going; q y cancels and exits
keys Left Down
tcheck "Left Down selects A4" wait_scr 3 "┌>A4 "
keys u
tcheck "A4's long update runs" wait_cell 20 A4 "[0-9]+%"
keys q
tcheck "q with a job running asks" wait_scr 3 "1 job running: quit anyway"
keys n
tcheck "n does not quit" wait_scr 3 "not quitting"
tcheck "A4 keeps running" bash -c "sleep 1; [ \"\$(sqlite3 '$DB' \"select count(*) from attempts where ecid=$(ecid_dec 0xc0000004) and (ended is null or ended = 0)\")\" = 1 ]"
keys q
tcheck "q asks again" wait_scr 3 "quit anyway"
keys y
tcheck "q y exits with status 0" wait_scr 20 "idevicebench-exit=0"
tcheck "A4's attempt is closed as cancelled" \
	bash -c "[ \"\$(sqlite3 '$DB' \"select state from attempts where ecid=$(ecid_dec 0xc0000004)\")\" = cancelled ]"
tcheck "no attempt is left open" \
	bash -c "[ \"\$(sqlite3 '$DB' 'select count(*) from attempts where ended is null or ended = 0')\" = 0 ]"
tcheck "no fake restore is left running" bash -c "! pgrep -f '[f]akerestore.*$T/' >/dev/null"
tcheck "nothing but the start and exit lines went to stderr" \
	bash -c "! grep -vE 'idevicebench: (idevicebench .* starting|exiting)' '$T/bench.err'"
done_testing
