#!/usr/bin/env bash
# Fault injection (issue #8), the history database: locked by another process, read-only,
# corrupt. The bench says so once, keeps running and restoring, keeps the records in
# memory, and writes them out once the database can be written again: the history ends
# complete. A damaged file is moved aside, never overwritten.
. "$IDB_TOP/tests/lib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
. "$IDB_TOP/tests/data/fault/faultlib.sh"
fault_ipsw
fault_conf

cat >"$T/db.scenario" <<'SC'
hub 1-1 ports 4
plug 1-1.1 recovery ecid 0x00000000000fe0a1 cpid 0x8010 bdid 0x08
plug 1-1.2 recovery ecid 0x00000000000fe0a2 cpid 0x8010 bdid 0x08
SC

# two restores; the second while the first is still running (restore.sh: 0.5 s each)
two_restores() {
	bench_send "update 1-1.1"
	bench_send "update 1-1.2"
	check "$1: both restores end done" wait_count 20 2 event=job state=done
	check "$1: the bench still answers commands" alive
}

# --- locked by another process (an open exclusive transaction), released mid-run when
# that process dies (its transaction is rolled back by the next opener)
sqlite3 "$T/locked.db" "create table keep(a); insert into keep values (42);"
python3 - "$T/locked.db" "$T/locker.ready" >/dev/null 2>&1 </dev/null 8>&- 9>&- <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute("insert into keep values (43)")
open(sys.argv[2], "w").close()
time.sleep(120)
PY
LOCKER=$!
at_exit "kill -KILL $LOCKER"
for i in $(seq 1 100); do [ -e "$T/locker.ready" ] && break; sleep 0.1; done
fault_start "$T/db.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh" --db "$T/locked.db"
wait_count 15 2 event=device mode=recovery
check "locked: the bench says the database is locked" ev_wait 10 event=error "text~locked"
two_restores locked
kill -KILL $LOCKER
wait $LOCKER 2>/dev/null
sleep 2.5	# the store retries at most every 2 s: let it write
bench_send "update 1-1.1"
check "locked: a third restore after the release" wait_count 15 3 event=job state=done
bench_stop
check "locked: exits 0" [ "$BENCH_RC" -eq 0 ]
check "locked: history complete once released: 3 attempts, all closed" history_complete "$T/locked.db" 3
check "locked: the other program's table is untouched" \
	[ "$(sqlite3 "$T/locked.db" 'select group_concat(a) from keep')" = 42 ]

# --- read-only (a read-only file system; root ignores file modes), writable again mid-run
if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/rodb" && mount -t tmpfs -o size=4m tmpfs "$T/rodb" 2>/dev/null; then
	at_exit "umount -l '$T/rodb'"
	sqlite3 "$T/rodb/history.db" "create table keep(a)"
	mount -o remount,ro "$T/rodb"
	mv "$T/events.jsonl" "$T/events-locked.jsonl"
	fault_start "$T/db.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh" --db "$T/rodb/history.db"
	wait_count 15 2 event=device mode=recovery
	check "read-only: the bench says the database is read-only" ev_wait 10 event=error "text~read-only"
	two_restores read-only
	check "read-only: nothing was written" [ "$(sqlite3 "$T/rodb/history.db" "select count(*) from sqlite_master where name = 'attempts'")" -eq 0 ]
	mount -o remount,rw "$T/rodb"
	sleep 2.5
	bench_send "update 1-1.1"
	check "read-only: a third restore once writable" wait_count 15 3 event=job state=done
	bench_stop
	check "read-only: exits 0" [ "$BENCH_RC" -eq 0 ]
	check "read-only: history complete once writable: 3 attempts, all closed" history_complete "$T/rodb/history.db" 3
	sqlite3 "$T/rodb/history.db" "select id, ecid, state, ended from attempts" | diag /dev/stdin
else
	ok "read-only database # SKIP needs root and tmpfs"
fi

# --- corrupt: moved aside, a new database takes every record
head -c 65536 /dev/urandom >"$T/corrupt.db"
cp "$T/corrupt.db" "$T/corrupt.orig"
mv "$T/events.jsonl" "$T/events-ro.jsonl" 2>/dev/null
fault_start "$T/db.scenario" -c "$T/bench.conf" --ipsw "$IPSW" --restore-cmd "$F/restore.sh" --db "$T/corrupt.db"
wait_count 15 2 event=device mode=recovery
check "corrupt: the bench says it moved the file aside" ev_wait 10 event=error "text~moved aside"
two_restores corrupt
bench_stop
check "corrupt: exits 0" [ "$BENCH_RC" -eq 0 ]
check "corrupt: history complete in the new database: 2 attempts, all closed" history_complete "$T/corrupt.db" 2
check "corrupt: the damaged file is kept, byte for byte" \
	bash -c "cmp -s '$T/corrupt.orig' \"\$(ls '$T'/corrupt.db.corrupt-* | grep -v -- '-wal\$' | head -1)\""
check "corrupt: every event is clean JSON" events_clean
done_testing
