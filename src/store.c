/*
 * store.c: the history store's life: opening it (an SQLite path or a
 * PostgreSQL URL), the problem it reports once, closing it.
 *
 * The bench must never stop because of its history: every write goes to
 * memory first (store_mem.c) and then to the database when it can
 * (store_write.c, or store_spool.c for PostgreSQL). A write that fails
 * (locked, read-only, full, corrupt) stays pending and is retried by
 * store_flush(); a write that succeeded is dropped from the queue, so each
 * row arrives exactly once. Reads merge the database with the session
 * (store_read.c). The SQLite file's schema is store_schema.c's.
 */
#include <sys/random.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>



#include "store_int.h"
#include "text.h"

/* Weak: programs linked without store_pg.o (the fuzzers) have no PostgreSQL. */
extern const struct store_pg_ops store_pg_ops __attribute__((weak));

const struct store_pg_ops *
store_pg_backend(void)
{
	return &store_pg_ops;
}

enum prob
store_prob_of(int rc)
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

/* Remember why the database is not being written; shown once by the caller. */
void
store_set_problem(struct store *st, enum prob p, const char *fmt, ...)
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
void
store_note_failure(struct store *st, int rc)
{
	enum prob	p = store_prob_of(rc);

	st->last_fail = time(NULL);
	switch (p) {
	case PROB_LOCKED:
		store_set_problem(st, p, "history database is locked by another program: keeping "
		    "records in memory");
		break;
	case PROB_READONLY:
		store_set_problem(st, p, "history database is read-only: keeping records in memory");
		break;
	case PROB_FULL:
		store_set_problem(st, p, "history disk is full: keeping records in memory");
		break;
	case PROB_CORRUPT:
		store_set_problem(st, p, "history database is damaged: keeping records in memory");
		/* reopen at the next flush, which moves the file aside */
		st->ready = false;
		break;
	default:
		store_set_problem(st, p, "history database error (%s): keeping records in memory",
		    sqlite3_errstr(rc));
		break;
	}
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
		store_set_problem(st, PROB_OTHER, "no history database path: keeping records in "
		    "memory");
	} else if (store_is_url(path) && PG == NULL) {
		st->path[0] = '\0';
		store_set_problem(st, PROB_OTHER, "built without PostgreSQL support: keeping records "
		    "in memory");
	} else if (store_is_url(path)) {
		st->path[0] = '\0';	/* never an SQLite file of that name */
		if (!store_pg_open(st, path)) {
			store_close(st);
			if (errlen > 0)
				snprintf(err, errlen, "out of memory");
			return NULL;
		}
	} else if (!store_db_init(st, 0))
		(void)store_reader(st);
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
	if ((st->db = store_open_for_reading(path)) == NULL ||
	    store_schema_version(st->db, &v) != SQLITE_OK) {
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
	/* a moment for the last writes; what does not land stays in the spool */
	if (st->pg != NULL && !st->readonly)
		PG->wait(st->pg, STORE_PG_CLOSE_MS);
	if (!st->readonly)
		(void)store_sqlite_flush(st);
	store_db_close(st);
	if (st->pg != NULL)
		PG->destroy(st->pg);
	if (st->spool != NULL)
		sqlite3_close_v2(st->spool);
	free(st->att);
	free(st->ops);
	free(st->dev);
	free(st->rows);
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
		store_pg_recover(st);
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

/* Never wait for the server from now on (the bench's loop runs). */
void
store_set_async(struct store *st)
{
	if (st != NULL && st->pg != NULL && !st->readonly)
		PG->wait(st->pg, 0);
}

/* A random (version 4) UUID: the key that makes every replay idempotent. */
void
store_make_uuid(char *buf, size_t len)
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
