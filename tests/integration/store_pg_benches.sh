#!/usr/bin/env bash
# Shared history on PostgreSQL, end to end: two real benches under benchsim
# (each with its own emulated hub, its own spool, the same phone ECID) start
# together against one empty database on a throwaway server, see each other's
# attempts, and keep working while the server is stopped and restarted: every
# attempt arrives exactly once, and the password is never shown.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
command -v psql >/dev/null || skip_pg "psql not installed"
PGT="$IDB_TOP/scripts/pg-test-server"
PGDIR=$(mktemp -d /tmp/idb-pg.XXXXXX)
at_exit "'$PGT' destroy '$PGDIR'"
URL=$("$PGT" start "$PGDIR") || skip_pg "cannot start a PostgreSQL test server"
PW=$(cat "$PGDIR/pw")
ECID=0x001a2b3c4d5e6f70
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" --any-board "$IPSW"

q() { psql -X -A -t -q -c "$1" "$URL"; }
# q_is SECONDS WANT SQL: true once the server answers SQL with WANT
q_is() {
	local i
	for i in $(seq 1 $(($1 * 5))); do
		[ "$(q "$3" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# start_bench NAME SCENARIO-TEXT: one bench in $T/NAME, events in $T/NAME/events.jsonl
start_bench() {
	local b=$1 d="$T/$1"
	mkdir -p "$d/home"
	printf '%s\n' "$2" >"$d/scenario"
	printf '[bench]\nname = %s\nstall_timeout = 5\n[history]\nurl = %s\n' "$b" "$URL" >"$d/conf"
	chmod 600 "$d/conf"
	mkfifo "$d/cmd.fifo"
	: >"$d/events.jsonl"
	HOME="$d/home" XDG_DATA_HOME="$d/home/data" XDG_CONFIG_HOME="$d/home/config" \
		"$BENCHSIM" --log "$d/sim.log" --ctl "$d/ctl.sock" "$d/scenario" -- \
		"$IDEVICEBENCH" --json -c "$d/conf" --ipsw "$IPSW" --log-dir "$d/logs" \
		<"$d/cmd.fifo" >"$d/events.jsonl" 2>"$d/bench.err" &
	echo $! >"$d/pid"
}


wait_ev() {	# wait_ev BENCH TIMEOUT key=value...
	local b=$1
	shift
	python3 "$JSONWAIT" "$T/$b/events.jsonl" "$@"
}

stop_bench() {
	local b=$1 pid i
	pid=$(cat "$T/$b/pid")
	printf 'quit\n' >&"$2"
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# bench-a: the phone fails on it (device lost at 42% of upload_fs)
start_bench bench-a "hub 1-2 ports 7
plug 1-2.3 recovery ecid $ECID cpid 0x8010 bdid 0x08
restore $ECID fail upload_fs 42 disconnect
speed 10"
exec 7>"$T/bench-a/cmd.fifo"
at_exit "kill -KILL \$(cat '$T/bench-a/pid') 2>/dev/null"
# bench-b: the same phone, plugged in there afterwards; its restore takes 12 s
start_bench bench-b "hub 1-1 ports 4
restore $ECID ok 120
speed 10"
exec 8>"$T/bench-b/cmd.fifo"
at_exit "kill -KILL \$(cat '$T/bench-b/pid') 2>/dev/null"

check "bench-a sees its phone" wait_ev bench-a 20 event=device port=1-2.3
check "bench-b is up" wait_ev bench-b 20 event=slot
check "both benches migrated the empty database at once: one schema version" \
	test "$(q 'SELECT count(*) FROM schema_version')" = 1

printf 'update 1-2.3\n' >&7
check "bench-a: the restore fails as the scenario says" \
	wait_ev bench-a 40 event=job slot=1-2.3 state=failed class=connection-lost
check "bench-a's failed attempt is on the server under its bench name" \
	q_is 10 1 "SELECT count(*) FROM attempts WHERE bench = 'bench-a' AND state = 'failed' AND class = 'connection-lost'"

# the phone walks over to bench-b while the server is up: it arrives with its history
"$BENCHSIM" --send "$T/bench-b/ctl.sock" "plug 1-1.1 recovery ecid $ECID cpid 0x8010 bdid 0x08" >/dev/null
check "bench-b: the phone's failure on bench-a decides its advice" \
	wait_ev bench-b 20 event=advice slot=1-1.1 rule=first-connection-loss
"$BENCHSIM" --send "$T/bench-b/ctl.sock" "unplug 1-1.1" >/dev/null
check "bench-b: the phone is unplugged" wait_ev bench-b 20 event=gone port=1-1.1

# plugged in again, restored; the server goes away in the middle of the restore
"$BENCHSIM" --send "$T/bench-b/ctl.sock" "plug 1-1.2 recovery ecid $ECID cpid 0x8010 bdid 0x08" >/dev/null
check "bench-b sees the phone" wait_ev bench-b 20 event=device port=1-1.2
printf 'update 1-1.2\n' >&8
check "bench-b: the restore runs" wait_ev bench-b 20 event=job slot=1-1.2 state=running
check "bench-b's attempt is open on the server when it goes away" \
	q_is 10 1 "SELECT count(*) FROM attempts WHERE bench = 'bench-b' AND state = 'running'"
"$PGT" stop "$PGDIR"
check "bench-b finishes the restore while the server is down" wait_ev bench-b 60 event=job slot=1-1.2 state=done
check "bench-b says the history server is away" \
	wait_ev bench-b 20 event=error "text=~history server"
spooled=$(sqlite3 "$T/bench-b/home/data/idevicebench/history.db" \
	"SELECT count(*) FROM pg_spool_attempts" 2>/dev/null)
check "bench-b's attempt waits in its local spool (got '$spooled')" test "${spooled:-0}" -ge 1

"$PGT" start "$PGDIR" >/dev/null
check "after the restart bench-b's open attempt is completed on the server" \
	q_is 40 1 "SELECT count(*) FROM attempts WHERE bench = 'bench-b' AND state = 'done'"
check "and no row of it is left open" \
	test "$(q "SELECT count(*) FROM attempts WHERE state NOT IN ('done', 'failed', 'cancelled')")" = 0

stop_bench bench-a 7
stop_bench bench-b 8
check "every attempt arrived exactly once (1 from each bench)" \
	test "$(q "SELECT count(*) FROM attempts WHERE ecid = x'001a2b3c4d5e6f70'::bigint")" = 2
check "no attempt row twice" test "$(q 'SELECT count(*) - count(DISTINCT uuid) FROM attempts')" = 0
spooled=$(sqlite3 "$T/bench-b/home/data/idevicebench/history.db" "SELECT count(*) FROM pg_spool_attempts")
check "bench-b's spool is empty again" test "$spooled" = 0

# the password: in the configuration files, and nowhere else the benches wrote
leaks=$(grep -rlF --exclude=conf -- "$PW" "$T/bench-a" "$T/bench-b" 2>/dev/null)
check "the password is in no event, stderr, idevicebench.log, attempt log or spool (${leaks:-none})" \
	test -z "$leaks"
check "the benches did write logs to search" \
	bash -c "ls '$T'/bench-b/logs/*/* >/dev/null 2>&1 || ls '$T'/bench-b/logs/* >/dev/null"

# the report commands against the server: the phone's history from both benches
out=$(HOME="$T/home" "$IDEVICEBENCH" history --db "$URL" "$ECID" 2>"$T/history.err")
check "history --db URL works" test $? -eq 0
printf '%s\n' "$out" | sed 's/^/# /'
check "history shows bench-a's failure" bash -c "printf '%s\n' \"\$1\" | grep -q '1-2.3.*failed.*connection-lost'" _ "$out"
check "history shows bench-b's success" bash -c "printf '%s\n' \"\$1\" | grep -q '1-1.2.*done'" _ "$out"
out=$("$IDEVICEBENCH" ports --db "$URL" --bench all)
printf '%s\n' "$out" | sed 's/^/# /'
check "ports --bench all: bench-a's port on its own row" \
	bash -c "grep -qE '^bench-a +1-2\.3 +1 +1 ' <<<\"\$1\"" _ "$out"
check "ports --bench all: bench-b's port on its own row" \
	bash -c "grep -qE '^bench-b +1-1\.2 +1 +0 ' <<<\"\$1\"" _ "$out"
out=$("$IDEVICEBENCH" ports --db "$URL" --bench bench-b)
check "ports --bench bench-b: only bench-b's ports" \
	bash -c "grep -qE '^1-1\.2 ' <<<\"\$1\" && ! grep -q '1-2\.3' <<<\"\$1\"" _ "$out"
out=$("$IDEVICEBENCH" export --db "$URL" --format json)
check "export --format json on the server: the phone's ticket counts both benches' attempts" \
	bash -c "jq -e --arg e 0x1a2b3c4d5e6f70 '[.. | objects | select(.ecid? == \$e)][0] | .attempts == 2 and .failed == 1 and .done == 1' <<<\"\$1\" >/dev/null" _ "$out"
out=$("$IDEVICEBENCH" export --db "$URL" --format csv)
printf '%s\n' "$out" | sed 's/^/# /'
check "export --format csv on the server: a header and the phone's row, with its model name" \
	bash -c "head -1 <<<\"\$1\" | grep -q '^ecid,' && grep -q '^0x1a2b3c4d5e6f70,\"iPhone9,1\",iPhone 7,' <<<\"\$1\"" _ "$out"
out=$("$IDEVICEBENCH" history --db "postgresql://idb:$PW@127.0.0.1:1/idb" 2>&1)
check "an unreachable server is an error, without the password" \
	bash -c "! printf '%s' \"\$1\" | grep -qF -- '$PW' && printf '%s' \"\$1\" | grep -q '\\*\\*\\*'" _ "$out"
done_testing
