#!/usr/bin/env bash
# The IPSW of each attempt in the PostgreSQL history (issue 15): a real bench under
# benchsim with a firmware library and a throwaway server restores two phones; their rows
# carry the version, build and SHA1 of the IPSW each got, `history` and `export` read them
# back from the server, and an attempt spooled while the server was stopped arrives with
# its firmware after the restart.
. "$IDB_TOP/tests/lib.sh"
. "$IDB_TOP/tests/fwlib.sh"
[ -x "$BENCHSIM" ] || skip_all "benchsim not built"
command -v psql >/dev/null || skip_pg "psql not installed"
PGT="$IDB_TOP/scripts/pg-test-server"
PGDIR=$(mktemp -d /tmp/idb-pg.XXXXXX)
at_exit "'$PGT' destroy '$PGDIR'"
URL=$("$PGT" start "$PGDIR") || skip_pg "cannot start a PostgreSQL test server"
q() { psql -X -A -t -q -c "$1" "$URL"; }
q_is() {	# q_is SECONDS WANT SQL
	local i
	for i in $(seq 1 $(($1 * 5))); do
		[ "$(q "$3" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
export HOME="$T/home" XDG_DATA_HOME="$T/home/data" XDG_CONFIG_HOME="$T/home/config"
mkdir -p "$HOME"

L="$T/library"
mkdir -p "$L"
mk_ipsw "$L/iPhone_8_16.7.10.ipsw" iPhone10,1 0x8015 0x02 16.7.10 20H350
mk_ipsw "$L/iPhone_7_15.8.3.ipsw" iPhone9,1 0x8010 0x08 15.8.3 19H386
# the iPhone 8's file is verified (what a download leaves in the library's .meta)
SHA8=$(sha1sum "$L/iPhone_8_16.7.10.ipsw" | cut -d' ' -f1)
mkdir -p "$L/.meta"
printf 'sha1 %s\n' "$SHA8" >"$L/.meta/iPhone_8_16.7.10.ipsw"
cat >"$T/bench.conf" <<CONF
[bench]
name = pgfw
stall_timeout = 20
[firmware]
dir = $L
CONF
cat >"$T/s.scenario" <<'SCEN'
hub 1-1 ports 4
dialect 1.0.0
plug 1-1.1 recovery ecid 0xe10001 cpid 0x8015 bdid 0x02
plug 1-1.2 recovery ecid 0xe10002 cpid 0x8010 bdid 0x08
restore 0xe10001 ok 1
restore 0xe10002 ok 4
SCEN

bench_start "$T/s.scenario" -c "$T/bench.conf" --db "$URL"
wait_event 20 event=device port=1-1.2 >/dev/null || not_ok "devices arrived"
sleep 1.5	# the first scan of the library runs off the loop
bench_send "update 1-1.1"
check "iPhone 8 restored" wait_event 30 event=job slot=1-1.1 state=done 'firmware=16.7.10 (20H350)'
check "its row on the server: version, build and the SHA1 of its IPSW" \
	q_is 10 "16.7.10|20H350|$SHA8" "SELECT fw_version, fw_build, fw_sha1 FROM attempts WHERE ecid = $((0xe10001))"
# the server goes away while the iPhone 7 restores: its attempt waits in the spool
bench_send "update 1-1.2"
wait_event 20 event=job slot=1-1.2 state=running >/dev/null
"$PGT" stop "$PGDIR" >/dev/null 2>&1
check "iPhone 7 restored with the server stopped" \
	wait_event 30 event=job slot=1-1.2 state=done 'firmware=15.8.3 (19H386)'
sleep 1
spooled=$(sqlite3 "$XDG_DATA_HOME/idevicebench/history.db" \
	"SELECT count(*) FROM pg_spool_attempt_fw f JOIN pg_spool_attempts a USING (uuid) WHERE f.build = '19H386'" 2>/dev/null)
check "the spool keeps the iPhone 7 attempt's firmware (${spooled:-0} row)" [ "${spooled:-0}" -ge 1 ]
bench_stop
"$PGT" start "$PGDIR" >/dev/null || not_ok "server restarted"
# a bench started again replays the spool
bench_start "$T/s.scenario" -c "$T/bench.conf" --db "$URL"
check "after the restart the spooled row arrives with its firmware (SHA1 unknown: unverified file)" \
	q_is 20 "15.8.3|19H386|" "SELECT fw_version, fw_build, coalesce(fw_sha1, '') FROM attempts WHERE ecid = $((0xe10002)) AND state = 'done'"
bench_stop

"$IDEVICEBENCH" export --db "$URL" --format json >"$T/export.json" 2>"$T/export.err"
check "export --db URL (json): each attempt's firmware from the server" \
	python3 - "$T/export.json" "$SHA8" <<'PY'
import json, sys
t = {x["ecid"]: x for x in json.load(open(sys.argv[1]))}
fw = t["0xe10001"]["firmware"]
assert len(fw) == 1 and fw[0]["version"] == "16.7.10" and fw[0]["build"] == "20H350" \
    and fw[0]["sha1"] == sys.argv[2], fw
fw = t["0xe10002"]["firmware"]
assert len(fw) == 1 and fw[0]["version"] == "15.8.3" and fw[0]["build"] == "19H386", fw
PY
"$IDEVICEBENCH" export --db "$URL" >"$T/export.csv" 2>>"$T/export.err"
check "export --db URL (csv): firmware columns" python3 - "$T/export.csv" "$SHA8" <<'PY'
import csv, sys
rows = {r["ecid"]: r for r in csv.DictReader(open(sys.argv[1]))}
r = rows["0xe10001"]
assert r["firmware_version"] == "16.7.10" and r["firmware_build"] == "20H350" \
    and r["firmware_sha1"] == sys.argv[2], r
PY
check "the schema is version 2" [ "$(q 'SELECT version FROM schema_version')" = 2 ]
done_testing
