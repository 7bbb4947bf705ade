# lib.sh: shared helpers for the integration tests (sourced). TAP output.
# Tests get IDB_TOP, IDB_BUILD and IDEVICEBENCH from tests/run.
set -u
: "${IDB_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${IDB_BUILD:=$IDB_TOP/build}"
: "${IDEVICEBENCH:=$IDB_BUILD/idevicebench}"
BENCHSIM="$IDB_TOP/tests/benchsim/benchsim"
JSONWAIT="$IDB_TOP/tests/jsonwait.py"
export LC_ALL=C.UTF-8

_tap_n=0
_tap_fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/idb-test.XXXXXX")
# every test has its own state, so tests can run side by side and never touch $HOME
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" XDG_DATA_HOME="$T/home/.local/share" \
	XDG_STATE_HOME="$T/home/.local/state" XDG_CACHE_HOME="$T/home/.cache"
mkdir -p "$HOME"
# the control socket of the bench under test: never another test's (root shares /run/idevicebench)
export IDEVICEBENCH_SOCKET="$T/bench.sock"

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $*"
}

not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n - $*"
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# A test finds the processes it started through their parents, never by a
# machine-wide name: a parallel run or a demo must not be taken for its own.
# child_of PID [NAME]: a child of PID (named NAME), waiting up to 5 s for it to appear
child_of() {
	local i c
	for i in $(seq 1 50); do
		c=$(pgrep -n -P "$1" ${2:+-x "$2"})
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}
# descendants PID: every process below PID, each before its own children
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

diag() {
	sed 's/^/# /' "$@"
}

_cleanup_hooks=()
_cleanup_done=0
at_exit() { _cleanup_hooks+=("$*"); }
# once, however the test ends: its end, an exit on the way, or a signal
_run_cleanup() {
	local h
	[ "$_cleanup_done" = 1 ] && return 0
	_cleanup_done=1
	for h in "${_cleanup_hooks[@]}"; do eval "$h" >/dev/null 2>&1 || true; done
	if [ "$_tap_fail" -gt 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		echo "# state kept in $T"
	else
		rm -rf "$T"
	fi
}
# Killed (the runner's timeout, ^C, a closed terminal): bash would die without
# its EXIT trap and leave the servers the test started running. Clean up as at
# the end instead, and fail with the shell's status for that signal.
_on_signal() {
	trap '' TERM INT HUP	# a second signal does not cut the cleanup short
	echo "# killed by SIG$1"
	_run_cleanup
	trap - EXIT
	exit "$2"
}
trap _run_cleanup EXIT
trap '_on_signal TERM 143' TERM
trap '_on_signal INT 130' INT
trap '_on_signal HUP 129' HUP

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_fail" -eq 0 ]
	exit $?
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 77
}

# skip_pg REASON: a PostgreSQL test that cannot run skips, unless CI asked
# for PostgreSQL (IDB_REQUIRE_PG=1, set by .ci/run): then it is a failure.
skip_pg() {
	if [ "${IDB_REQUIRE_PG:-0}" = 1 ]; then
		not_ok "PostgreSQL is required here (IDB_REQUIRE_PG=1): $*"
		done_testing
	fi
	skip_all "$@"
}

# bench_start SCENARIO [idevicebench args...]: the real binary in --json mode under benchsim.
# Commands: bench_send "update A1". Events accumulate in $T/events.jsonl.
bench_start() {
	local scen=$1
	shift
	[ -x "$BENCHSIM" ] || { echo "# benchsim not built"; return 1; }
	rm -f "$T/cmd.fifo"
	mkfifo "$T/cmd.fifo"
	: >"$T/events.jsonl"
	"$BENCHSIM" --log "$T/sim.log" --ctl "$T/ctl.sock" ${BENCHSIM_SPEED:+--speed "$BENCHSIM_SPEED"} "$scen" -- \
		"$IDEVICEBENCH" --json --log-dir "$T/logs" --db "$T/history.db" "$@" \
		<"$T/cmd.fifo" >"$T/events.jsonl" 2>"$T/bench.err" &
	BENCH_PID=$!
	exec 9>"$T/cmd.fifo"
	at_exit bench_kill
}

bench_send() {
	printf '%s\n' "$*" >&9
}

# bench_stop: quit, wait for the exit status (in BENCH_RC)
bench_stop() {
	bench_send quit
	local i
	for i in $(seq 1 300); do
		kill -0 "$BENCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BENCH_PID" 2>/dev/null; then
		kill -TERM "$BENCH_PID" 2>/dev/null
		sleep 1
	fi
	wait "$BENCH_PID"
	BENCH_RC=$?
	exec 9>&-
	return 0
}

bench_kill() {
	if [ -n "${BENCH_PID:-}" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
		kill -TERM "$BENCH_PID" 2>/dev/null
		sleep 0.5
		kill -KILL "$BENCH_PID" 2>/dev/null
	fi
}

# wait_event TIMEOUT key=value...: wait until an event with all those fields appears
wait_event() {
	python3 "$JSONWAIT" "$T/events.jsonl" "$@"
}

# count_events key=value...: how many events match now
count_events() {
	python3 "$JSONWAIT" --count "$T/events.jsonl" "$@"
}

sim_ctl() {
	"$BENCHSIM" --send "$T/ctl.sock" "$*"
}

# ---- the console in tmux ---------------------------------------------------
# tmux_init NAME: a private tmux server for this test, killed at exit; the pane under test is "c".
tmux_init() {
	_tmux_base="idb-$1-$$"
	_tmux_n=0
	SOCK="$_tmux_base-0"
	at_exit TM kill-server
}
# tmux_fresh: kill this test's server and switch to a new one, so the next
# new-session can never meet the old server while it is still exiting.
tmux_fresh() {
	TM kill-server >/dev/null 2>&1
	_tmux_n=$((_tmux_n + 1))
	SOCK="$_tmux_base-$_tmux_n"
}
TM() { tmux -L "$SOCK" -f /dev/null "$@"; }
# pane_pid SESSION: the process tmux started in the session's pane (the command, when it was exec'd)
pane_pid() { TM display-message -p -t "$1" '#{pane_pid}'; }
scr() { TM capture-pane -p -t "${1:-c}" 2>/dev/null; }
scr_e() { TM capture-pane -p -e -t "${1:-c}" 2>/dev/null; }
scr_not() { ! scr | grep -qE -- "$1"; }
# wait_scr SECONDS REGEX [PANE]: until the screen matches (the assertion is the content, not the time)
wait_scr() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		scr "${3:-c}" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# tcheck DESCRIPTION COMMAND...: like check, and shows the screen (escapes made visible) when it fails
tcheck() {
	local d=$1
	shift
	if "$@"; then
		ok "$d"
	else
		not_ok "$d"
		scr_e | cat -v | sed 's/^/#   /'
	fi
}
