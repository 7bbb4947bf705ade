/*
 * mirror.h: a console's copy of a bench that runs elsewhere, kept from the
 * control socket's events (the snapshot on connect, then live events). It
 * is read through a benchview like the real bench; commands go back to the
 * bench as lines of the command language.
 */
#ifndef IDB_MIRROR_H
#define IDB_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench_attempt;
struct benchview;
struct mirror;
struct slot;

/* What a line changed. */
enum mirror_change {
	MIRROR_NONE = -3,	/* nothing shown (unknown or malformed lines are ignored) */
	MIRROR_ERROR = -2,	/* an error event: the text is in msg */
	MIRROR_ALL = -1		/* the header or every slot; >= 0: that slot */
};

/* send() writes one command line (with its newline) to the bench; 0 or -1. */
struct mirror *mirror_new(int (*send)(void *arg, const char *line), void *send_arg);
void mirror_free(struct mirror *);
/* Apply one event line. Returns a slot index or an enum mirror_change. */
int mirror_feed(struct mirror *, const char *line, size_t len, char *msg, size_t msglen);
/* The benchview a console reads. */
void mirror_view(struct mirror *, struct benchview *);
/* True once the bench's own event (sent first on connect) arrived. */
bool mirror_ready(const struct mirror *);
/*
 * What a console finds out by itself, not from the events: past attempts
 * and flag suggestions, read from the history file the bench named (db,
 * "" when it named none).
 */
struct mirror_lookup {
	size_t (*history)(void *arg, const char *db, uint64_t ecid, struct bench_attempt *out, size_t max);
	size_t (*flag_suggestions)(void *arg, const char *db, const struct slot *, char out[][128],
	    size_t max);
	void *arg;
};
void mirror_set_lookup(struct mirror *, const struct mirror_lookup *);
/* The log directory the bench said it uses ("" if not said). */
const char *mirror_log_dir(const struct mirror *);

#endif
