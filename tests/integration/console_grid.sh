#!/usr/bin/env bash
# console_grid.sh: the REAL console with the demo bench (config/demo.scenario,
# config/demo.conf) under benchsim, at 80x24 and at 200x60: header, cells with
# models and modes, paging, and q without jobs quitting at once.
. "$IDB_TOP/tests/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"

tmux_init console-grid
# every LABEL is on the screen
all_labels() {
	local l s
	s=$(scr)
	for l in "$@"; do
		grep -qE "[>─]$l " <<<"$s" || { echo "# $l missing"; return 1; }
	done
}
# how many cells share the row of the cell LABEL
cells_in_row() { scr | grep -m1 -F "$1" | grep -o '┌' | wc -l; }

# the grid is drawn and shows no page number
no_paging() { scr | grep -q 'A1 ' && scr_not "page 1/"; }

# run COLS ROWS: the demo bench in a fresh tmux server
run() {
	local n=$1x$2
	tmux_fresh
	TM new-session -d -s c -x "$1" -y "$2" \
		"cd '$IDB_TOP' && '$BENCHSIM' --log '$T/sim-$n.log' --ctl '$T/ctl-$n.sock' config/demo.scenario -- \
		'$IDEVICEBENCH' -c config/demo.conf --log-dir '$T/logs-$n' --db '$T/history-$n.db' 2>'$T/bench-$n.err'; \
		echo idevicebench-exit=\$?; sleep 600"
}

run 80 24
tcheck "80x24: the header names the bench and counts 16 slots" wait_scr 20 "^ idevicebench .* 16 slots "
tcheck "80x24: the IPSW and the restore program are shown" wait_scr 5 "IPSW .*idevicerestore 1.0.0"
tcheck "80x24: A1 is an iPhone 7 in recovery" wait_scr 20 "A1 .*1-1.1"
tcheck "80x24: the phones of the first page are shown with their modes" \
	wait_scr 20 "iPhone 7 +REC .*iPhone 8 +DFU"
tcheck "80x24: nine cells on the first page" all_labels A1 A2 A3 A4 A5 A6 A7 A8 B1
tcheck "80x24: three cells a row" test "$(cells_in_row A1)" = 3
tcheck "80x24: the rest is on page 2" wait_scr 2 "page 1/2"
tcheck "80x24: the key line is at the bottom" bash -c "tmux -L '$SOCK' -f /dev/null capture-pane -p -t c | tail -1 | grep -q 'u update .*q quit'"
tcheck "80x24: nothing runs yet" wait_scr 2 " 0 run "
TM send-keys -t c NPage
tcheck "80x24: PgDn shows page 2 with B2..B8" wait_scr 5 "page 2/2"
tcheck "80x24: page 2 holds B2 to B8" all_labels B2 B3 B4 B5 B6 B7 B8
TM send-keys -t c q
tcheck "80x24: q with no job running quits at once, status 0" wait_scr 10 "idevicebench-exit=0"

run 200 60
tcheck "200x60: the header counts 16 slots" wait_scr 20 "^ idevicebench .* 16 slots "
for i in $(seq 1 50); do all_labels A1 A2 A3 A4 A5 A6 A7 A8 B1 B2 B3 B4 B5 B6 B7 B8 >/dev/null && break; sleep 0.1; done
tcheck "200x60: all 16 slots on one screen" all_labels A1 A2 A3 A4 A5 A6 A7 A8 B1 B2 B3 B4 B5 B6 B7 B8
tcheck "200x60: no paging" no_paging
tcheck "200x60: more than three cells a row" test "$(cells_in_row A1)" -gt 3
tcheck "200x60: the phones show with their modes" wait_scr 20 "iPhone 7 +REC .*iPhone 8 +DFU"
TM send-keys -t c q
tcheck "200x60: q quits, status 0" wait_scr 10 "idevicebench-exit=0"
tcheck "the console wrote no warning to stderr" \
	bash -c "! grep -hvE 'idevicebench: (idevicebench .* starting|exiting)' '$T'/bench-*.err"
done_testing
