# faultlib.sh: helpers shared by tests/integration/fault_*.sh (sourced after tests/lib.sh).
F="$IDB_TOP/tests/data/fault"
FAULT_OUT="$T/out"
export FAULT_OUT
mkdir -p "$FAULT_OUT"
# a bench that died must fail the checks, not kill the test with SIGPIPE on its fifo
trap '' PIPE

# fault_start SCENARIO [idevicebench args...]: bench_start, and stop the test at once
# when the bench or the harness did not come up (a scenario error, a crash at start)
fault_start() {
	local i
	bench_start "$@"
	for i in $(seq 1 20); do
		[ -s "$T/events.jsonl" ] && return 0
		kill -0 "$BENCH_PID" 2>/dev/null || break
		sleep 0.25
	done
	[ -s "$T/events.jsonl" ] && return 0
	not_ok "the bench came up under benchsim"
	diag "$T/bench.err"
	done_testing
}

# fault_ipsw: a small valid IPSW at $IPSW
fault_ipsw() {
	IPSW="$T/test.ipsw"
	python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"
}

# fault_conf [KEY=VALUE...]: a bench config with short timeouts at $T/bench.conf
fault_conf() {
	{
		echo "[bench]"
		echo "max_jobs = 12"
		echo "max_jobs_per_root = 12"
		echo "kill_grace = 1"
		echo "stall_timeout = 30"
		echo "reconnect_window = 2"
		local kv
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >"$T/bench.conf"
}

# Fast event matching with grep (python start-up is slow on a loaded machine). The writer
# keeps its field order, so "k":"v" substrings identify an event. Arguments:
#   k=v   the string field k is exactly v      k~v   the line contains v (anywhere)
_ev_filter() {
	local a cmd="cat \"\$T/events.jsonl\""
	for a in "$@"; do
		case $a in
		*=*) cmd+=" | grep -F -- $(printf '%q' "\"${a%%=*}\":\"${a#*=}\"")" ;;
		*~*) cmd+=" | grep -F -- $(printf '%q' "${a#*~}")" ;;
		esac
	done
	eval "$cmd"
}

# ev_count k=v...: how many events match now
ev_count() {
	_ev_filter "$@" | wc -l
}

# ev_wait TIMEOUT k=v...: until one event matches (prints it, for the log)
ev_wait() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		_ev_filter "$@" | head -1 | grep . && return 0
		sleep 0.1
	done
	echo "# timeout waiting for $*"
	return 1
}

# wait_count TIMEOUT N k=v...: until at least N events match
wait_count() {
	local t=$1 n=$2 i
	shift 2
	for i in $(seq 1 $((t * 10))); do
		[ "$(ev_count "$@")" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "# timeout: fewer than $n events $*"
	return 1
}

# alive: the bench still reads and answers commands (a bad slot name gets an error event)
_alive_n=0
alive() {
	_alive_n=$((_alive_n + 1))
	bench_send "update nosuchslot$_alive_n"
	ev_wait 10 event=error "text~'nosuchslot$_alive_n'" >/dev/null
}

# ended SLOT TIMEOUT: the slot's latest job event is a final state (done, failed, cancelled)
ended() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		_ev_filter event=job slot="$1" | tail -1 | grep -qE '"state":"(done|failed|cancelled)"' && return 0
		sleep 0.1
	done
	echo "# $1: last job event: $(_ev_filter event=job slot="$1" | tail -1)"
	return 1
}

# history_complete DB N: N attempts recorded, none left open, every one in a final state
history_complete() {
	local db=$1 n=$2
	[ "$(sqlite3 "$db" 'select count(*) from attempts')" -eq "$n" ] &&
		[ "$(sqlite3 "$db" "select count(*) from attempts where ended is null or ended = 0 or state not in ('done','failed','cancelled')")" -eq 0 ]
}

# events_clean: every line is JSON, no control character in the raw stream or in any decoded string
events_clean() {
	python3 - "$T/events.jsonl" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
bad = [b for b in raw if (b < 0x20 and b != 0x0a) or b == 0x7f or b >= 0x80]
if bad:
    print("# raw control or non-ASCII bytes in events: %r" % bytes(bad[:20])); sys.exit(1)
def walk(v):
    if isinstance(v, str):
        for ch in v:
            o = ord(ch)
            if o < 0x20 or 0x7f <= o <= 0x9f or 0x202a <= o <= 0x202e or 0x2066 <= o <= 0x2069:
                print("# control character U+%04X in %r" % (o, v[:80])); sys.exit(1)
    elif isinstance(v, dict):
        for x in v.values(): walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
for l in raw.decode("ascii").splitlines():
    walk(json.loads(l))
PY
}

# gone_pid PIDFILE: the process named in the file no longer exists (nor does its group)
gone_pid() {
	local p i
	p=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$p" ] || return 1
	for i in $(seq 1 25); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.2
	done
	return 1
}

# bench_child_pid: the idevicebench process benchsim runs
bench_child_pid() {
	pgrep -P "$BENCH_PID" | head -1
}

# fault_kill_pids: at exit, kill what the fake restore programs left (by recorded pid only)
fault_kill_pids() {
	local f
	for f in "$FAULT_OUT"/pid-* "$FAULT_OUT"/grandchild-*; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	return 0
}
at_exit fault_kill_pids
