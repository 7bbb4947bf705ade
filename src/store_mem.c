/*
 * store_mem.c: the session's side of the history: the attempts, devices
 * and the ordered queue of device/flag/ignore changes every write goes to
 * first, before the database.
 *
 * An attempt stays in memory while it runs, while a write of it is pending
 * (SQLite, the PostgreSQL worker's queue, the local spool) and, once the
 * database has it for good, among the newest STORE_MEM_KEEP of those; older
 * ones leave (store_mem_prune()), so a bench that runs for weeks holds what
 * it has not written, not every attempt of its life. Reads take the rest
 * from the database. The few kept cover a PostgreSQL answer fetched just
 * before the row was confirmed (store_pg.c answers from its last fetch) and
 * a server that goes away right after.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "array.h"
#include "store_int.h"
#include "text.h"

struct mem_device *
store_mem_device(struct store *st, uint64_t ecid, bool create)
{
	struct mem_device	*n;
	size_t			 i;

	for (i = 0; i < st->ndev; i++) {
		if (st->dev[i].d.ecid == ecid)
			return &st->dev[i];
	}
	if (!create)
		return NULL;
	if ((n = array_grow(st->dev, st->ndev, &st->devcap, 16, sizeof(*n))) == NULL)
		return NULL;
	st->dev = n;
	n = &st->dev[st->ndev++];
	memset(n, 0, sizeof(*n));
	n->d.ecid = ecid;
	return n;
}

struct store_op *
store_op_push(struct store *st, enum store_op_kind kind, uint64_t ecid, time_t t)
{
	struct store_op	*n;

	if ((n = array_grow(st->ops, st->nops, &st->opcap, 16, sizeof(*n))) == NULL)
		return NULL;
	st->ops = n;
	n = &st->ops[st->nops++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->ecid = ecid;
	n->t = t;
	store_make_uuid(n->uuid, sizeof(n->uuid));
	return n;
}

struct mem_attempt *
store_mem_attempt(struct store *st, long handle)
{
	size_t	i;

	for (i = 0; i < st->natt; i++) {
		if (st->att[i].handle == handle)
			return &st->att[i];
	}
	return NULL;
}

/*
 * Written for good and ended: the database has it, memory need not. With
 * SQLite its IPSW row too; PostgreSQL keeps no IPSW, so that is the
 * session's only while the row is held.
 */
static bool
mem_settled(const struct store *st, const struct mem_attempt *a)
{
	return a->dbid > 0 && !a->need_insert && !a->need_update && !a->spooled &&
	    a->state != JOB_RUNNING &&
	    (st->pg != NULL || a->fw_written ||
	    (a->fw_version[0] == '\0' && a->fw_build[0] == '\0'));
}

/* Drop the attempts the database has for good, but the newest STORE_MEM_KEEP. */
void
store_mem_prune(struct store *st)
{
	struct mem_attempt	*n;
	size_t			 i, keep = 0, settled = 0, drop;

	for (i = 0; i < st->natt; i++) {
		if (mem_settled(st, &st->att[i]))
			settled++;
	}
	if (settled <= STORE_MEM_KEEP)
		return;
	/* the oldest go first: att is in the order the attempts began */
	drop = settled - STORE_MEM_KEEP;
	for (i = 0; i < st->natt; i++) {
		if (drop > 0 && mem_settled(st, &st->att[i])) {
			drop--;
			continue;
		}
		if (keep != i)
			st->att[keep] = st->att[i];
		keep++;
	}
	st->natt = keep;
	/* give back what a long outage made it grow to */
	if (st->attcap > 4 * STORE_MEM_KEEP && st->natt < st->attcap / 4 &&
	    (n = realloc(st->att, st->attcap / 2 * sizeof(*n))) != NULL) {
		st->att = n;
		st->attcap /= 2;
	}
}

/* Attempts this session holds in memory. */
size_t
store_held(struct store *st)
{
	return st != NULL ? st->natt : 0;
}

void
store_copy_clean(char *dst, size_t len, const char *src)
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
		(void)store_pg_flush(st);
		return;
	}
	if (st->last_fail != 0 && time(NULL) - st->last_fail < 2)
		return;
	(void)store_sqlite_flush(st);
}

void
store_device_seen(struct store *st, uint64_t ecid, const char *product_type,
    const char *name, const char *udid, time_t now)
{
	struct mem_device	*m;
	struct store_op		*o;

	if (st == NULL || ecid == 0 || st->readonly)
		return;
	if ((m = store_mem_device(st, ecid, true)) != NULL) {
		if (product_type != NULL && *product_type != '\0')
			store_copy_clean(m->d.product_type, sizeof(m->d.product_type), product_type);
		if (name != NULL && *name != '\0')
			store_copy_clean(m->d.name, sizeof(m->d.name), name);
		if (udid != NULL && *udid != '\0')
			store_copy_clean(m->d.udid, sizeof(m->d.udid), udid);
		if (m->d.first_seen == 0 || now < m->d.first_seen)
			m->d.first_seen = now;
		if (now > m->d.last_seen)
			m->d.last_seen = now;
	}
	if ((o = store_op_push(st, STORE_OP_DEVICE, ecid, now)) != NULL) {
		store_copy_clean(o->s1, 32, product_type);
		store_copy_clean(o->s2, 64, name);
		store_copy_clean(o->s3, 48, udid);
	}
	write_soon(st);
}

/* Record a job start; returns the attempt id. */
long
store_attempt_begin(struct store *st, uint64_t ecid, const char *port, int action,
    time_t started, const char *log_path)
{
	struct mem_attempt	*a, *n;
	long			 handle;

	if (st == NULL || st->readonly)
		return 0;
	if ((n = array_grow(st->att, st->natt, &st->attcap, 32, sizeof(*n))) == NULL)
		return 0;
	st->att = n;
	a = &st->att[st->natt++];
	memset(a, 0, sizeof(*a));
	a->handle = st->next_temp--;
	store_make_uuid(a->uuid, sizeof(a->uuid));
	a->ecid = ecid;
	store_copy_clean(a->port, sizeof(a->port), port);
	a->action = action;
	a->started = started;
	a->state = JOB_RUNNING;
	a->code = ERR_NOCODE;
	a->step = STEP_NONE;
	store_copy_clean(a->log_path, sizeof(a->log_path), log_path);
	text_copy(a->bench, st->bench, sizeof(a->bench));
	a->need_insert = true;
	handle = a->handle;
	write_soon(st);		/* may prune older rows: a moves */
	if ((a = store_mem_attempt(st, handle)) == NULL)
		return 0;
	/* the row id when written at once (what history shows), else a negative stand-in */
	if (a->dbid > 0)
		a->handle = a->dbid;
	return a->handle;
}

/* Record the IPSW an attempt restores with (version, build, SHA1 or ""). */
void
store_attempt_firmware(struct store *st, long id, const char *version, const char *build,
    const char *sha1)
{
	struct mem_attempt	*a;

	if (st == NULL || st->readonly || id == 0 || (a = store_mem_attempt(st, id)) == NULL)
		return;
	store_copy_clean(a->fw_version, sizeof(a->fw_version), version ? version : "");
	store_copy_clean(a->fw_build, sizeof(a->fw_build), build ? build : "");
	store_copy_clean(a->fw_sha1, sizeof(a->fw_sha1), sha1 ? sha1 : "");
	a->fw_written = false;
	if (a->dbid > 0 && st->pg == NULL)
		store_write_attempt_fw(st, a);
}

/* Record how an attempt ended. */
void
store_attempt_end(struct store *st, long id, time_t ended, int state,
    const struct err_result *r)
{
	struct mem_attempt	*a;

	if (st == NULL || (a = store_mem_attempt(st, id)) == NULL)
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
	if ((m = store_mem_device(st, ecid, true)) != NULL) {
		m->flag_known = true;
		m->d.flagged = true;
		store_copy_clean(m->d.reason, sizeof(m->d.reason), reason);
		store_copy_clean(m->d.hint, sizeof(m->d.hint), hint);
		m->d.flagged_at = now;
	}
	if ((o = store_op_push(st, STORE_OP_FLAG, ecid, now)) != NULL) {
		store_copy_clean(o->s1, 128, reason);
		store_copy_clean(o->s2, 160, hint);
	}
	write_soon(st);
}

void
store_unflag(struct store *st, uint64_t ecid, time_t now)
{
	struct mem_device	*m;

	if (st == NULL || st->readonly)
		return;
	if ((m = store_mem_device(st, ecid, true)) != NULL) {
		m->flag_known = true;
		m->d.flagged = false;
		m->d.reason[0] = m->d.hint[0] = '\0';
	}
	(void)store_op_push(st, STORE_OP_UNFLAG, ecid, now);
	write_soon(st);
}

void
store_ignore(struct store *st, uint64_t ecid, bool on)
{
	struct mem_device	*m;
	struct store_op		*o;

	if (st == NULL || st->readonly)
		return;
	if ((m = store_mem_device(st, ecid, true)) != NULL) {
		m->ignore_known = true;
		m->d.ignored = on;
	}
	if ((o = store_op_push(st, STORE_OP_IGNORE, ecid, time(NULL))) != NULL)
		o->on = on;
	write_soon(st);
}
