#!/usr/bin/env bash
# Shared history on PostgreSQL, end to end: two real benches under benchsim
# (each with its own emulated hub, its own spool, the same phone ECID) start
# together against one empty database on a throwaway server, see each other's
# attempts, and keep working while the server is stopped and restarted: every
# attempt arrives exactly once, and the password is never shown.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
command -v psql >/dev/null || skip_all "psql not installed"
PGT="$IDB_TOP/scripts/pg-test-server"
PGDIR=$(mktemp -d /tmp/idb-pg.XXXXXX)
at_exit "'$PGT' destroy '$PGDIR'"
URL=$("$PGT" start "$PGDIR") || skip_all "cannot start a PostgreSQL test server"
PW=$(cat "$PGDIR/pw")
ECID=0x001a2b3c4d5e6f70
IPSW="$T/test.ipsw"
python3 "$IDB_TOP/tests/data/mkipsw.py" "$IPSW"

q() { psql -X -A -t -q -c "$1" "$URL"; }

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
# bench-b: the same phone, plugged in there afterwards, restores fine
start_bench bench-b "hub 1-1 ports 4
restore $ECID ok 4
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
for i in $(seq 1 50); do
	[ "$(q "SELECT count(*) FROM attempts WHERE bench = 'bench-a' AND state = 'failed'")" = 1 ] && break
	sleep 0.2
done
check "bench-a's failed attempt is on the server under its bench name" \
	test "$(q "SELECT count(*) FROM attempts WHERE bench = 'bench-a' AND state = 'failed' AND class = 'connection-lost'")" = 1

# the server goes away; bench-b works on
"$PGT" stop "$PGDIR"
"$BENCHSIM" --send "$T/bench-b/ctl.sock" "plug 1-1.2 recovery ecid $ECID cpid 0x8010 bdid 0x08" >/dev/null
check "bench-b sees the phone" wait_ev bench-b 20 event=device port=1-1.2
printf 'update 1-1.2\n' >&8
check "bench-b restores it while the server is down" wait_ev bench-b 60 event=job slot=1-1.2 state=done
check "bench-b says the history server is away" \
	wait_ev bench-b 20 event=error "text=~history server"
if grep -qF -- "$PW" "$T/bench-b/events.jsonl" "$T/bench-b/bench.err" "$T/bench-a/events.jsonl" \
	"$T/bench-a/bench.err"; then
	not_ok "the password never appears in events or logs"
else
	ok "the password never appears in events or logs"
fi
spooled=$(sqlite3 "$T/bench-b/home/data/idevicebench/history.db" \
	"SELECT count(*) FROM pg_spool_attempts" 2>/dev/null)
check "bench-b's attempt waits in its local spool (got '$spooled')" test "${spooled:-0}" -ge 1

"$PGT" start "$PGDIR" >/dev/null
for i in $(seq 1 200); do
	[ "$(q "SELECT count(*) FROM attempts WHERE bench = 'bench-b' AND state = 'done'" 2>/dev/null)" = 1 ] && break
	sleep 0.2
done
check "after the restart bench-b's attempt arrives" \
	test "$(q "SELECT count(*) FROM attempts WHERE bench = 'bench-b' AND state = 'done'")" = 1

stop_bench bench-a 7
stop_bench bench-b 8
check "every attempt arrived exactly once (1 from each bench)" \
	test "$(q "SELECT count(*) FROM attempts WHERE ecid = x'001a2b3c4d5e6f70'::bigint")" = 2
check "no attempt row twice" test "$(q 'SELECT count(*) - count(DISTINCT uuid) FROM attempts')" = 0
spooled=$(sqlite3 "$T/bench-b/home/data/idevicebench/history.db" "SELECT count(*) FROM pg_spool_attempts")
check "bench-b's spool is empty again" test "$spooled" = 0

# the report commands against the server: the phone's history from both benches
out=$(HOME="$T/home" "$IDEVICEBENCH" history --db "$URL" "$ECID" 2>"$T/history.err")
check "history --db URL works" test $? -eq 0
printf '%s\n' "$out" | sed 's/^/# /'
check "history shows bench-a's failure" bash -c "printf '%s\n' \"\$1\" | grep -q '1-2.3.*failed.*connection-lost'" _ "$out"
check "history shows bench-b's success" bash -c "printf '%s\n' \"\$1\" | grep -q '1-1.2.*done'" _ "$out"
check "ports --db URL works" bash -c "'$IDEVICEBENCH' ports --db '$URL' | grep -q '1-2.3'"
out=$("$IDEVICEBENCH" history --db "postgresql://idb:$PW@127.0.0.1:1/idb" 2>&1)
check "an unreachable server is an error, without the password" \
	bash -c "! printf '%s' \"\$1\" | grep -qF -- '$PW' && printf '%s' \"\$1\" | grep -q '\\*\\*\\*'" _ "$out"
done_testing
