/*
 * store_spool.c: the shared history on PostgreSQL, seen from the store:
 * connecting with backoff, and the local spool (inside the SQLite file of
 * store_default_path()) that keeps every write the server could not take,
 * replayed exactly once when it is back. The wire side is store_pg.c.
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "array.h"
#include "osutil.h"
#include "store_int.h"
#include "text.h"

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
	(void)os_mkdirs_parent(path, 0700);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return false;
	close(fd);
	if (sqlite3_open_v2(path, &st->spool, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->spool, 500);
	if (store_exec_sql(st->spool, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    store_run_list(st->spool, spool_schema) != SQLITE_OK)
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

	if (st->spool == NULL || store_exec_sql(st->spool, "BEGIN IMMEDIATE") != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(st->spool, "SELECT uuid, pid, ecid, port, action, started, ended, "
	    "state, class, code, step, percent, log_path, bench, dbid FROM pg_spool_attempts",
	    -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			pid = (long)sqlite3_column_int64(s, 1);
			if (store_pid_alive(pid) && pid != (long)getpid())
				continue;	/* a bench still running on this machine */
			if ((na = array_grow(st->att, st->natt, &st->attcap, 32, sizeof(*na))) == NULL)
				break;
			st->att = na;
			a = &st->att[st->natt++];
			memset(a, 0, sizeof(*a));
			a->handle = st->next_temp--;
			store_copy_clean(a->uuid, sizeof(a->uuid), store_col_text(s, 0));
			a->ecid = (uint64_t)sqlite3_column_int64(s, 2);
			store_copy_clean(a->port, sizeof(a->port), store_col_text(s, 3));
			a->action = sqlite3_column_int(s, 4);
			a->started = (time_t)sqlite3_column_int64(s, 5);
			a->ended = (time_t)sqlite3_column_int64(s, 6);
			a->state = sqlite3_column_int(s, 7);
			store_copy_clean(a->cls, sizeof(a->cls), store_col_text(s, 8));
			a->code = sqlite3_column_int(s, 9);
			a->step = sqlite3_column_int(s, 10);
			a->percent = sqlite3_column_double(s, 11);
			store_copy_clean(a->log_path, sizeof(a->log_path), store_col_text(s, 12));
			store_copy_clean(a->bench, sizeof(a->bench), store_col_text(s, 13));
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
			if ((o = store_op_push(st, (enum store_op_kind)sqlite3_column_int(s, 2),
			    (uint64_t)sqlite3_column_int64(s, 3),
			    (time_t)sqlite3_column_int64(s, 7))) == NULL)
				break;
			store_copy_clean(o->uuid, sizeof(o->uuid), store_col_text(s, 0));
			store_copy_clean(o->s1, sizeof(o->s1), store_col_text(s, 4));
			store_copy_clean(o->s2, sizeof(o->s2), store_col_text(s, 5));
			store_copy_clean(o->s3, sizeof(o->s3), store_col_text(s, 6));
			o->on = sqlite3_column_int(s, 8) != 0;
			o->spooled = true;
			/* answer questions about flags and ignores while the server is away */
			if ((m = store_mem_device(st, o->ecid, true)) == NULL)
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
	if (store_exec_sql(st->spool, "COMMIT") != SQLITE_OK)
		store_exec_sql(st->spool, "ROLLBACK");
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
	if (store_exec_sql(st->spool, "BEGIN IMMEDIATE") != SQLITE_OK)
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
		rc = store_exec_sql(st->spool, "COMMIT");
	if (rc != SQLITE_OK) {
		store_exec_sql(st->spool, "ROLLBACK");
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
	store_set_problem(st, PROB_OTHER, "history server %s %s: keeping records %s until it is back",
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
void
store_pg_fail(struct store *st)
{
	PG->disconnect(st->pg);
	if (!st->readonly) {
		pg_problem(st, "went away");
		pg_schedule_retry(st);
	}
}

void
store_pg_recover(struct store *st)
{
	int	n = 0;

	if (PG->recover(st->pg, st->bench, time(NULL), &n) != 0) {
		store_pg_fail(st);
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
		store_pg_recover(st);
	}
	return PG->connected(st->pg);
}

/* Open the shared history at url, with the local spool. */
bool
store_pg_open(struct store *st, const char *url)
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
		(void)store_pg_flush(st);
	else
		spool_save(st);	/* interrupted rows taken over are changed: keep them */
	return true;
}

/* Place pending writes on the server when it is there; spool the rest. */
size_t
store_pg_flush(struct store *st)
{
	struct store_attempt	 sa;
	size_t			 i, keep = 0, queued = 0;
	long			 id;
	bool			 ok = true;
	int			 rc;

	if (st->readonly)
		return 0;
	if (!PG->connected(st->pg)) {
		if (time(NULL) < st->next_try || !pg_connect(st)) {
			spool_save(st);
			return store_pending(st);
		}
	}
	for (i = 0; ok && i < st->natt; i++) {
		struct mem_attempt *a = &st->att[i];

		if (!a->need_insert && !a->need_update)
			continue;
		store_mem_to_attempt(st, a, &sa);
		if ((rc = PG->put_attempt(st->pg, &sa, a->uuid, (long)getpid(), &id)) < 0) {
			ok = false;
			break;
		}
		if (rc > 0) {
			queued++;	/* on its way; the spool keeps it meanwhile */
			continue;
		}
		a->dbid = id;
		a->need_insert = a->need_update = false;
		if (a->spooled)
			spool_forget(st, "pg_spool_attempts", a->uuid);
		a->spooled = false;
	}
	store_mem_prune(st);	/* what the server confirmed need not stay in memory */
	/* the server takes ops in the order given: one placed leaves the queue */
	for (i = 0; i < st->nops; i++) {
		if (ok && (rc = PG->put_op(st->pg, &st->ops[i], st->bench)) == 0) {
			if (st->ops[i].spooled)
				spool_forget(st, "pg_spool_ops", st->ops[i].uuid);
			continue;
		}
		if (ok && rc < 0)
			ok = false;
		else if (ok)
			queued++;
		if (keep != i)
			st->ops[keep] = st->ops[i];
		keep++;
	}
	st->nops = keep;
	if (!ok) {
		store_pg_fail(st);
		spool_save(st);
		return store_pending(st);
	}
	st->prob = PROB_NONE;
	st->problem[0] = '\0';
	st->last_fail = 0;
	if (queued > 0) {
		spool_save(st);
		return store_pending(st);
	}
	return 0;
}
