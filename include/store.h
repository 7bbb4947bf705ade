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
#include "errclass.h"
#include "slot.h"
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
/* Record the IPSW an attempt restores with (SQLite history; version, build, SHA1 or ""). */
void store_attempt_firmware(struct store *, long id, const char *version, const char *build,
    const char *sha1);
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
/* Attempts the session holds in memory: running, not yet written, and the newest few written. */
size_t store_held(struct store *);
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
/*
 * From now on never wait for the PostgreSQL server (call when the event loop
 * starts): writes are queued to store_pg's worker thread, reads answer from
 * what it fetched last. Before it, calls wait for their answers (start-up, tests).
 */
void store_set_async(struct store *);
#define STORE_PG_CLOSE_MS	2000	/* store_close() waits this long for the last writes */

#endif
