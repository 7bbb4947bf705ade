/*
 * store_schema.c: the SQLite file: opening it for writing or reading, its
 * schema and migrations, crash recovery (rows a dead bench left open are
 * closed as "interrupted") and moving a damaged file aside.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "osutil.h"
#include "store_int.h"
#include "text.h"

static const char *schema_v2[] = {
	"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	"CREATE TABLE IF NOT EXISTS devices (ecid INTEGER PRIMARY KEY, product_type TEXT, "
	    "name TEXT, first_seen INTEGER, last_seen INTEGER, udid TEXT)",
	"CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, "
	    "ecid INTEGER NOT NULL, port TEXT, action TEXT, started INTEGER, ended INTEGER, "
	    "state TEXT, class TEXT, code INTEGER, step TEXT, percent REAL, log_path TEXT, "
	    "bench TEXT, pid INTEGER)",
	"CREATE TABLE IF NOT EXISTS flags (ecid INTEGER NOT NULL, reason TEXT, hint TEXT, "
	    "created INTEGER, cleared INTEGER)",
	"CREATE TABLE IF NOT EXISTS ignored (ecid INTEGER PRIMARY KEY, since INTEGER)",
	"CREATE INDEX IF NOT EXISTS attempts_ecid ON attempts (ecid, started)",
	"CREATE INDEX IF NOT EXISTS flags_ecid ON flags (ecid)",
	/* each attempt's IPSW; a side table, so older programs read the file unchanged */
	"CREATE TABLE IF NOT EXISTS attempt_firmware (attempt INTEGER PRIMARY KEY, "
	    "version TEXT, build TEXT, sha1 TEXT)",
	NULL
};

/* Version 1 (DESIGN.md as first written) -> 2: udid, bench, pid, ignore list. */
static const char *migrate_1_2[] = {
	"ALTER TABLE devices ADD COLUMN udid TEXT",
	"ALTER TABLE attempts ADD COLUMN bench TEXT",
	"ALTER TABLE attempts ADD COLUMN pid INTEGER",
	"DELETE FROM devices WHERE rowid NOT IN (SELECT max(rowid) FROM devices GROUP BY ecid)",
	"CREATE UNIQUE INDEX IF NOT EXISTS devices_ecid ON devices (ecid)",
	"CREATE TABLE IF NOT EXISTS ignored (ecid INTEGER PRIMARY KEY, since INTEGER)",
	"CREATE INDEX IF NOT EXISTS attempts_ecid ON attempts (ecid, started)",
	"CREATE INDEX IF NOT EXISTS flags_ecid ON flags (ecid)",
	NULL
};

/* schema_setup(): the database was written by a newer idevicebench */
#define RC_NEWER	(-1)

int
store_exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int
store_schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt	*s;
	int		 rc, have_versions = 0, have_attempts = 0;

	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(s, 0);
		if (n == NULL)
			continue;
		if (strcmp(n, "schema_version") == 0)
			have_versions = 1;
		else if (strcmp(n, "attempts") == 0)
			have_attempts = 1;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return rc;
	if (!have_versions) {
		*version = have_attempts ? 1 : 0;
		return SQLITE_OK;
	}
	rc = sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	if (*version == 0 && have_attempts)
		*version = 1;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
store_run_list(sqlite3 *db, const char **list)
{
	int	rc;

	for (; *list != NULL; list++) {
		if ((rc = store_exec_sql(db, *list)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Create or migrate the schema in one transaction. */
static int
schema_setup(struct store *st)
{
	char	sql[128];
	int	rc, v;

	if ((rc = store_exec_sql(st->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	if ((rc = store_schema_version(st->db, &v)) != SQLITE_OK)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		store_exec_sql(st->db, "ROLLBACK");
		return RC_NEWER;
	}
	if (v == 1 && (rc = store_run_list(st->db, migrate_1_2)) != SQLITE_OK)
		goto fail;
	if ((rc = store_run_list(st->db, schema_v2)) != SQLITE_OK)
		goto fail;
	if (v != STORE_SCHEMA_VERSION) {
		store_exec_sql(st->db, "DELETE FROM schema_version");
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)",
		    STORE_SCHEMA_VERSION);
		if ((rc = store_exec_sql(st->db, sql)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = store_exec_sql(st->db, "COMMIT")) != SQLITE_OK)
		goto fail;
	return SQLITE_OK;
fail:
	store_exec_sql(st->db, "ROLLBACK");
	return rc;
}

/*
 * A bench killed with SIGKILL whose parent died too stays a zombie until
 * something reaps it (some inits never do): kill(pid, 0) still succeeds,
 * but it will never close its rows.
 */
static bool
pid_zombie(long pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": the command may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return false;
	return p[2] == 'Z' || p[2] == 'X';
}

bool
store_pid_alive(long pid)
{
	if (pid <= 0 || pid > INT_MAX)
		return false;
	if (pid == (long)getpid())
		return true;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return false;
	return !pid_zombie(pid);
}

/* Close the rows a dead bench left open: they failed, as "interrupted". */
static int
recover(struct store *st)
{
	sqlite3_stmt	*s, *u;
	int		 rc, n = 0;
	time_t		 now = time(NULL);

	rc = sqlite3_prepare_v2(st->db, "SELECT id, pid FROM attempts WHERE ended IS NULL",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(st->db, "UPDATE attempts SET state = 'failed', "
	    "class = 'interrupted', ended = ? WHERE id = ? AND ended IS NULL", -1, &u, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s);
		return rc;
	}
	if ((rc = store_exec_sql(st->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		long pid = sqlite3_column_type(s, 1) == SQLITE_NULL ? 0 :
		    (long)sqlite3_column_int64(s, 1);
		if (store_pid_alive(pid))
			continue;	/* another bench on this database is still running it */
		sqlite3_bind_int64(u, 1, now);
		sqlite3_bind_int64(u, 2, sqlite3_column_int64(s, 0));
		if (sqlite3_step(u) != SQLITE_DONE) {
			rc = sqlite3_errcode(st->db);
			sqlite3_reset(u);
			break;
		}
		n += sqlite3_changes(st->db);
		sqlite3_reset(u);
	}
	if (rc == SQLITE_DONE)
		rc = store_exec_sql(st->db, "COMMIT");
	if (rc != SQLITE_OK)
		store_exec_sql(st->db, "ROLLBACK");
	else
		st->interrupted += n;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	return rc;
}

/* Keep the damaged file (and its journal) as evidence and start afresh. */
static void
move_aside(struct store *st)
{
	char	to[PATH_MAX + 64], from[PATH_MAX + 8], to2[PATH_MAX + 80];
	time_t	now = time(NULL);

	snprintf(to, sizeof(to), "%s.corrupt-%lld", st->path, (long long)now);
	if (rename(st->path, to) != 0) {
		store_set_problem(st, PROB_CORRUPT, "history database is damaged and cannot be moved "
		    "aside (%s): keeping records in memory", strerror(errno));
		return;
	}
	snprintf(from, sizeof(from), "%s-wal", st->path);
	snprintf(to2, sizeof(to2), "%s-wal", to);
	(void)rename(from, to2);
	snprintf(from, sizeof(from), "%s-shm", st->path);
	(void)unlink(from);
	store_set_problem(st, PROB_CORRUPT, "history database was damaged: moved aside to %s, "
	    "started a new one", to);
}

void
store_db_close(struct store *st)
{
	if (st->db != NULL)
		sqlite3_close_v2(st->db);
	st->db = NULL;
	st->ready = false;
}

/* Is the file readable as a database at all, and whole? */
static int
check_whole(sqlite3 *db)
{
	sqlite3_stmt	*s;
	int		 rc;
	const char	*r;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		r = (const char *)sqlite3_column_text(s, 0);
		rc = r != NULL && strcmp(r, "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
	}
	sqlite3_finalize(s);
	return rc;
}

/*
 * Open the database for writing and check its schema. Returns true when ready;
 * otherwise the problem is set and the store keeps working from memory.
 */
bool
store_db_init(struct store *st, int depth)
{
	int	rc, fd;

	store_db_close(st);
	(void)os_mkdirs_parent(st->path, 0700);
	fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EACCES || errno == EROFS || errno == EPERM))
		goto readonly;
	if (fd == -1) {
		st->last_fail = time(NULL);
		store_set_problem(st, PROB_OTHER, "history database %s cannot be opened (%s): keeping "
		    "records in memory", st->path, strerror(errno));
		return false;
	}
	close(fd);

	rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 0);
	if ((rc = check_whole(st->db)) != SQLITE_OK)
		goto fail;
	if ((rc = store_exec_sql(st->db, "PRAGMA journal_mode = WAL")) != SQLITE_OK)
		goto fail;
	store_exec_sql(st->db, "PRAGMA synchronous = NORMAL");
	rc = schema_setup(st);
	if (rc == RC_NEWER) {
		store_db_close(st);
		st->last_fail = time(NULL);
		store_set_problem(st, PROB_OTHER, "history database was written by a newer "
		    "idevicebench: keeping records in memory");
		return false;
	}
	if (rc != SQLITE_OK)
		goto fail;
	if (!st->recovered) {
		if ((rc = recover(st)) != SQLITE_OK)
			goto fail;
		st->recovered = true;
	}
	st->ready = true;
	return true;

fail:
	if (store_prob_of(rc) == PROB_CORRUPT && depth == 0) {
		store_db_close(st);
		move_aside(st);
		if (st->prob == PROB_CORRUPT && strstr(st->problem, "moved aside") != NULL) {
			char keep[sizeof(st->problem)];

			/* a new database: keep saying where the old one went */
			text_copy(keep, st->problem, sizeof(keep));
			if (store_db_init(st, depth + 1)) {
				text_copy(st->problem, keep, sizeof(st->problem));
				st->prob = PROB_CORRUPT;
				return true;
			}
		}
		return false;
	}
	if (store_prob_of(rc) == PROB_READONLY) {
		store_db_close(st);
		goto readonly;
	}
	store_db_close(st);
	store_note_failure(st, rc);
	return false;

readonly:
	/* still read what is there, so history and advice keep working */
	st->last_fail = time(NULL);
	store_set_problem(st, PROB_READONLY, "history database is read-only: keeping records in "
	    "memory");
	return false;
}

/* A handle for reading only, falling back to immutable mode on a read-only disk. */
sqlite3 *
store_open_for_reading(const char *path)
{
	sqlite3	*db = NULL;
	char	 uri[PATH_MAX * 3 + 32], *u;
	const char *p;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
		if (store_exec_sql(db, "SELECT count(*) FROM sqlite_master") == SQLITE_OK)
			return db;
	}
	sqlite3_close_v2(db);
	db = NULL;

	/* no -shm can be made here (read-only disk): read the file as it is */
	u = uri + snprintf(uri, sizeof(uri), "file:");
	for (p = path; *p != '\0' && u < uri + sizeof(uri) - 32; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			u += sprintf(u, "%%%02X", (unsigned char)*p);
		else
			*u++ = *p;
	}
	snprintf(u, 16, "?immutable=1");
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) ==
	    SQLITE_OK && store_exec_sql(db, "SELECT count(*) FROM sqlite_master") == SQLITE_OK)
		return db;
	sqlite3_close_v2(db);
	return NULL;
}

/* The handle reads go through: the writable one, or a read-only one. */
sqlite3 *
store_reader(struct store *st)
{
	if (st->db != NULL)
		return st->db;
	/* locked or read-only: the rows already there can still be read */
	if (st->prob != PROB_CORRUPT && st->path[0] != '\0' && access(st->path, F_OK) == 0)
		st->db = store_open_for_reading(st->path);
	return st->db;
}
