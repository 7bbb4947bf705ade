/*
 * outbuf.h: a bounded, non-blocking output queue on one fd (adapter, libev).
 *
 * Lines are written at once when the reader keeps up; what the fd cannot
 * take now waits in memory and goes out when the fd is writable again. The
 * queue has a limit: a line that does not fit is dropped and counted, never
 * waited for, so a reader that stops reading never holds up the loop. When
 * the queue has drained after drops, drained_cb says how many were lost.
 */
#ifndef IDB_OUTBUF_H
#define IDB_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct outbuf;

/* Called from the loop once the queue is empty again after `dropped` lines were lost. */
typedef void (*outbuf_drained_cb)(void *arg, unsigned long dropped);

/* Queue for fd (made non-blocking) holding at most limit bytes; NULL on no memory. */
struct outbuf *outbuf_new(struct ev_loop *, int fd, size_t limit, outbuf_drained_cb, void *arg);
/*
 * Queue one whole line (or record): 0 when written or queued, -1 when
 * dropped (no room, or the fd is broken). Never blocks.
 */
int outbuf_put(struct outbuf *, const char *data, size_t len);
/* True once a write failed for good (EPIPE, EBADF, ...): nothing more is written. */
bool outbuf_broken(const struct outbuf *);
/* Write what is queued, waiting at most timeout_ms for the reader, then free. */
void outbuf_free(struct outbuf *, int timeout_ms);

#endif
