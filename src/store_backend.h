/*
 * store_backend.h: between the store (store*.c) and its PostgreSQL backend
 * (store_pg.c) only: the backend's entry points and what they exchange.
 */
#ifndef IDB_STORE_BACKEND_H
#define IDB_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

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

/* The PostgreSQL backend's entry points (store_pg.c). */
struct store_pg_ops {
	struct store_pg	*(*create)(const char *url);
	void		 (*destroy)(struct store_pg *);
	/* How long calls wait for the server: <0 for their answer, 0 never, >0 ms in all. */
	void		 (*wait)(struct store_pg *, int ms);
	/* With migrate, create or upgrade the schema. 0, -1 (err set), -2 newer schema. */
	int		 (*connect)(struct store_pg *, bool migrate, char *err, size_t errlen);
	void		 (*disconnect)(struct store_pg *);
	bool		 (*connected)(struct store_pg *);
	/*
	 * Insert or update an attempt by its uuid; sets *id to the row id. 0 done,
	 * -1 failed, 1 queued and not on the server yet (ask again later; the same
	 * for put_op, whose order is kept).
	 */
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
/* Defined by store_pg.c; a program linked without it has no PostgreSQL (store_pg_backend()). */
extern const struct store_pg_ops store_pg_ops;

/* Is the bench that wrote a row still running here? (a zombie is not) */
bool		 store_pid_alive(long pid);
/* A job state as the database spells it ("done", "failed", ...), and back. */
const char	*store_state_word(int state);
int		 store_state_from_word(const char *);

#endif
