/*
 * store_write.c: placing the pending writes in the SQLite file, in one
 * transaction; what was written leaves the queue, what failed stays.
 */

#include <string.h>
#include <unistd.h>


#include "store_int.h"

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

/* The attempt_firmware row of a written attempt (best effort: the attempt matters more). */
void
store_write_attempt_fw(struct store *st, struct mem_attempt *a)
{
	sqlite3_stmt	*s;

	if (a->fw_written || a->dbid <= 0 || st->db == NULL ||
	    (a->fw_version[0] == '\0' && a->fw_build[0] == '\0'))
		return;
	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO attempt_firmware (attempt, version, "
	    "build, sha1) VALUES (?, ?, ?, ?)", -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, a->dbid);
	bind_text_or_null(s, 2, a->fw_version);
	bind_text_or_null(s, 3, a->fw_build);
	bind_text_or_null(s, 4, a->fw_sha1);
	if (step_done(s) == SQLITE_OK)
		a->fw_written = true;
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
		store_write_attempt_fw(st, a);
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
	store_write_attempt_fw(st, a);
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
		if ((rc = store_exec_sql(st->db, "BEGIN IMMEDIATE")) != SQLITE_OK)
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
			rc = store_exec_sql(st->db, "COMMIT");
		if (rc != SQLITE_OK)
			store_exec_sql(st->db, "ROLLBACK");
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

size_t
store_pending(const struct store *st)
{
	size_t	i, n = st->nops;

	for (i = 0; i < st->natt; i++) {
		if (st->att[i].need_insert || st->att[i].need_update)
			n++;
	}
	return n;
}

size_t
store_sqlite_flush(struct store *st)
{
	size_t	i, done = 0;
	int	rc = SQLITE_OK;

	if (st->readonly)
		return 0;
	if (st->pg != NULL)
		return store_pg_flush(st);
	if (store_pending(st) == 0 && st->ready)
		return 0;
	if (!st->ready && !store_db_init(st, 0)) {
		(void)store_reader(st);
		return store_pending(st);
	}
	for (i = 0; i < st->natt && rc == SQLITE_OK; i++) {
		if (st->att[i].need_insert || st->att[i].need_update)
			rc = write_attempt(st, &st->att[i]);
	}
	store_mem_prune(st);	/* what the file now has need not stay in memory */
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
		store_note_failure(st, rc);
		return store_pending(st);
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
	return store_sqlite_flush(st);
}
