/*
 * store_int.h: between the history store's files (store*.c) only. The
 * store's state, the session's records, and the backend interface that
 * store_pg.c implements. Callers see struct store through store.h.
 */
#ifndef IDB_STORE_INT_H
#define IDB_STORE_INT_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"

#include "store_backend.h"

/* The PostgreSQL backend, NULL in a program linked without store_pg.o (the fuzzers). */
const struct store_pg_ops *store_pg_backend(void);
#define PG	(store_pg_backend())

enum prob {
	PROB_NONE = 0,
	PROB_LOCKED,
	PROB_READONLY,
	PROB_FULL,
	PROB_CORRUPT,
	PROB_OTHER
};

/* Attempts written for good and ended that memory keeps besides the pending and running. */
#define STORE_MEM_KEEP	64

/* An attempt begun in this session. */
struct mem_attempt {
	long		handle;		/* id handed to the caller */
	long		dbid;		/* row id, 0 until written */
	uint64_t	ecid;
	char		port[32];
	int		action;
	time_t		started, ended;
	int		state;		/* JOB_RUNNING until ended */
	char		cls[24];	/* "" when none */
	int		code;
	int		step;
	double		percent;
	char		log_path[512];
	char		bench[64];
	bool		need_insert, need_update;
	char		uuid[40];	/* idempotency key for PostgreSQL */
	bool		spooled;	/* this version is in the local spool */
	char		fw_version[32];	/* the IPSW it restored with, "" unknown */
	char		fw_build[32];
	char		fw_sha1[41];
	bool		fw_written;	/* its attempt_firmware row is in SQLite */
};

/* A device known in this session, and which of its facts memory decides. */
struct mem_device {
	struct store_device	d;
	bool			flag_known;	/* flagged/unflagged this session */
	bool			ignore_known;
};

struct store {
	char			 path[PATH_MAX];
	sqlite3			*db;
	bool			 ready;		/* schema checked, writable */
	bool			 readonly;	/* opened by a report command */
	bool			 recovered;	/* crash recovery done */
	int			 interrupted;
	enum prob		 prob;
	char			 problem[320];
	char			 bench[64];
	time_t			 last_fail;
	long			 next_temp;

	struct mem_attempt	*att;
	size_t			 natt, attcap;
	struct store_op		*ops;
	size_t			 nops, opcap;
	struct mem_device	*dev;
	size_t			 ndev, devcap;
	struct store_attempt	*rows;		/* PostgreSQL reads copy the answer here */
	size_t			 rowcap;

	/* PostgreSQL: the server, and a local spool for what cannot reach it */
	struct store_pg		*pg;
	char			 shown[256];	/* the URL without its password */
	sqlite3			*spool;
	char			 spool_path[PATH_MAX];
	time_t			 next_try;
	int			 backoff;
	char			 recovered_for[64];
	char			 scope[64];	/* "" = every bench */
};

/* store.c */
enum prob	store_prob_of(int rc);
/* Remember why the database is not being written; shown once by the caller. */
void	store_set_problem(struct store *st, enum prob p, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A failed write: say why in words a technician understands. */
void	store_note_failure(struct store *st, int rc);
/* A random (version 4) UUID: the key that makes every replay idempotent. */
void	store_make_uuid(char *buf, size_t len);

/* store_schema.c */
int	store_exec_sql(sqlite3 *db, const char *sql);
int	store_schema_version(sqlite3 *db, int *version);
int	store_run_list(sqlite3 *db, const char **list);
void	store_db_close(struct store *st);
bool	store_db_init(struct store *st, int depth);
/* A handle for reading only, falling back to immutable mode on a read-only disk. */
sqlite3	*store_open_for_reading(const char *path);
/* The handle reads go through: the writable one, or a read-only one. */
sqlite3	*store_reader(struct store *st);

/* store_mem.c */
struct mem_device	*store_mem_device(struct store *st, uint64_t ecid, bool create);
struct store_op	*store_op_push(struct store *st, enum store_op_kind kind, uint64_t ecid, time_t t);
struct mem_attempt	*store_mem_attempt(struct store *st, long handle);
void	store_copy_clean(char *dst, size_t len, const char *src);
/* Drop the attempts the database has for good, but the newest STORE_MEM_KEEP. */
void	store_mem_prune(struct store *st);

/* store_write.c */
size_t	store_pending(const struct store *st);
size_t	store_sqlite_flush(struct store *st);

/* store_read.c */
const char	*store_col_text(sqlite3_stmt *s, int i);
void	store_mem_to_attempt(const struct store *st, const struct mem_attempt *m,
    struct store_attempt *o);

/* store_spool.c */
/* A query failed on a connection we had: drop it and come back later. */
void	store_pg_fail(struct store *st);
void	store_pg_recover(struct store *st);
/* Open the shared history at url, with the local spool. */
bool	store_pg_open(struct store *st, const char *url);
/* Place pending writes on the server when it is there; spool the rest. */
size_t	store_pg_flush(struct store *st);

/* The attempt_firmware row of a written attempt (best effort; SQLite). */
void store_write_attempt_fw(struct store *, struct mem_attempt *);

#endif
