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
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "store.h"
#include "store_backend.h"
#include "text.h"

/* pg_advisory_xact_lock key for schema changes: "idb" + schema */
#define PG_SCHEMA_LOCK	"7585826410"

struct store_pg {
	char	 url[1024];
	PGconn	*conn;
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

static struct store_pg *
store_pg_new(const char *url)
{
	struct store_pg	*pg;

	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return NULL;
	text_copy(pg->url, url, sizeof(pg->url));
	return pg;
}

static void
store_pg_disconnect(struct store_pg *pg)
{
	if (pg != NULL && pg->conn != NULL) {
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
}

static void
store_pg_free(struct store_pg *pg)
{
	if (pg == NULL)
		return;
	store_pg_disconnect(pg);
	explicit_bzero(pg->url, sizeof(pg->url));
	free(pg);
}

static bool
store_pg_connected(struct store_pg *pg)
{
	return pg != NULL && pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
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

/* Connect with short timeouts (a down server must not stall the loop for long). */
static int
store_pg_connect(struct store_pg *pg, bool migrate, char *err, size_t errlen)
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
	store_pg_disconnect(pg);
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		pg_err(pg->conn, err, errlen);
		store_pg_disconnect(pg);
		return -1;
	}
	PQsetNoticeProcessor(pg->conn, quiet_notice, NULL);
	(void)exec_cmd(pg->conn, "SET client_min_messages = warning");
	(void)exec_cmd(pg->conn, "SET statement_timeout = 10000");
	rc = migrate ? pg_migrate(pg->conn, err, errlen) : pg_check(pg->conn, err, errlen);
	if (rc != 0)
		store_pg_disconnect(pg);
	return rc;
}

/* ---- writing ---- */

static PGresult *
run(struct store_pg *pg, const char *sql, int n, const char *const *v)
{
	if (!store_pg_connected(pg))
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
store_pg_put_attempt(struct store_pg *pg, const struct store_attempt *sa, const char *uuid,
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
store_pg_put_op(struct store_pg *pg, const struct store_op *o, const char *bench)
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
		if (!store_pg_connected(pg) || exec_cmd(pg->conn, "BEGIN") != 0)
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
		if (rc != 0 && store_pg_connected(pg))
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
store_pg_recover(struct store_pg *pg, const char *bench, time_t now, int *n)
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

static long
store_pg_attempts(struct store_pg *pg, uint64_t ecid, const char *scope,
    struct store_attempt *out, size_t max)
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
	    "percent, log_path, bench FROM attempts WHERE CASE WHEN $1::bigint <> 0 "
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
	}
	PQclear(r);
	return i;
}

static long
store_pg_devices(struct store_pg *pg, struct store_device *out, size_t max)
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
store_pg_flagged(struct store_pg *pg, uint64_t ecid, char *reason, size_t rlen, char *hint,
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
store_pg_ignored(struct store_pg *pg, uint64_t ecid)
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

/* What store.c calls. */
const struct store_pg_ops store_pg_ops = {
	.create = store_pg_new,
	.destroy = store_pg_free,
	.connect = store_pg_connect,
	.disconnect = store_pg_disconnect,
	.connected = store_pg_connected,
	.put_attempt = store_pg_put_attempt,
	.put_op = store_pg_put_op,
	.recover = store_pg_recover,
	.attempts = store_pg_attempts,
	.devices = store_pg_devices,
	.flagged = store_pg_flagged,
	.ignored = store_pg_ignored,
};
