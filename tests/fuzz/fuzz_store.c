/*
 * fuzz_store.c: what the bench reads back from its history store.
 *
 * Input: 24 bytes of numbers (ECID, state, class, step, code, percent,
 * pid, ...) then '\n'-separated strings: bench, port, log path, product
 * type, name, UDID, flag reason, hint. Each run
 *  1. writes them through the store API into a fresh database and reads
 *     everything back (store_attempts_ex, store_devices, store_is_flagged,
 *     store_triage_attempts);
 *  2. writes the same bytes raw into every text column with SQLite, as a
 *     damaged or hostile history file would hold them, and reads that back
 *     through store_open_readonly() and store_open() (crash recovery);
 *  3. gives what was read back to triage, its main consumer.
 * Every string read back must be clean text and every enum in range.
 */
#include <sys/stat.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "errclass.h"
#include "fuzz.h"
#include "restore_parse.h"
#include "slot.h"
#include "store.h"
#include "triage.h"

#define NFIELD	8
#define MAXREAD	8

static char	dbpath[512];

static void
remove_db(void)
{
	char	p[600];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", dbpath);
	unlink(p);
}

static char	dbdir[256];

/* Leave nothing in /dev/shm when the run ends. */
static void
cleanup(void)
{
	remove_db();
	rmdir(dbdir);
}

static void
setup(void)
{
	const char	*base;

	if (dbpath[0] != '\0')
		return;
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dbdir, sizeof(dbdir), "%s/idb-fuzz-store.XXXXXX", base);
	if (mkdtemp(dbdir) == NULL)
		abort();
	snprintf(dbpath, sizeof(dbpath), "%s/history.db", dbdir);
	atexit(cleanup);
}

static void
check_attempt(const struct bench_attempt *a)
{
	FUZZ_CLEAN("attempt port", a->port);
	FUZZ_CLEAN("attempt class", a->cls);
	FUZZ_CLEAN("attempt log_path", a->log_path);
	if ((unsigned)a->action > ACT_ERASE)
		fuzz_fail("attempt action %d", (int)a->action);
	if ((unsigned)a->state > JOB_CANCELLED)
		fuzz_fail("attempt state %d", (int)a->state);
	if (a->step < STEP_NONE || a->step >= STEP__COUNT)
		fuzz_fail("attempt step %d", a->step);
}

static void
check_triage(const struct triage_attempt *t, size_t n)
{
	struct triage_advice	 adv;
	struct triage_port	 port;
	size_t			 i;

	for (i = 0; i < n; i++) {
		FUZZ_CLEAN("triage port", t[i].port);
		if ((t[i].cls < 0 || t[i].cls >= EC__COUNT) &&
		    t[i].cls != TRIAGE_CLS_INTERRUPTED)
			fuzz_fail("triage class %d", t[i].cls);
	}
	if (n == 0)
		return;
	memset(&port, 0, sizeof(port));
	triage_port_assess(t[0].port, t, n, &port);
	FUZZ_TERMINATED("triage_port", port.port);
	memset(&adv, 0, sizeof(adv));
	if (triage_device(t, n, "iPhone9,1", &port, &adv) == 1) {
		FUZZ_CLEAN("advice rule", adv.rule);
		FUZZ_CLEAN("advice text", adv.text);
	}
}

/* Everything the store can give back, checked. */
static void
read_back(struct store *st, uint64_t ecid)
{
	static struct store_attempt	sa[MAXREAD];
	static struct store_device	sd[MAXREAD];
	static struct triage_attempt	ta[MAXREAD];
	struct bench_attempt		ba[MAXREAD];
	char				reason[128], hint[160];
	size_t				n, i;

	n = store_attempts_ex(st, 0, sa, MAXREAD);
	for (i = 0; i < n; i++) {
		check_attempt(&sa[i].a);
		FUZZ_CLEAN("attempt bench", sa[i].bench);
	}
	n = store_attempts(st, ecid, ba, MAXREAD);
	for (i = 0; i < n; i++)
		check_attempt(&ba[i]);
	n = store_devices(st, sd, MAXREAD);
	for (i = 0; i < n; i++) {
		FUZZ_CLEAN("device product_type", sd[i].product_type);
		FUZZ_CLEAN("device name", sd[i].name);
		FUZZ_CLEAN("device udid", sd[i].udid);
		FUZZ_CLEAN("device reason", sd[i].reason);
		FUZZ_CLEAN("device hint", sd[i].hint);
	}
	memset(reason, 'x', sizeof(reason));
	memset(hint, 'x', sizeof(hint));
	if (store_is_flagged(st, ecid, reason, sizeof(reason), hint, sizeof(hint))) {
		FUZZ_CLEAN("flag reason", reason);
		FUZZ_CLEAN("flag hint", hint);
	}
	(void)store_is_ignored(st, ecid);
	n = store_triage_attempts(st, 0, ta, MAXREAD);
	check_triage(ta, n);
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Raw bytes into every text column, as a hostile history file holds them. */
static void
write_raw(uint64_t ecid, const uint8_t *num, char *const f[NFIELD],
    const size_t flen[NFIELD])
{
	static const char	*sql[] = {
		"INSERT INTO attempts (ecid, port, action, started, ended, state, class, code, "
		    "step, percent, log_path, bench, pid) VALUES "
		    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
		"INSERT OR REPLACE INTO devices (ecid, product_type, name, first_seen, last_seen, "
		    "udid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		"INSERT INTO flags (ecid, reason, hint, created, cleared) VALUES "
		    "(?1, ?2, ?3, ?4, NULL)",
		"INSERT OR REPLACE INTO ignored (ecid, since) VALUES (?1, ?2)",
	};
	sqlite3		*db;
	sqlite3_stmt	*s;
	double		 pct;
	size_t		 i;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close_v2(db);
		return;
	}
	sqlite3_busy_timeout(db, 1000);
	memcpy(&pct, num + 8, sizeof(pct));	/* any double, NaN and Inf too */
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &s, NULL) != SQLITE_OK)
			fuzz_fail("cannot prepare %s: %s", sql[i], sqlite3_errmsg(db));
		sqlite3_bind_int64(s, 1, (sqlite3_int64)ecid);
		switch (i) {
		case 0:
			sqlite3_bind_text(s, 2, f[1], (int)flen[1], SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 3, f[3], (int)flen[3], SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)get_u64(num + 16));
			sqlite3_bind_int64(s, 5, (sqlite3_int64)get_u64(num));
			sqlite3_bind_text(s, 6, f[4], (int)flen[4], SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 7, f[0], (int)flen[0], SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 8, (sqlite3_int64)get_u64(num + 8));
			sqlite3_bind_text(s, 9, f[5], (int)flen[5], SQLITE_TRANSIENT);
			sqlite3_bind_double(s, 10, pct);
			sqlite3_bind_text(s, 11, f[2], (int)flen[2], SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 12, f[0], (int)flen[0], SQLITE_TRANSIENT);
			/* a live pid (ours) or whatever the bytes say */
			sqlite3_bind_int64(s, 13, (num[7] & 1) ? (sqlite3_int64)getpid() :
			    (sqlite3_int64)get_u64(num + 16));
			break;
		case 1:
			sqlite3_bind_text(s, 2, f[3], (int)flen[3], SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 3, f[4], (int)flen[4], SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)get_u64(num + 8));
			sqlite3_bind_int64(s, 5, (sqlite3_int64)get_u64(num + 16));
			sqlite3_bind_text(s, 6, f[5], (int)flen[5], SQLITE_TRANSIENT);
			break;
		case 2:
			sqlite3_bind_text(s, 2, f[6], (int)flen[6], SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 3, f[7], (int)flen[7], SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)get_u64(num + 16));
			break;
		case 3:
			sqlite3_bind_int64(s, 2, (sqlite3_int64)get_u64(num + 16));
			break;
		}
		(void)sqlite3_step(s);
		sqlite3_finalize(s);
	}
	sqlite3_close_v2(db);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t			 num[24];
	char			*f[NFIELD], err[256];
	size_t			 flen[NFIELD], off, end, i;
	struct store		*st;
	struct err_result	 r;
	uint64_t		 ecid;
	time_t			 t0;
	long			 id;
	int			 state;

	setup();
	memset(num, 0, sizeof(num));
	memcpy(num, data, size < sizeof(num) ? size : sizeof(num));
	off = size < sizeof(num) ? size : sizeof(num);
	for (i = 0; i < NFIELD; i++) {
		for (end = off; end < size && data[end] != '\n'; end++)
			;
		/* raw fields keep their NULs; the API sees them as C strings */
		f[i] = fuzz_strdup(data + off, end - off);
		flen[i] = end - off;
		off = end < size ? end + 1 : end;
	}
	ecid = get_u64(num) | 1;	/* 0 means "all" to the readers */
	t0 = (time_t)(get_u64(num + 16) % 4000000000ULL);

	/* 1: through the API */
	remove_db();
	if ((st = store_open(dbpath, err, sizeof(err))) == NULL)
		abort();
	FUZZ_TERMINATED("store_open err", err);
	store_set_bench(st, f[0]);
	store_device_seen(st, ecid, f[3], f[4], f[5], t0);
	id = store_attempt_begin(st, ecid, f[1], num[8] & 1, t0, f[2]);
	memset(&r, 0, sizeof(r));
	r.cls = (enum err_class)(num[9] % EC__COUNT);
	r.code = (int)(int16_t)(num[10] << 8 | num[11]);
	r.step = (int)(num[12] % (STEP__COUNT + 1)) - 1;	/* STEP_NONE too */
	r.percent = num[13] * 0.5;
	state = JOB_DONE + num[14] % 3;		/* the ends the API takes */
	store_attempt_end(st, id, t0 + num[15], state, (num[15] & 0x80) ? NULL : &r);
	if (num[16] & 1)
		store_flag(st, ecid, f[6], f[7], t0);
	if (num[16] & 2)
		store_ignore(st, ecid, true);
	read_back(st, ecid);
	store_close(st);

	/* 2: raw bytes, read back by a report command and by the next bench */
	write_raw(ecid, num, f, flen);
	if ((st = store_open_readonly(dbpath, err, sizeof(err))) != NULL) {
		read_back(st, ecid);
		store_close(st);
	}
	if ((st = store_open(dbpath, err, sizeof(err))) != NULL) {
		FUZZ_TERMINATED("store_open err", err);
		if (store_problem(st) != NULL)
			fuzz_check_clean("store_problem", store_problem(st),
			    strlen(store_problem(st)) + 1);
		read_back(st, ecid);
		store_close(st);
	}
	remove_db();
	for (i = 0; i < NFIELD; i++)
		free(f[i]);
	return 0;
}
