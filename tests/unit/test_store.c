/*
 * test_store.c: the history store, including the ways a database goes wrong:
 * locked, read-only, corrupt, full disk, a bench killed mid-attempt, an old
 * schema. A second SQLite connection plays the other program and checks what
 * really reached the file.
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
