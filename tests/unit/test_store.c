/*
 * test_store.c: the history store, including the ways a database goes wrong:
 * locked, read-only, corrupt, full disk, a bench killed mid-attempt, an old
 * schema. A second SQLite connection plays the other program and checks what
 * really reached the file.
 *
 * The backend suite (g_*) runs twice: against SQLite and against PostgreSQL.
 * The PostgreSQL half uses IDB_TEST_PG_URL when set (its tables are dropped
 * before each test; the outage tests, which stop the server, are skipped),
 * else starts a throwaway server with scripts/pg-test-server, else skips.
 */
#include "testutil.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <sqlite3.h>

#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "store.h"
#include "triage.h"

static char	tmpdir[256];
static char	dbpath[512];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/idb-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(dbpath, sizeof(dbpath), "%s/sub/dir/history.db", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	(void)state;
	umount2(tmpdir, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct err_result
lost_at(int code, int step, double pct)
{
	struct err_result r;

	memset(&r, 0, sizeof(r));
	r.cls = EC_CONNECTION_LOST;
	r.code = code;
	r.step = step;
	r.percent = pct;
	return r;
}

/* A number from the file, through a connection of our own. */
static long long
count(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_roundtrip(void **state)
{
	struct store *st;
	struct bench_attempt a[8];
	struct store_device d[4];
	struct triage_attempt t[8];
	struct err_result r = lost_at(4013, STEP_UPLOAD_FS, 42.5);
	struct stat sb;
	char err[256], reason[128], hint[160], dir[600];
	long id1, id2;

	(void)state;
	st = store_open(dbpath, err, sizeof(err));
	assert_non_null(st);
	assert_null(store_problem(st));
	assert_string_equal(err, "");
	assert_int_equal(stat(dbpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(dir, sizeof(dir), "%s/sub/dir", tmpdir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	store_set_bench(st, "bench-3");
	store_device_seen(st, 0x1a2b3c4d5e6f70ULL, "iPhone10,3", "iPhone X", "", 100);
	store_device_seen(st, 0x1a2b3c4d5e6f70ULL, "", "", "00008030-001A", 150);
	id1 = store_attempt_begin(st, 0x1a2b3c4d5e6f70ULL, "1-2.3", ACT_UPDATE, 200,
	    "/var/log/idb/a.log");
	assert_true(id1 > 0);
	/* a row exists from the start, still open */
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts WHERE ended IS NULL"), 1);
	store_attempt_end(st, id1, 260, JOB_FAILED, &r);
	id2 = store_attempt_begin(st, 0x1a2b3c4d5e6f70ULL, "1-2.\x1b[2J4", ACT_ERASE, 300, "");
	assert_true(id2 > id1);
	store_attempt_end(st, id2, 400, JOB_DONE, NULL);
	store_flag(st, 0x1a2b3c4d5e6f70ULL, "face id flex", "flex replacement", 410);
	store_ignore(st, 0x42, true);
	assert_int_equal(store_flush(st), 0);
	store_close(st);

	st = store_open(dbpath, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(store_interrupted_count(st), 0);
	assert_int_equal(store_attempts(st, 0x1a2b3c4d5e6f70ULL, a, 8), 2);
	assert_int_equal(a[0].id, id2);			/* newest first */
	assert_int_equal(a[0].action, ACT_ERASE);
	assert_int_equal(a[0].state, JOB_DONE);
	assert_null(strchr(a[0].port, '\x1b'));		/* sanitized */
	assert_int_equal(a[1].state, JOB_FAILED);
	assert_string_equal(a[1].cls, "connection-lost");
	assert_int_equal(a[1].code, 4013);
	assert_int_equal(a[1].step, STEP_UPLOAD_FS);
	assert_true(a[1].percent > 42.4 && a[1].percent < 42.6);
	assert_string_equal(a[1].port, "1-2.3");
	assert_string_equal(a[1].log_path, "/var/log/idb/a.log");
	assert_int_equal(a[1].started, 200);
	assert_int_equal(a[1].ended, 260);
	assert_int_equal(store_attempts(st, 0x999, a, 8), 0);
	assert_int_equal(store_attempts(st, 0, a, 1), 1);	/* max respected */
	/* counting needs no room for the rows (the bench counts a phone's tries this way) */
	assert_int_equal(store_attempts(st, 0x1a2b3c4d5e6f70ULL, NULL, 8), 2);
	assert_int_equal(store_attempts(st, 0x1a2b3c4d5e6f70ULL, NULL, 1), 1);

	assert_int_equal(store_triage_attempts(st, 0, t, 8), 2);
	assert_int_equal(t[1].cls, EC_CONNECTION_LOST);
	assert_int_equal(t[1].ecid, 0x1a2b3c4d5e6f70ULL);
	assert_int_equal(t[1].started, 200);

	assert_true(store_is_flagged(st, 0x1a2b3c4d5e6f70ULL, reason, sizeof(reason), hint,
	    sizeof(hint)));
	assert_string_equal(reason, "face id flex");
	assert_string_equal(hint, "flex replacement");
	assert_true(store_is_ignored(st, 0x42));
	assert_false(store_is_ignored(st, 0x43));

	assert_int_equal(store_devices(st, d, 4), 2);
	assert_int_equal(d[0].ecid, 0x42);
	assert_true(d[0].ignored);
	assert_string_equal(d[1].product_type, "iPhone10,3");
	assert_string_equal(d[1].name, "iPhone X");
	assert_string_equal(d[1].udid, "00008030-001A");
	assert_int_equal(d[1].first_seen, 100);
	assert_int_equal(d[1].last_seen, 150);
	assert_true(d[1].flagged);

	store_unflag(st, 0x1a2b3c4d5e6f70ULL, 500);
	store_ignore(st, 0x42, false);
	store_close(st);
	st = store_open(dbpath, err, sizeof(err));
	assert_false(store_is_flagged(st, 0x1a2b3c4d5e6f70ULL, reason, sizeof(reason), NULL, 0));
	assert_false(store_is_ignored(st, 0x42));
	store_close(st);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM flags WHERE cleared = 500"), 1);
	assert_int_equal(count(dbpath, "SELECT max(version) FROM schema_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts WHERE bench = 'bench-3'"), 2);
}

static void
test_crash_recovery(void **state)
{
	struct store *st;
	struct bench_attempt a[4];
	struct triage_attempt t[4];
	char err[256];
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		st = store_open(dbpath, err, sizeof(err));
		store_attempt_begin(st, 0x77, "1-2.1", ACT_UPDATE, 1000, "/l/77.log");
		if (store_flush(st) != 0)
			_exit(3);
		kill(getpid(), SIGKILL);	/* as kill -9 from outside would */
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts WHERE ended IS NULL"), 1);

	st = store_open(dbpath, err, sizeof(err));
	assert_int_equal(store_interrupted_count(st), 1);
	assert_int_equal(store_attempts(st, 0x77, a, 4), 1);
	assert_int_equal(a[0].state, JOB_FAILED);
	assert_string_equal(a[0].cls, "interrupted");
	assert_true(a[0].ended > 0);
	assert_int_equal(store_triage_attempts(st, 0x77, t, 4), 1);
	assert_int_equal(t[0].cls, TRIAGE_CLS_INTERRUPTED);
	/* our own open attempt is not someone else's crash */
	store_attempt_begin(st, 0x78, "1-2.2", ACT_UPDATE, 1100, "");
	store_close(st);
	st = store_open(dbpath, err, sizeof(err));
	assert_int_equal(store_interrupted_count(st), 0);
	store_close(st);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts WHERE class = 'interrupted'"),
	    1);
}

static void
test_locked(void **state)
{
	struct store *st;
	struct bench_attempt a[4];
	struct err_result r = lost_at(4014, STEP_PREPARE, 0);
	sqlite3 *other;
	char err[256], reason[128];
	long id;

	(void)state;
	st = store_open(dbpath, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(sqlite3_open(dbpath, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

	id = store_attempt_begin(st, 0x55, "1-2.4", ACT_UPDATE, 2000, "/l/55.log");
	assert_true(id != 0);
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "locked"));
	store_attempt_end(st, id, 2100, JOB_FAILED, &r);
	store_flag(st, 0x55, "4014 twice", "", 2101);
	store_device_seen(st, 0x55, "iPhone9,1", "iPhone 7", "", 2102);
	assert_true(store_flush(st) > 0);
	/* reads come from memory meanwhile */
	assert_int_equal(store_attempts(st, 0x55, a, 4), 1);
	assert_int_equal(a[0].state, JOB_FAILED);
	assert_int_equal(a[0].code, 4014);
	assert_true(store_is_flagged(st, 0x55, reason, sizeof(reason), NULL, 0));
	assert_string_equal(reason, "4014 twice");
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts"), 0);

	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_flush(st), 0);
	assert_null(store_problem(st));
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	/* exactly once */
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts"), 1);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts WHERE state = 'failed' "
	    "AND class = 'connection-lost' AND code = 4014 AND ended = 2100"), 1);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM flags"), 1);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM devices"), 1);
}

static void
test_locked_at_open(void **state)
{
	struct store *st;
	sqlite3 *other;
	char err[256];
	long id;

	(void)state;
	st = store_open(dbpath, err, sizeof(err));	/* create it */
	store_attempt_begin(st, 0x10, "1-1", ACT_UPDATE, 5, "");
	store_close(st);

	assert_int_equal(sqlite3_open(dbpath, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	st = store_open(dbpath, err, sizeof(err));
	assert_non_null(st);
	assert_non_null(store_problem(st));
	assert_non_null(strstr(err, "locked"));
	id = store_attempt_begin(st, 0x11, "1-2", ACT_ERASE, 10, "");
	assert_true(id < 0);		/* a stand-in until written */
	store_attempt_end(st, id, 20, JOB_DONE, NULL);
	assert_true(store_flush(st) > 0);
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts WHERE ecid = 17 AND "
	    "state = 'done' AND action = 'erase'"), 1);
}

static void
test_corrupt(void **state)
{
	struct store *st;
	struct bench_attempt a[4];
	char err[256], garbage[8192], found[700] = "";
	struct dirent *de;
	DIR *d;
	int fd;
	size_t i;
	long id;

	(void)state;
	st = store_open(dbpath, err, sizeof(err));	/* create the directories */
	store_close(st);
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 3);
	fd = open(dbpath, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, garbage, sizeof(garbage)), (ssize_t)sizeof(garbage));
	close(fd);

	st = store_open(dbpath, err, sizeof(err));
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "moved aside"));
	assert_non_null(strstr(err, ".corrupt-"));
	/* the damaged file is kept, byte for byte */
	snprintf(found, sizeof(found), "%s/sub/dir", tmpdir);
	d = opendir(found);
	assert_non_null(d);
	found[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "history.db.corrupt-", 19) == 0 &&
		    strchr(de->d_name + 19, '-') == NULL)
			snprintf(found, sizeof(found), "%s/sub/dir/%s", tmpdir, de->d_name);
	}
	closedir(d);
	assert_string_not_equal(found, "");
	{
		struct stat sb;
		assert_int_equal(stat(found, &sb), 0);
		assert_int_equal(sb.st_size, (off_t)sizeof(garbage));
	}
	/* and the new database works */
	id = store_attempt_begin(st, 0x99, "1-2.2", ACT_UPDATE, 50, "");
	assert_true(id > 0);
	store_attempt_end(st, id, 60, JOB_DONE, NULL);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	st = store_open(dbpath, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(store_attempts(st, 0, a, 4), 1);
	store_close(st);

	/* the report side refuses garbage instead of replacing it */
	fd = open(found, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	assert_null(store_open_readonly(found, err, sizeof(err)));
	assert_non_null(strstr(err, "not a readable"));
}

static bool
mount_tmpfs(const char *dir, const char *opts)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	return mount("tmpfs", dir, "tmpfs", 0, opts) == 0;
}

static void
test_readonly(void **state)
{
	struct store *st;
	struct bench_attempt a[4];
	char dir[300], path[400], err[256];
	long id;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	if (!mount_tmpfs(dir, "size=4m")) {
		skip();
		return;
	}
	snprintf(path, sizeof(path), "%s/history.db", dir);
	st = store_open(path, err, sizeof(err));
	store_attempt_begin(st, 0x31, "1-2.1", ACT_UPDATE, 100, "");
	store_close(st);
	assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);

	st = store_open(path, err, sizeof(err));
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "read-only"));
	/* old rows can still be read */
	assert_int_equal(store_attempts(st, 0, a, 4), 1);
	assert_int_equal(a[0].started, 100);
	id = store_attempt_begin(st, 0x32, "1-2.2", ACT_ERASE, 200, "");
	store_attempt_end(st, id, 250, JOB_DONE, NULL);
	store_flag(st, 0x32, "ro", "", 260);
	assert_int_equal(store_attempts(st, 0, a, 4), 2);
	assert_int_equal(a[0].started, 200);
	assert_true(store_flush(st) > 0);

	assert_int_equal(mount(NULL, dir, NULL, MS_REMOUNT, NULL), 0);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	assert_int_equal(count(path, "SELECT count(*) FROM attempts"), 2);
	assert_int_equal(count(path, "SELECT count(*) FROM attempts WHERE ecid = 50 AND "
	    "state = 'done'"), 1);
	assert_int_equal(count(path, "SELECT count(*) FROM flags"), 1);
	umount2(dir, MNT_DETACH);
}

static void
test_full_disk(void **state)
{
	struct store *st;
	struct bench_attempt *a;
	struct err_result r = lost_at(4013, STEP_VERIFY_FS, 90);
	char dir[300], path[400], filler[400], err[256], log[500];
	char block[4096];
	int fd, i, n = 0;
	long id;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/full", tmpdir);
	if (!mount_tmpfs(dir, "size=1m")) {
		skip();
		return;
	}
	snprintf(path, sizeof(path), "%s/history.db", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	st = store_open(path, err, sizeof(err));
	assert_null(store_problem(st));
	memset(block, 'x', sizeof(block));
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	while (write(fd, block, sizeof(block)) > 0)
		;
	close(fd);
	memset(log, 'L', sizeof(log) - 1);
	log[sizeof(log) - 1] = '\0';
	for (i = 0; i < 200 && store_problem(st) == NULL; i++) {
		id = store_attempt_begin(st, 0x61, "1-2.6", ACT_UPDATE, 1000 + i, log);
		store_attempt_end(st, id, 1001 + i, JOB_FAILED, &r);
		n++;
	}
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "full"));
	for (i = 0; i < 5; i++) {
		id = store_attempt_begin(st, 0x61, "1-2.6", ACT_UPDATE, 5000 + i, log);
		store_attempt_end(st, id, 5001 + i, JOB_FAILED, &r);
		n++;
	}
	assert_true(store_flush(st) > 0);
	a = calloc(512, sizeof(*a));
	assert_int_equal(store_attempts(st, 0x61, a, 512), n);
	assert_int_equal(a[0].started, 5004);
	free(a);

	assert_int_equal(unlink(filler), 0);
	assert_int_equal(store_flush(st), 0);
	assert_null(store_problem(st));
	store_close(st);
	assert_int_equal(count(path, "SELECT count(*) FROM attempts"), n);
	assert_int_equal(count(path, "SELECT count(DISTINCT started) FROM attempts"), n);
	assert_int_equal(count(path, "SELECT count(*) FROM attempts WHERE ended IS NULL"), 0);
	umount2(dir, MNT_DETACH);
}

static void
test_migrate_v1(void **state)
{
	struct store *st;
	struct bench_attempt a[4];
	struct store_device d[4];
	sqlite3 *db;
	char err[256], dir[600];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sub", tmpdir);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/sub/dir", tmpdir);
	mkdir(dir, 0700);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE devices (ecid INTEGER, product_type TEXT, name TEXT, first_seen INTEGER, "
	    "last_seen INTEGER);"
	    "CREATE TABLE attempts (id INTEGER PRIMARY KEY, ecid INTEGER, port TEXT, action TEXT, "
	    "started INTEGER, ended INTEGER, state TEXT, class TEXT, code INTEGER, step TEXT, "
	    "percent REAL, log_path TEXT);"
	    "CREATE TABLE flags (ecid INTEGER, reason TEXT, hint TEXT, created INTEGER, "
	    "cleared INTEGER);"
	    "INSERT INTO devices VALUES (5, 'iPhone9,1', 'iPhone 7', 1, 2);"
	    "INSERT INTO devices VALUES (5, 'iPhone9,1', 'iPhone 7', 1, 3);"
	    "INSERT INTO attempts VALUES (1, 5, '1-2.1', 'update', 10, 20, 'failed', "
	    "'connection-lost', 4013, 'upload_fs', 33.0, '/l/5.log');"
	    "INSERT INTO flags VALUES (5, 'old flag', NULL, 30, NULL);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = store_open(dbpath, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(store_attempts(st, 5, a, 4), 1);
	assert_int_equal(a[0].code, 4013);
	assert_int_equal(a[0].step, STEP_UPLOAD_FS);
	assert_true(store_is_flagged(st, 5, NULL, 0, NULL, 0));
	store_device_seen(st, 5, "iPhone9,1", "iPhone 7", "abcdef", 40);
	store_ignore(st, 5, true);
	assert_int_equal(store_flush(st), 0);
	store_close(st);
	assert_int_equal(count(dbpath, "SELECT max(version) FROM schema_version"), 2);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM devices"), 1);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM devices WHERE udid = 'abcdef' AND "
	    "last_seen = 40"), 1);
	assert_int_equal(count(dbpath, "SELECT count(*) FROM ignored"), 1);

	st = store_open_readonly(dbpath, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_devices(st, d, 4), 1);
	assert_true(d[0].ignored);
	assert_true(d[0].flagged);
	assert_string_equal(d[0].reason, "old flag");
	store_close(st);
}

static void
test_newer_schema(void **state)
{
	struct store *st;
	char err[256];

	(void)state;
	st = store_open(dbpath, err, sizeof(err));
	store_close(st);
	{
		sqlite3 *db;
		assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 99",
		    NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	st = store_open(dbpath, err, sizeof(err));
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "newer"));
	store_attempt_begin(st, 1, "1-1", ACT_UPDATE, 1, "");
	store_close(st);
	/* nothing written into a schema we do not know */
	assert_int_equal(count(dbpath, "SELECT count(*) FROM attempts"), 0);
	assert_null(store_open_readonly(dbpath, err, sizeof(err)));
}

static void
test_default_path_and_missing(void **state)
{
	char buf[512], err[256];
	const char *old_x = getenv("XDG_DATA_HOME");
	char keep[512] = "";

	(void)state;
	if (old_x != NULL)
		snprintf(keep, sizeof(keep), "%s", old_x);
	setenv("XDG_DATA_HOME", "/srv/data", 1);
	assert_string_equal(store_default_path(buf, sizeof(buf)),
	    "/srv/data/idevicebench/history.db");
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/home/tech", 1);
	assert_string_equal(store_default_path(buf, sizeof(buf)),
	    "/home/tech/.local/share/idevicebench/history.db");
	assert_null(store_default_path(buf, 10));
	if (keep[0] != '\0')
		setenv("XDG_DATA_HOME", keep, 1);

	assert_null(store_open_readonly("/nonexistent/history.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/history.db"));
}

/* ---- the backend suite: the same tests on SQLite and PostgreSQL ---- */

static char	pgdir[256];	/* our own server, "" when external or none */
static char	pgbase[1024];	/* IDB_TEST_PG_URL, or our server's "idb" database */
static bool	pg_ok;
static int	pg_seq;
static bool	on_pg;
static char	url[1024];	/* what the store under test opens */
static char	spool[600];	/* the local SQLite file (the PostgreSQL spool) */

/* Run argv, return its exit status; its first output line in out. */
static int
run_cmd(char *const argv[], char *out, size_t outlen)
{
	int	 p[2], status;
	pid_t	 pid;
	ssize_t	 n;
	size_t	 got = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (outlen > 0 && (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	if (outlen > 0) {
		out[got] = '\0';
		out[strcspn(out, "\n")] = '\0';
	}
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
pg_server(const char *cmd, char *out, size_t outlen)
{
	char	*argv[] = { (char *)test_path("scripts/pg-test-server"), (char *)cmd, pgdir, NULL };
	char	 buf[1100];

	return run_cmd(argv, out != NULL ? out : buf, out != NULL ? outlen : sizeof(buf));
}

/* A number from the backend under test, asked through a connection of our own. */
static long long
bcount(const char *sql)
{
	char	 out[256], *argv[] = { "psql", "-X", "-A", "-t", "-q", "-c", (char *)sql, url, NULL };

	if (!on_pg)
		return count(url, sql);
	assert_int_equal(run_cmd(argv, out, sizeof(out)), 0);
	return out[0] != '\0' ? strtoll(out, NULL, 10) : -1;
}

static void
pg_sql(const char *sql)
{
	char	 out[256], *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
		    (char *)sql, url, NULL };

	assert_int_equal(run_cmd(argv, out, sizeof(out)), 0);
}

static int
g_setup_sqlite(void **state)
{
	if (setup(state) != 0)
		return -1;
	on_pg = false;
	snprintf(url, sizeof(url), "%s", dbpath);
	return 0;
}

static int
g_setup_pg(void **state)
{
	char	 name[32], *argv[5];

	if (setup(state) != 0)
		return -1;
	on_pg = true;
	snprintf(spool, sizeof(spool), "%s/data/idevicebench/history.db", tmpdir);
	snprintf(name, sizeof(name), "%s/data", tmpdir);
	setenv("XDG_DATA_HOME", name, 1);
	if (!pg_ok)
		return 0;
	if (pgdir[0] == '\0') {
		/* someone else's server: start from empty tables */
		snprintf(url, sizeof(url), "%s", pgbase);
		pg_sql("DROP TABLE IF EXISTS attempts, devices, flags, ignored, schema_version");
		return 0;
	}
	snprintf(name, sizeof(name), "t%d_%d", (int)getpid(), ++pg_seq);
	argv[0] = (char *)test_path("scripts/pg-test-server");
	argv[1] = "newdb";
	argv[2] = pgdir;
	argv[3] = name;
	argv[4] = NULL;
	return run_cmd(argv, url, sizeof(url)) == 0 ? 0 : -1;
}

/* No server: skip, unless CI asked for PostgreSQL (IDB_REQUIRE_PG=1). */
static void
need_backend(void)
{
	const char	*req = getenv("IDB_REQUIRE_PG");

	if (on_pg && !pg_ok) {
		if (req != NULL && strcmp(req, "1") == 0)
			fail_msg("PostgreSQL is required (IDB_REQUIRE_PG=1) but no test server started");
		skip();
	}
}

static void
need_own_server(void)
{
	need_backend();
	if (on_pg && pgdir[0] == '\0')
		skip();
}

static void
g_roundtrip(void **state)
{
	struct store *st;
	struct bench_attempt a[8];
	struct store_device d[4];
	struct triage_attempt t[8];
	struct err_result r = lost_at(4013, STEP_UPLOAD_FS, 42.5);
	char err[256], reason[128], hint[160];
	long id1, id2;

	(void)state;
	need_backend();
	st = store_open(url, err, sizeof(err));
	assert_non_null(st);
	assert_null(store_problem(st));
	assert_string_equal(store_backend(st), on_pg ? "postgresql" : "sqlite");
	store_set_bench(st, "bench-3");
	store_device_seen(st, 0x1a2b3c4d5e6f70ULL, "iPhone10,3", "iPhone X", "", 100);
	store_device_seen(st, 0x1a2b3c4d5e6f70ULL, "", "", "00008030-001A", 150);
	id1 = store_attempt_begin(st, 0x1a2b3c4d5e6f70ULL, "1-2.3", ACT_UPDATE, 200,
	    "/var/log/idb/a.log");
	assert_true(id1 > 0);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE ended IS NULL"), 1);
	store_attempt_end(st, id1, 260, JOB_FAILED, &r);
	id2 = store_attempt_begin(st, 0x1a2b3c4d5e6f70ULL, "1-2.\x1b[2J4", ACT_ERASE, 300, "");
	assert_true(id2 > id1);
	store_attempt_end(st, id2, 400, JOB_DONE, NULL);
	store_flag(st, 0x1a2b3c4d5e6f70ULL, "face id flex", "flex replacement", 410);
	store_ignore(st, 0x42, true);
	assert_int_equal(store_flush(st), 0);
	store_close(st);

	st = store_open(url, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(store_interrupted_count(st), 0);
	assert_int_equal(store_attempts(st, 0x1a2b3c4d5e6f70ULL, a, 8), 2);
	assert_int_equal(a[0].id, id2);
	assert_int_equal(a[0].action, ACT_ERASE);
	assert_int_equal(a[0].state, JOB_DONE);
	assert_null(strchr(a[0].port, '\x1b'));
	assert_int_equal(a[1].state, JOB_FAILED);
	assert_string_equal(a[1].cls, "connection-lost");
	assert_int_equal(a[1].code, 4013);
	assert_int_equal(a[1].step, STEP_UPLOAD_FS);
	assert_true(a[1].percent > 42.4 && a[1].percent < 42.6);
	assert_string_equal(a[1].log_path, "/var/log/idb/a.log");
	assert_int_equal(a[1].started, 200);
	assert_int_equal(a[1].ended, 260);
	assert_int_equal(store_attempts(st, 0x999, a, 8), 0);
	assert_int_equal(store_attempts(st, 0, a, 1), 1);
	assert_int_equal(store_triage_attempts(st, 0, t, 8), 2);
	assert_int_equal(t[1].cls, EC_CONNECTION_LOST);
	assert_true(store_is_flagged(st, 0x1a2b3c4d5e6f70ULL, reason, sizeof(reason), hint,
	    sizeof(hint)));
	assert_string_equal(reason, "face id flex");
	assert_string_equal(hint, "flex replacement");
	assert_true(store_is_ignored(st, 0x42));
	assert_false(store_is_ignored(st, 0x43));
	assert_int_equal(store_devices(st, d, 4), 2);
	assert_int_equal(d[0].ecid, 0x42);
	assert_true(d[0].ignored);
	assert_string_equal(d[1].product_type, "iPhone10,3");
	assert_string_equal(d[1].udid, "00008030-001A");
	assert_int_equal(d[1].first_seen, 100);
	assert_int_equal(d[1].last_seen, 150);
	assert_true(d[1].flagged);
	store_unflag(st, 0x1a2b3c4d5e6f70ULL, 500);
	store_ignore(st, 0x42, false);
	store_close(st);

	st = store_open(url, err, sizeof(err));
	assert_false(store_is_flagged(st, 0x1a2b3c4d5e6f70ULL, reason, sizeof(reason), NULL, 0));
	assert_false(store_is_ignored(st, 0x42));
	store_close(st);
	assert_int_equal(bcount("SELECT count(*) FROM flags WHERE cleared = 500"), 1);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE bench = 'bench-3'"), 2);
	assert_int_equal(bcount("SELECT max(version) FROM schema_version"),
	    on_pg ? STORE_PG_SCHEMA_VERSION : STORE_SCHEMA_VERSION);

	/* the report commands' way in */
	st = store_open_readonly(url, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_attempts(st, 0x1a2b3c4d5e6f70ULL, a, 8), 2);
	assert_int_equal(store_devices(st, d, 4), 1);
	store_close(st);
}

static void
g_crash_recovery(void **state)
{
	struct store *st;
	struct bench_attempt a[4];
	char err[256];
	pid_t pid;
	int status;

	(void)state;
	need_backend();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		st = store_open(url, err, sizeof(err));
		store_set_bench(st, "bench-k");
		store_attempt_begin(st, 0x77, "1-2.1", ACT_UPDATE, 1000, "/l/77.log");
		if (store_flush(st) != 0)
			_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE ended IS NULL"), 1);

	st = store_open(url, err, sizeof(err));
	store_set_bench(st, "bench-k");
	assert_int_equal(store_interrupted_count(st), 1);
	assert_int_equal(store_attempts(st, 0x77, a, 4), 1);
	assert_int_equal(a[0].state, JOB_FAILED);
	assert_string_equal(a[0].cls, "interrupted");
	store_attempt_begin(st, 0x78, "1-2.2", ACT_UPDATE, 1100, "");
	store_close(st);
	st = store_open(url, err, sizeof(err));
	store_set_bench(st, "bench-k");
	assert_int_equal(store_interrupted_count(st), 0);
	store_close(st);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE class = 'interrupted'"), 1);
}

/* Two benches on one history: device history shared, port statistics per bench. */
static void
g_two_benches(void **state)
{
	struct store *s1, *s2, *ro;
	struct store_attempt x[8];
	struct triage_attempt t[8];
	struct err_result r = lost_at(4013, STEP_UPLOAD_FS, 37);
	char err[256];
	long id;

	(void)state;
	need_backend();
	s1 = store_open(url, err, sizeof(err));
	s2 = store_open(url, err, sizeof(err));
	assert_null(store_problem(s1));
	assert_null(store_problem(s2));
	store_set_bench(s1, "bench-1");
	store_set_bench(s2, "bench-2");
	id = store_attempt_begin(s1, 0xabc, "1-2.3", ACT_UPDATE, 10, "");
	store_attempt_end(s1, id, 20, JOB_FAILED, &r);
	id = store_attempt_begin(s1, 0xabc, "1-2.3", ACT_UPDATE, 30, "");
	store_attempt_end(s1, id, 40, JOB_FAILED, &r);
	assert_int_equal(store_flush(s1), 0);
	/* the phone moves to the other bench and arrives with its history */
	assert_int_equal(store_triage_attempts(s2, 0xabc, t, 8), 2);
	assert_int_equal(t[0].cls, EC_CONNECTION_LOST);
	id = store_attempt_begin(s2, 0xabc, "1-1.1", ACT_ERASE, 50, "");
	store_attempt_end(s2, id, 60, JOB_DONE, NULL);
	assert_int_equal(store_flush(s2), 0);
	assert_int_equal(store_attempts_ex(s1, 0xabc, x, 8), 3);
	assert_string_equal(x[0].bench, "bench-2");
	assert_string_equal(x[1].bench, "bench-1");

	/* ports: one bench, or all */
	ro = store_open_readonly(url, err, sizeof(err));
	assert_non_null(ro);
	store_set_scope(ro, "bench-1");
	assert_int_equal(store_attempts_ex(ro, 0, x, 8), 2);
	assert_string_equal(x[0].a.port, "1-2.3");
	store_set_scope(ro, "bench-2");
	assert_int_equal(store_triage_attempts(ro, 0, t, 8), 1);
	assert_string_equal(t[0].port, "1-1.1");
	assert_int_equal(store_attempts_ex(ro, 0xabc, x, 8), 3);	/* a device: every bench */
	store_set_scope(ro, "all");
	assert_int_equal(store_attempts_ex(ro, 0, x, 8), 3);
	store_close(ro);
	store_close(s1);
	store_close(s2);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 3);
}

static void
test_redact(void **state)
{
	char buf[256];

	(void)state;
	assert_true(store_is_url("postgresql://u@h/db"));
	assert_true(store_is_url("postgres://h/db"));
	assert_false(store_is_url("/var/lib/idb/history.db"));
	assert_false(store_is_url("postgresql:/x"));
	assert_string_equal(store_redact("postgresql://idb:s3cr3t@db.shop:5432/idb", buf,
	    sizeof(buf)), "postgresql://idb:***@db.shop:5432/idb");
	assert_string_equal(store_redact("postgres://idb@h/d?sslmode=require&password=s3cr3t&x=1",
	    buf, sizeof(buf)), "postgres://idb@h/d?sslmode=require&password=***&x=1");
	assert_string_equal(store_redact("postgresql://a:p@ss@h/d", buf, sizeof(buf)),
	    "postgresql://a:***@h/d");
	assert_string_equal(store_redact("postgresql://h/d", buf, sizeof(buf)), "postgresql://h/d");
	assert_null(strchr(store_redact("/tmp/h\x1b[2J.db", buf, sizeof(buf)), '\x1b'));
}

static const char *
url_password(char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *c, *at;

	buf[0] = '\0';
	if (p == NULL || (at = strchr(p, '@')) == NULL || (c = strchr(p + 3, ':')) == NULL ||
	    c > at)
		return buf;
	snprintf(buf, len, "%.*s", (int)(at - c - 1), c + 1);
	return buf;
}

/* Flush until nothing is pending (the store backs off: this waits, it does not time). */
static size_t
flush_until_empty(struct store *st)
{
	size_t	left = 1;
	int	i;

	for (i = 0; i < 300 && (left = store_flush(st)) > 0; i++)
		usleep(200 * 1000);
	return left;
}

/*
 * A long session: the store's memory holds what is running or not yet
 * written, not every attempt of the session (it held them all, ~750 bytes
 * each, and each read allocated max + all of them), and reads still merge
 * the database with what memory holds, newest first.
 */
#define MEM_N		2000
#define MEM_BOUND	100	/* STORE_MEM_KEEP (64), the running ones, slack */

static void
g_memory_bounded(void **state)
{
	struct store *st;
	struct bench_attempt *big;
	struct triage_attempt t[8];
	struct err_result r = lost_at(4013, STEP_UPLOAD_FS, 10);
	sqlite3 *other;
	char err[256];
	long id0, id, i;
	size_t n;

	(void)state;
	need_backend();
	assert_non_null(big = calloc(4096, sizeof(*big)));
	st = store_open(url, err, sizeof(err));
	assert_null(store_problem(st));
	store_set_bench(st, "bench-m");
	/* one that runs through the whole session must stay */
	id0 = store_attempt_begin(st, 0x7ff, "9-9", ACT_ERASE, 1000, "");
	assert_true(id0 > 0);
	for (i = 0; i < MEM_N; i++) {
		id = store_attempt_begin(st, 0x700 + (uint64_t)(i % 5), "1-1", ACT_UPDATE,
		    2000 + i, "");
		assert_true(id > 0);
		r.code = (int)i;
		store_attempt_end(st, id, 2000 + i, i % 2 ? JOB_DONE : JOB_FAILED, &r);
		if (i == MEM_N / 2)
			assert_in_range(store_held(st), 1, MEM_BOUND);
	}
	assert_int_equal(store_flush(st), 0);
	assert_in_range(store_held(st), 1, MEM_BOUND);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), MEM_N + 1);
	/* the reads see every one, newest first, from the database and memory */
	assert_int_equal(store_attempts(st, 0, NULL, 4096), MEM_N + 1);
	n = store_attempts(st, 0, big, 4096);
	assert_int_equal(n, MEM_N + 1);
	for (i = 1; i < (long)n; i++)
		assert_true(big[i - 1].started > big[i].started);
	assert_int_equal(big[0].started, 2000 + MEM_N - 1);
	assert_int_equal(big[0].state, JOB_DONE);
	assert_int_equal(big[n - 1].id, id0);
	assert_int_equal(big[n - 1].state, JOB_RUNNING);
	assert_int_equal(store_attempts(st, 0x700, NULL, 4096), MEM_N / 5);
	assert_int_equal(store_attempts(st, 0x701, big, 3), 3);
	assert_int_equal(big[0].started, 2000 + MEM_N - 4);
	assert_int_equal(store_triage_attempts(st, 0x700, t, 8), 8);
	assert_int_equal(t[0].started, 2000 + MEM_N - 5);
	assert_int_equal(t[0].state, JOB_DONE);		/* MEM_N - 5 is odd */
	assert_int_equal(t[1].started, 2000 + MEM_N - 10);
	assert_int_equal(t[1].state, JOB_FAILED);
	assert_int_equal(t[1].code, MEM_N - 10);
	assert_int_equal(t[1].cls, EC_CONNECTION_LOST);
	/* the one begun first still ends in its row */
	store_attempt_end(st, id0, 9000, JOB_CANCELLED, NULL);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE ended IS NULL"), 0);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE ended = 9000 AND "
	    "state = 'cancelled'"), 1);

	if (!on_pg) {
		/* what the file cannot take yet stays, however many, and arrives once */
		assert_int_equal(sqlite3_open(dbpath, &other), SQLITE_OK);
		assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
		    SQLITE_OK);
		for (i = 0; i < 150; i++) {
			id = store_attempt_begin(st, 0x720, "1-2", ACT_UPDATE, 5000 + i, "");
			store_attempt_end(st, id, 5000 + i, JOB_DONE, NULL);
		}
		assert_true(store_flush(st) > 0);
		assert_true(store_held(st) >= 150);
		assert_int_equal(store_attempts(st, 0x720, big, 4096), 150);
		assert_int_equal(big[0].started, 5149);
		assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(other);
		assert_int_equal(store_flush(st), 0);
		assert_in_range(store_held(st), 0, MEM_BOUND);
		assert_int_equal(store_attempts(st, 0x720, big, 4096), 150);
		assert_int_equal(bcount("SELECT count(*) FROM attempts"), MEM_N + 151);
	}
	store_close(st);
	free(big);
}

/* The server goes away mid-run and comes back: every write arrives exactly once. */
static void
pg_outage(void **state)
{
	struct store *st;
	struct bench_attempt a[8];
	struct err_result r = lost_at(4014, STEP_PREPARE, 0);
	char err[256], pw[128], out[1100], reason[64];
	long id1, id2, id3;

	(void)state;
	need_own_server();
	st = store_open(url, err, sizeof(err));
	assert_null(store_problem(st));
	store_set_bench(st, "bench-o");
	id1 = store_attempt_begin(st, 0x900, "1-2.1", ACT_UPDATE, 100, "");
	assert_true(id1 > 0);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 1);

	assert_int_equal(pg_server("stop", NULL, 0), 0);
	store_attempt_end(st, id1, 110, JOB_FAILED, &r);
	id2 = store_attempt_begin(st, 0x900, "1-2.1", ACT_ERASE, 120, "");
	assert_true(id2 < 0);				/* a stand-in until written */
	store_attempt_end(st, id2, 130, JOB_DONE, NULL);
	id3 = store_attempt_begin(st, 0x901, "1-2.2", ACT_UPDATE, 140, "");
	store_flag(st, 0x900, "4014 twice", "", 150);
	store_device_seen(st, 0x901, "iPhone9,1", "iPhone 7", "", 150);
	assert_true(store_flush(st) > 0);
	/* the header says so, without the password */
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "history server"));
	assert_non_null(strstr(store_problem(st), "locally"));
	assert_true(url_password(pw, sizeof(pw))[0] != '\0');
	assert_null(strstr(store_problem(st), pw));
	/* queued in the local SQLite file, so a crash now would lose nothing */
	assert_true(store_spooled(st) >= 4);
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_attempts"), 3);
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_ops"), 2);
	/* reads go on from memory */
	assert_int_equal(store_attempts(st, 0x900, a, 8), 2);
	assert_true(store_is_flagged(st, 0x900, reason, sizeof(reason), NULL, 0));

	assert_int_equal(pg_server("start", out, sizeof(out)), 0);
	assert_int_equal(flush_until_empty(st), 0);
	assert_null(store_problem(st));
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_attempts"), 0);
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_ops"), 0);
	store_attempt_end(st, id3, 160, JOB_DONE, NULL);
	store_close(st);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 3);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE ecid = 2304 AND "
	    "state = 'failed' AND code = 4014 AND ended = 110"), 1);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE state = 'done'"), 2);
	assert_int_equal(bcount("SELECT count(*) FROM flags"), 1);
	assert_int_equal(bcount("SELECT count(*) FROM devices WHERE name = 'iPhone 7'"), 1);
}

/* A bench dies while the server is away: the next start replays its spool, once. */
static void
pg_crash_while_down(void **state)
{
	struct store *st;
	char err[256], out[1100], cmd[1400];
	pid_t pid;
	int status;
	long id;

	(void)state;
	need_own_server();
	st = store_open(url, err, sizeof(err));	/* schema made */
	store_close(st);
	assert_int_equal(pg_server("stop", NULL, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		st = store_open(url, err, sizeof(err));
		if (store_problem(st) == NULL)
			_exit(3);
		store_set_bench(st, "bench-c");
		id = store_attempt_begin(st, 0x500, "1-1", ACT_UPDATE, 10, "");
		store_attempt_end(st, id, 20, JOB_DONE, NULL);
		store_attempt_begin(st, 0x501, "1-2", ACT_UPDATE, 30, "");
		store_ignore(st, 0x502, true);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_attempts"), 2);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s.keep'", spool, spool);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(pg_server("start", out, sizeof(out)), 0);
	st = store_open(url, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(store_interrupted_count(st), 1);
	store_close(st);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 2);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE class = 'interrupted' "
	    "AND bench = 'bench-c'"), 1);
	assert_int_equal(bcount("SELECT count(*) FROM ignored WHERE ecid = 1282"), 1);

	/* the same spool replayed again (a crash before it was emptied): nothing doubles */
	snprintf(cmd, sizeof(cmd), "cp '%s.keep' '%s' && rm -f '%s-wal' '%s-shm'", spool, spool,
	    spool, spool);
	assert_int_equal(system(cmd), 0);
	st = store_open(url, err, sizeof(err));
	assert_int_equal(flush_until_empty(st), 0);
	store_close(st);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 2);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE state = 'done'"), 1);
}

/* Four benches start at the same moment against an empty database. */
static void
pg_concurrent_migration(void **state)
{
	struct store *st;
	char err[256], go;
	pid_t pids[4];
	int gate[2], i, status, good = 0;

	(void)state;
	need_backend();
	if (!on_pg)
		skip();
	assert_int_equal(pipe(gate), 0);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(gate[1]);
			if (read(gate[0], &go, 1) != 0)
				_exit(5);
			st = store_open(url, err, sizeof(err));
			if (st == NULL || store_problem(st) != NULL)
				_exit(3);
			store_attempt_begin(st, 0x600 + (uint64_t)i, "1-1", ACT_UPDATE, 5, "");
			if (store_flush(st) != 0)
				_exit(4);
			store_close(st);
			_exit(0);
		}
	}
	close(gate[0]);
	close(gate[1]);		/* all go at once */
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		good += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	assert_int_equal(good, 4);
	assert_int_equal(bcount("SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(bcount("SELECT max(version) FROM schema_version"), STORE_PG_SCHEMA_VERSION);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 4);
}

static void
pg_newer_schema(void **state)
{
	struct store *st;
	char err[256];

	(void)state;
	need_backend();
	if (!on_pg)
		skip();
	st = store_open(url, err, sizeof(err));
	store_close(st);
	pg_sql("UPDATE schema_version SET version = 99");
	st = store_open(url, err, sizeof(err));
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "newer"));
	store_attempt_begin(st, 1, "1-1", ACT_UPDATE, 1, "");
	store_close(st);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 0);
	assert_null(store_open_readonly(url, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	pg_sql("UPDATE schema_version SET version = 1");
}

/* The server that never was: open works (memory + spool), readonly refuses. */
static void
pg_unreachable(void **state)
{
	struct store *st;
	char err[256];
	long id;

	(void)state;
	if (!on_pg)
		skip();
	/* port 1 on loopback: refused at once */
	snprintf(url, sizeof(url), "postgresql://idb:hunter2@127.0.0.1:1/idb");
	st = store_open(url, err, sizeof(err));
	assert_non_null(st);
	assert_non_null(strstr(err, "unreachable"));
	assert_null(strstr(err, "hunter2"));
	id = store_attempt_begin(st, 0x42, "1-1", ACT_UPDATE, 1, "");
	assert_true(id < 0);
	assert_true(store_flush(st) > 0);
	store_close(st);
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_attempts"), 1);
	assert_null(store_open_readonly(url, err, sizeof(err)));
	assert_null(strstr(err, "hunter2"));
}

static char	stopped[512];	/* the server's pids while SIGSTOPped */

/* Stop (or continue) the test server: its postmaster and every backend. */
static int
pg_signal(const char *sig)
{
	char	cmd[1400];
	char	out[512], *argv[] = { "sh", "-c", cmd, NULL };

	if (strcmp(sig, "STOP") == 0) {
		snprintf(cmd, sizeof(cmd), "pm=$(head -1 '%s/data/postmaster.pid') && "
		    "echo $pm $(ps -o pid= --ppid $pm)", pgdir);
		if (run_cmd(argv, out, sizeof(out)) != 0 || out[0] == '\0')
			return -1;
		snprintf(stopped, sizeof(stopped), "%s", out);
	} else if (stopped[0] == '\0')
		return 0;
	snprintf(cmd, sizeof(cmd), "kill -%s %s", sig, stopped);
	if (strcmp(sig, "CONT") == 0)
		stopped[0] = '\0';
	return run_cmd(argv, out, sizeof(out));
}

static int
pg_stall_teardown(void **state)
{
	(void)pg_signal("CONT");
	return teardown(state);
}

static uint64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The server stops answering (SIGSTOP: nothing times out) while the bench's
 * loop runs: no call waits for it, the store says so, closing does not hang,
 * and after SIGCONT the spool brings every write to the server exactly once.
 */
static void
pg_stall(void **state)
{
	struct store *st;
	struct bench_attempt a[8];
	struct triage_attempt t[8];
	char err[256], reason[64];
	uint64_t t0, dt, worst = 0;
	long id1, id2 = 0;
	int i;

	(void)state;
	need_own_server();
	st = store_open(url, err, sizeof(err));
	assert_null(store_problem(st));
	store_set_bench(st, "bench-s");
	store_set_async(st);
	id1 = store_attempt_begin(st, 0x910, "1-3.1", ACT_UPDATE, 100, "");
	assert_int_equal(flush_until_empty(st), 0);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE ended IS NULL"), 1);
	/* the server's answers reach the reads (from memory and from the server) */
	assert_int_equal(store_attempts(st, 0x910, a, 8), 1);

	assert_int_equal(pg_signal("STOP"), 0);
	for (i = 0; i < 45; i++) {	/* 4.5 s: longer than a call may take */
		t0 = mono_ms();
		switch (i % 6) {
		case 0:
			store_device_seen(st, 0x910 + (uint64_t)i, "iPhone9,1", "", "", 200 + i);
			break;
		case 1:
			(void)store_attempts(st, 0x910, a, 8);
			break;
		case 2:
			(void)store_is_flagged(st, 0x911, reason, sizeof(reason), NULL, 0);
			break;
		case 3:
			(void)store_triage_attempts(st, 0, t, 8);
			break;
		case 4:
			(void)store_flush(st);
			break;
		case 5:
			if (i == 5)
				store_attempt_end(st, id1, 300, JOB_DONE, NULL);
			else if (i == 11)
				id2 = store_attempt_begin(st, 0x912, "1-3.2", ACT_ERASE, 310, "");
			else if (i == 17)
				store_attempt_end(st, id2, 320, JOB_DONE, NULL);
			else if (i == 23)
				store_flag(st, 0x912, "stalled", "", 330);
			break;
		}
		dt = mono_ms() - t0;
		if (dt > worst)
			worst = dt;
		usleep(100 * 1000);
	}
	print_message("# slowest store call while the server was stopped: %llu ms\n",
	    (unsigned long long)worst);
	assert_true(worst < 100);
	assert_non_null(store_problem(st));
	assert_non_null(strstr(store_problem(st), "not answering"));
	/* the loop still sees what it wrote, and the spool has it in case of a crash */
	assert_int_equal(store_attempts(st, 0x912, a, 8), 1);
	assert_true(store_is_flagged(st, 0x912, reason, sizeof(reason), NULL, 0));
	assert_true(count(spool, "SELECT count(*) FROM pg_spool_attempts") >= 2);

	/* quitting does not wait for a call blocked on the stopped server */
	t0 = mono_ms();
	store_close(st);
	dt = mono_ms() - t0;
	print_message("# store_close with the server stopped: %llu ms\n", (unsigned long long)dt);
	assert_true(dt < STORE_PG_CLOSE_MS + 1000);

	/* the next start replays the spool: each write once */
	assert_int_equal(pg_signal("CONT"), 0);
	st = store_open(url, err, sizeof(err));
	assert_null(store_problem(st));
	assert_int_equal(flush_until_empty(st), 0);
	store_close(st);
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_attempts"), 0);
	assert_int_equal(count(spool, "SELECT count(*) FROM pg_spool_ops"), 0);
	assert_int_equal(bcount("SELECT count(*) FROM attempts"), 2);
	assert_int_equal(bcount("SELECT count(DISTINCT uuid) FROM attempts"), 2);
	assert_int_equal(bcount("SELECT count(*) FROM attempts WHERE state = 'done'"), 2);
	assert_int_equal(bcount("SELECT count(*) FROM flags WHERE reason = 'stalled'"), 1);
	assert_int_equal(bcount("SELECT count(*) FROM devices"), 8);
}

static void
pg_start(void)
{
	const char	*env = getenv("IDB_TEST_PG_URL");
	char		 out[1100];

	if (env != NULL && *env != '\0') {
		snprintf(pgbase, sizeof(pgbase), "%s", env);
		pg_ok = true;
		return;
	}
	snprintf(pgdir, sizeof(pgdir), "/tmp/idb-pg.XXXXXX");
	if (mkdtemp(pgdir) == NULL) {
		pgdir[0] = '\0';
		return;
	}
	if (pg_server("start", out, sizeof(out)) == 0 && store_is_url(out)) {
		snprintf(pgbase, sizeof(pgbase), "%s", out);
		pg_ok = true;
	} else {
		fprintf(stderr, "# no PostgreSQL server (scripts/pg-test-server failed): "
		    "skipping the PostgreSQL half\n");
		pg_server("destroy", NULL, 0);
		pgdir[0] = '\0';
	}
}

#define BOTH(fn) \
	{ #fn " (sqlite)", fn, g_setup_sqlite, teardown, NULL }, \
	{ #fn " (postgresql)", fn, g_setup_pg, teardown, NULL }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_path_and_missing, setup, teardown),
		cmocka_unit_test(test_redact),
		BOTH(g_roundtrip),
		BOTH(g_crash_recovery),
		BOTH(g_two_benches),
		BOTH(g_memory_bounded),
		cmocka_unit_test_setup_teardown(pg_concurrent_migration, g_setup_pg, teardown),
		cmocka_unit_test_setup_teardown(pg_newer_schema, g_setup_pg, teardown),
		cmocka_unit_test_setup_teardown(pg_unreachable, g_setup_pg, teardown),
		cmocka_unit_test_setup_teardown(pg_outage, g_setup_pg, teardown),
		cmocka_unit_test_setup_teardown(pg_crash_while_down, g_setup_pg, teardown),
		cmocka_unit_test_setup_teardown(pg_stall, g_setup_pg, pg_stall_teardown),
	};
	int	rc;

	pg_start();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (pgdir[0] != '\0')
		pg_server("destroy", NULL, 0);
	return rc;
}
