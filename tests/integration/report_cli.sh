#!/usr/bin/env bash
# report_cli.sh: the history, ports and export subcommands against a history
# database built with the sqlite3 command-line tool (the store's schema v2).
set -u
. "$IDB_TOP/tests/lib.sh"
BIN=${IDB_REPORT_BIN:-$IDEVICEBENCH}
export TZ=UTC
tmp=$T
db=$tmp/history.db

# okrc EXIT-STATUS DESCRIPTION: ok when the status is 0
okrc() { if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi; }

sqlite3 "$db" >/dev/null <<'EOF'
PRAGMA journal_mode = WAL;
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (2);
CREATE TABLE devices (ecid INTEGER PRIMARY KEY, product_type TEXT, name TEXT, first_seen INTEGER,
    last_seen INTEGER, udid TEXT);
CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, ecid INTEGER NOT NULL, port TEXT,
    action TEXT, started INTEGER, ended INTEGER, state TEXT, class TEXT, code INTEGER, step TEXT,
    percent REAL, log_path TEXT, bench TEXT, pid INTEGER);
CREATE TABLE flags (ecid INTEGER NOT NULL, reason TEXT, hint TEXT, created INTEGER, cleared INTEGER);
CREATE TABLE ignored (ecid INTEGER PRIMARY KEY, since INTEGER);
-- 0x1a2b3c4d5e6f70 = 7365887390543728: an iPhone X lost twice near 37% of upload_fs
INSERT INTO devices VALUES (7365887390543728, 'iPhone10,3', 'iPhone X', 1780000000, 1780009000, NULL);
INSERT INTO attempts (ecid, port, action, started, ended, state, class, code, step, percent, log_path)
  VALUES (7365887390543728, '1-2.3', 'update', 1780000100, 1780000400, 'failed', 'connection-lost',
          4013, 'upload_fs', 37.0, '/var/log/idb/0x1a2b3c4d5e6f70/1.log');
INSERT INTO attempts (ecid, port, action, started, ended, state, class, code, step, percent, log_path)
  VALUES (7365887390543728, '1-2.3', 'erase', 1780000500, 1780000800, 'failed', 'connection-lost',
          4013, 'upload_fs', 39.5, '/var/log/idb/0x1a2b3c4d5e6f70/2,b.log');
INSERT INTO flags VALUES (7365887390543728, 'Face ID flex, "dropped" twice', NULL, 1780000900, NULL);
-- three phones fail on 1-2.5 and then work on 1-2.1: a bad port
INSERT INTO devices VALUES (257, 'iPhone9,1', 'iPhone 7', 1780001000, 1780001000, NULL);
INSERT INTO devices VALUES (258, 'iPhone12,1', 'iPhone 11', 1780001000, 1780001000, NULL);
INSERT INTO devices VALUES (259, 'iPhone10,4', 'iPhone 8', 1780001000, 1780001000, NULL);
INSERT INTO attempts (ecid, port, action, started, ended, state, class, code, step, percent)
  VALUES (257, '1-2.5', 'update', 1780001100, 1780001200, 'failed', 'connection-lost', 4013, 'verify_fs', 80),
         (257, '1-2.1', 'update', 1780001300, 1780001400, 'done', NULL, NULL, NULL, 100),
         (258, '1-2.5', 'update', 1780001110, 1780001210, 'failed', 'connection-lost', 4014, 'prepare', 0),
         (258, '1-2.1', 'update', 1780001310, 1780001410, 'done', NULL, NULL, NULL, 100),
         (259, '1-2.5', 'erase',  1780001120, 1780001220, 'failed', 'stalled', NULL, 'flash_fw', 10),
         (259, '1-2.1', 'erase',  1780001320, 1780001420, 'done', NULL, NULL, NULL, 100);
-- a job another bench is still running (its row is open): reports must not close it
INSERT INTO attempts (ecid, port, action, started, state, log_path, pid)
  VALUES (4096, '1-2.7', 'update', 1780002000, 'running', '/var/log/idb/0x1000/1.log', 1);
EOF
okrc $? "history database created with the sqlite3 tool"

out=$("$BIN" history --db "$db"); rc=$?
okrc $rc "history exits 0"
rows=$(printf '%s\n' "$out" | tail -n +2 | wc -l)
[ "$rows" -eq 9 ]; okrc $? "history lists all 9 attempts (got $rows)"
first=$(printf '%s\n' "$out" | sed -n 2p)
case "$first" in *2026-05-28*0x1000*1-2.7*update*running*) true ;; *) false ;; esac
okrc $? "newest attempt first, still running: $first"
printf '%s\n' "$out" | head -1 | grep -q 'TIME.*ECID.*MODEL.*PORT.*ACTION.*STATE.*CLASS.*CODE.*STEP.*PERCENT'
okrc $? "history header names every column"

out=$("$BIN" history --db "$db" 0x1a2b3c4d5e6f70); rc=$?
okrc $rc "history ECID exits 0"
[ "$(printf '%s\n' "$out" | tail -n +2 | wc -l)" -eq 2 ]; okrc $? "history ECID shows only that device"
line=$(printf '%s\n' "$out" | sed -n 2p)
case "$line" in *0x1a2b3c4d5e6f70*iPhone10,3*1-2.3*erase*failed*connection-lost*4013*upload_fs*39.5%*) true ;; *) false ;; esac
okrc $? "history row has model, port, action, state, class, code, step, percent: $line"
out2=$("$BIN" history --db="$db" 7365887390543728)
[ "$out2" = "$out" ]; okrc $? "--db=FILE form and a decimal ECID give the same rows"

"$BIN" history --db "$db" not-an-ecid >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; okrc $? "a malformed ECID is a usage error (exit $rc)"
"$BIN" history --bogus --db "$db" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; okrc $? "an unknown option is a usage error (exit $rc)"
"$BIN" history --db "$tmp/none.db" >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ]; okrc $? "a missing database is a runtime failure (exit $rc)"
[ ! -e "$tmp/none.db" ]; okrc $? "reports never create a database"

out=$("$BIN" ports --db "$db"); rc=$?
okrc $rc "ports exits 0"
p5=$(printf '%s\n' "$out" | awk '$1 == "1-2.5"')
set -- $p5
[ "${2:-}" = 3 ] && [ "${3:-}" = 3 ] && [ "${4:-}" = 3 ] && [ "${5:-}" = "100%" ] && [ "${6:-}" = suspect ]
okrc $? "port 1-2.5: 3 attempts, 3 failures, 3 devices, 100%, suspect: $p5"
p1=$(printf '%s\n' "$out" | awk '$1 == "1-2.1"')
set -- $p1
[ "${2:-}" = 3 ] && [ "${3:-}" = 0 ] && [ "${6:-}" = ok ]; okrc $? "port 1-2.1 ok: $p1"
order=$(printf '%s\n' "$out" | tail -n +2 | awk '{print $1}' | tr '\n' ' ')
[ "$order" = "1-2.1 1-2.3 1-2.5 1-2.7 " ]; okrc $? "ports in port order: $order"

"$BIN" export --db "$db" --format csv >"$tmp/all.csv"; rc=$?
okrc $rc "export csv exits 0"
python3 - "$tmp/all.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
by = {r['ecid']: r for r in rows}
x = by['0x1a2b3c4d5e6f70']
assert len(rows) == 5, len(rows)
assert x['reason'] == 'Face ID flex, "dropped" twice', x['reason']
assert x['flagged'] == 'yes' and by['0x101']['flagged'] == 'no'
assert 'flex replacement' in x['repair_hint'] and '$80-120' in x['repair_hint'], x['repair_hint']
assert x['log_paths'].split('\n') == ['/var/log/idb/0x1a2b3c4d5e6f70/2,b.log',
    '/var/log/idb/0x1a2b3c4d5e6f70/1.log'], x['log_paths']
assert x['attempts'] == '2' and x['failed'] == '2' and x['done'] == '0'
assert x['last_error'].startswith('4013-class connection-lost at upload_fs 40%'), x['last_error']
assert x['advice_rule'] == 'same-failure-point', x['advice_rule']
assert 'CPU reballing' in by['0x101']['repair_hint']
assert by['0x101']['advice_rule'] == '', by['0x101']['advice_rule']
EOF
okrc $? "export csv round-trips through python's csv (quotes, commas, newlines)"
grep -q $'\r$' "$tmp/all.csv"; okrc $? "csv records end in CRLF (RFC 4180)"

"$BIN" export --db "$db" --flagged >"$tmp/f.csv"
python3 -c "
import csv,sys
r=list(csv.DictReader(open('$tmp/f.csv', newline='')))
assert [x['ecid'] for x in r] == ['0x1a2b3c4d5e6f70'], r"
okrc $? "export --flagged lists only the flagged phone"

"$BIN" export --db "$db" --format=json >"$tmp/all.json"; rc=$?
python3 - "$tmp/all.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
x = {r['ecid']: r for r in t}['0x1a2b3c4d5e6f70']
assert x['flagged'] is True and x['attempts'] == 2 and x['product_type'] == 'iPhone10,3'
assert x['reason'] == 'Face ID flex, "dropped" twice'
assert len(x['log_paths']) == 2
assert {r['ecid']: r for r in t}['0x1000']['reason'] is None
EOF
[ $? -eq 0 ] && [ $rc -eq 0 ]; okrc $? "export json parses and carries the ticket"

"$BIN" export --db "$db" --format xml >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; okrc $? "export --format xml is a usage error (exit $rc)"

open=$(sqlite3 "$db" "SELECT count(*) FROM attempts WHERE ended IS NULL")
[ "$open" = 1 ]; okrc $? "reports left the running row open (no crash recovery from a reader)"

done_testing
