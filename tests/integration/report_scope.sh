#!/usr/bin/env bash
# Port statistics per bench in a shared history (`ports --bench NAME|all`), and the report
# commands finding the history named in the configuration ([history] path/url) without --db.
. "$IDB_TOP/tests/lib.sh"
db="$T/shared.db"
sqlite3 "$db" >/dev/null <<'SQL'
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (2);
CREATE TABLE devices (ecid INTEGER PRIMARY KEY, product_type TEXT, name TEXT, first_seen INTEGER,
    last_seen INTEGER, udid TEXT);
CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, ecid INTEGER NOT NULL, port TEXT,
    action TEXT, started INTEGER, ended INTEGER, state TEXT, class TEXT, code INTEGER, step TEXT,
    percent REAL, log_path TEXT, bench TEXT, pid INTEGER);
CREATE TABLE flags (ecid INTEGER NOT NULL, reason TEXT, hint TEXT, created INTEGER, cleared INTEGER);
CREATE TABLE ignored (ecid INTEGER PRIMARY KEY, since INTEGER);
-- bench-a: three phones fail on 1-1.1 and then work on 1-1.2
INSERT INTO attempts (ecid, port, action, started, ended, state, class, code, step, percent, bench) VALUES
 (11, '1-1.1', 'update', 1000, 1100, 'failed', 'connection-lost', 4013, 'upload_fs', 20, 'bench-a'),
 (11, '1-1.2', 'update', 1200, 1300, 'done', NULL, NULL, 'fud', 100, 'bench-a'),
 (12, '1-1.1', 'update', 1000, 1100, 'failed', 'connection-lost', 4013, 'upload_fs', 50, 'bench-a'),
 (12, '1-1.2', 'update', 1200, 1300, 'done', NULL, NULL, 'fud', 100, 'bench-a'),
 (13, '1-1.1', 'update', 1000, 1100, 'failed', 'connection-lost', 4013, 'upload_fs', 70, 'bench-a'),
 (13, '1-1.2', 'update', 1200, 1300, 'done', NULL, NULL, 'fud', 100, 'bench-a'),
-- bench-b: its own 1-1.1 is fine
 (21, '1-1.1', 'update', 1000, 1100, 'done', NULL, NULL, 'fud', 100, 'bench-b'),
 (22, '1-1.1', 'update', 1000, 1100, 'done', NULL, NULL, 'fud', 100, 'bench-b');
SQL
out_a=$("$IDEVICEBENCH" ports --db "$db" --bench bench-a)
out_b=$("$IDEVICEBENCH" ports --db "$db" --bench bench-b)
check "bench-a: its 1-1.1 is suspect" bash -c "grep -E '^ *1-1\.1 ' <<<'$out_a' | grep -q suspect"
check "bench-b: its 1-1.1 is fine" bash -c "grep -E '^ *1-1\.1 ' <<<'$out_b' | grep -vq suspect"
check "bench-b: counts only its own attempts" bash -c "grep -E '^ *1-1\.1 ' <<<'$out_b' | grep -qE '^ *1-1\.1 +2 +0 '"
out_all=$("$IDEVICEBENCH" ports --db "$db" --bench all)
printf '%s\n' "$out_all" | sed 's/^/# /'
check "--bench all: a BENCH column heads the table" bash -c "head -1 <<<'$out_all' | grep -qE '^BENCH +PORT '"
check "--bench all: bench-a's 1-1.1 is its own row, suspect" \
	bash -c "grep -E '^bench-a +1-1\.1 +3 +3 ' <<<'$out_all' | grep -q suspect"
check "--bench all: bench-b's 1-1.1 is its own row, fine" \
	bash -c "grep -E '^bench-b +1-1\.1 +2 +0 ' <<<'$out_all' | grep -vq suspect"
check "no --bench is the same table as --bench all" \
	bash -c "[ \"\$('$IDEVICEBENCH' ports --db '$db')\" = \"\$1\" ]" _ "$out_all"
check "--bench NAME: no BENCH column" bash -c "head -1 <<<'$out_a' | grep -qE '^PORT '"
check "a bad --bench use is a usage error (2)" bash -c "'$IDEVICEBENCH' ports --db '$db' --bench; [ \$? -eq 2 ]"
mkdir -p "$XDG_CONFIG_HOME/idevicebench"
printf '[history]\npath = %s\n' "$db" >"$XDG_CONFIG_HOME/idevicebench/idevicebench.conf"
check "history without --db reads the configured history" \
	bash -c "'$IDEVICEBENCH' history 0xb | grep -q '1-1.1'"
printf '[history]\npath = %s\n' "$db" >"$T/other.conf"
rm "$XDG_CONFIG_HOME/idevicebench/idevicebench.conf"
check "-c FILE before the subcommand is honoured" bash -c "'$IDEVICEBENCH' -c '$T/other.conf' ports | grep -q '1-1.2'"
printf '[history]\npath =\n' >"$T/bad.conf"
check "a broken configuration is a usage error (2), said clearly" \
	bash -c "'$IDEVICEBENCH' -c '$T/bad.conf' history 2>&1 | grep -q 'bad.conf:'; [ \${PIPESTATUS[0]} -eq 2 ]"
done_testing
