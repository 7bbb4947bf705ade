/*
 * store.c: the history store on SQLite (WAL).
 *
 * The bench must never stop because of its history: every write goes to
 * memory first (the session's attempts, devices and an ordered queue of
 * device/flag/ignore changes) and then to the database when it can. A write
 * that fails (locked, read-only, full, corrupt) stays pending and is retried
 * by store_flush(); a write that succeeded is dropped from the queue, so each
 * row arrives exactly once. Reads merge the database with the session.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "store.h"
#include "text.h"
#include "triage.h"

enum prob {
	PROB_NONE = 0,
	PROB_LOCKED,
	PROB_READONLY,
	PROB_FULL,
	PROB_CORRUPT,
	PROB_OTHER
};

/* An attempt begun in this session. */
struct mem_attempt {
	long		handle;		/* id handed to the caller */
	long		dbid;		/* row id, 0 until written */
	uint64_t	ecid;
	char		port[32];
	int		action;
	time_t		started, ended;
	int		state;		/* JOB_RUNNING until ended */
	char		cls[24];	/* "" when none */
	int		code;
	int		step;
	double		percent;
	char		log_path[512];
	char		bench[64];
	bool		need_insert, need_update;
	char		uuid[40];	/* idempotency key for PostgreSQL */
	bool		spooled;	/* this version is in the local spool */
};

/* A device known in this session, and which of its facts memory decides. */
struct mem_device {
	struct store_device	d;
	bool			flag_known;	/* flagged/unflagged this session */
	bool			ignore_known;
};

struct store {
	char			 path[PATH_MAX];
	sqlite3			*db;
	bool			 ready;		/* schema checked, writable */
	bool			 readonly;	/* opened by a report command */
	bool			 recovered;	/* crash recovery done */
	int			 interrupted;
	enum prob		 prob;
	char			 problem[320];
	char			 bench[64];
	time_t			 last_fail;
	long			 next_temp;

	struct mem_attempt	*att;
	size_t			 natt, attcap;
	struct store_op		*ops;
	size_t			 nops, opcap;
	struct mem_device	*dev;
	size_t			 ndev, devcap;

	/* PostgreSQL: the server, and a local spool for what cannot reach it */
	struct store_pg		*pg;
	char			 shown[256];	/* the URL without its password */
	sqlite3			*spool;
	char			 spool_path[PATH_MAX];
	time_t			 next_try;
	int			 backoff;
	char			 recovered_for[64];
	char			 scope[64];	/* "" = every bench */
};

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

/* Weak: programs linked without store_pg.o (the fuzzers) have no PostgreSQL. */
extern const struct store_pg_ops store_pg_ops __attribute__((weak));
#define PG	(&store_pg_ops)

static size_t	do_flush(struct store *);
static size_t	pg_flush(struct store *);
static bool	pg_open(struct store *, const char *url);
static void	pg_fail(struct store *);
static void	pg_recover(struct store *);
static void	make_uuid(char *, size_t);

static enum prob
prob_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PROB_LOCKED;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return PROB_READONLY;
	case SQLITE_FULL:
		return PROB_FULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return PROB_CORRUPT;
	default:
		return PROB_OTHER;
	}
}

static void
set_problem(struct store *st, enum prob p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Remember why the database is not being written; shown once by the caller. */
static void
set_problem(struct store *st, enum prob p, const char *fmt, ...)
{
	va_list	ap;
	char	buf[sizeof(st->problem)];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_sanitize(st->problem, sizeof(st->problem), buf, strlen(buf));
	st->prob = p;
}

/* A failed write: say why in words a technician understands. */
static void
note_failure(struct store *st, int rc)
{
	enum prob	p = prob_of(rc);

	st->last_fail = time(NULL);
	switch (p) {
	case PROB_LOCKED:
		set_problem(st, p, "history database is locked by another program: keeping "
		    "records in memory");
		break;
	case PROB_READONLY:
		set_problem(st, p, "history database is read-only: keeping records in memory");
		break;
	case PROB_FULL:
		set_problem(st, p, "history disk is full: keeping records in memory");
		break;
	case PROB_CORRUPT:
		set_problem(st, p, "history database is damaged: keeping records in memory");
		/* reopen at the next flush, which moves the file aside */
		st->ready = false;
		break;
	default:
		set_problem(st, p, "history database error (%s): keeping records in memory",
		    sqlite3_errstr(rc));
		break;
	}
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Create every missing directory of path's parent, mode 0700. */
static void
make_parents(const char *path)
{
	char	buf[PATH_MAX], *p;

	if (text_copy(buf, path, sizeof(buf)) >= sizeof(buf))
		return;
	p = strrchr(buf, '/');
	if (p == NULL || p == buf)
		return;
	*p = '\0';
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(buf, 0700);
		*p = '/';
	}
	(void)mkdir(buf, 0700);
}

static int
schema_version(sqlite3 *db, int *version)
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

static int
run_list(sqlite3 *db, const char **list)
{
	int	rc;

	for (; *list != NULL; list++) {
		if ((rc = exec_sql(db, *list)) != SQLITE_OK)
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

	if ((rc = exec_sql(st->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	if ((rc = schema_version(st->db, &v)) != SQLITE_OK)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		exec_sql(st->db, "ROLLBACK");
		return RC_NEWER;
	}
	if (v == 1 && (rc = run_list(st->db, migrate_1_2)) != SQLITE_OK)
		goto fail;
	if ((rc = run_list(st->db, schema_v2)) != SQLITE_OK)
		goto fail;
	if (v != STORE_SCHEMA_VERSION) {
		exec_sql(st->db, "DELETE FROM schema_version");
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)",
		    STORE_SCHEMA_VERSION);
		if ((rc = exec_sql(st->db, sql)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = exec_sql(st->db, "COMMIT")) != SQLITE_OK)
		goto fail;
	return SQLITE_OK;
fail:
	exec_sql(st->db, "ROLLBACK");
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
	if ((rc = exec_sql(st->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
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
		rc = exec_sql(st->db, "COMMIT");
	if (rc != SQLITE_OK)
		exec_sql(st->db, "ROLLBACK");
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
		set_problem(st, PROB_CORRUPT, "history database is damaged and cannot be moved "
		    "aside (%s): keeping records in memory", strerror(errno));
		return;
	}
	snprintf(from, sizeof(from), "%s-wal", st->path);
	snprintf(to2, sizeof(to2), "%s-wal", to);
	(void)rename(from, to2);
	snprintf(from, sizeof(from), "%s-shm", st->path);
	(void)unlink(from);
	set_problem(st, PROB_CORRUPT, "history database was damaged: moved aside to %s, "
	    "started a new one", to);
}

static void
db_close(struct store *st)
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
static bool
db_init(struct store *st, int depth)
{
	int	rc, fd;

	db_close(st);
	make_parents(st->path);
	fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EACCES || errno == EROFS || errno == EPERM))
		goto readonly;
	if (fd == -1) {
		st->last_fail = time(NULL);
		set_problem(st, PROB_OTHER, "history database %s cannot be opened (%s): keeping "
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
	if ((rc = exec_sql(st->db, "PRAGMA journal_mode = WAL")) != SQLITE_OK)
		goto fail;
	exec_sql(st->db, "PRAGMA synchronous = NORMAL");
	rc = schema_setup(st);
	if (rc == RC_NEWER) {
		db_close(st);
		st->last_fail = time(NULL);
		set_problem(st, PROB_OTHER, "history database was written by a newer "
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
	if (prob_of(rc) == PROB_CORRUPT && depth == 0) {
		db_close(st);
		move_aside(st);
		if (st->prob == PROB_CORRUPT && strstr(st->problem, "moved aside") != NULL) {
			char keep[sizeof(st->problem)];

			/* a new database: keep saying where the old one went */
			text_copy(keep, st->problem, sizeof(keep));
			if (db_init(st, depth + 1)) {
				text_copy(st->problem, keep, sizeof(st->problem));
				st->prob = PROB_CORRUPT;
				return true;
			}
		}
		return false;
	}
	if (prob_of(rc) == PROB_READONLY) {
		db_close(st);
		goto readonly;
	}
	db_close(st);
	note_failure(st, rc);
	return false;

readonly:
	/* still read what is there, so history and advice keep working */
	st->last_fail = time(NULL);
	set_problem(st, PROB_READONLY, "history database is read-only: keeping records in "
	    "memory");
	return false;
}

/* A handle for reading only, falling back to immutable mode on a read-only disk. */
static sqlite3 *
open_for_reading(const char *path)
{
	sqlite3	*db = NULL;
	char	 uri[PATH_MAX * 3 + 32], *u;
	const char *p;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
		if (exec_sql(db, "SELECT count(*) FROM sqlite_master") == SQLITE_OK)
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
	    SQLITE_OK && exec_sql(db, "SELECT count(*) FROM sqlite_master") == SQLITE_OK)
		return db;
	sqlite3_close_v2(db);
	return NULL;
}

/* The handle reads go through: the writable one, or a read-only one. */
static sqlite3 *
reader(struct store *st)
{
	if (st->db != NULL)
		return st->db;
	/* locked or read-only: the rows already there can still be read */
	if (st->prob != PROB_CORRUPT && st->path[0] != '\0' && access(st->path, F_OK) == 0)
		st->db = open_for_reading(st->path);
	return st->db;
}

static struct store *
store_new(const char *path)
{
	struct store	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	text_copy(st->path, path != NULL ? path : "", sizeof(st->path));
	st->next_temp = -1;
	return st;
}

/* Open the history at path; memory-only mode when it cannot. */
struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*st;

	if (errlen > 0)
		err[0] = '\0';
	if ((st = store_new(path)) == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL || *path == '\0') {
		set_problem(st, PROB_OTHER, "no history database path: keeping records in "
		    "memory");
	} else if (store_is_url(path) && PG == NULL) {
		st->path[0] = '\0';
		set_problem(st, PROB_OTHER, "built without PostgreSQL support: keeping records "
		    "in memory");
	} else if (store_is_url(path)) {
		st->path[0] = '\0';	/* never an SQLite file of that name */
		if (!pg_open(st, path)) {
			store_close(st);
			if (errlen > 0)
				snprintf(err, errlen, "out of memory");
			return NULL;
		}
	} else if (!db_init(st, 0))
		(void)reader(st);
	if (st->problem[0] != '\0' && errlen > 0)
		text_copy(err, st->problem, errlen);
	return st;
}

/* Open an existing history only to read it. */
struct store *
store_open_readonly(const char *path, char *err, size_t errlen)
{
	struct store	*st;
	int		 v;

	if (errlen > 0)
		err[0] = '\0';
	if (store_is_url(path)) {
		char	shown[256], e[256];
		int	rc;

		store_redact(path, shown, sizeof(shown));
		if (PG == NULL) {
			snprintf(err, errlen, "%s: built without PostgreSQL support", shown);
			return NULL;
		}
		if ((st = store_new("")) == NULL || (st->pg = PG->create(path)) == NULL) {
			store_close(st);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		st->readonly = true;
		st->prob = PROB_READONLY;
		if ((rc = PG->connect(st->pg, false, e, sizeof(e))) != 0) {
			snprintf(err, errlen, "%s: %s", shown, rc == -2 ?
			    "written by a newer idevicebench" : e);
			store_close(st);
			return NULL;
		}
		return st;
	}
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((st = store_new(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->readonly = true;
	st->prob = PROB_READONLY;	/* never write */
	if ((st->db = open_for_reading(path)) == NULL ||
	    schema_version(st->db, &v) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a readable history database", path);
		store_close(st);
		return NULL;
	}
	if (v == 0 || v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: %s", path, v == 0 ? "not an idevicebench history" :
		    "written by a newer idevicebench");
		store_close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (!st->readonly)
		(void)do_flush(st);
	db_close(st);
	if (st->pg != NULL)
		PG->destroy(st->pg);
	if (st->spool != NULL)
		sqlite3_close_v2(st->spool);
	free(st->att);
	free(st->ops);
	free(st->dev);
	free(st);
}

/* One-line problem to show once, or NULL. */
const char *
store_problem(struct store *st)
{
	if (st == NULL || st->readonly || st->problem[0] == '\0')
		return NULL;
	return st->problem;
}

int
store_interrupted_count(struct store *st)
{
	return st != NULL ? st->interrupted : 0;
}

void
store_set_bench(struct store *st, const char *name)
{
	if (st == NULL)
		return;
	text_sanitize(st->bench, sizeof(st->bench), name, strlen(name));
	/* a shared server: only this bench's own dead rows are ours to close */
	if (st->pg != NULL && !st->readonly && PG->connected(st->pg))
		pg_recover(st);
}

/* $XDG_DATA_HOME/idevicebench/history.db, or ~/.local/share/idevicebench/history.db. */
const char *
store_default_path(char *buf, size_t len)
{
	const char	*x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int		 n;

	if (x != NULL && *x == '/')
		n = snprintf(buf, len, "%s/idevicebench/history.db", x);
	else if (home != NULL && *home != '\0')
		n = snprintf(buf, len, "%s/.local/share/idevicebench/history.db", home);
	else
		return NULL;
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return buf;
}

/* ---- memory side ---- */

static struct mem_device *
mem_device(struct store *st, uint64_t ecid, bool create)
{
	struct mem_device	*n;
	size_t			 i;

	for (i = 0; i < st->ndev; i++) {
		if (st->dev[i].d.ecid == ecid)
			return &st->dev[i];
	}
	if (!create)
		return NULL;
	if (st->ndev == st->devcap) {
		size_t cap = st->devcap ? st->devcap * 2 : 16;
		if ((n = realloc(st->dev, cap * sizeof(*n))) == NULL)
			return NULL;
		st->dev = n;
		st->devcap = cap;
	}
	n = &st->dev[st->ndev++];
	memset(n, 0, sizeof(*n));
	n->d.ecid = ecid;
	return n;
}

static struct store_op *
op_push(struct store *st, enum store_op_kind kind, uint64_t ecid, time_t t)
{
	struct store_op	*n;

	if (st->nops == st->opcap) {
		size_t cap = st->opcap ? st->opcap * 2 : 16;
		if ((n = realloc(st->ops, cap * sizeof(*n))) == NULL)
			return NULL;
		st->ops = n;
		st->opcap = cap;
	}
	n = &st->ops[st->nops++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->ecid = ecid;
	n->t = t;
	make_uuid(n->uuid, sizeof(n->uuid));
	return n;
}

static struct mem_attempt *
mem_attempt(struct store *st, long handle)
{
	size_t	i;

	for (i = 0; i < st->natt; i++) {
		if (st->att[i].handle == handle)
			return &st->att[i];
	}
	return NULL;
}

static void
copy_clean(char *dst, size_t len, const char *src)
{
	if (src == NULL)
		src = "";
	text_sanitize(dst, len, src, strlen(src));
}

/* Try pending writes now, unless the database failed a moment ago. */
static void
write_soon(struct store *st)
{
	if (st->readonly)
		return;
	if (st->pg != NULL) {
		/* backs off by itself, and keeps the local spool current */
		(void)pg_flush(st);
		return;
	}
	if (st->last_fail != 0 && time(NULL) - st->last_fail < 2)
		return;
	(void)do_flush(st);
}

void
store_device_seen(struct store *st, uint64_t ecid, const char *product_type,
    const char *name, const char *udid, time_t now)
{
	struct mem_device	*m;
	struct store_op		*o;

	if (st == NULL || ecid == 0 || st->readonly)
		return;
	if ((m = mem_device(st, ecid, true)) != NULL) {
		if (product_type != NULL && *product_type != '\0')
			copy_clean(m->d.product_type, sizeof(m->d.product_type), product_type);
		if (name != NULL && *name != '\0')
			copy_clean(m->d.name, sizeof(m->d.name), name);
		if (udid != NULL && *udid != '\0')
			copy_clean(m->d.udid, sizeof(m->d.udid), udid);
		if (m->d.first_seen == 0 || now < m->d.first_seen)
			m->d.first_seen = now;
		if (now > m->d.last_seen)
			m->d.last_seen = now;
	}
	if ((o = op_push(st, STORE_OP_DEVICE, ecid, now)) != NULL) {
		copy_clean(o->s1, 32, product_type);
		copy_clean(o->s2, 64, name);
		copy_clean(o->s3, 48, udid);
	}
	write_soon(st);
}

/* Record a job start; returns the attempt id. */
long
store_attempt_begin(struct store *st, uint64_t ecid, const char *port, int action,
    time_t started, const char *log_path)
{
	struct mem_attempt	*a, *n;

	if (st == NULL || st->readonly)
		return 0;
	if (st->natt == st->attcap) {
		size_t cap = st->attcap ? st->attcap * 2 : 32;
		if ((n = realloc(st->att, cap * sizeof(*n))) == NULL)
			return 0;
		st->att = n;
		st->attcap = cap;
	}
	a = &st->att[st->natt++];
	memset(a, 0, sizeof(*a));
	a->handle = st->next_temp--;
	make_uuid(a->uuid, sizeof(a->uuid));
	a->ecid = ecid;
	copy_clean(a->port, sizeof(a->port), port);
	a->action = action;
	a->started = started;
	a->state = JOB_RUNNING;
	a->code = ERR_NOCODE;
	a->step = STEP_NONE;
	copy_clean(a->log_path, sizeof(a->log_path), log_path);
	text_copy(a->bench, st->bench, sizeof(a->bench));
	a->need_insert = true;
	write_soon(st);
	/* the row id when written at once (what history shows), else a negative stand-in */
	if (a->dbid > 0)
		a->handle = a->dbid;
	return a->handle;
}

/* Record how an attempt ended. */
void
store_attempt_end(struct store *st, long id, time_t ended, int state,
    const struct err_result *r)
{
	struct mem_attempt	*a;

	if (st == NULL || (a = mem_attempt(st, id)) == NULL)
		return;
	a->ended = ended;
	a->state = state;
	a->cls[0] = '\0';
	a->code = ERR_NOCODE;
	if (r != NULL) {
		if (state != JOB_DONE && r->cls != EC_NONE)
			text_copy(a->cls, errclass_name(r->cls), sizeof(a->cls));
		if (state != JOB_DONE)
			a->code = r->code;
		a->step = r->step;
		a->percent = r->percent;
	}
	if (state == JOB_CANCELLED && a->cls[0] == '\0')
		text_copy(a->cls, "cancelled", sizeof(a->cls));
	if (state == JOB_FAILED && a->cls[0] == '\0')
		text_copy(a->cls, errclass_name(EC_UNKNOWN), sizeof(a->cls));
	if (!a->need_insert)
		a->need_update = true;
	a->spooled = false;
	write_soon(st);
}

void
store_flag(struct store *st, uint64_t ecid, const char *reason, const char *hint, time_t now)
{
	struct mem_device	*m;
	struct store_op		*o;

	if (st == NULL || st->readonly)
		return;
	if ((m = mem_device(st, ecid, true)) != NULL) {
		m->flag_known = true;
		m->d.flagged = true;
		copy_clean(m->d.reason, sizeof(m->d.reason), reason);
		copy_clean(m->d.hint, sizeof(m->d.hint), hint);
		m->d.flagged_at = now;
	}
	if ((o = op_push(st, STORE_OP_FLAG, ecid, now)) != NULL) {
		copy_clean(o->s1, 128, reason);
		copy_clean(o->s2, 160, hint);
	}
	write_soon(st);
}

void
store_unflag(struct store *st, uint64_t ecid, time_t now)
{
	struct mem_device	*m;

	if (st == NULL || st->readonly)
		return;
	if ((m = mem_device(st, ecid, true)) != NULL) {
		m->flag_known = true;
		m->d.flagged = false;
		m->d.reason[0] = m->d.hint[0] = '\0';
	}
	(void)op_push(st, STORE_OP_UNFLAG, ecid, now);
	write_soon(st);
}

void
store_ignore(struct store *st, uint64_t ecid, bool on)
{
	struct mem_device	*m;
	struct store_op		*o;

	if (st == NULL || st->readonly)
		return;
	if ((m = mem_device(st, ecid, true)) != NULL) {
		m->ignore_known = true;
		m->d.ignored = on;
	}
	if ((o = op_push(st, STORE_OP_IGNORE, ecid, time(NULL))) != NULL)
		o->on = on;
	write_soon(st);
}

/* ---- writing ---- */

static void
bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (t == NULL || *t == '\0')
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
}

/* The word the databases keep for a job state. */
const char *
store_state_word(int state)
{
	switch (state) {
	case JOB_DONE:
		return "done";
	case JOB_FAILED:
		return "failed";
	case JOB_CANCELLED:
		return "cancelled";
	case JOB_QUEUED:
		return "queued";
	default:
		return "running";
	}
}

/* A job state from its word (anything unknown is still running). */
int
store_state_from_word(const char *w)
{
	if (w == NULL)
		return JOB_RUNNING;
	if (strcmp(w, "done") == 0)
		return JOB_DONE;
	if (strcmp(w, "failed") == 0)
		return JOB_FAILED;
	if (strcmp(w, "cancelled") == 0)
		return JOB_CANCELLED;
	if (strcmp(w, "queued") == 0)
		return JOB_QUEUED;
	return JOB_RUNNING;
}

/* Run one prepared statement to completion; returns an sqlite result code. */
static int
step_done(sqlite3_stmt *s)
{
	int	rc = sqlite3_step(s);

	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int
write_attempt(struct store *st, struct mem_attempt *a)
{
	sqlite3_stmt	*s;
	int		 rc;
	const char	*step = a->step >= 0 && a->step < STEP__COUNT ? rp_step_name(a->step) :
			    NULL;

	if (a->need_insert) {
		rc = sqlite3_prepare_v2(st->db, "INSERT INTO attempts (ecid, port, action, "
		    "started, ended, state, class, code, step, percent, log_path, bench, pid) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)a->ecid);
		bind_text_or_null(s, 2, a->port);
		sqlite3_bind_text(s, 3, a->action == ACT_ERASE ? "erase" : "update", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, a->started);
		if (a->state == JOB_RUNNING)
			sqlite3_bind_null(s, 5);
		else
			sqlite3_bind_int64(s, 5, a->ended);
		sqlite3_bind_text(s, 6, store_state_word(a->state), -1, SQLITE_STATIC);
		bind_text_or_null(s, 7, a->cls);
		if (a->code == ERR_NOCODE)
			sqlite3_bind_null(s, 8);
		else
			sqlite3_bind_int(s, 8, a->code);
		bind_text_or_null(s, 9, step);
		sqlite3_bind_double(s, 10, a->percent);
		bind_text_or_null(s, 11, a->log_path);
		bind_text_or_null(s, 12, a->bench);
		sqlite3_bind_int64(s, 13, (sqlite3_int64)getpid());
		if ((rc = step_done(s)) != SQLITE_OK)
			return rc;
		a->dbid = (long)sqlite3_last_insert_rowid(st->db);
		a->need_insert = a->need_update = false;
		return SQLITE_OK;
	}
	rc = sqlite3_prepare_v2(st->db, "UPDATE attempts SET ended = ?, state = ?, class = ?, "
	    "code = ?, step = ?, percent = ? WHERE id = ?", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(s, 1, a->ended);
	sqlite3_bind_text(s, 2, store_state_word(a->state), -1, SQLITE_STATIC);
	bind_text_or_null(s, 3, a->cls);
	if (a->code == ERR_NOCODE)
		sqlite3_bind_null(s, 4);
	else
		sqlite3_bind_int(s, 4, a->code);
	bind_text_or_null(s, 5, step);
	sqlite3_bind_double(s, 6, a->percent);
	sqlite3_bind_int64(s, 7, a->dbid);
	if ((rc = step_done(s)) != SQLITE_OK)
		return rc;
	a->need_update = false;
	return SQLITE_OK;
}

static int
write_op(struct store *st, const struct store_op *o)
{
	sqlite3_stmt	*s;
	int		 rc;

	switch (o->kind) {
	case STORE_OP_DEVICE:
		rc = sqlite3_prepare_v2(st->db, "INSERT INTO devices (ecid, product_type, name, "
		    "udid, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
		    "ON CONFLICT (ecid) DO UPDATE SET "
		    "product_type = coalesce(excluded.product_type, product_type), "
		    "name = coalesce(excluded.name, name), udid = coalesce(excluded.udid, udid), "
		    "first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen), "
		    "last_seen = max(coalesce(last_seen, 0), excluded.last_seen)", -1, &s, NULL);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)o->ecid);
		bind_text_or_null(s, 2, o->s1);
		bind_text_or_null(s, 3, o->s2);
		bind_text_or_null(s, 4, o->s3);
		sqlite3_bind_int64(s, 5, o->t);
		return step_done(s);
	case STORE_OP_FLAG:
		if ((rc = exec_sql(st->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
			return rc;
		rc = sqlite3_prepare_v2(st->db, "UPDATE flags SET cleared = ?1 WHERE ecid = ?2 "
		    "AND cleared IS NULL", -1, &s, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, o->t);
			sqlite3_bind_int64(s, 2, (sqlite3_int64)o->ecid);
			rc = step_done(s);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(st->db, "INSERT INTO flags (ecid, reason, hint, "
			    "created) VALUES (?, ?, ?, ?)", -1, &s, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, (sqlite3_int64)o->ecid);
			bind_text_or_null(s, 2, o->s1);
			bind_text_or_null(s, 3, o->s2);
			sqlite3_bind_int64(s, 4, o->t);
			rc = step_done(s);
		}
		if (rc == SQLITE_OK)
			rc = exec_sql(st->db, "COMMIT");
		if (rc != SQLITE_OK)
			exec_sql(st->db, "ROLLBACK");
		return rc;
	case STORE_OP_UNFLAG:
		rc = sqlite3_prepare_v2(st->db, "UPDATE flags SET cleared = ?1 WHERE ecid = ?2 "
		    "AND cleared IS NULL", -1, &s, NULL);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, o->t);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)o->ecid);
		return step_done(s);
	case STORE_OP_IGNORE:
		rc = sqlite3_prepare_v2(st->db, o->on ?
		    "INSERT OR REPLACE INTO ignored (ecid, since) VALUES (?1, ?2)" :
		    "DELETE FROM ignored WHERE ecid = ?1", -1, &s, NULL);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)o->ecid);
		if (o->on)
			sqlite3_bind_int64(s, 2, o->t);
		return step_done(s);
	}
	return SQLITE_MISUSE;
}

static size_t
pending(const struct store *st)
{
	size_t	i, n = st->nops;

	for (i = 0; i < st->natt; i++) {
		if (st->att[i].need_insert || st->att[i].need_update)
			n++;
	}
	return n;
}

static size_t
do_flush(struct store *st)
{
	size_t	i, done = 0;
	int	rc = SQLITE_OK;

	if (st->readonly)
		return 0;
	if (st->pg != NULL)
		return pg_flush(st);
	if (pending(st) == 0 && st->ready)
		return 0;
	if (!st->ready && !db_init(st, 0)) {
		(void)reader(st);
		return pending(st);
	}
	for (i = 0; i < st->natt && rc == SQLITE_OK; i++) {
		if (st->att[i].need_insert || st->att[i].need_update)
			rc = write_attempt(st, &st->att[i]);
	}
	while (rc == SQLITE_OK && done < st->nops) {
		if ((rc = write_op(st, &st->ops[done])) == SQLITE_OK)
			done++;
	}
	/* written ops leave the queue; the rest keep their order */
	if (done > 0) {
		memmove(st->ops, st->ops + done, (st->nops - done) * sizeof(*st->ops));
		st->nops -= done;
	}
	if (rc != SQLITE_OK) {
		note_failure(st, rc);
		return pending(st);
	}
	/* everything is in: a passing trouble is over (a moved-aside notice stays) */
	if (st->prob != PROB_CORRUPT) {
		st->prob = PROB_NONE;
		st->problem[0] = '\0';
	}
	st->last_fail = 0;
	return 0;
}

/* Retry writes kept in memory; returns how many are still pending. */
size_t
store_flush(struct store *st)
{
	if (st == NULL)
		return 0;
	return do_flush(st);
}

/* ---- reading ---- */

static const char *
col_text(sqlite3_stmt *s, int i)
{
	const char	*t = (const char *)sqlite3_column_text(s, i);

	return t != NULL ? t : "";
}

static void
mem_to_store_attempt(const struct store *st, const struct mem_attempt *m,
    struct store_attempt *o)
{
	(void)st;
	memset(o, 0, sizeof(*o));
	o->ecid = m->ecid;
	text_copy(o->bench, m->bench, sizeof(o->bench));
	o->a.id = m->dbid > 0 ? m->dbid : m->handle;
	text_copy(o->a.port, m->port, sizeof(o->a.port));
	o->a.action = m->action == ACT_ERASE ? ACT_ERASE : ACT_UPDATE;
	o->a.started = m->started;
	o->a.ended = m->state == JOB_RUNNING ? 0 : m->ended;
	o->a.state = m->state;
	text_copy(o->a.cls, m->cls, sizeof(o->a.cls));
	o->a.code = m->code;
	o->a.step = m->step;
	o->a.percent = m->percent;
	text_copy(o->a.log_path, m->log_path, sizeof(o->a.log_path));
}

static int
cmp_newest(const void *x, const void *y)
{
	const struct store_attempt	*a = x, *b = y;

	if (a->a.started != b->a.started)
		return a->a.started > b->a.started ? -1 : 1;
	if (a->a.id != b->a.id)
		return a->a.id > b->a.id ? -1 : 1;
	return 0;
}

/* Attempts (with their device) newest first; ecid 0 = all. */
size_t
store_attempts_ex(struct store *st, uint64_t ecid, struct store_attempt *out, size_t max)
{
	struct store_attempt	*buf, *o;
	sqlite3_stmt		*s = NULL;
	sqlite3			*db;
	size_t			 n = 0, cap, i, j;
	const char		*t;

	if (st == NULL || max == 0)
		return 0;
	cap = max + st->natt;
	if ((buf = calloc(cap, sizeof(*buf))) == NULL)
		return 0;
	if (st->pg != NULL) {
		long	got = -1;

		if (PG->connected(st->pg) &&
		    (got = PG->attempts(st->pg, ecid, st->scope, buf, max)) < 0)
			pg_fail(st);
		n = got > 0 ? (size_t)got : 0;
	} else if ((db = reader(st)) != NULL && sqlite3_prepare_v2(db, ecid != 0 ?
	    "SELECT id, ecid, port, action, started, ended, state, class, code, step, percent, "
	    "log_path, bench FROM attempts WHERE ecid = ?1 ORDER BY started DESC, id DESC "
	    "LIMIT ?2" :
	    "SELECT id, ecid, port, action, started, ended, state, class, code, step, percent, "
	    "log_path, bench FROM attempts WHERE (?3 = '' OR bench = ?3) "
	    "ORDER BY started DESC, id DESC LIMIT ?2",
	    -1, &s, NULL) == SQLITE_OK) {
		if (ecid != 0)
			sqlite3_bind_int64(s, 1, (sqlite3_int64)ecid);
		else
			sqlite3_bind_text(s, 3, st->scope, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)(max > INT_MAX ? INT_MAX : max));
		while (n < max && sqlite3_step(s) == SQLITE_ROW) {
			o = &buf[n++];
			o->a.id = (long)sqlite3_column_int64(s, 0);
			o->ecid = (uint64_t)sqlite3_column_int64(s, 1);
			copy_clean(o->a.port, sizeof(o->a.port), col_text(s, 2));
			o->a.action = strcmp(col_text(s, 3), "erase") == 0 ? ACT_ERASE :
			    ACT_UPDATE;
			o->a.started = (time_t)sqlite3_column_int64(s, 4);
			o->a.ended = (time_t)sqlite3_column_int64(s, 5);
			o->a.state = store_state_from_word(col_text(s, 6));
			copy_clean(o->a.cls, sizeof(o->a.cls), col_text(s, 7));
			o->a.code = sqlite3_column_type(s, 8) == SQLITE_NULL ? ERR_NOCODE :
			    sqlite3_column_int(s, 8);
			t = col_text(s, 9);
			o->a.step = *t != '\0' ? rp_step_from_name(t) : STEP_NONE;
			o->a.percent = sqlite3_column_double(s, 10);
			copy_clean(o->a.log_path, sizeof(o->a.log_path), col_text(s, 11));
			copy_clean(o->bench, sizeof(o->bench), col_text(s, 12));
		}
		sqlite3_finalize(s);
	}
	/* this session's attempts are newer news than the database */
	for (i = 0; i < st->natt; i++) {
		const struct mem_attempt *m = &st->att[i];

		if (ecid != 0 && m->ecid != ecid)
			continue;
		if (ecid == 0 && st->scope[0] != '\0' && strcmp(m->bench, st->scope) != 0)
			continue;
		for (j = 0; m->dbid > 0 && j < n; j++) {
			if (buf[j].a.id == m->dbid)
				break;
		}
		if (m->dbid > 0 && j < n)
			mem_to_store_attempt(st, m, &buf[j]);
		else if (n < cap)
			mem_to_store_attempt(st, m, &buf[n++]);
	}
	qsort(buf, n, sizeof(*buf), cmp_newest);
	if (n > max)
		n = max;
	memcpy(out, buf, n * sizeof(*out));
	free(buf);
	return n;
}

/* Attempts newest first; ecid 0 = all; out may be NULL to count (up to max). */
size_t
store_attempts(struct store *st, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	struct store_attempt	*buf;
	size_t			 n, i;

	if (max == 0 || (buf = calloc(max, sizeof(*buf))) == NULL)
		return 0;
	n = store_attempts_ex(st, ecid, buf, max);
	for (i = 0; out != NULL && i < n; i++)
		out[i] = buf[i].a;
	free(buf);
	return n;
}

/* Attempts newest first in triage's form. */
void
store_triage_of(const struct store_attempt *sa, struct triage_attempt *t)
{
	const struct bench_attempt *a = &sa->a;

	memset(t, 0, sizeof(*t));
	t->ecid = sa->ecid;
	text_copy(t->port, a->port, sizeof(t->port));
	t->action = a->action;
	t->state = a->state;
	if (strcmp(a->cls, "interrupted") == 0)
		t->cls = TRIAGE_CLS_INTERRUPTED;
	else if (a->cls[0] == '\0')
		t->cls = a->state == JOB_FAILED ? EC_UNKNOWN : EC_NONE;
	else
		t->cls = errclass_from_name(a->cls);
	t->code = a->code;
	t->step = a->step;
	t->percent = a->percent;
	t->started = (long)a->started;
}

size_t
store_triage_attempts(struct store *st, uint64_t ecid_or_0, struct triage_attempt *out,
    size_t max)
{
	struct store_attempt	*buf;
	size_t			 n, i;

	if (max == 0 || (buf = calloc(max, sizeof(*buf))) == NULL)
		return 0;
	n = store_attempts_ex(st, ecid_or_0, buf, max);
	for (i = 0; i < n; i++)
		store_triage_of(&buf[i], &out[i]);
	free(buf);
	return n;
}

static int
cmp_ecid(const void *x, const void *y)
{
	const struct store_device	*a = x, *b = y;

	return a->ecid < b->ecid ? -1 : a->ecid > b->ecid;
}

/* Every device with attempts, a record or a flag, by ECID. */
size_t
store_devices(struct store *st, struct store_device *out, size_t max)
{
	sqlite3_stmt		*s;
	sqlite3			*db;
	struct store_device	*o;
	size_t			 n = 0, i, j;

	if (st == NULL || max == 0)
		return 0;
	if (st->pg != NULL) {
		long	got = -1;

		if (PG->connected(st->pg) &&
		    (got = PG->devices(st->pg, out, max)) < 0)
			pg_fail(st);
		n = got > 0 ? (size_t)got : 0;
	} else if ((db = reader(st)) != NULL && sqlite3_prepare_v2(db,
	    "SELECT e.ecid, d.product_type, d.name, d.udid, d.first_seen, d.last_seen, "
	    "f.reason, f.hint, f.created, (SELECT 1 FROM ignored i WHERE i.ecid = e.ecid) "
	    "FROM (SELECT ecid FROM devices UNION SELECT ecid FROM attempts "
	    "UNION SELECT ecid FROM flags UNION SELECT ecid FROM ignored) e "
	    "LEFT JOIN devices d ON d.ecid = e.ecid "
	    "LEFT JOIN flags f ON f.rowid = (SELECT rowid FROM flags g WHERE g.ecid = e.ecid "
	    "AND g.cleared IS NULL ORDER BY g.created DESC, g.rowid DESC LIMIT 1) "
	    "ORDER BY e.ecid", -1, &s, NULL) == SQLITE_OK) {
		while (n < max && sqlite3_step(s) == SQLITE_ROW) {
			o = &out[n++];
			memset(o, 0, sizeof(*o));
			o->ecid = (uint64_t)sqlite3_column_int64(s, 0);
			copy_clean(o->product_type, sizeof(o->product_type), col_text(s, 1));
			copy_clean(o->name, sizeof(o->name), col_text(s, 2));
			copy_clean(o->udid, sizeof(o->udid), col_text(s, 3));
			o->first_seen = (time_t)sqlite3_column_int64(s, 4);
			o->last_seen = (time_t)sqlite3_column_int64(s, 5);
			o->flagged = sqlite3_column_type(s, 8) != SQLITE_NULL;
			copy_clean(o->reason, sizeof(o->reason), col_text(s, 6));
			copy_clean(o->hint, sizeof(o->hint), col_text(s, 7));
			o->flagged_at = (time_t)sqlite3_column_int64(s, 8);
			o->ignored = sqlite3_column_int(s, 9) == 1;
		}
		sqlite3_finalize(s);
	}
	for (i = 0; i < st->ndev; i++) {
		const struct mem_device *m = &st->dev[i];

		for (j = 0; j < n; j++) {
			if (out[j].ecid == m->d.ecid)
				break;
		}
		if (j == n) {
			if (n == max)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n++].ecid = m->d.ecid;
		}
		o = &out[j];
		if (m->d.product_type[0] != '\0')
			text_copy(o->product_type, m->d.product_type, sizeof(o->product_type));
		if (m->d.name[0] != '\0')
			text_copy(o->name, m->d.name, sizeof(o->name));
		if (m->d.udid[0] != '\0')
			text_copy(o->udid, m->d.udid, sizeof(o->udid));
		if (m->d.first_seen != 0 && (o->first_seen == 0 || m->d.first_seen < o->first_seen))
			o->first_seen = m->d.first_seen;
		if (m->d.last_seen > o->last_seen)
			o->last_seen = m->d.last_seen;
		if (m->flag_known) {
			o->flagged = m->d.flagged;
			text_copy(o->reason, m->d.reason, sizeof(o->reason));
			text_copy(o->hint, m->d.hint, sizeof(o->hint));
			o->flagged_at = m->d.flagged_at;
		}
		if (m->ignore_known)
			o->ignored = m->d.ignored;
	}
	/* devices that only appear in this session's attempts */
	for (i = 0; i < st->natt && n < max; i++) {
		for (j = 0; j < n; j++) {
			if (out[j].ecid == st->att[i].ecid)
				break;
		}
		if (j == n) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n++].ecid = st->att[i].ecid;
		}
	}
	qsort(out, n, sizeof(*out), cmp_ecid);
	return n;
}

bool
store_is_flagged(struct store *st, uint64_t ecid, char *reason, size_t rlen, char *hint,
    size_t hlen)
{
	struct mem_device	*m;
	sqlite3_stmt		*s;
	sqlite3			*db;
	bool			 yes = false;

	if (rlen > 0)
		reason[0] = '\0';
	if (hlen > 0)
		hint[0] = '\0';
	if (st == NULL)
		return false;
	if ((m = mem_device(st, ecid, false)) != NULL && m->flag_known) {
		if (m->d.flagged) {
			if (rlen > 0)
				text_copy(reason, m->d.reason, rlen);
			if (hlen > 0)
				text_copy(hint, m->d.hint, hlen);
		}
		return m->d.flagged;
	}
	if (st->pg != NULL) {
		int	yes = PG->connected(st->pg) ?
			    PG->flagged(st->pg, ecid, reason, rlen, hint, hlen) : 0;

		if (yes < 0)
			pg_fail(st);
		return yes > 0;
	}
	if ((db = reader(st)) == NULL || sqlite3_prepare_v2(db, "SELECT reason, hint FROM flags "
	    "WHERE ecid = ? AND cleared IS NULL ORDER BY created DESC, rowid DESC LIMIT 1",
	    -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ecid);
	if (sqlite3_step(s) == SQLITE_ROW) {
		yes = true;
		if (rlen > 0)
			copy_clean(reason, rlen, col_text(s, 0));
		if (hlen > 0)
			copy_clean(hint, hlen, col_text(s, 1));
	}
	sqlite3_finalize(s);
	return yes;
}

bool
store_is_ignored(struct store *st, uint64_t ecid)
{
	struct mem_device	*m;
	sqlite3_stmt		*s;
	sqlite3			*db;
	bool			 yes = false;

	if (st == NULL)
		return false;
	if ((m = mem_device(st, ecid, false)) != NULL && m->ignore_known)
		return m->d.ignored;
	if (st->pg != NULL) {
		int	yes = PG->connected(st->pg) ? PG->ignored(st->pg, ecid) : 0;

		if (yes < 0)
			pg_fail(st);
		return yes > 0;
	}
	if ((db = reader(st)) == NULL || sqlite3_prepare_v2(db,
	    "SELECT 1 FROM ignored WHERE ecid = ?", -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ecid);
	yes = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return yes;
}

/* ---- PostgreSQL: the shared server and the local spool ---- */

/* Is db a PostgreSQL URL rather than an SQLite path? */
bool
store_is_url(const char *db)
{
	return db != NULL && (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0);
}

/* db fit to print: the password of a URL (user:PASSWORD@, password=) becomes "***". */
const char *
store_redact(const char *db, char *buf, size_t len)
{
	char		 tmp[1024];
	const char	*p, *at, *colon, *end, *q;
	size_t		 o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (db == NULL)
		return buf;
	if (!store_is_url(db)) {
		text_sanitize(buf, len, db, strlen(db));
		return buf;
	}
	p = strstr(db, "://") + 3;
	end = p + strcspn(p, "/?");
	at = memchr(p, '@', (size_t)(end - p));
	/* the last '@' before the host ends the user information */
	for (q = at; q != NULL && q < end; q = memchr(q + 1, '@', (size_t)(end - q - 1)))
		at = q;
	o = (size_t)snprintf(tmp, sizeof(tmp), "%.*s", (int)(p - db), db);
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL)
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%.*s:***", (int)(colon - p), p);
		else
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%.*s", (int)(at - p), p);
		p = at;
	}
	/* the rest, with password=... in the query string hidden as well */
	while (*p != '\0' && o < sizeof(tmp) - 1) {
		if ((p[-1] == '?' || p[-1] == '&') && strncasecmp(p, "password=", 9) == 0) {
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "password=***");
			p += 9;
			p += strcspn(p, "&");
			continue;
		}
		tmp[o++] = *p++;
	}
	tmp[o < sizeof(tmp) ? o : sizeof(tmp) - 1] = '\0';
	text_sanitize(buf, len, tmp, strlen(tmp));
	return buf;
}

/* "sqlite" or "postgresql". */
const char *
store_backend(struct store *st)
{
	return st != NULL && st->pg != NULL ? "postgresql" : "sqlite";
}

/* Which bench the all-devices attempt reads cover; NULL or "all" for every bench. */
void
store_set_scope(struct store *st, const char *bench)
{
	if (st == NULL)
		return;
	if (bench == NULL || strcmp(bench, "all") == 0)
		st->scope[0] = '\0';
	else
		text_sanitize(st->scope, sizeof(st->scope), bench, strlen(bench));
}

/* Writes waiting in the local spool for the server. */
size_t
store_spooled(struct store *st)
{
	size_t	i, n = 0;

	if (st == NULL || st->pg == NULL)
		return 0;
	for (i = 0; i < st->natt; i++) {
		if ((st->att[i].need_insert || st->att[i].need_update) && st->att[i].spooled)
			n++;
	}
	for (i = 0; i < st->nops; i++)
		n += st->ops[i].spooled;
	return n;
}

/* A random (version 4) UUID: the key that makes every replay idempotent. */
static void
make_uuid(char *buf, size_t len)
{
	static unsigned long	 ctr;
	unsigned char		 r[16];
	size_t			 got = 0;
	ssize_t			 n;

	while (got < sizeof(r)) {
		if ((n = getrandom(r + got, sizeof(r) - got, 0)) <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(r)) {
		struct timespec	ts;
		unsigned long	c = ++ctr;
		pid_t		pid = getpid();

		clock_gettime(CLOCK_REALTIME, &ts);
		memset(r, 0, sizeof(r));
		memcpy(r, &ts.tv_nsec, sizeof(ts.tv_nsec) < 4 ? sizeof(ts.tv_nsec) : 4);
		memcpy(r + 4, &ts.tv_sec, 4);
		memcpy(r + 8, &pid, sizeof(pid) < 4 ? sizeof(pid) : 4);
		memcpy(r + 12, &c, 4);
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
	    r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static const char *spool_schema[] = {
	"CREATE TABLE IF NOT EXISTS pg_spool_attempts (uuid TEXT PRIMARY KEY, pid INTEGER, "
	    "ecid INTEGER, port TEXT, action INTEGER, started INTEGER, ended INTEGER, "
	    "state INTEGER, class TEXT, code INTEGER, step INTEGER, percent REAL, "
	    "log_path TEXT, bench TEXT, dbid INTEGER)",
	"CREATE TABLE IF NOT EXISTS pg_spool_ops (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
	    "uuid TEXT UNIQUE, pid INTEGER, kind INTEGER, ecid INTEGER, s1 TEXT, s2 TEXT, "
	    "s3 TEXT, t INTEGER, on_ INTEGER)",
	NULL
};

/* The spool lives in the local SQLite history file, next to whatever else is there. */
static bool
spool_open(struct store *st)
{
	char	path[PATH_MAX];
	int	fd;

	if (store_default_path(path, sizeof(path)) == NULL)
		return false;
	text_copy(st->spool_path, path, sizeof(st->spool_path));
	make_parents(path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return false;
	close(fd);
	if (sqlite3_open_v2(path, &st->spool, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->spool, 500);
	if (exec_sql(st->spool, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    run_list(st->spool, spool_schema) != SQLITE_OK)
		goto fail;
	return true;
fail:
	sqlite3_close_v2(st->spool);
	st->spool = NULL;
	return false;
}

static void
spool_bind_opt(sqlite3_stmt *s, int i, const char *t)
{
	if (t == NULL || *t == '\0')
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
}

/* Take over what a bench that is gone left in the spool; it is replayed with ours. */
static void
spool_load(struct store *st)
{
	sqlite3_stmt		*s, *u;
	struct mem_attempt	*a, *na;
	struct store_op		*o;
	struct mem_device	*m;
	long			 pid;
	time_t			 now = time(NULL);

	if (st->spool == NULL || exec_sql(st->spool, "BEGIN IMMEDIATE") != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(st->spool, "SELECT uuid, pid, ecid, port, action, started, ended, "
	    "state, class, code, step, percent, log_path, bench, dbid FROM pg_spool_attempts",
	    -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			pid = (long)sqlite3_column_int64(s, 1);
			if (store_pid_alive(pid) && pid != (long)getpid())
				continue;	/* a bench still running on this machine */
			if (st->natt == st->attcap) {
				size_t cap = st->attcap ? st->attcap * 2 : 32;
				if ((na = realloc(st->att, cap * sizeof(*na))) == NULL)
					break;
				st->att = na;
				st->attcap = cap;
			}
			a = &st->att[st->natt++];
			memset(a, 0, sizeof(*a));
			a->handle = st->next_temp--;
			copy_clean(a->uuid, sizeof(a->uuid), col_text(s, 0));
			a->ecid = (uint64_t)sqlite3_column_int64(s, 2);
			copy_clean(a->port, sizeof(a->port), col_text(s, 3));
			a->action = sqlite3_column_int(s, 4);
			a->started = (time_t)sqlite3_column_int64(s, 5);
			a->ended = (time_t)sqlite3_column_int64(s, 6);
			a->state = sqlite3_column_int(s, 7);
			copy_clean(a->cls, sizeof(a->cls), col_text(s, 8));
			a->code = sqlite3_column_int(s, 9);
			a->step = sqlite3_column_int(s, 10);
			a->percent = sqlite3_column_double(s, 11);
			copy_clean(a->log_path, sizeof(a->log_path), col_text(s, 12));
			copy_clean(a->bench, sizeof(a->bench), col_text(s, 13));
			a->need_insert = true;
			a->spooled = true;
			if (a->state == JOB_RUNNING) {
				/* its bench died with it: as the database would say */
				a->state = JOB_FAILED;
				text_copy(a->cls, "interrupted", sizeof(a->cls));
				a->ended = now;
				a->spooled = false;
				st->interrupted++;
			}
		}
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(st->spool, "SELECT uuid, pid, kind, ecid, s1, s2, s3, t, on_ "
	    "FROM pg_spool_ops ORDER BY seq", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			pid = (long)sqlite3_column_int64(s, 1);
			if (store_pid_alive(pid) && pid != (long)getpid())
				continue;
			if ((o = op_push(st, (enum store_op_kind)sqlite3_column_int(s, 2),
			    (uint64_t)sqlite3_column_int64(s, 3),
			    (time_t)sqlite3_column_int64(s, 7))) == NULL)
				break;
			copy_clean(o->uuid, sizeof(o->uuid), col_text(s, 0));
			copy_clean(o->s1, sizeof(o->s1), col_text(s, 4));
			copy_clean(o->s2, sizeof(o->s2), col_text(s, 5));
			copy_clean(o->s3, sizeof(o->s3), col_text(s, 6));
			o->on = sqlite3_column_int(s, 8) != 0;
			o->spooled = true;
			/* answer questions about flags and ignores while the server is away */
			if ((m = mem_device(st, o->ecid, true)) == NULL)
				continue;
			if (o->kind == STORE_OP_FLAG || o->kind == STORE_OP_UNFLAG) {
				m->flag_known = true;
				m->d.flagged = o->kind == STORE_OP_FLAG;
				text_copy(m->d.reason, m->d.flagged ? o->s1 : "", sizeof(m->d.reason));
				text_copy(m->d.hint, m->d.flagged ? o->s2 : "", sizeof(m->d.hint));
				m->d.flagged_at = o->t;
			} else if (o->kind == STORE_OP_IGNORE) {
				m->ignore_known = true;
				m->d.ignored = o->on;
			}
		}
		sqlite3_finalize(s);
	}
	/* ours now: another bench starting here must not take them too */
	if (sqlite3_prepare_v2(st->spool, "UPDATE pg_spool_attempts SET pid = ?1 WHERE uuid = ?2",
	    -1, &u, NULL) == SQLITE_OK) {
		size_t i;

		for (i = 0; i < st->natt; i++) {
			sqlite3_bind_int64(u, 1, (sqlite3_int64)getpid());
			sqlite3_bind_text(u, 2, st->att[i].uuid, -1, SQLITE_STATIC);
			(void)sqlite3_step(u);
			sqlite3_reset(u);
		}
		sqlite3_finalize(u);
	}
	if (sqlite3_prepare_v2(st->spool, "UPDATE pg_spool_ops SET pid = ?1 WHERE uuid = ?2",
	    -1, &u, NULL) == SQLITE_OK) {
		size_t i;

		for (i = 0; i < st->nops; i++) {
			sqlite3_bind_int64(u, 1, (sqlite3_int64)getpid());
			sqlite3_bind_text(u, 2, st->ops[i].uuid, -1, SQLITE_STATIC);
			(void)sqlite3_step(u);
			sqlite3_reset(u);
		}
		sqlite3_finalize(u);
	}
	if (exec_sql(st->spool, "COMMIT") != SQLITE_OK)
		exec_sql(st->spool, "ROLLBACK");
}

/* Persist every pending write not yet in the spool, so a crash loses none. */
static void
spool_save(struct store *st)
{
	sqlite3_stmt	*sa = NULL, *so = NULL;
	size_t		 i;
	int		 rc = SQLITE_OK;

	if (st->spool == NULL)
		return;
	for (i = 0; i < st->natt; i++) {
		if ((st->att[i].need_insert || st->att[i].need_update) && !st->att[i].spooled)
			break;
	}
	if (i == st->natt) {
		for (i = 0; i < st->nops && st->ops[i].spooled; i++)
			;
		if (i == st->nops)
			return;
	}
	if (exec_sql(st->spool, "BEGIN IMMEDIATE") != SQLITE_OK)
		return;
	rc = sqlite3_prepare_v2(st->spool, "INSERT OR REPLACE INTO pg_spool_attempts (uuid, pid, "
	    "ecid, port, action, started, ended, state, class, code, step, percent, log_path, "
	    "bench, dbid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &sa, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(st->spool, "INSERT OR IGNORE INTO pg_spool_ops (uuid, pid, "
		    "kind, ecid, s1, s2, s3, t, on_) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &so,
		    NULL);
	for (i = 0; rc == SQLITE_OK && i < st->natt; i++) {
		struct mem_attempt *a = &st->att[i];

		if (!(a->need_insert || a->need_update) || a->spooled)
			continue;
		sqlite3_bind_text(sa, 1, a->uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(sa, 2, (sqlite3_int64)getpid());
		sqlite3_bind_int64(sa, 3, (sqlite3_int64)a->ecid);
		spool_bind_opt(sa, 4, a->port);
		sqlite3_bind_int(sa, 5, a->action);
		sqlite3_bind_int64(sa, 6, a->started);
		sqlite3_bind_int64(sa, 7, a->ended);
		sqlite3_bind_int(sa, 8, a->state);
		spool_bind_opt(sa, 9, a->cls);
		sqlite3_bind_int(sa, 10, a->code);
		sqlite3_bind_int(sa, 11, a->step);
		sqlite3_bind_double(sa, 12, a->percent);
		spool_bind_opt(sa, 13, a->log_path);
		spool_bind_opt(sa, 14, a->bench);
		sqlite3_bind_int64(sa, 15, a->dbid);
		if (sqlite3_step(sa) != SQLITE_DONE)
			rc = sqlite3_errcode(st->spool);
		sqlite3_reset(sa);
	}
	for (i = 0; rc == SQLITE_OK && i < st->nops; i++) {
		struct store_op *o = &st->ops[i];

		if (o->spooled)
			continue;
		sqlite3_bind_text(so, 1, o->uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(so, 2, (sqlite3_int64)getpid());
		sqlite3_bind_int(so, 3, (int)o->kind);
		sqlite3_bind_int64(so, 4, (sqlite3_int64)o->ecid);
		spool_bind_opt(so, 5, o->s1);
		spool_bind_opt(so, 6, o->s2);
		spool_bind_opt(so, 7, o->s3);
		sqlite3_bind_int64(so, 8, o->t);
		sqlite3_bind_int(so, 9, o->on);
		if (sqlite3_step(so) != SQLITE_DONE)
			rc = sqlite3_errcode(st->spool);
		sqlite3_reset(so);
	}
	sqlite3_finalize(sa);
	sqlite3_finalize(so);
	if (rc == SQLITE_OK)
		rc = exec_sql(st->spool, "COMMIT");
	if (rc != SQLITE_OK) {
		exec_sql(st->spool, "ROLLBACK");
		return;		/* still pending in memory; tried again at the next flush */
	}
	for (i = 0; i < st->natt; i++) {
		if (st->att[i].need_insert || st->att[i].need_update)
			st->att[i].spooled = true;
	}
	for (i = 0; i < st->nops; i++)
		st->ops[i].spooled = true;
}

/* The server has it now: out of the spool (a leftover would only replay harmlessly). */
static void
spool_forget(struct store *st, const char *table, const char *uuid)
{
	sqlite3_stmt	*s;
	char		 sql[96];

	if (st->spool == NULL)
		return;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE uuid = ?", table);
	if (sqlite3_prepare_v2(st->spool, sql, -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	(void)sqlite3_step(s);
	sqlite3_finalize(s);
}

/* Say the server is away, in words that never hold the password. */
static void
pg_problem(struct store *st, const char *what)
{
	set_problem(st, PROB_OTHER, "history server %s %s: keeping records %s until it is back",
	    st->shown, what, st->spool != NULL ? "locally" : "in memory");
}

static void
pg_schedule_retry(struct store *st)
{
	st->backoff = st->backoff > 0 ? st->backoff * 2 : 1;
	if (st->backoff > STORE_PG_BACKOFF_MAX)
		st->backoff = STORE_PG_BACKOFF_MAX;
	st->next_try = time(NULL) + st->backoff;
	st->last_fail = time(NULL);
}

/* A query failed on a connection we had: drop it and come back later. */
static void
pg_fail(struct store *st)
{
	PG->disconnect(st->pg);
	if (!st->readonly) {
		pg_problem(st, "went away");
		pg_schedule_retry(st);
	}
}

static void
pg_recover(struct store *st)
{
	int	n = 0;

	if (PG->recover(st->pg, st->bench, time(NULL), &n) != 0) {
		pg_fail(st);
		return;
	}
	st->interrupted += n;
	text_copy(st->recovered_for, st->bench, sizeof(st->recovered_for));
}

/* Connect, migrate, close what this bench left open; false if the server is away. */
static bool
pg_connect(struct store *st)
{
	char	err[200], what[240];
	int	rc;

	rc = PG->connect(st->pg, true, err, sizeof(err));
	if (rc == -2) {
		pg_problem(st, "was set up by a newer idevicebench");
		st->backoff = STORE_PG_BACKOFF_MAX / 2;
		pg_schedule_retry(st);
		return false;
	}
	if (rc != 0) {
		snprintf(what, sizeof(what), "is unreachable (%s)", err);
		pg_problem(st, what);
		pg_schedule_retry(st);
		return false;
	}
	st->backoff = 0;
	st->next_try = 0;
	if (strcmp(st->recovered_for, st->bench) != 0 || !st->recovered) {
		st->recovered = true;
		pg_recover(st);
	}
	return PG->connected(st->pg);
}

/* Open the shared history at url, with the local spool. */
static bool
pg_open(struct store *st, const char *url)
{
	char	host[64];

	if ((st->pg = PG->create(url)) == NULL)
		return false;
	store_redact(url, st->shown, sizeof(st->shown));
	/* every row names its bench; the host name until store_set_bench() says */
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		text_sanitize(st->bench, sizeof(st->bench), host, strlen(host));
	}
	if (spool_open(st))
		spool_load(st);
	if (pg_connect(st))
		(void)pg_flush(st);
	else
		spool_save(st);	/* interrupted rows taken over are changed: keep them */
	return true;
}

/* Place pending writes on the server when it is there; spool the rest. */
static size_t
pg_flush(struct store *st)
{
	struct store_attempt	 sa;
	size_t			 i, done = 0;
	long			 id;
	bool			 ok = true;

	if (st->readonly)
		return 0;
	if (!PG->connected(st->pg)) {
		if (time(NULL) < st->next_try || !pg_connect(st)) {
			spool_save(st);
			return pending(st);
		}
	}
	for (i = 0; ok && i < st->natt; i++) {
		struct mem_attempt *a = &st->att[i];

		if (!a->need_insert && !a->need_update)
			continue;
		mem_to_store_attempt(st, a, &sa);
		if (PG->put_attempt(st->pg, &sa, a->uuid, (long)getpid(), &id) != 0) {
			ok = false;
			break;
		}
		a->dbid = id;
		a->need_insert = a->need_update = false;
		if (a->spooled)
			spool_forget(st, "pg_spool_attempts", a->uuid);
		a->spooled = false;
	}
	while (ok && done < st->nops) {
		if (PG->put_op(st->pg, &st->ops[done], st->bench) != 0) {
			ok = false;
			break;
		}
		if (st->ops[done].spooled)
			spool_forget(st, "pg_spool_ops", st->ops[done].uuid);
		done++;
	}
	if (done > 0) {
		memmove(st->ops, st->ops + done, (st->nops - done) * sizeof(*st->ops));
		st->nops -= done;
	}
	if (!ok) {
		pg_fail(st);
		spool_save(st);
		return pending(st);
	}
	st->prob = PROB_NONE;
	st->problem[0] = '\0';
	st->last_fail = 0;
	return 0;
}
