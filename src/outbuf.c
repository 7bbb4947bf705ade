/*
 * outbuf.c: a bounded, non-blocking output queue on one fd (adapter, libev).
 *
 * The JSON-lines front end used to wait in select() on stdout when its
 * reader was slow: a reader that stopped reading froze the whole loop, and
 * with it the supervision of every restore. Here nothing waits: the fd is
 * non-blocking, what it cannot take is queued up to a limit, the rest is
 * dropped and counted, and the reader is told how much it missed once it
 * has caught up. Only whole records are queued or dropped, so a reader
 * never sees half a line.
 *
 * The control socket (server.c) queues each client's events here too; for
 * it a lost line means the client's picture is wrong, so it asks to be told
 * (fail_cb) and drops the client instead of counting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "outbuf.h"
#include "owner.h"

struct outbuf {
	ev_io			 w;
	struct ev_loop		*loop;
	int			 fd;
	int			 fl_before;	/* the fd's flags, restored at the end (-1: leave them) */
	bool			 sock;		/* send(MSG_NOSIGNAL): a reader gone raises no SIGPIPE */
	char			*buf;
	size_t			 off, len, cap, limit;	/* queued bytes are buf[off..len) */
	unsigned long		 dropped;
	bool			 broken;
	outbuf_drained_cb	 drained_cb;
	outbuf_fail_cb		 fail_cb;
	void			*arg;
};

static void	outbuf_write_cb(struct ev_loop *, ev_io *, int);

/* Queue for fd (made non-blocking) holding at most limit bytes; NULL on no memory. */
struct outbuf *
outbuf_new(struct ev_loop *loop, int fd, size_t limit, outbuf_drained_cb cb, void *arg)
{
	struct outbuf	*ob;
	struct stat	 st;
	int		 fl;

	if ((ob = calloc(1, sizeof(*ob))) == NULL)
		return NULL;
	ob->loop = loop;
	ob->fd = fd;
	ob->limit = limit;
	ob->drained_cb = cb;
	ob->arg = arg;
	ob->sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	/* a terminal's stdout may share its flags with the shell's: they are put back at the end */
	ob->fl_before = fl = fcntl(fd, F_GETFL);
	if (fl != -1 && (fl & O_NONBLOCK) == 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	else
		ob->fl_before = -1;	/* non-blocking already (or unknown): nothing to put back */
	ev_io_init(&ob->w, outbuf_write_cb, fd, EV_WRITE);
	return ob;
}

/* Be told (with outbuf_new's arg) of every lost line and of a broken fd. */
void
outbuf_set_fail_cb(struct outbuf *ob, outbuf_fail_cb cb)
{
	ob->fail_cb = cb;
}

static ssize_t
outbuf_write(struct outbuf *ob, const char *data, size_t len)
{
	ssize_t	n;

	do
		n = ob->sock ? send(ob->fd, data, len, MSG_NOSIGNAL) : write(ob->fd, data, len);
	while (n == -1 && errno == EINTR);
	return n;
}

static void
outbuf_watch(struct outbuf *ob, bool on)
{
	if (on && !ev_is_active(&ob->w)) {
		ev_io_start(ob->loop, &ob->w);
		ev_unref(ob->loop);	/* a reader that never reads does not keep the bench alive */
	} else if (!on && ev_is_active(&ob->w)) {
		ev_ref(ob->loop);
		ev_io_stop(ob->loop, &ob->w);
	}
}

/* Nothing more goes out: the queue and its memory are let go. */
static void
outbuf_discard(struct outbuf *ob)
{
	ob->broken = true;
	outbuf_watch(ob, false);
	free(ob->buf);
	ob->buf = NULL;
	ob->off = ob->len = ob->cap = 0;
}

/* Tell the owner; it may stop the queue, so nothing may touch ob after this. */
static int
outbuf_fail(struct outbuf *ob, enum outbuf_fail why)
{
	if (ob->fail_cb != NULL)
		ob->fail_cb(ob->arg, why);
	return -1;
}

/* Write from the queue until it is empty or the fd is full; -1 once broken. */
static int
outbuf_flush(struct outbuf *ob)
{
	ssize_t	n;

	while (ob->off < ob->len) {
		n = outbuf_write(ob, ob->buf + ob->off, ob->len - ob->off);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			outbuf_discard(ob);
			return -1;
		}
		ob->off += (size_t)n;
	}
	ob->off = ob->len = 0;
	/* a burst (a snapshot, a reader that lagged) grew the queue: give the memory back */
	if (ob->cap > OUTBUF_KEEP) {
		free(ob->buf);
		ob->buf = NULL;
		ob->cap = 0;
	}
	return 0;
}

static void
outbuf_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct outbuf	*ob = OWNER_OF(w, struct outbuf, w);
	unsigned long	 lost;

	(void)loop;
	(void)revents;
	if (outbuf_flush(ob) == -1) {
		(void)outbuf_fail(ob, OUTBUF_BROKEN);
		return;
	}
	if (ob->len > 0)
		return;
	outbuf_watch(ob, false);
	if (ob->dropped > 0) {
		lost = ob->dropped;
		ob->dropped = 0;
		if (ob->drained_cb != NULL)
			ob->drained_cb(ob->arg, lost);
	}
}

/* Queue one whole line (or record): 0 when written or queued, -1 when dropped. */
int
outbuf_put(struct outbuf *ob, const char *data, size_t len)
{
	ssize_t	n = 0;
	size_t	need;

	if (ob->broken)
		return -1;
	if (ob->len == 0) {
		/* nothing waits: straight to the fd, the usual case */
		n = outbuf_write(ob, data, len);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			outbuf_discard(ob);
			return outbuf_fail(ob, OUTBUF_BROKEN);
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return 0;
		data += n;
		len -= (size_t)n;
	} else if (ob->len - ob->off + len > ob->limit) {
		ob->dropped++;
		return outbuf_fail(ob, OUTBUF_FULL);
	}
	/* the rest of a line already begun is always kept: a reader never gets half a line */
	if (ob->off > 0 && ob->len + len > ob->cap) {
		memmove(ob->buf, ob->buf + ob->off, ob->len - ob->off);
		ob->len -= ob->off;
		ob->off = 0;
	}
	need = ob->len + len;
	if (need > ob->cap) {
		size_t	 cap = ob->cap ? ob->cap : 4096;
		char	*nb;

		while (cap < need)
			cap *= 2;
		if ((nb = realloc(ob->buf, cap)) == NULL) {
			/* half a line went out: the stream is no longer whole */
			if (n > 0)
				outbuf_discard(ob);
			ob->dropped++;
			return outbuf_fail(ob, OUTBUF_NOMEM);
		}
		ob->buf = nb;
		ob->cap = cap;
	}
	memcpy(ob->buf + ob->len, data, len);
	ob->len += len;
	outbuf_watch(ob, true);
	return 0;
}

/* True once a write failed for good or the queue was stopped: nothing more is written. */
bool
outbuf_broken(const struct outbuf *ob)
{
	return ob->broken;
}

/* Bytes of memory the queue holds now (queued lines and room for more). */
size_t
outbuf_allocated(const struct outbuf *ob)
{
	return ob->cap;
}

static void
outbuf_restore_flags(struct outbuf *ob)
{
	if (ob->fl_before != -1)
		(void)fcntl(ob->fd, F_SETFL, ob->fl_before);
	ob->fl_before = -1;
}

/* Write nothing more; the owner may close the fd now. Safe inside the queue's callbacks. */
void
outbuf_stop(struct outbuf *ob)
{
	if (ob == NULL)
		return;
	outbuf_discard(ob);
	ob->dropped = 0;
	/* the fd may be closed and its number reused: its flags are put back now or never */
	outbuf_restore_flags(ob);
}

static long
outbuf_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write what is queued, waiting at most timeout_ms for the reader, then free. */
void
outbuf_free(struct outbuf *ob, int timeout_ms)
{
	struct pollfd	pfd;
	long		deadline, left;

	if (ob == NULL)
		return;
	outbuf_watch(ob, false);
	deadline = outbuf_now_ms() + timeout_ms;
	/* what the fd takes at once goes out even with no time to wait */
	if (!ob->broken)
		(void)outbuf_flush(ob);
	while (!ob->broken && ob->len > ob->off && (left = deadline - outbuf_now_ms()) > 0) {
		pfd.fd = ob->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) <= 0 && errno != EINTR)
			break;
		(void)outbuf_flush(ob);
	}
	outbuf_restore_flags(ob);
	free(ob->buf);
	free(ob);
}
