/*
 * outbuf.h: a bounded, non-blocking output queue on one fd (adapter, libev).
 *
 * Lines are written at once when the reader keeps up; what the fd cannot
 * take now waits in memory and goes out when the fd is writable again. The
 * queue has a limit: a line that does not fit is dropped and counted, never
 * waited for, so a reader that stops reading never holds up the loop. When
 * the queue has drained after drops, drained_cb says how many were lost.
 * A user for whom a lost line is fatal (a socket client: drop the client)
 * sets a fail_cb and stops the queue from it. The memory a burst needed is
 * given back once the queue is empty again.
 */
#ifndef IDB_OUTBUF_H
#define IDB_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct outbuf;

/* Memory a queue keeps once it has drained; more than this is freed. */
#define OUTBUF_KEEP	65536

/* Why a queue lost a line or its fd. */
enum outbuf_fail {
	OUTBUF_FULL,		/* the line did not fit under the limit: dropped */
	OUTBUF_NOMEM,		/* no memory to queue the line: dropped */
	OUTBUF_BROKEN,		/* a write failed for good (EPIPE, ECONNRESET, ...) */
};

/* Called from the loop once the queue is empty again after `dropped` lines were lost. */
typedef void (*outbuf_drained_cb)(void *arg, unsigned long dropped);
/*
 * Called when a line is lost or the fd breaks, from outbuf_put() or from the
 * loop; it may call outbuf_stop() on the queue, never outbuf_free().
 */
typedef void (*outbuf_fail_cb)(void *arg, enum outbuf_fail);

/* Queue for fd (made non-blocking) holding at most limit bytes; NULL on no memory. */
struct outbuf *outbuf_new(struct ev_loop *, int fd, size_t limit, outbuf_drained_cb, void *arg);
/* Be told (with outbuf_new's arg) of every lost line and of a broken fd. */
void outbuf_set_fail_cb(struct outbuf *, outbuf_fail_cb);
/*
 * Queue one whole line (or record): 0 when written or queued, -1 when
 * dropped (no room, or the fd is broken or stopped). Never blocks.
 */
int outbuf_put(struct outbuf *, const char *data, size_t len);
/* True once a write failed for good or the queue was stopped: nothing more is written. */
bool outbuf_broken(const struct outbuf *);
/* Bytes of memory the queue holds now (queued lines and room for more). */
size_t outbuf_allocated(const struct outbuf *);
/*
 * Write nothing more: what is queued is discarded and the fd is no longer
 * watched, so its owner may close it. Safe inside the queue's callbacks.
 */
void outbuf_stop(struct outbuf *);
/*
 * Write what is queued, waiting at most timeout_ms for the reader (0: what
 * the fd takes at once), then free. The fd is left open.
 */
void outbuf_free(struct outbuf *, int timeout_ms);

#endif
