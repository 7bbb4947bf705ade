/*
 * store_read.c: reading the history: the database's rows merged with the
 * session's, for the detail pane, advice, reports and the JSON front end.
 */

#include <stdlib.h>
#include <string.h>


#include "store_int.h"
#include "text.h"

const char *
store_col_text(sqlite3_stmt *s, int i)
{
	const char	*t = (const char *)sqlite3_column_text(s, i);

	return t != NULL ? t : "";
}

void
store_mem_to_attempt(const struct store *st, const struct mem_attempt *m,
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
	text_copy(o->a.fw_version, m->fw_version, sizeof(o->a.fw_version));
	text_copy(o->a.fw_build, m->fw_build, sizeof(o->a.fw_build));
	text_copy(o->a.fw_sha1, m->fw_sha1, sizeof(o->a.fw_sha1));
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

/* Where a read puts its i-th row (newest first). */
typedef void	(*attempt_put)(void *arg, size_t i, const struct store_attempt *sa);

/* The database's side of a read: an SQLite statement, or the rows of the server. */
struct attempt_src {
	sqlite3_stmt		*s;
	sqlite3_stmt		*fw;		/* each row's IPSW; NULL: an older file */
	struct store_attempt	*rows;
	size_t			 nrows, next;
};

static bool
src_next(struct attempt_src *src, struct store_attempt *o)
{
	const char	*t;
	sqlite3_stmt	*s = src->s;

	if (src->rows != NULL) {
		if (src->next >= src->nrows)
			return false;
		*o = src->rows[src->next++];
		return true;
	}
	if (s == NULL || sqlite3_step(s) != SQLITE_ROW)
		return false;
	memset(o, 0, sizeof(*o));
	o->a.id = (long)sqlite3_column_int64(s, 0);
	o->ecid = (uint64_t)sqlite3_column_int64(s, 1);
	store_copy_clean(o->a.port, sizeof(o->a.port), store_col_text(s, 2));
	o->a.action = strcmp(store_col_text(s, 3), "erase") == 0 ? ACT_ERASE : ACT_UPDATE;
	o->a.started = (time_t)sqlite3_column_int64(s, 4);
	o->a.ended = (time_t)sqlite3_column_int64(s, 5);
	o->a.state = store_state_from_word(store_col_text(s, 6));
	store_copy_clean(o->a.cls, sizeof(o->a.cls), store_col_text(s, 7));
	o->a.code = sqlite3_column_type(s, 8) == SQLITE_NULL ? ERR_NOCODE :
	    sqlite3_column_int(s, 8);
	t = store_col_text(s, 9);
	o->a.step = *t != '\0' ? rp_step_from_name(t) : STEP_NONE;
	o->a.percent = sqlite3_column_double(s, 10);
	store_copy_clean(o->a.log_path, sizeof(o->a.log_path), store_col_text(s, 11));
	store_copy_clean(o->bench, sizeof(o->bench), store_col_text(s, 12));
	if ((s = src->fw) != NULL) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, o->a.id);
		if (sqlite3_step(s) == SQLITE_ROW) {
			store_copy_clean(o->a.fw_version, sizeof(o->a.fw_version),
			    store_col_text(s, 0));
			store_copy_clean(o->a.fw_build, sizeof(o->a.fw_build), store_col_text(s, 1));
			store_copy_clean(o->a.fw_sha1, sizeof(o->a.fw_sha1), store_col_text(s, 2));
		}
	}
	return true;
}

/* Open the database's side of a read of at most max rows; false: nothing from it. */
static bool
src_open(struct store *st, uint64_t ecid, size_t max, struct attempt_src *src)
{
	struct store_attempt	*n;
	sqlite3			*db;
	long			 got = -1;

	memset(src, 0, sizeof(*src));
	if (st->pg != NULL) {
		/* the server's answer is copied out: one buffer, kept, not one per read */
		if (st->rowcap < max) {
			if ((n = realloc(st->rows, max * sizeof(*n))) == NULL)
				return false;
			st->rows = n;
			st->rowcap = max;
		}
		if (PG->connected(st->pg) &&
		    (got = PG->attempts(st->pg, ecid, st->scope, st->rows, max)) < 0)
			store_pg_fail(st);
		src->rows = st->rows;
		src->nrows = got > 0 ? (size_t)got : 0;
		return true;
	}
	if ((db = store_reader(st)) == NULL || sqlite3_prepare_v2(db, ecid != 0 ?
	    "SELECT id, ecid, port, action, started, ended, state, class, code, step, percent, "
	    "log_path, bench FROM attempts WHERE ecid = ?1 ORDER BY started DESC, id DESC "
	    "LIMIT ?2" :
	    "SELECT id, ecid, port, action, started, ended, state, class, code, step, percent, "
	    "log_path, bench FROM attempts WHERE (?3 = '' OR bench = ?3) "
	    "ORDER BY started DESC, id DESC LIMIT ?2",
	    -1, &src->s, NULL) != SQLITE_OK)
		return false;
	if (ecid != 0)
		sqlite3_bind_int64(src->s, 1, (sqlite3_int64)ecid);
	else
		sqlite3_bind_text(src->s, 3, st->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(src->s, 2, (sqlite3_int64)(max > INT_MAX ? INT_MAX : max));
	/* older files have no attempt_firmware table: then nothing is known */
	if (sqlite3_prepare_v2(db, "SELECT version, build, sha1 FROM attempt_firmware "
	    "WHERE attempt = ?", -1, &src->fw, NULL) != SQLITE_OK)
		src->fw = NULL;
	return true;
}

/* The database's next row that memory does not hold a newer version of. */
static bool
next_unheld(struct attempt_src *src, struct store_attempt *o,
    const struct store_attempt *mem, size_t nmem)
{
	size_t	i;

	while (src_next(src, o)) {
		for (i = 0; i < nmem && mem[i].a.id != o->a.id; i++)
			;
		if (o->a.id <= 0 || i == nmem)
			return true;
	}
	return false;
}

/*
 * Attempts newest first, given one by one to put (at most max): the
 * database's rows merged with this session's, a session row taking the place
 * of its database row (it is newer news). Both come newest first, so the
 * merge needs no buffer of max rows, only one for the session's rows, which
 * memory keeps few of (store_mem_prune()).
 */
static size_t
attempts_read(struct store *st, uint64_t ecid, size_t max, attempt_put put, void *arg)
{
	struct attempt_src	 src;
	struct store_attempt	*mem = NULL, row;
	size_t			 nmem = 0, m = 0, n = 0, i;
	bool			 have;
	int			 c;

	if (st == NULL || max == 0)
		return 0;
	for (i = 0; i < st->natt; i++) {
		const struct mem_attempt *a = &st->att[i];

		if (ecid != 0 && a->ecid != ecid)
			continue;
		if (ecid == 0 && st->scope[0] != '\0' && strcmp(a->bench, st->scope) != 0)
			continue;
		if (mem == NULL && (mem = calloc(st->natt - i, sizeof(*mem))) == NULL)
			return 0;
		store_mem_to_attempt(st, a, &mem[nmem++]);
	}
	if (nmem > 1)
		qsort(mem, nmem, sizeof(*mem), cmp_newest);
	if (!src_open(st, ecid, max, &src))
		memset(&src, 0, sizeof(src));
	have = next_unheld(&src, &row, mem, nmem);
	while (n < max && (have || m < nmem)) {
		c = !have ? 1 : m == nmem ? -1 : cmp_newest(&row, &mem[m]);
		if (c < 0) {
			put(arg, n++, &row);
			have = next_unheld(&src, &row, mem, nmem);
		} else
			put(arg, n++, &mem[m++]);
	}
	sqlite3_finalize(src.s);
	sqlite3_finalize(src.fw);
	free(mem);
	return n;
}

static void
put_store_attempt(void *arg, size_t i, const struct store_attempt *sa)
{
	struct store_attempt	*out = arg;

	out[i] = *sa;
}

/* Attempts (with their device) newest first; ecid 0 = all. */
size_t
store_attempts_ex(struct store *st, uint64_t ecid, struct store_attempt *out, size_t max)
{
	return attempts_read(st, ecid, max, put_store_attempt, out);
}

static void
put_bench_attempt(void *arg, size_t i, const struct store_attempt *sa)
{
	struct bench_attempt	*out = arg;

	if (out != NULL)
		out[i] = sa->a;
}

/* Attempts newest first; ecid 0 = all; out may be NULL to count (up to max). */
size_t
store_attempts(struct store *st, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	return attempts_read(st, ecid, max, put_bench_attempt, out);
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

static void
put_triage_attempt(void *arg, size_t i, const struct store_attempt *sa)
{
	struct triage_attempt	*out = arg;

	store_triage_of(sa, &out[i]);
}

size_t
store_triage_attempts(struct store *st, uint64_t ecid_or_0, struct triage_attempt *out,
    size_t max)
{
	return attempts_read(st, ecid_or_0, max, put_triage_attempt, out);
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
			store_pg_fail(st);
		n = got > 0 ? (size_t)got : 0;
	} else if ((db = store_reader(st)) != NULL && sqlite3_prepare_v2(db,
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
			store_copy_clean(o->product_type, sizeof(o->product_type), store_col_text(s, 1));
			store_copy_clean(o->name, sizeof(o->name), store_col_text(s, 2));
			store_copy_clean(o->udid, sizeof(o->udid), store_col_text(s, 3));
			o->first_seen = (time_t)sqlite3_column_int64(s, 4);
			o->last_seen = (time_t)sqlite3_column_int64(s, 5);
			o->flagged = sqlite3_column_type(s, 8) != SQLITE_NULL;
			store_copy_clean(o->reason, sizeof(o->reason), store_col_text(s, 6));
			store_copy_clean(o->hint, sizeof(o->hint), store_col_text(s, 7));
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
	if ((m = store_mem_device(st, ecid, false)) != NULL && m->flag_known) {
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
			store_pg_fail(st);
		return yes > 0;
	}
	if ((db = store_reader(st)) == NULL || sqlite3_prepare_v2(db, "SELECT reason, hint FROM flags "
	    "WHERE ecid = ? AND cleared IS NULL ORDER BY created DESC, rowid DESC LIMIT 1",
	    -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ecid);
	if (sqlite3_step(s) == SQLITE_ROW) {
		yes = true;
		if (rlen > 0)
			store_copy_clean(reason, rlen, store_col_text(s, 0));
		if (hlen > 0)
			store_copy_clean(hint, hlen, store_col_text(s, 1));
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
	if ((m = store_mem_device(st, ecid, false)) != NULL && m->ignore_known)
		return m->d.ignored;
	if (st->pg != NULL) {
		int	yes = PG->connected(st->pg) ? PG->ignored(st->pg, ecid) : 0;

		if (yes < 0)
			store_pg_fail(st);
		return yes > 0;
	}
	if ((db = store_reader(st)) == NULL || sqlite3_prepare_v2(db,
	    "SELECT 1 FROM ignored WHERE ecid = ?", -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ecid);
	yes = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return yes;
}
