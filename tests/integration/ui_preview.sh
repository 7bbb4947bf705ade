#!/usr/bin/env bash
# ui_preview.sh: drive the console (the real ui*.c over tests/ui/fakebench.c)
# in a detached tmux, send keys, and assert on what is on the screen and on
# the commands the fake bench received. Prints TAP.
set -u
. "$IDB_TOP/tests/lib.sh"
prev=$IDB_BUILD/tests/ui/uipreview
export LANG=C.UTF-8 LC_ALL=
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
if [ ! -x "$prev" ]; then
	not_ok "$prev is built"
	done_testing
fi
tmux_init ui

has() { scr | grep -qF -- "$1"; }
hasnt() { ! scr | grep -qF -- "$1"; }
logged() { grep -qxF -- "$1" "$T/cmd.log"; }
# Wait (up to 5 s) until the screen shows a string; the assertion is on content, not time.
wait_for() {
	local i
	for i in $(seq 1 50); do
		has "$1" && return 0
		sleep 0.1
	done
	return 1
}
wait_gone() {
	local i
	for i in $(seq 1 50); do
		hasnt "$1" && return 0
		sleep 0.1
	done
	return 1
}
keys() { TM send-keys -t c "$@"; }
# start COLS ROWS [VAR=value ...] -- [uipreview options]
start() {
	local cols=$1 rows=$2 envs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	# a fresh server each time: a new session must not meet the old one exiting
	tmux_fresh
	: >"$T/cmd.log"
	: >"$T/stderr"
	TM new-session -d -s c -x "$cols" -y "$rows" \
		"env ${envs[*]} IDEVICEBENCH_UI_STDERR=$T/stderr $prev -c $T/cmd.log -L $T/log $*; echo uipreview-exit=\$?; sleep 60"
	wait_for "idevicebench"
}
quiet_stderr() { [ ! -s "$T/stderr" ]; }
hasre() { scr | grep -qE -- "$1"; }
hasnt_re() { ! scr | grep -qE -- "$1"; }
both() { hasre "$1" && hasre "$2"; }
both_not() { has "$1" && hasnt "$2"; }
not_logged_re() { ! grep -qE -- "$1" "$T/cmd.log"; }
# Wait (up to 3 s) until the fake bench recorded a command COUNT times.
wait_logged_n() {
	local i
	for i in $(seq 1 30); do
		[ "$(grep -cxF -- "$2" "$T/cmd.log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_logged() { wait_logged_n 1 "$1"; }
table_rows() {
	local s l
	s=$(scr)
	for l in "$@"; do
		grep -qE "^[ >]$l " <<<"$s" || return 1
	done
}
sgr_colour=$'\e\\[([0-9;]*;)?3[0-7](;[0-9;]*)?m'
coloured() { scr_e | grep -qE -- "$sgr_colour"; }
not_coloured() { ! coloured; }
countdown_moves() {
	local i s
	for i in $(seq 1 30); do
		s=$(scr | grep -oE '[0-9]+ s left' | head -1)
		[ -n "$s" ] && [ "$s" != "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# A log with a child's escape sequences, a \r progress bar and 60 more lines.
{
	printf 'first line\n\033[2Jhello \033[31mred\033[0m\n'
	printf 'progress 10%%\rprogress 50%%\rprogress 90%%\n'
	for i in $(seq -w 1 60); do echo "line-$i"; done
} >"$T/log"

# ---- the grid at 80x24 ------------------------------------------------------
start 80 24 TERM=screen -- || echo "# uipreview did not start"
tcheck "80x24: header with the bench summary" has "idevicebench bench-3 | 16 slots 3 run 2 queued"
tcheck "80x24: IPSW and restore program version" has "IPSW iPhone 15.8 (19H370)  idevicerestore 1.0.0  usbmuxd ok"
tcheck "80x24: cells with label, port, model and mode" both '┌>A1  1-2.1 ─' '│ iPhone 7 +REC │'
tcheck "80x24: running cell has step, bar and percent" hasre 'upload_fs █+.* 62%'
tcheck "80x24: failed cell shows the short error" has "4013 lost upload_fs 37%"
tcheck "80x24: flag and port marks" both 'try 3  HW' 'try 2  port\?'
tcheck "80x24: three columns of cells fit" hasre '^┌>A1 .*┐┌─A2 .*┐┌─A3 .*┐$'
tcheck "80x24: more slots than fit: pages" has "page 1/2"
tcheck "80x24: slots of page 2 are not shown" hasnt "D4"
tcheck "80x24: footer has the keys for A1's running restore" has " c cancel  f flag  i ignore  l log  Enter details  ? help  q quit"
tcheck "80x24: ... and not those for an idle phone" hasnt "u update"
tcheck "80x24: the selected slot's summary" has " A1 iPhone 7 (iPhone9,1) ECID 0x1A2B3C4D5E6F70 recovery, 2 tries"
tcheck "80x24: no line is wider than 80" hasnt_re '^.{81}'

# ---- moving the selection -----------------------------------------------------
keys Right
tcheck "Right selects A2" wait_for " A2 iPhone 8 Plus (iPhone10,2)"
tcheck "the selection marker moved" hasre '┌─A1 .*┌>A2 '
keys Down
tcheck "Down selects the slot below (B1)" wait_for " B1 iPhone 7 Plus (iPhone9,2)"
keys Left
tcheck "Left selects A4, whose advice shows under the grid" wait_for "same failure point -> hardware"
keys PgDn
tcheck "PgDn shows page 2" wait_for "page 2/2"
tcheck "page 2 has D4" has "D4  1-5.4"
keys Home
tcheck "Home goes back to A1 on page 1" wait_for "page 1/2"

# ---- help overlay lists every key of the table ---------------------------------
keys '?'
wait_for "idevicebench keys" >/dev/null
{ scr; keys PgDn; sleep 0.3; scr; keys PgDn; sleep 0.3; scr; } >"$T/help"
missing=""
while IFS=$'\t' read -r ctx name; do
	# the key column of the help lines ("  Up Down ...  help text")
	if ! grep -E '^  [^ ]' "$T/help" | cut -c3-21 | tr ' ' '\n' | grep -qxF -- "$name"; then
		missing="$missing $ctx:$name"
	fi
done < <("$prev" --keys)
tcheck "help lists every key of the table${missing:+ (missing:$missing)}" test -z "$missing"
tcheck "help names the error numbers convention" grep -q "this bench's convention" "$T/help"
tcheck "help says when flag applies" grep -qE "^ +when: ECID known$" "$T/help"
keys q
tcheck "q leaves the help" wait_for "? help  q quit"

# ---- erase asks first ---------------------------------------------------------
keys e
tcheck "e asks with model and ECID" wait_for "Erase iPhone 7 ECID 0x1A2B3C4D5E6F70? y/N"
keys n
tcheck "n answers no" wait_for "not erased"
tcheck "e n sends nothing" not_logged_re erase
keys e
wait_for "ECID 0x1A2B3C4D5E6F70? y/N" >/dev/null
keys Y
tcheck "only y confirms (Y does not)" wait_gone "? y/N"
tcheck "e Y sends nothing" not_logged_re erase
keys e y
tcheck "e y shows it was sent" wait_for " erase A1"
tcheck "e y sends erase A1" logged "erase A1"

# ---- errors from the bench go to the message line ----------------------------------
keys End
wait_for " D4 iPhone X" >/dev/null
keys Home Right Right Right Right Right Right
tcheck "B3 (a normal-mode phone) selected" wait_for " B3 iPhone 6s"
keys k
tcheck "kick on a normal-mode phone: the bench's error on the message line" wait_for "B3: kick needs a device in recovery mode"
tcheck "the refused kick was sent once" logged "kick B3"

# ---- marks: a command key acts on every marked slot --------------------------------
keys Home Space Space
tcheck "two slots marked" wait_for "2 marked  page 1/2"
tcheck "marked cells show *" has "┌─A1* 1-2.1"
keys u
tcheck "u with marks updates A1" wait_logged "update A1"
tcheck "u with marks updates A2" logged "update A2"

# ---- flag menu ------------------------------------------------------------------
keys Home Right Right Right f
tcheck "f opens the flag menu with suggestions" wait_for "A10 CPU pseudo-soldering: CPU reballing"
tcheck "flag menu names the slot" has "Flag A4 iPhone X for hardware repair"
keys b a d Space c a b l e Enter
tcheck "a typed reason is sent" wait_logged "flag A4 bad cable"
keys f Down Enter
tcheck "a picked suggestion is sent" wait_logged "flag A4 4013 at upload_fs near 37%, 3 times"
keys F
tcheck "F unflags" wait_logged "unflag A4"

# ---- detail pane --------------------------------------------------------------
keys Enter
tcheck "Enter opens the detail pane with the attempts" wait_for "Attempts:"
tcheck "detail pane shows the failure" has "Result: 4013 lost (connection-lost)"
tcheck "detail pane shows ECID, product type and CPID" has "ECID 0x115480AA2801F iPhone X  iPhone10,3  CPID 0x8015"
keys Tab
tcheck "Tab closes it" wait_gone "Attempts:"

# ---- the log view -------------------------------------------------------------
keys Home l
tcheck "l shows the log, from its end" wait_for "line-60"
tcheck "log view: title names the slot" has "Log of A1 iPhone 7"
keys g
tcheck "g goes to the top" wait_for "first line"
tcheck "escape sequences from the child are shown escaped" has "?[2Jhello ?[31mred?[0m"
tcheck "a \\r progress bar shows its last state only" both_not 'progress 90%' 'progress 10%'
tcheck "the screen was not cleared by the log's escape" has "first line"
keys Down
tcheck "Down scrolls a line" wait_gone "first line"
keys G
tcheck "G goes to the end" wait_for "line-60"
keys q
tcheck "q goes back to the grid" wait_for "? help  q quit"

# ---- table --------------------------------------------------------------------
keys t
tcheck "t shows the table with a heading" wait_for "SLOT   PORT     MODEL"
tcheck "the table fits all 16 slots at 80x24" table_rows A1 A2 A3 A4 B1 B2 B3 B4 C1 C2 C3 C4 D1 D2 D3 D4
keys t
tcheck "t goes back to the grid" wait_for "┌>A1"

# ---- resize ---------------------------------------------------------------------
TM resize-window -t c -x 200 -y 60
tcheck "200x60: every slot on one page" wait_for "D4  1-5.4"
tcheck "200x60: seven cells a row" hasre '┌>A1 .*┌─B3 .*┐$'
tcheck "200x60: no page indicator" hasnt "page 1/"
TM resize-window -t c -x 80 -y 24
tcheck "back to 80x24: pages again" wait_for "page 1/2"
tcheck "back to 80x24: D4 not shown" wait_gone "D4"

# ---- quit while busy ---------------------------------------------------------------
keys q
tcheck "q while jobs run asks" wait_for "5 jobs running: quit anyway? they will be cancelled... y/N"
keys n
tcheck "n keeps running" wait_for "not quitting"
tcheck "no quit sent" not_logged_re '^quit$'
keys q y
tcheck "q y quits" wait_for "uipreview-exit=0"
tcheck "q y sends quit" logged "quit"
tcheck "the terminal was given back (no curses screen left)" hasnt "? help  q quit"
tcheck "nothing written to stderr" quiet_stderr

# ---- quit when idle, monochrome and ASCII -----------------------------------------------
start 80 24 TERM=screen NO_COLOR=1 LANG=C -- || echo "# uipreview did not start"
tcheck "LANG=C: ASCII boxes" hasre '^\+>A1  1-2\.1 -+\+\+-A2'
tcheck "LANG=C: no box drawing characters" hasnt "┌"
tcheck "LANG=C: ASCII progress bar" hasre '\| upload_fs #+\.+ +62% \|'
tcheck "NO_COLOR: no colour in the output" not_coloured
tcheck "NO_COLOR: still marks the selection" hasre '^\+>A1'
TM kill-server >/dev/null 2>&1

# a terminal without colours gets plain ASCII even in a UTF-8 locale
start 80 24 TERM=vt100 -- || echo "# uipreview did not start"
tcheck "TERM=vt100, UTF-8 locale: ASCII boxes" hasre '^\+>A1  1-2\.1 -+\+\+-A2'
tcheck "TERM=vt100: no box drawing characters" hasnt "┌"
tcheck "TERM=vt100: ASCII progress bar" hasre '\| upload_fs #+\.+ +62% \|'
tcheck "TERM=vt100: no colour in the output" not_coloured

start 80 24 TERM=screen -- -i || echo "# uipreview did not start"
keys q
tcheck "q when idle quits without asking" wait_for "uipreview-exit=0"
tcheck "idle quit sends quit" logged "quit"

start 80 24 TERM=screen -- || echo "# uipreview did not start"
tcheck "colour terminal: cells are coloured" coloured
TM kill-server >/dev/null 2>&1

# ---- guided DFU ---------------------------------------------------------------------
start 80 24 TERM=screen -- -P steps:2.5,done || echo "# uipreview did not start"
keys d
tcheck "d sends dfu for the selected slot" wait_logged "dfu A1"
tcheck "DFU screen shows the model's sequence" wait_for "DFU buttons for iPhone 7 / 7 Plus"
tcheck "current step highlighted with a countdown" hasre '^  > 1\. Hold Side \+ Volume Down +[0-9]+ s left'
first=$(scr | grep -oE '[0-9]+ s left' | head -1)
tcheck "the countdown moves on its own" countdown_moves "$first"
tcheck "DFU_DONE: the device is detected on the port" wait_for "DFU device detected on 1-2.1"
keys q
tcheck "q leaves the DFU screen" wait_for "? help  q quit"
TM kill-server >/dev/null 2>&1

start 80 24 TERM=screen -- -P torec:1,steps:1,toolong || echo "# uipreview did not start"
keys Right Right Right Right Right Right
wait_for " B3 iPhone 6s" >/dev/null
keys d
tcheck "normal mode: putting into recovery first" wait_for "putting into recovery..."
tcheck "iPhone 6s gets the Home button sequence" has "Hold Home + Side (Top)"
tcheck "DFU_TOO_LONG: start again" wait_for "Apple logo: Side held too long, start again (d)"
keys d
tcheck "d on the DFU screen starts again" wait_logged_n 2 "dfu B3"
tcheck "nothing written to stderr (DFU)" quiet_stderr
TM kill-server >/dev/null 2>&1

done_testing
