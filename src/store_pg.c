/*
 * store_pg.c: the history store's PostgreSQL backend (libpq; the only user of
 * libpq-fe.h). store.c keeps the memory queue, the local spool and the
 * decisions; this file only talks to the server.
 *
 * Every write is idempotent, so a replay after a lost connection or a crash
 * never duplicates anything: attempts and flags carry a client-made uuid
 * (unique, ON CONFLICT), devices and the ignore list are keyed by ECID.
 * The schema is created and migrated under a transaction-level advisory lock,
 * so benches starting at once against an empty database take turns.
 *
 * Threads. A server that is slow or stopped (SIGSTOP: the kernel still
 * accepts and acknowledges, so no timeout of libpq fires) must never freeze
 * the bench's loop. So one worker thread, started by create(), owns the
 * connection and makes every libpq call; the caller (store.c, on the loop
 * thread) puts jobs in a FIFO and looks at their results. The worker runs
 * the jobs in order, so the device/flag/ignore changes reach the server in
 * the order they were made. How long the caller waits for a job depends on
 * the mode set by wait():
 *   - wait for every answer (from create() on): the report commands and the
 *     start-up (connect, migrate, recover), before any loop runs. libpq's own
 *     timeouts bound it as they always did.
 *   - never wait (store_set_async(), when the bench's loop starts): a write
 *     answers 1 ("queued") until the worker has placed it, then 0 on the
 *     caller's next try, which is when store.c drops it from its spool. A
 *     read waits at most PG_READ_WAIT_MS, and not at all while the worker is
 *     stuck on a call; otherwise it answers from the last rows fetched for
 *     the same question. A call that takes PG_STALL_MS makes connected()
 *     false ("not answering"), and the store spools as if the server were
 *     down; when the call finally returns, the queue goes on.
 *   - wait until a deadline (store_close() of a store that was async): the
 *     last writes get a moment to land; then destroy() shuts the socket down
 *     under a call still blocked, so quitting never hangs either.
 * A failed call drops the connection (as store.c always did) and sends every
 * job still queued back to its owner, to be sent again after a reconnect.
 * A crash recovery queued from the loop (a bench that started while the
 * server was away) is not retried if it fails: the next start closes those
 * rows, as it would after any crash.
 * Locking: lock guards the job lists, the job states and what the worker
 * publishes (up, busy_*, last_*); a job's inputs belong to the caller until
 * it runs, its outputs to the worker until it is done. The worker never holds
 * the lock across a libpq call.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "errclass.h"
#include "osutil.h"
#include "restore_parse.h"
#include "slot.h"
#include "store.h"
#include "store_backend.h"
#include "text.h"

/* pg_advisory_xact_lock key for schema changes: "idb" + schema */
#define PG_SCHEMA_LOCK	"7585826410"

#define PG_READ_WAIT_MS		30	/* a read on the loop waits at most this long */
#define PG_READ_FRESH_MS	1000	/* ...and an answer this young is not asked again */
#define PG_READ_KEEP_MS		60000	/* answers not asked for this long are forgotten */
#define PG_STALL_MS		3000	/* a call this old: the server is not answering */

enum pg_kind {
	PJ_CONNECT,
	PJ_RECOVER,
	PJ_ATTEMPT,	/* writes */
	PJ_OP,
	PJ_ATTEMPTS,	/* reads */
	PJ_DEVICES,
	PJ_FLAGGED,
	PJ_IGNORED
};

enum pg_state {
	PS_IDLE,	/* not queued: new, sent back, or a read between questions */
	PS_QUEUED,
	PS_RUNNING,
	PS_DONE
};

/* One call for the worker, and for reads also the last answer. */
struct pg_job {
	TAILQ_ENTRY(pg_job)	 all;	/* every job: pg->jobs */
	TAILQ_ENTRY(pg_job)	 fifo;	/* queued: pg->fifo */
	enum pg_kind		 kind;
	enum pg_state		 state;
	bool			 orphan;	/* nobody waits for it: the worker frees it */
	int			 rc;

	/* inputs */
	bool			 migrate;
	char			 bench[64];
	time_t			 now;
	struct store_attempt	 sa;
	char			 uuid[40];
	long			 pid;
	struct store_op		 op;
	uint64_t		 ecid;
	char			 scope[64];
	size_t			 max;

	/* outputs */
	char			 err[256];
	long			 id;
	int			 n;
	/* reads: the last good answer (installed under the lock) */
	bool			 answered;
	uint64_t		 answered_ms, used_ms;
	long			 nrows;
	void			*rows;		/* store_attempt or store_device */
	char			(*uuids)[40];
	int			 yes;
	char			 reason[128], hint[160];
};

TAILQ_HEAD(pg_jobs, pg_job);

struct store_pg {
	char		 url[1024];
	PGconn		*conn;		/* the worker's alone */

	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;		/* to the worker: a job, a drop, or quit */
	pthread_cond_t	 done;		/* to the caller: a job left the queue */
	struct pg_jobs	 jobs, fifo;
	int		 wait_ms;	/* <0 wait for answers, 0 never, >0 until deadline */
	uint64_t	 deadline;
	bool		 quit, drop;
	/* published by the worker */
	bool		 up;		/* connected */
	int		 connecting;	/* connect jobs queued or running */
	int		 last_rc;	/* of the last connect */
	char		 last_err[256];
	uint64_t	 busy_since;	/* start of the call running, 0 if idle */
	int		 busy_fd;	/* its socket, -1 if none */
};

static const char *pg_v1[] = {
	"CREATE TABLE IF NOT EXISTS devices (ecid bigint PRIMARY KEY, product_type text, "
	    "name text, udid text, first_seen bigint, last_seen bigint)",
	"CREATE TABLE IF NOT EXISTS attempts (id bigserial PRIMARY KEY, uuid text NOT NULL UNIQUE, "
	    "ecid bigint NOT NULL, port text, action text, started bigint, ended bigint, "
	    "state text, class text, code integer, step text, percent double precision, "
	    "log_path text, bench text NOT NULL DEFAULT '', pid integer)",
	"CREATE INDEX IF NOT EXISTS attempts_ecid ON attempts (ecid, started)",
	"CREATE INDEX IF NOT EXISTS attempts_bench ON attempts (bench, started)",
	"CREATE TABLE IF NOT EXISTS flags (id bigserial PRIMARY KEY, uuid text NOT NULL UNIQUE, "
	    "ecid bigint NOT NULL, reason text, hint text, created bigint, cleared bigint, "
	    "bench text)",
	"CREATE INDEX IF NOT EXISTS flags_ecid ON flags (ecid)",
	"CREATE TABLE IF NOT EXISTS ignored (ecid bigint PRIMARY KEY, since bigint, bench text)",
	NULL
};

/* Migrations by the version they lead to; index 0 unused. */
static const char **pg_migrations[STORE_PG_SCHEMA_VERSION + 1] = { NULL, pg_v1 };

/* Notices go nowhere: stderr belongs to curses while the bench runs. */
static void
quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
sql_disconnect(struct store_pg *pg)
{
	if (pg->conn != NULL) {
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
}

static bool
sql_connected(struct store_pg *pg)
{
	return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

/* libpq's message, first line only, sanitized (it never holds the password). */
static void
pg_err(PGconn *c, char *err, size_t errlen)
{
	const char	*m = c != NULL ? PQerrorMessage(c) : "out of memory";
	size_t		 l = strcspn(m, "\n");

	if (errlen == 0)
		return;
	text_sanitize(err, errlen, m, l);
	if (err[0] == '\0')
		text_copy(err, "connection failed", errlen);
}

static bool
cmd_ok(PGresult *r)
{
	ExecStatusType	s = PQresultStatus(r);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static int
exec_cmd(PGconn *c, const char *sql)
{
	PGresult	*r = PQexec(c, sql);
	int		 rc = cmd_ok(r) ? 0 : -1;

	PQclear(r);
	return rc;
}

/* Create or migrate the schema; benches racing here wait on the advisory lock. */
static int
pg_migrate(PGconn *c, char *err, size_t errlen)
{
	PGresult	*r;
	char		 sql[128];
	const char	**l;
	int		 v, to;

	if (exec_cmd(c, "BEGIN") != 0)
		goto fail;
	if (exec_cmd(c, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")") != 0 ||
	    exec_cmd(c, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
	    != 0)
		goto fail;
	r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		goto fail;
	}
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v > STORE_PG_SCHEMA_VERSION) {
		exec_cmd(c, "ROLLBACK");
		return -2;
	}
	for (to = v + 1; to <= STORE_PG_SCHEMA_VERSION; to++) {
		for (l = pg_migrations[to]; *l != NULL; l++) {
			if (exec_cmd(c, *l) != 0)
				goto fail;
		}
	}
	if (v != STORE_PG_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)",
		    STORE_PG_SCHEMA_VERSION);
		if (exec_cmd(c, "DELETE FROM schema_version") != 0 || exec_cmd(c, sql) != 0)
			goto fail;
	}
	if (exec_cmd(c, "COMMIT") != 0)
		goto fail;
	return 0;
fail:
	pg_err(c, err, errlen);
	exec_cmd(c, "ROLLBACK");
	return -1;
}

/* Only read a schema someone made: no changes from a report command. */
static int
pg_check(PGconn *c, char *err, size_t errlen)
{
	PGresult	*r;
	int		 v;

	r = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		snprintf(err, errlen, "not an idevicebench history");
		return -1;
	}
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v == 0) {
		snprintf(err, errlen, "not an idevicebench history");
		return -1;
	}
	return v > STORE_PG_SCHEMA_VERSION ? -2 : 0;
}

/* Connect with short timeouts (a server that is down costs the worker 2 s at most). */
static int
sql_connect(struct store_pg *pg, bool migrate, char *err, size_t errlen)
{
	/* defaults first: whatever the URL itself says wins */
	const char	*keys[] = { "connect_timeout", "keepalives", "keepalives_idle",
			    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
			    "application_name", "dbname", NULL };
	const char	*vals[] = { "2", "1", "5", "2", "2", "5000", "idevicebench", pg->url,
			    NULL };
	int		 rc;

	if (errlen > 0)
		err[0] = '\0';
	sql_disconnect(pg);
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		pg_err(pg->conn, err, errlen);
		sql_disconnect(pg);
		return -1;
	}
	PQsetNoticeProcessor(pg->conn, quiet_notice, NULL);
	(void)exec_cmd(pg->conn, "SET client_min_messages = warning");
	(void)exec_cmd(pg->conn, "SET statement_timeout = 10000");
	rc = migrate ? pg_migrate(pg->conn, err, errlen) : pg_check(pg->conn, err, errlen);
	if (rc != 0)
		sql_disconnect(pg);
	return rc;
}

/* ---- writing ---- */

static PGresult *
run(struct store_pg *pg, const char *sql, int n, const char *const *v)
{
	if (!sql_connected(pg))
		return NULL;
	return PQexecParams(pg->conn, sql, n, NULL, v, NULL, NULL, 0);
}

static int
run_cmd(struct store_pg *pg, const char *sql, int n, const char *const *v)
{
	PGresult	*r = run(pg, sql, n, v);
	int		 rc = r != NULL && cmd_ok(r) ? 0 : -1;

	PQclear(r);
	return rc;
}

/* NULL for "", as the SQLite store writes it. */
static const char *
nz(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

static int
sql_put_attempt(struct store_pg *pg, const struct store_attempt *sa, const char *uuid,
    long pid, long *id)
{
	const struct bench_attempt	*a = &sa->a;
	char		 ecid[24], started[24], ended[24], code[16], pct[32], spid[24];
	const char	*v[14];
	PGresult	*r;
	int		 rc = -1;

	snprintf(ecid, sizeof(ecid), "%lld", (long long)(int64_t)sa->ecid);
	snprintf(started, sizeof(started), "%lld", (long long)a->started);
	snprintf(ended, sizeof(ended), "%lld", (long long)a->ended);
	snprintf(code, sizeof(code), "%d", a->code);
	snprintf(pct, sizeof(pct), "%.17g", a->percent);
	snprintf(spid, sizeof(spid), "%ld", pid);
	v[0] = uuid;
	v[1] = ecid;
	v[2] = nz(a->port);
	v[3] = a->action == ACT_ERASE ? "erase" : "update";
	v[4] = started;
	v[5] = a->state == JOB_RUNNING ? NULL : ended;
	v[6] = store_state_word(a->state);
	v[7] = nz(a->cls);
	v[8] = a->code == ERR_NOCODE ? NULL : code;
	v[9] = a->step >= 0 && a->step < STEP__COUNT ? rp_step_name(a->step) : NULL;
	v[10] = pct;
	v[11] = nz(a->log_path);
	v[12] = sa->bench;
	v[13] = spid;
	/* a finished row is final: a stale replay (a spool left after a crash) changes nothing */
	r = run(pg, "INSERT INTO attempts (uuid, ecid, port, action, started, ended, state, "
	    "class, code, step, percent, log_path, bench, pid) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (uuid) DO UPDATE SET "
	    "ended = excluded.ended, state = excluded.state, class = excluded.class, "
	    "code = excluded.code, step = excluded.step, percent = excluded.percent "
	    "WHERE attempts.ended IS NULL RETURNING id", 14, v);
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK) {
		if (PQntuples(r) == 1) {
			*id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
			rc = 0;
		} else {
			PQclear(r);
			r = run(pg, "SELECT id FROM attempts WHERE uuid = $1", 1, v);
			if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
				*id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
				rc = 0;
			}
		}
	}
	PQclear(r);
	return rc;
}

static int
sql_put_op(struct store_pg *pg, const struct store_op *o, const char *bench)
{
	char		 ecid[24], t[24];
	const char	*v[6];
	int		 rc;

	snprintf(ecid, sizeof(ecid), "%lld", (long long)(int64_t)o->ecid);
	snprintf(t, sizeof(t), "%lld", (long long)o->t);
	switch (o->kind) {
	case STORE_OP_DEVICE:
		v[0] = ecid;
		v[1] = nz(o->s1);
		v[2] = nz(o->s2);
		v[3] = nz(o->s3);
		v[4] = t;
		return run_cmd(pg, "INSERT INTO devices (ecid, product_type, name, udid, "
		    "first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $5) "
		    "ON CONFLICT (ecid) DO UPDATE SET "
		    "product_type = coalesce(excluded.product_type, devices.product_type), "
		    "name = coalesce(excluded.name, devices.name), "
		    "udid = coalesce(excluded.udid, devices.udid), "
		    "first_seen = least(devices.first_seen, excluded.first_seen), "
		    "last_seen = greatest(devices.last_seen, excluded.last_seen)", 5, v);
	case STORE_OP_FLAG:
		if (!sql_connected(pg) || exec_cmd(pg->conn, "BEGIN") != 0)
			return -1;
		v[0] = ecid;
		v[1] = t;
		v[2] = o->uuid;
		rc = run_cmd(pg, "UPDATE flags SET cleared = $2 WHERE ecid = $1 AND "
		    "cleared IS NULL AND uuid <> $3 AND created <= $2", 3, v);
		if (rc == 0) {
			v[0] = o->uuid;
			v[1] = ecid;
			v[2] = nz(o->s1);
			v[3] = nz(o->s2);
			v[4] = t;
			v[5] = nz(bench);
			rc = run_cmd(pg, "INSERT INTO flags (uuid, ecid, reason, hint, created, "
			    "bench) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uuid) DO NOTHING",
			    6, v);
		}
		if (rc == 0)
			rc = exec_cmd(pg->conn, "COMMIT");
		if (rc != 0 && sql_connected(pg))
			exec_cmd(pg->conn, "ROLLBACK");
		return rc;
	case STORE_OP_UNFLAG:
		v[0] = ecid;
		v[1] = t;
		return run_cmd(pg, "UPDATE flags SET cleared = $2 WHERE ecid = $1 AND "
		    "cleared IS NULL AND created <= $2", 2, v);
	case STORE_OP_IGNORE:
		v[0] = ecid;
		v[1] = t;
		v[2] = nz(bench);
		if (o->on)
			return run_cmd(pg, "INSERT INTO ignored (ecid, since, bench) VALUES "
			    "($1, $2, $3) ON CONFLICT (ecid) DO UPDATE SET since = excluded.since, "
			    "bench = excluded.bench", 3, v);
		return run_cmd(pg, "DELETE FROM ignored WHERE ecid = $1", 1, v);
	}
	return -1;
}


/* Rows of this bench left open by a process that is gone: "interrupted". */
static int
sql_recover(struct store_pg *pg, const char *bench, time_t now, int *n)
{
	PGresult	*r;
	char		 t[24];
	const char	*v[2];
	int		 i, rows;

	v[0] = bench != NULL ? bench : "";
	r = run(pg, "SELECT id, pid FROM attempts WHERE ended IS NULL AND bench = $1", 1, v);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	snprintf(t, sizeof(t), "%lld", (long long)now);
	rows = PQntuples(r);
	for (i = 0; i < rows; i++) {
		long		 pid = PQgetisnull(r, i, 1) ? 0 : strtol(PQgetvalue(r, i, 1), NULL, 10);
		PGresult	*u;

		if (store_pid_alive(pid))
			continue;	/* still running on this machine */
		v[0] = PQgetvalue(r, i, 0);
		v[1] = t;
		u = run(pg, "UPDATE attempts SET state = 'failed', class = 'interrupted', "
		    "ended = $2 WHERE id = $1 AND ended IS NULL", 2, v);
		if (u == NULL || !cmd_ok(u)) {
			PQclear(u);
			PQclear(r);
			return -1;
		}
		*n += atoi(PQcmdTuples(u));
		PQclear(u);
	}
	PQclear(r);
	return 0;
}

/* ---- reading ---- */

static void
col(PGresult *r, int row, int c, char *dst, size_t len)
{
	const char	*s = PQgetisnull(r, row, c) ? "" : PQgetvalue(r, row, c);

	text_sanitize(dst, len, s, strlen(s));
}

static long long
col_ll(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : strtoll(PQgetvalue(r, row, c), NULL, 10);
}

/* uuids (may be NULL) gets each row's uuid: the caller leaves out its own unconfirmed rows. */
static long
sql_attempts(struct store_pg *pg, uint64_t ecid, const char *scope,
    struct store_attempt *out, char (*uuids)[40], size_t max)
{
	char		 e[24], lim[24], step[32], w[16];
	const char	*v[3];
	PGresult	*r;
	int		 i, rows;
	struct store_attempt *o;

	snprintf(e, sizeof(e), "%lld", (long long)(int64_t)ecid);
	snprintf(lim, sizeof(lim), "%zu", max > INT_MAX ? (size_t)INT_MAX : max);
	v[0] = e;
	v[1] = lim;
	v[2] = scope != NULL ? scope : "";
	r = run(pg, "SELECT id, ecid, port, action, started, ended, state, class, code, step, "
	    "percent, log_path, bench, uuid FROM attempts WHERE CASE WHEN $1::bigint <> 0 "
	    "THEN ecid = $1::bigint ELSE ($3 = '' OR bench = $3) END "
	    "ORDER BY started DESC, id DESC LIMIT $2", 3, v);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	rows = PQntuples(r);
	for (i = 0; i < rows && (size_t)i < max; i++) {
		o = &out[i];
		memset(o, 0, sizeof(*o));
		o->a.id = (long)col_ll(r, i, 0);
		o->ecid = (uint64_t)col_ll(r, i, 1);
		col(r, i, 2, o->a.port, sizeof(o->a.port));
		col(r, i, 3, w, sizeof(w));
		o->a.action = strcmp(w, "erase") == 0 ? ACT_ERASE : ACT_UPDATE;
		o->a.started = (time_t)col_ll(r, i, 4);
		o->a.ended = (time_t)col_ll(r, i, 5);
		col(r, i, 6, w, sizeof(w));
		o->a.state = store_state_from_word(w);
		col(r, i, 7, o->a.cls, sizeof(o->a.cls));
		o->a.code = PQgetisnull(r, i, 8) ? ERR_NOCODE : (int)col_ll(r, i, 8);
		col(r, i, 9, step, sizeof(step));
		o->a.step = step[0] != '\0' ? rp_step_from_name(step) : STEP_NONE;
		o->a.percent = PQgetisnull(r, i, 10) ? 0 : strtod(PQgetvalue(r, i, 10), NULL);
		col(r, i, 11, o->a.log_path, sizeof(o->a.log_path));
		col(r, i, 12, o->bench, sizeof(o->bench));
		if (uuids != NULL)
			col(r, i, 13, uuids[i], sizeof(uuids[i]));
	}
	PQclear(r);
	return i;
}

static long
sql_devices(struct store_pg *pg, struct store_device *out, size_t max)
{
	PGresult		*r;
	struct store_device	*o;
	int			 i, rows;

	r = run(pg, "SELECT e.ecid, d.product_type, d.name, d.udid, d.first_seen, d.last_seen, "
	    "f.reason, f.hint, f.created, (SELECT 1 FROM ignored i WHERE i.ecid = e.ecid) "
	    "FROM (SELECT ecid FROM devices UNION SELECT ecid FROM attempts "
	    "UNION SELECT ecid FROM flags UNION SELECT ecid FROM ignored) e "
	    "LEFT JOIN devices d ON d.ecid = e.ecid "
	    "LEFT JOIN flags f ON f.id = (SELECT id FROM flags g WHERE g.ecid = e.ecid "
	    "AND g.cleared IS NULL ORDER BY g.created DESC, g.id DESC LIMIT 1) "
	    "ORDER BY e.ecid", 0, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	rows = PQntuples(r);
	for (i = 0; i < rows && (size_t)i < max; i++) {
		o = &out[i];
		memset(o, 0, sizeof(*o));
		o->ecid = (uint64_t)col_ll(r, i, 0);
		col(r, i, 1, o->product_type, sizeof(o->product_type));
		col(r, i, 2, o->name, sizeof(o->name));
		col(r, i, 3, o->udid, sizeof(o->udid));
		o->first_seen = (time_t)col_ll(r, i, 4);
		o->last_seen = (time_t)col_ll(r, i, 5);
		o->flagged = !PQgetisnull(r, i, 8);
		col(r, i, 6, o->reason, sizeof(o->reason));
		col(r, i, 7, o->hint, sizeof(o->hint));
		o->flagged_at = (time_t)col_ll(r, i, 8);
		o->ignored = !PQgetisnull(r, i, 9);
	}
	PQclear(r);
	return i;
}

static int
sql_flagged(struct store_pg *pg, uint64_t ecid, char *reason, size_t rlen, char *hint,
    size_t hlen)
{
	char		 e[24];
	const char	*v[1] = { e };
	PGresult	*r;
	int		 yes;

	snprintf(e, sizeof(e), "%lld", (long long)(int64_t)ecid);
	r = run(pg, "SELECT reason, hint FROM flags WHERE ecid = $1 AND cleared IS NULL "
	    "ORDER BY created DESC, id DESC LIMIT 1", 1, v);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	yes = PQntuples(r) > 0;
	if (yes && rlen > 0)
		col(r, 0, 0, reason, rlen);
	if (yes && hlen > 0)
		col(r, 0, 1, hint, hlen);
	PQclear(r);
	return yes;
}

static int
sql_ignored(struct store_pg *pg, uint64_t ecid)
{
	char		 e[24];
	const char	*v[1] = { e };
	PGresult	*r;
	int		 yes;

	snprintf(e, sizeof(e), "%lld", (long long)(int64_t)ecid);
	r = run(pg, "SELECT 1 FROM ignored WHERE ecid = $1", 1, v);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	yes = PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

/* ---- the worker thread ---- */

/* What a read brings back, installed in its job under the lock. */
struct pg_answer {
	void	*rows;
	char	(*uuids)[40];
	long	 nrows;
	int	 yes;
	char	 reason[128], hint[160];
};

/* Milliseconds on the monotonic clock (the clock pg->done's timed waits use). */
static uint64_t
now_ms(void)
{
	return (uint64_t)(os_mono() * 1000.0);
}

static bool
is_write(const struct pg_job *j)
{
	return j->kind == PJ_ATTEMPT || j->kind == PJ_OP;
}

static bool
is_read(const struct pg_job *j)
{
	return j->kind == PJ_ATTEMPTS || j->kind == PJ_DEVICES || j->kind == PJ_FLAGGED ||
	    j->kind == PJ_IGNORED;
}

static bool
is_busy(const struct pg_job *j)
{
	return j->state == PS_QUEUED || j->state == PS_RUNNING;
}

/* Lock held; j is not queued. */
static void
job_free(struct store_pg *pg, struct pg_job *j)
{
	TAILQ_REMOVE(&pg->jobs, j, all);
	free(j->rows);
	free(j->uuids);
	free(j);
}

static void
job_done(struct store_pg *pg, struct pg_job *j)
{
	if (j->orphan)
		job_free(pg, j);
	else
		j->state = PS_DONE;
}

/* A job that cannot run (no connection): writes go back to be sent again, the rest fail. */
static void
job_send_back(struct store_pg *pg, struct pg_job *j)
{
	if (is_write(j)) {
		j->state = PS_IDLE;
		return;
	}
	if (j->kind == PJ_CONNECT)
		pg->connecting--;
	j->rc = -1;
	job_done(pg, j);
}

static int
job_run(struct store_pg *pg, struct pg_job *j, struct pg_answer *a)
{
	size_t	max = j->max > 0 ? j->max : 1;

	switch (j->kind) {
	case PJ_CONNECT:
		return sql_connect(pg, j->migrate, j->err, sizeof(j->err));
	case PJ_RECOVER:
		j->n = 0;
		return sql_recover(pg, j->bench, j->now, &j->n);
	case PJ_ATTEMPT:
		return sql_put_attempt(pg, &j->sa, j->uuid, j->pid, &j->id);
	case PJ_OP:
		return sql_put_op(pg, &j->op, j->bench);
	case PJ_ATTEMPTS:
		if ((a->rows = calloc(max, sizeof(struct store_attempt))) == NULL ||
		    (a->uuids = calloc(max, sizeof(*a->uuids))) == NULL)
			return -1;
		a->nrows = sql_attempts(pg, j->ecid, j->scope, a->rows, a->uuids, max);
		return a->nrows < 0 ? -1 : 0;
	case PJ_DEVICES:
		if ((a->rows = calloc(max, sizeof(struct store_device))) == NULL)
			return -1;
		a->nrows = sql_devices(pg, a->rows, max);
		return a->nrows < 0 ? -1 : 0;
	case PJ_FLAGGED:
		a->yes = sql_flagged(pg, j->ecid, a->reason, sizeof(a->reason), a->hint,
		    sizeof(a->hint));
		return a->yes < 0 ? -1 : 0;
	case PJ_IGNORED:
		a->yes = sql_ignored(pg, j->ecid);
		return a->yes < 0 ? -1 : 0;
	}
	return -1;
}

/* Keep only the rows fetched: a bench's 4096-attempt read is ~3 MB before this. */
static void
answer_trim(const struct pg_job *j, struct pg_answer *a)
{
	size_t	 sz = j->kind == PJ_ATTEMPTS ? sizeof(struct store_attempt) :
		    sizeof(struct store_device);
	size_t	 n = a->nrows > 0 ? (size_t)a->nrows : 1;
	void	*p;

	if (a->rows != NULL && (p = realloc(a->rows, n * sz)) != NULL)
		a->rows = p;
	if (a->uuids != NULL && (p = realloc(a->uuids, n * sizeof(*a->uuids))) != NULL)
		a->uuids = p;
}

/* Lock held: a read's answer replaces the last one. */
static void
job_answer(struct pg_job *j, struct pg_answer *a)
{
	free(j->rows);
	free(j->uuids);
	j->rows = a->rows;
	j->uuids = a->uuids;
	a->rows = NULL;
	a->uuids = NULL;
	j->nrows = a->nrows;
	j->yes = a->yes;
	memcpy(j->reason, a->reason, sizeof(j->reason));
	memcpy(j->hint, a->hint, sizeof(j->hint));
	j->answered = true;
	j->answered_ms = now_ms();
}

/* Lock held: a call failed; as store.c always did, drop the connection. */
static void
worker_failed(struct store_pg *pg)
{
	struct pg_job	*j;

	pg_err(pg->conn, pg->last_err, sizeof(pg->last_err));
	pg->up = false;
	pg->drop = true;
	/* nothing queued may overtake what failed: all of it goes back */
	while ((j = TAILQ_FIRST(&pg->fifo)) != NULL) {
		if (j->kind == PJ_CONNECT)
			break;
		TAILQ_REMOVE(&pg->fifo, j, fifo);
		job_send_back(pg, j);
	}
}

static void *
pg_worker(void *arg)
{
	struct store_pg		*pg = arg;
	struct pg_job		*j, *k;
	struct pg_answer	 a;
	int			 rc;

	pthread_mutex_lock(&pg->lock);
	while (!pg->quit) {
		if (pg->drop) {
			pg->drop = false;
			pthread_mutex_unlock(&pg->lock);
			sql_disconnect(pg);
			pthread_mutex_lock(&pg->lock);
			continue;
		}
		if ((j = TAILQ_FIRST(&pg->fifo)) == NULL) {
			pthread_cond_wait(&pg->wake, &pg->lock);
			continue;
		}
		TAILQ_REMOVE(&pg->fifo, j, fifo);
		if (j->kind != PJ_CONNECT && !pg->up) {
			job_send_back(pg, j);
			pthread_cond_broadcast(&pg->done);
			continue;
		}
		j->state = PS_RUNNING;
		pg->busy_since = now_ms();
		pg->busy_fd = j->kind != PJ_CONNECT && pg->conn != NULL ? PQsocket(pg->conn) : -1;
		pthread_mutex_unlock(&pg->lock);

		memset(&a, 0, sizeof(a));
		rc = job_run(pg, j, &a);
		answer_trim(j, &a);

		pthread_mutex_lock(&pg->lock);
		pg->busy_since = 0;
		pg->busy_fd = -1;
		j->rc = rc;
		if (rc == 0 && is_read(j))
			job_answer(j, &a);
		free(a.rows);
		free(a.uuids);
		if (j->kind == PJ_CONNECT) {
			pg->connecting--;
			pg->last_rc = rc;
			text_copy(pg->last_err, j->err, sizeof(pg->last_err));
			pg->up = rc == 0;
			/* writes that failed before are sent again on this connection */
			TAILQ_FOREACH(k, &pg->jobs, all) {
				if (rc == 0 && is_write(k) && k->state == PS_DONE && k->rc != 0)
					k->state = PS_IDLE;
			}
		} else if (rc != 0)
			worker_failed(pg);
		job_done(pg, j);
		pthread_cond_broadcast(&pg->done);
	}
	pthread_mutex_unlock(&pg->lock);
	sql_disconnect(pg);
	return NULL;
}

/* ---- the caller's side (the loop thread, or a report command) ---- */

static void
copy_err(char *dst, size_t len, const char *src)
{
	if (len > 0)
		text_copy(dst, src, len);
}

/* Lock held: has the call now running taken PG_STALL_MS already? */
static bool
stalled(struct store_pg *pg)
{
	return pg->busy_since != 0 && now_ms() - pg->busy_since >= PG_STALL_MS;
}

static struct pg_job *
job_new(struct store_pg *pg, enum pg_kind kind)
{
	struct pg_job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	j->state = PS_IDLE;
	TAILQ_INSERT_TAIL(&pg->jobs, j, all);
	return j;
}

static void
job_queue(struct store_pg *pg, struct pg_job *j)
{
	j->state = PS_QUEUED;
	TAILQ_INSERT_TAIL(&pg->fifo, j, fifo);
	pthread_cond_signal(&pg->wake);
}

/* Lock held: wait until j is out of the queue, or until (ms, monotonic). True if it is. */
static bool
job_wait(struct store_pg *pg, struct pg_job *j, uint64_t until)
{
	struct timespec	ts;

	while (is_busy(j)) {
		if (until == UINT64_MAX) {
			pthread_cond_wait(&pg->done, &pg->lock);
			continue;
		}
		if (now_ms() >= until)
			return false;
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000;
		pthread_cond_timedwait(&pg->done, &pg->lock, &ts);
	}
	return true;
}

/* How long a write, connect or recovery may keep the caller. */
static uint64_t
until_write(struct store_pg *pg)
{
	if (pg->wait_ms < 0)
		return UINT64_MAX;
	return pg->wait_ms == 0 ? 0 : pg->deadline;
}

/* A read on the loop waits a little, and not at all behind a call that is stuck. */
static uint64_t
until_read(struct store_pg *pg)
{
	uint64_t	now;

	if (pg->wait_ms != 0)
		return until_write(pg);
	now = now_ms();
	if (pg->busy_since != 0 && now - pg->busy_since >= PG_READ_WAIT_MS)
		return 0;
	return now + PG_READ_WAIT_MS;
}

static struct store_pg *
pg_create(const char *url)
{
	struct store_pg		*pg;
	pthread_condattr_t	 ca;
	sigset_t		 all, old;
	int			 e;

	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return NULL;
	text_copy(pg->url, url, sizeof(pg->url));
	TAILQ_INIT(&pg->jobs);
	TAILQ_INIT(&pg->fifo);
	pg->wait_ms = -1;
	pg->busy_fd = -1;
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->wake, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pg->done, &ca);
	pthread_condattr_destroy(&ca);
	/* signals belong to the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&pg->thread, NULL, pg_worker, pg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		pthread_cond_destroy(&pg->done);
		pthread_cond_destroy(&pg->wake);
		pthread_mutex_destroy(&pg->lock);
		free(pg);
		return NULL;
	}
	return pg;
}

static void
pg_destroy(struct store_pg *pg)
{
	struct pg_job	*j;

	if (pg == NULL)
		return;
	pthread_mutex_lock(&pg->lock);
	pg->quit = true;
	/* a call blocked on a stopped server gives up at once */
	if (pg->busy_fd >= 0)
		(void)shutdown(pg->busy_fd, SHUT_RDWR);
	pthread_cond_signal(&pg->wake);
	pthread_mutex_unlock(&pg->lock);
	pthread_join(pg->thread, NULL);
	while ((j = TAILQ_FIRST(&pg->jobs)) != NULL)
		job_free(pg, j);
	pthread_cond_destroy(&pg->done);
	pthread_cond_destroy(&pg->wake);
	pthread_mutex_destroy(&pg->lock);
	explicit_bzero(pg->url, sizeof(pg->url));
	free(pg);
}

/*
 * <0: wait for every answer; 0: never wait (the bench's loop); >0: for that
 * many ms in all, which only bounds a store that was not waiting (a store
 * that never ran under a loop keeps waiting for its last writes).
 */
static void
pg_set_wait(struct store_pg *pg, int ms)
{
	pthread_mutex_lock(&pg->lock);
	if (ms > 0 && pg->wait_ms < 0) {
		pthread_mutex_unlock(&pg->lock);
		return;
	}
	pg->wait_ms = ms;
	pg->deadline = ms > 0 ? now_ms() + (uint64_t)ms : 0;
	pthread_mutex_unlock(&pg->lock);
}

static bool
pg_connected(struct store_pg *pg)
{
	bool	yes;

	pthread_mutex_lock(&pg->lock);
	yes = pg->up && !stalled(pg);
	pthread_mutex_unlock(&pg->lock);
	return yes;
}

static void
pg_disconnect(struct store_pg *pg)
{
	pthread_mutex_lock(&pg->lock);
	if (pg->up) {
		pg->up = false;
		pg->drop = true;
		pthread_cond_signal(&pg->wake);
	}
	pthread_mutex_unlock(&pg->lock);
}

/* Lock held: the answer of a connect that is still on its way. */
static int
connect_pending(struct store_pg *pg, char *err, size_t errlen)
{
	copy_err(err, errlen, pg->last_err[0] != '\0' ? pg->last_err : "connecting");
	return pg->last_rc == -2 ? -2 : -1;
}

static int
pg_connect(struct store_pg *pg, bool migrate, char *err, size_t errlen)
{
	struct pg_job	*j;
	int		 rc;

	copy_err(err, errlen, "");
	pthread_mutex_lock(&pg->lock);
	if (pg->up) {
		rc = stalled(pg) ? -1 : 0;
		if (rc != 0)
			copy_err(err, errlen, "not answering");
	} else if (pg->connecting > 0 || (j = job_new(pg, PJ_CONNECT)) == NULL) {
		rc = connect_pending(pg, err, errlen);
	} else {
		j->migrate = migrate;
		pg->connecting++;
		job_queue(pg, j);
		if (job_wait(pg, j, until_write(pg))) {
			rc = j->rc;
			copy_err(err, errlen, j->err);
			job_free(pg, j);
		} else {
			j->orphan = true;
			rc = connect_pending(pg, err, errlen);
		}
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

static int
pg_recover(struct store_pg *pg, const char *bench, time_t now, int *n)
{
	struct pg_job	*j;
	int		 rc = -1;

	pthread_mutex_lock(&pg->lock);
	if ((j = job_new(pg, PJ_RECOVER)) != NULL) {
		text_copy(j->bench, bench != NULL ? bench : "", sizeof(j->bench));
		j->now = now;
		job_queue(pg, j);
		if (job_wait(pg, j, until_write(pg))) {
			rc = j->rc;
			if (rc == 0)
				*n += j->n;
			job_free(pg, j);
		} else {
			/* it runs in its turn; the count is only shown at start-up */
			j->orphan = true;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

/* Lock held: the newest write job for uuid. */
static struct pg_job *
write_find(struct store_pg *pg, enum pg_kind kind, const char *uuid)
{
	struct pg_job	*j;

	TAILQ_FOREACH_REVERSE(j, &pg->jobs, pg_jobs, all) {
		if (j->kind == kind && strcmp(j->uuid, uuid) == 0)
			return j;
	}
	return NULL;
}

/* Lock held: the answer about uuid was given; its finished jobs go. */
static void
write_forget(struct store_pg *pg, enum pg_kind kind, const char *uuid)
{
	struct pg_job	*j, *next;

	for (j = TAILQ_FIRST(&pg->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, all);
		if (j->kind == kind && strcmp(j->uuid, uuid) == 0 && !is_busy(j))
			job_free(pg, j);
	}
}

/* The version to write: an attempt with its pid, or an op with its bench. */
struct pg_write {
	enum pg_kind		 kind;
	const char		*uuid;
	struct store_attempt	 sa;
	long			 pid;
	struct store_op		 op;
	char			 bench[64];
};

static bool
write_same(const struct pg_job *j, const struct pg_write *w)
{
	if (w->kind == PJ_ATTEMPT)
		return j->pid == w->pid && memcmp(&j->sa, &w->sa, sizeof(w->sa)) == 0;
	return memcmp(&j->op, &w->op, sizeof(w->op)) == 0 && strcmp(j->bench, w->bench) == 0;
}

static void
write_fill(struct pg_job *j, const struct pg_write *w)
{
	text_copy(j->uuid, w->uuid, sizeof(j->uuid));
	memcpy(&j->sa, &w->sa, sizeof(j->sa));
	j->pid = w->pid;
	memcpy(&j->op, &w->op, sizeof(j->op));
	memcpy(j->bench, w->bench, sizeof(j->bench));
}

/*
 * 0 once the server has this very version (*id set for an attempt), 1 while it
 * is on its way, -1 when it failed (said once: store.c drops the connection).
 */
static int
pg_write(struct store_pg *pg, const struct pg_write *w, long *id)
{
	struct pg_job	*j;
	int		 rc = 1;

	pthread_mutex_lock(&pg->lock);
	j = write_find(pg, w->kind, w->uuid);
	if (j != NULL && j->state == PS_DONE) {
		if (j->rc != 0 || write_same(j, w))
			goto answer;
		write_forget(pg, w->kind, w->uuid);	/* an older version */
		j = NULL;
	}
	if (j == NULL || (j->state == PS_RUNNING && !write_same(j, w))) {
		if ((j = job_new(pg, w->kind)) == NULL) {
			rc = -1;
			goto out;
		}
		write_fill(j, w);
		job_queue(pg, j);
	} else if (j->state != PS_RUNNING) {
		if (!write_same(j, w))
			write_fill(j, w);
		if (j->state == PS_IDLE)
			job_queue(pg, j);
	}
	if (!job_wait(pg, j, until_write(pg)))
		goto out;
	if (j->state == PS_IDLE) {
		rc = -1;		/* sent back: no connection */
		goto out;
	}
answer:
	rc = j->rc != 0 ? -1 : 0;
	if (rc == 0 && id != NULL)
		*id = j->id;
	write_forget(pg, w->kind, w->uuid);
out:
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

static int
pg_put_attempt(struct store_pg *pg, const struct store_attempt *sa, const char *uuid,
    long pid, long *id)
{
	struct pg_write	w;

	memset(&w, 0, sizeof(w));
	w.kind = PJ_ATTEMPT;
	w.uuid = uuid;
	memcpy(&w.sa, sa, sizeof(w.sa));
	w.pid = pid;
	return pg_write(pg, &w, id);
}

static int
pg_put_op(struct store_pg *pg, const struct store_op *o, const char *bench)
{
	struct pg_write	w;

	memset(&w, 0, sizeof(w));
	w.kind = PJ_OP;
	w.uuid = o->uuid;
	memcpy(&w.op, o, sizeof(w.op));
	w.op.spooled = false;		/* store.c's bookkeeping, not the change */
	text_copy(w.bench, bench != NULL ? bench : "", sizeof(w.bench));
	return pg_write(pg, &w, NULL);
}

/* Lock held: the read job for this question (made if new); old unasked ones go. */
static struct pg_job *
read_job(struct store_pg *pg, enum pg_kind kind, uint64_t ecid, const char *scope, size_t max)
{
	struct pg_job	*j, *next, *found = NULL;
	uint64_t	 now = now_ms();

	for (j = TAILQ_FIRST(&pg->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, all);
		if (!is_read(j))
			continue;
		if (j->kind == kind && j->ecid == ecid && j->max == max &&
		    strcmp(j->scope, scope) == 0)
			found = j;
		else if (!is_busy(j) && now - j->used_ms > PG_READ_KEEP_MS)
			job_free(pg, j);
	}
	if (found == NULL && (found = job_new(pg, kind)) != NULL) {
		found->ecid = ecid;
		text_copy(found->scope, scope, sizeof(found->scope));
		found->max = max;
	}
	if (found != NULL)
		found->used_ms = now;
	return found;
}

/*
 * Lock held: ask again unless the last answer is fresh, and wait as the mode
 * allows. -1 only where the caller waits for answers and this one failed;
 * otherwise the last answer stands (none yet: nothing).
 */
static int
read_ask(struct store_pg *pg, struct pg_job *j)
{
	bool	fresh = pg->wait_ms == 0 && j->answered &&
		    now_ms() - j->answered_ms < PG_READ_FRESH_MS;

	if (!fresh && !is_busy(j))
		job_queue(pg, j);
	if (job_wait(pg, j, until_read(pg)) && pg->wait_ms < 0 && j->rc != 0)
		return -1;
	return 0;
}

/* Lock held: an attempt of ours the server has but store.c has not heard of yet. */
static bool
ours_unconfirmed(struct store_pg *pg, const char *uuid)
{
	return write_find(pg, PJ_ATTEMPT, uuid) != NULL;
}

static long
pg_attempts(struct store_pg *pg, uint64_t ecid, const char *scope, struct store_attempt *out,
    size_t max)
{
	struct pg_job		*j;
	struct store_attempt	*rows;
	long			 i, n = 0;

	pthread_mutex_lock(&pg->lock);
	j = read_job(pg, PJ_ATTEMPTS, ecid, ecid == 0 && scope != NULL ? scope : "", max);
	if (j == NULL || read_ask(pg, j) != 0) {
		n = -1;
		goto out;
	}
	rows = j->rows;
	for (i = 0; i < j->nrows && (size_t)n < max; i++) {
		/* store.c adds those from memory: the row would be there twice */
		if (j->uuids != NULL && ours_unconfirmed(pg, j->uuids[i]))
			continue;
		memcpy(&out[n++], &rows[i], sizeof(out[0]));
	}
out:
	pthread_mutex_unlock(&pg->lock);
	return n;
}

static long
pg_devices(struct store_pg *pg, struct store_device *out, size_t max)
{
	struct pg_job	*j;
	long		 n = -1;

	pthread_mutex_lock(&pg->lock);
	if ((j = read_job(pg, PJ_DEVICES, 0, "", max)) != NULL && read_ask(pg, j) == 0) {
		n = j->nrows < (long)max ? j->nrows : (long)max;
		if (n > 0)
			memcpy(out, j->rows, (size_t)n * sizeof(*out));
	}
	pthread_mutex_unlock(&pg->lock);
	return n;
}

static int
pg_flagged(struct store_pg *pg, uint64_t ecid, char *reason, size_t rlen, char *hint,
    size_t hlen)
{
	struct pg_job	*j;
	int		 yes = -1;

	pthread_mutex_lock(&pg->lock);
	if ((j = read_job(pg, PJ_FLAGGED, ecid, "", 0)) != NULL && read_ask(pg, j) == 0) {
		yes = j->answered && j->yes > 0;
		if (yes && rlen > 0)
			text_copy(reason, j->reason, rlen);
		if (yes && hlen > 0)
			text_copy(hint, j->hint, hlen);
	}
	pthread_mutex_unlock(&pg->lock);
	return yes;
}

static int
pg_ignored(struct store_pg *pg, uint64_t ecid)
{
	struct pg_job	*j;
	int		 yes = -1;

	pthread_mutex_lock(&pg->lock);
	if ((j = read_job(pg, PJ_IGNORED, ecid, "", 0)) != NULL && read_ask(pg, j) == 0)
		yes = j->answered && j->yes > 0;
	pthread_mutex_unlock(&pg->lock);
	return yes;
}

/* What store.c calls. */
const struct store_pg_ops store_pg_ops = {
	.create = pg_create,
	.destroy = pg_destroy,
	.wait = pg_set_wait,
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.connected = pg_connected,
	.put_attempt = pg_put_attempt,
	.put_op = pg_put_op,
	.recover = pg_recover,
	.attempts = pg_attempts,
	.devices = pg_devices,
	.flagged = pg_flagged,
	.ignored = pg_ignored,
};
