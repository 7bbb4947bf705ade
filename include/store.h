/*
 * store.h: the history store (SQLite in WAL mode; adapter, the only user of sqlite3).
 *
 * Devices, attempts, flags and the ignore list of DESIGN.md, plus a
 * schema_version table. A database that is locked, read-only, full or
 * corrupt never stops the bench: the problem is reported once through
 * store_problem(), writes wait in memory until store_flush() can place them,
 * and reads fall back to what is in memory.
 */
#ifndef IDB_STORE_H
#define IDB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "bench.h"
#include "errclass.h"
#include "triage.h"

#define STORE_SCHEMA_VERSION	2
#define STORE_BUSY_TIMEOUT_MS	50

struct store;

/* A device as the history knows it, with its open flag if any. */
struct store_device {
	uint64_t	ecid;
	char		product_type[32];
	char		name[64];
	char		udid[48];
	time_t		first_seen, last_seen;
	bool		flagged;
	char		reason[128];
	char		hint[160];
	time_t		flagged_at;
	bool		ignored;
};

/* One attempt with the device it belongs to (history and export). */
struct store_attempt {
	uint64_t		ecid;
	char			bench[64];
	struct bench_attempt	a;
};

/*
 * Open (creating it, its directory 0700 and the file 0600) the history at path.
 * Never NULL unless out of memory: a store that cannot open works in
 * memory-only mode, with store_problem() saying why. Rows left open by a
 * crashed bench are closed as "interrupted".
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/*
 * Open an existing history only to read it (the report commands): no
 * schema changes, no crash recovery. NULL with err set if it cannot be read.
 */
struct store *store_open_readonly(const char *path, char *err, size_t errlen);
void store_close(struct store *);
/* One-line problem to show once ("history database is read-only: ..."), or NULL. */
const char *store_problem(struct store *);
/* Rows closed as interrupted at open. */
int store_interrupted_count(struct store *);
/* Bench name recorded with every new attempt. */
void store_set_bench(struct store *, const char *name);
/* $XDG_DATA_HOME/idevicebench/history.db (~/.local/share/...); NULL if no home is known. */
const char *store_default_path(char *buf, size_t len);

void store_device_seen(struct store *, uint64_t ecid, const char *product_type,
    const char *name, const char *udid, time_t now);
/* Record a job start; returns the attempt id to pass to store_attempt_end(). */
long store_attempt_begin(struct store *, uint64_t ecid, const char *port, int action,
    time_t started, const char *log_path);
/* Record how it ended (state: JOB_DONE / JOB_FAILED / JOB_CANCELLED; r may be NULL). */
void store_attempt_end(struct store *, long id, time_t ended, int state,
    const struct err_result *r);
void store_flag(struct store *, uint64_t ecid, const char *reason, const char *hint, time_t now);
void store_unflag(struct store *, uint64_t ecid, time_t now);
/* Persisted ignore list. */
void store_ignore(struct store *, uint64_t ecid, bool on);
bool store_is_flagged(struct store *, uint64_t ecid, char *reason, size_t rlen,
    char *hint, size_t hlen);
bool store_is_ignored(struct store *, uint64_t ecid);
/* Attempts newest first; ecid 0 = all; out may be NULL to count them (up to max). */
size_t store_attempts(struct store *, uint64_t ecid, struct bench_attempt *out, size_t max);
/* The same, with the device of each attempt. */
size_t store_attempts_ex(struct store *, uint64_t ecid, struct store_attempt *out, size_t max);
/* One attempt in triage's form. */
void store_triage_of(const struct store_attempt *, struct triage_attempt *out);
/* Attempts newest first in triage's form; ecid 0 = all. */
size_t store_triage_attempts(struct store *, uint64_t ecid_or_0, struct triage_attempt *out,
    size_t max);
/* Every device with attempts, a record or a flag, by ECID. */
size_t store_devices(struct store *, struct store_device *out, size_t max);
/* Retry writes kept in memory (call every few seconds); returns how many are still pending. */
size_t store_flush(struct store *);

/*
 * Shared history on PostgreSQL (libpq, src/store_pg.c). store_open() and
 * store_open_readonly() take either an SQLite path or a postgresql:// URL;
 * the functions above behave the same with both. With PostgreSQL, writes
 * that cannot reach the server are also kept in a spool inside the local
 * SQLite file (store_default_path()) and replayed, each exactly once, when
 * the server is back.
 */
#define STORE_PG_SCHEMA_VERSION	1
#define STORE_PG_BACKOFF_MAX	15	/* seconds between reconnect attempts, at most */

/* Is db a PostgreSQL URL (postgresql:// or postgres://) rather than a path? */
bool store_is_url(const char *db);
/* db fit to print: any password in a URL is replaced by "***". */
const char *store_redact(const char *db, char *buf, size_t len);
/* "sqlite" or "postgresql". */
const char *store_backend(struct store *);
/* Attempts of which bench the all-devices reads return (ports); NULL or "all": every bench. */
void store_set_scope(struct store *, const char *bench);
/* Writes waiting in the local spool for the server (0 with SQLite). */
size_t store_spooled(struct store *);

/* ---- between store.c and store_pg.c only ---- */
/* Is the bench that wrote a row still running here? (a zombie is not) */
bool store_pid_alive(long pid);
enum store_op_kind { STORE_OP_DEVICE, STORE_OP_FLAG, STORE_OP_UNFLAG, STORE_OP_IGNORE };

/* A device/flag/ignore change on its way to the database. */
struct store_op {
	enum store_op_kind	kind;
	uint64_t		ecid;
	char			s1[160], s2[160], s3[64];	/* type,name,udid | reason,hint */
	time_t			t;
	bool			on;
	char			uuid[40];
	bool			spooled;
};

struct store_pg;
const char	*store_state_word(int state);
int		 store_state_from_word(const char *);

/* The PostgreSQL backend's entry points (store_pg.c). */
struct store_pg_ops {
	struct store_pg	*(*create)(const char *url);
	void		 (*destroy)(struct store_pg *);
	/* With migrate, create or upgrade the schema. 0, -1 (err set), -2 newer schema. */
	int		 (*connect)(struct store_pg *, bool migrate, char *err, size_t errlen);
	void		 (*disconnect)(struct store_pg *);
	bool		 (*connected)(struct store_pg *);
	/* Insert or update an attempt by its uuid; sets *id to the row id. */
	int		 (*put_attempt)(struct store_pg *, const struct store_attempt *,
			    const char *uuid, long pid, long *id);
	int		 (*put_op)(struct store_pg *, const struct store_op *, const char *bench);
	/* Close open rows of this bench whose process is gone; adds to *n. */
	int		 (*recover)(struct store_pg *, const char *bench, time_t now, int *n);
	/* Attempts newest first (ecid 0 = all, of bench scope if not ""); -1 on failure. */
	long		 (*attempts)(struct store_pg *, uint64_t ecid, const char *scope,
			    struct store_attempt *out, size_t max);
	long		 (*devices)(struct store_pg *, struct store_device *out, size_t max);
	/* 1 yes, 0 no, -1 failure. */
	int		 (*flagged)(struct store_pg *, uint64_t ecid, char *reason, size_t rlen,
			    char *hint, size_t hlen);
	int		 (*ignored)(struct store_pg *, uint64_t ecid);
};
/* Defined by store_pg.c; a program linked without it has no PostgreSQL (store.c asks). */
extern const struct store_pg_ops store_pg_ops;

#endif
