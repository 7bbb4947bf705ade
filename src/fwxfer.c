/*
 * fwxfer.c: the download engine (adapter: libcurl, OpenSSL, libev).
 *
 * libcurl's multi interface is driven by a libev loop with the socket
 * action pattern: curl tells us which sockets to watch (SOCKETFUNCTION) and
 * when to wake it (TIMERFUNCTION); ev_io and ev_timer call
 * curl_multi_socket_action back. No thread per file, no blocking call, and
 * a bench of sixteen phones of one model fetches its IPSW once. The loop
 * is the network thread's (fwdl.c), not the console's.
 *
 * Writing and hashing run on a worker thread, not on the loop: SHA1 +
 * SHA256 cost more CPU than the transfer itself. The write callback copies
 * what curl hands it into 512 kB buffers and queues them, in order, with
 * the other file operations (truncate, rehash after a restart, final
 * digest and fsync); at most FWDL_BUFS buffers are in flight, and when none
 * is free the transfer pauses (CURL_WRITEFUNC_PAUSE) until the worker gives
 * one back (ev_async). The worker writes each buffer and takes its SHA1
 * while a helper thread takes its SHA256. While a transfer has work queued
 * only the worker touches its file and hash contexts; the loop waits for
 * the queue to drain before it verifies, retries, or frees the transfer.
 *
 * A file streams into dir/.partial/NAME and is hashed as it arrives. After
 * a drop, or at the next start, the transfer resumes with Range from what
 * is on disk (rehashed first); a server that answers 200 to a Range request
 * (or 206 from byte 0) restarts it from zero, and one whose 206 starts
 * elsewhere than asked is not trusted with ranges: the partial file is
 * emptied and the transfer asks again for the whole file. Only a file
 * whose size and SHA1 (and SHA256 when the index gives one) match is
 * renamed into the library, so a restore never sees a partial or corrupt
 * IPSW, and a file a job uses is never written to: rename() replaces the
 * name, not the open file.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>
#include <openssl/evp.h>

#include "fwdl.h"
#include "fwdl_int.h"
#include "fwlib.h"
#include "owner.h"
#include "text.h"

#define FWDL_REPORT_SECS	0.5
#define FWDL_RETRY_SECS		1.0
#define FWDL_BUF_SIZE		(512u << 10)	/* curl's own buffer size (easy_new) */
#define FWDL_BUFS		32	/* data buffers in flight, all transfers: 16 MiB */
#define FWDL_SLICE		(128u << 10)	/* written and hashed while in the cache */
#define FWDL_WRITEBACK		(8u << 20)	/* start writing to disk every 8 MiB */

struct fwdl_eng;

struct sockw {
	ev_io		 io;
	struct fwdl_eng	*m;
	curl_socket_t	 fd;
	int		 events;	/* what curl wants watched */
	bool		 held;		/* its transfer is paused: not watched */
	struct sockw	*next_live;
	struct sockw	*next_dead;
};

enum xfer_kind { XFER_INDEX, XFER_FILE };

/* Work for the hashing worker, done in the order queued. */
enum hop { HOP_DATA, HOP_RESET, HOP_REHASH, HOP_FINISH };

struct hjob {
	struct hjob		*next;
	struct xfer		*x;
	enum hop		 op;
	char			*buf;		/* HOP_DATA */
	size_t			 len, cap;
	unsigned long long	 off;		/* DATA: file offset; REHASH: bytes to hash, then what is kept */
	int			 err;		/* errno on the worker's side */
	char			 sha1[41], sha256[65];	/* HOP_FINISH */
};

struct xfer {
	struct fwdl_eng		*m;
	enum xfer_kind		 kind;
	CURL			*easy;
	struct xfer		*next;
	char			 curl_err[CURL_ERROR_SIZE];

	/* index */
	char			 identifier[32];
	fwdl_index_cb		 icb;
	void			*iarg;
	char			*buf;
	size_t			 len;
	bool			 too_big;

	/* file */
	struct fwdl_status	 st;
	struct fw_index_fw	 fw;
	char			 name[256];
	char			 part[PATH_MAX];
	char			 final[PATH_MAX];
	int			 fd;
	EVP_MD_CTX		*h1, *h256;
	unsigned long long	 offset;	/* where this request started */
	bool			 checked;	/* response code looked at */
	bool			 hash_valid;	/* h1/h256 cover exactly st.bytes of the file */
	int			 write_errno;
	long long		 bad_range;	/* EPROTO: where the server's 206 started instead */
	int			 tries;
	double			 last_report, rate_at;
	unsigned long long	 rate_bytes;
	ev_timer		 retry;
	bool			 finished;

	/* with the worker */
	struct hjob		*cur;		/* buffer being filled */
	unsigned long long	 wpos;		/* file offset of the next byte received */
	int			 pending;	/* jobs queued or running */
	int			 hfail;		/* worker side: a write failed, later data is dropped */
	unsigned long long	 flushed;	/* worker side: writeback asked for up to here */
	bool			 paused;	/* CURL_WRITEFUNC_PAUSE: waiting for a buffer */
	curl_socket_t		 held_fd;	/* its socket, unwatched meanwhile */
	bool			 done_wait;	/* the transfer ended: file_done once pending is 0 */
	CURLcode		 done_rc;
};

struct fwdl_eng {
	struct ev_loop		*loop;
	CURLM			*multi;
	ev_timer		 timer;
	ev_check		 reap;
	char			 dir[PATH_MAX];
	char			 index_url[512];
	struct fwdl_options	 opt;
	fwdl_eng_status_cb	 cb;
	void			*arg;
	struct xfer		*xfers;
	struct xfer		*dead;
	struct sockw		*dead_socks;
	struct sockw		*socks;		/* live */
	bool			 in_dispatch;

	pthread_t		 th;
	bool			 th_up;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;

	/* the SHA256 helper: one data buffer at a time, handed over by the worker */
	pthread_t		 th2;
	bool			 th2_up;
	pthread_mutex_t		 mu2;
	pthread_cond_t		 cv2;
	struct hjob		*h2_job;	/* set by the worker, cleared by the helper when hashed */
	bool			 h2_stop;
	struct hjob		*q, **q_tail;		/* to the worker */
	struct hjob		*done, **done_tail;	/* back to the loop */
	bool			 stop;
	ev_async		 async;
	struct hjob		*free_bufs;
	int			 nbufs;			/* data buffers allocated */
	int			 max_bufs;		/* FWDL_BUFS, or IDB_FWDL_BUFS (tests) */
	int			 nfree;			/* on free_bufs */
	int			 inflight;		/* jobs not back yet: they hold a loop ref */

};

static void check_done(struct fwdl_eng *);
static int file_begin(struct xfer *, char *err, size_t errlen);
static int file_begin_hashed(struct xfer *, char *err, size_t errlen);
static void file_verified(struct xfer *, struct hjob *);
static void file_done(struct xfer *, CURLcode);
static void file_fail(struct xfer *, bool, const char *, ...) __attribute__((format(printf, 3, 4)));

const char *
fwdl_state_name(enum fwdl_state s)
{
	switch (s) {
	case FWDL_QUEUED: return ("queued");
	case FWDL_DOWNLOADING: return ("downloading");
	case FWDL_VERIFYING: return ("verifying");
	case FWDL_READY: return ("ready");
	case FWDL_FAILED: return ("failed");
	}
	return ("failed");
}

/* ---- hashing --------------------------------------------------------------- */

static void
hex(const unsigned char *d, unsigned n, char *out)
{
	static const char x[] = "0123456789abcdef";
	unsigned	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Hash the first len bytes of fd into the contexts (a resumed transfer). */
static int
hash_fd(int fd, unsigned long long len, EVP_MD_CTX *h1, EVP_MD_CTX *h256)
{
	const size_t		 bufsz = 1 << 20;
	char			*buf;
	unsigned long long	 done = 0;
	ssize_t			 r;

	/* one buffer per call: the worker, the CLI and the tests hash at once */
	if ((buf = malloc(bufsz)) == NULL)
		return (-1);
	while (done < len) {
		size_t want = len - done < bufsz ? (size_t)(len - done) : bufsz;

		r = pread(fd, buf, want, (off_t)done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return (-1);
		}
		EVP_DigestUpdate(h1, buf, (size_t)r);
		if (h256 != NULL)
			EVP_DigestUpdate(h256, buf, (size_t)r);
		done += (unsigned long long)r;
	}
	free(buf);
	return (0);
}

/* SHA1 (and SHA256 when wanted) of a file, lower-case hex. Blocking. */
int
fwdl_hash_file(const char *path, char sha1[41], char sha256[65], char *err, size_t errlen)
{
	EVP_MD_CTX	*h1 = EVP_MD_CTX_new(), *h256 = sha256 ? EVP_MD_CTX_new() : NULL;
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned	 dl;
	struct stat	 st;
	int		 fd, rc = -1;

	if (h1 == NULL || (sha256 != NULL && h256 == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	EVP_DigestInit_ex(h1, EVP_sha1(), NULL);
	if (h256)
		EVP_DigestInit_ex(h256, EVP_sha256(), NULL);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    hash_fd(fd, (unsigned long long)st.st_size, h1, h256) != 0) {
		snprintf(err, errlen, "cannot read the file");
		close(fd);
		goto out;
	}
	close(fd);
	EVP_DigestFinal_ex(h1, d, &dl);
	hex(d, dl, sha1);
	if (h256) {
		EVP_DigestFinal_ex(h256, d, &dl);
		hex(d, dl, sha256);
	}
	rc = 0;
out:
	EVP_MD_CTX_free(h1);
	EVP_MD_CTX_free(h256);
	return (rc);
}

/* ---- the hashing worker ------------------------------------------------------ */

static void
hjob_run(struct hjob *j)
{
	struct xfer		*x = j->x;
	struct fwdl_eng		*m = x->m;
	unsigned char		 d[EVP_MAX_MD_SIZE];
	unsigned		 dl;
	size_t			 done = 0;
	ssize_t			 w;
	bool			 two;

	switch (j->op) {
	case HOP_DATA:
		if (x->hfail != 0) {
			j->err = x->hfail;
			return;
		}
		/* SHA256 of the whole buffer on the helper, meanwhile (it only reads the buffer) */
		two = x->h256 != NULL && m->th2_up;
		if (two) {
			pthread_mutex_lock(&m->mu2);
			m->h2_job = j;
			pthread_cond_signal(&m->cv2);
			pthread_mutex_unlock(&m->mu2);
		}
		/* slice by slice: write, then SHA1 reads it from the cache, not memory */
		while (done < j->len) {
			size_t	 n = j->len - done < FWDL_SLICE ? j->len - done : FWDL_SLICE, put = 0;

			while (put < n) {
				w = pwrite(x->fd, j->buf + done + put, n - put, (off_t)(j->off + done + put));
				if (w == -1 && errno == EINTR)
					continue;
				if (w <= 0) {
					/* part of this piece may be on disk, unhashed */
					x->hfail = j->err = w == 0 ? ENOSPC : errno;
					goto join;
				}
				put += (size_t)w;
			}
			EVP_DigestUpdate(x->h1, j->buf + done, n);
			if (x->h256 != NULL && !two)
				EVP_DigestUpdate(x->h256, j->buf + done, n);
			done += n;
		}
		/*
		 * Start writing to disk now: the kernel would wait for 10% of
		 * memory to be dirty (GBs), and the fsync before the rename then
		 * waited for the whole file (0.5 s per 512 MiB here).
		 */
		if (j->off + j->len >= x->flushed + FWDL_WRITEBACK) {
			(void)sync_file_range(x->fd, (off_t)x->flushed, (off_t)(j->off + j->len - x->flushed),
			    SYNC_FILE_RANGE_WRITE);
			x->flushed = j->off + j->len;
		}
join:
		/* the buffer goes back to the loop only when both digests are done with it */
		if (two) {
			pthread_mutex_lock(&m->mu2);
			while (m->h2_job != NULL)
				pthread_cond_wait(&m->cv2, &m->mu2);
			pthread_mutex_unlock(&m->mu2);
		}
		return;
	case HOP_RESET:
		/* the server ignored Range: what it sends starts at byte 0 */
		x->hfail = 0;
		x->flushed = 0;
		if (ftruncate(x->fd, 0) != 0)
			x->hfail = j->err = errno;
		EVP_DigestInit_ex(x->h1, EVP_sha1(), NULL);
		if (x->h256)
			EVP_DigestInit_ex(x->h256, EVP_sha256(), NULL);
		return;
	case HOP_REHASH:
		/* a restart: what is on disk is hashed again, so the hash covers every byte */
		x->hfail = 0;
		x->flushed = j->off;
		EVP_DigestInit_ex(x->h1, EVP_sha1(), NULL);
		if (x->h256)
			EVP_DigestInit_ex(x->h256, EVP_sha256(), NULL);
		if (j->off > 0 && hash_fd(x->fd, j->off, x->h1, x->h256) != 0) {
			j->off = 0;
			if (ftruncate(x->fd, 0) != 0)
				j->err = errno;
			EVP_DigestInit_ex(x->h1, EVP_sha1(), NULL);
			if (x->h256)
				EVP_DigestInit_ex(x->h256, EVP_sha256(), NULL);
		}
		return;
	case HOP_FINISH:
		EVP_DigestFinal_ex(x->h1, d, &dl);
		hex(d, dl, j->sha1);
		if (x->h256) {
			EVP_DigestFinal_ex(x->h256, d, &dl);
			hex(d, dl, j->sha256);
		}
		if (fsync(x->fd) != 0 && errno != EINVAL)
			j->err = errno;
		return;
	}
}

static void *
worker_main(void *arg)
{
	struct fwdl_eng	*m = arg;
	struct hjob	*j;

	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (m->q == NULL && !m->stop)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->stop)
			break;
		j = m->q;
		if ((m->q = j->next) == NULL)
			m->q_tail = &m->q;
		pthread_mutex_unlock(&m->mu);
		j->next = NULL;
		hjob_run(j);
		pthread_mutex_lock(&m->mu);
		*m->done_tail = j;
		m->done_tail = &j->next;
		ev_async_send(m->loop, &m->async);
	}
	pthread_mutex_unlock(&m->mu);
	return (NULL);
}

/*
 * SHA256 on a second thread: with both digests on the worker, one core
 * hashed 1 GiB in 1.2 s, longer than curl takes to receive and write it.
 * The worker hands each data buffer over, writes it and takes its SHA1,
 * then waits for the helper: the contexts are never touched by two
 * threads at once, and control jobs (reset, rehash, finish) run on the
 * worker alone, in order, with the helper idle.
 */
static void *
helper_main(void *arg)
{
	struct fwdl_eng	*m = arg;
	struct hjob	*j;

	pthread_mutex_lock(&m->mu2);
	for (;;) {
		while (m->h2_job == NULL && !m->h2_stop)
			pthread_cond_wait(&m->cv2, &m->mu2);
		if (m->h2_stop)
			break;
		j = m->h2_job;
		pthread_mutex_unlock(&m->mu2);
		EVP_DigestUpdate(j->x->h256, j->buf, j->len);
		pthread_mutex_lock(&m->mu2);
		m->h2_job = NULL;
		pthread_cond_broadcast(&m->cv2);
	}
	pthread_mutex_unlock(&m->mu2);
	return (NULL);
}

static int
worker_start(struct fwdl_eng *m)
{
	sigset_t	 all, old;
	int		 rc;

	if (m->th_up)
		return (0);
	/* signals stay with the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* the helper first: the worker reads th2_up once it runs */
	if (!m->th2_up && getenv("IDB_FWDL_ONE_HASHER") == NULL &&
	    pthread_create(&m->th2, NULL, helper_main, m) == 0) {
		pthread_setname_np(m->th2, "fwdl-sha256");
		m->th2_up = true;
	}
	rc = pthread_create(&m->th, NULL, worker_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return (-1);
	pthread_setname_np(m->th, "fwdl-hash");
	m->th_up = true;
	return (0);
}

static void
hjob_submit(struct xfer *x, struct hjob *j)
{
	struct fwdl_eng	*m = x->m;

	j->x = x;
	j->next = NULL;
	j->err = 0;
	x->pending++;
	/* the loop must wait for the worker (a paused transfer watches nothing) */
	if (m->inflight++ == 0)
		ev_ref(m->loop);
	pthread_mutex_lock(&m->mu);
	*m->q_tail = j;
	m->q_tail = &j->next;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

/* A control job (no data). */
static int
hjob_op(struct xfer *x, enum hop op, unsigned long long off)
{
	struct hjob	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (-1);
	j->op = op;
	j->off = off;
	hjob_submit(x, j);
	return (0);
}

/* A data buffer that holds need bytes, or NULL when FWDL_BUFS are in flight. */
static struct hjob *
buf_get(struct fwdl_eng *m, size_t need)
{
	struct hjob	*j;
	size_t		 cap = need > FWDL_BUF_SIZE ? need : FWDL_BUF_SIZE;

	if ((j = m->free_bufs) != NULL && j->cap >= need) {
		m->free_bufs = j->next;
		m->nfree--;
		j->len = 0;
		return (j);
	}
	if (m->nbufs >= m->max_bufs)
		return (NULL);
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->buf = malloc(cap)) == NULL) {
		free(j);
		return (NULL);
	}
	j->op = HOP_DATA;
	j->cap = cap;
	m->nbufs++;
	return (j);
}

static void
buf_put(struct fwdl_eng *m, struct hjob *j)
{
	if (j->cap == FWDL_BUF_SIZE) {
		j->next = m->free_bufs;
		m->free_bufs = j;
		m->nfree++;
		return;
	}
	free(j->buf);
	free(j);
	m->nbufs--;
}

/* Queue what has been received and not yet handed to the worker. */
static void
xfer_flush(struct xfer *x)
{
	struct hjob	*j = x->cur;

	if (j == NULL)
		return;
	x->cur = NULL;
	if (j->len == 0) {
		buf_put(x->m, j);
		return;
	}
	hjob_submit(x, j);
}

/*
 * libcurl 7.88 keeps watching the socket of a paused transfer: a readable
 * socket would spin the loop (32 wakeups per read, measured). Ours is
 * unwatched while paused.
 */
static void
sock_hold(struct fwdl_eng *m, curl_socket_t fd, bool hold)
{
	struct sockw	*s;

	for (s = m->socks; s != NULL; s = s->next_live) {
		if (s->fd != fd)
			continue;
		s->held = hold;
		if (hold)
			ev_io_stop(m->loop, &s->io);
		else if (s->events != 0)
			ev_io_start(m->loop, &s->io);
		return;
	}
}

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fwdl_eng	*m = (struct fwdl_eng *)((char *)w - offsetof(struct fwdl_eng, async));
	struct hjob	*list, *j;
	struct xfer	*x;
	char		 err[256];

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&m->mu);
	list = m->done;
	m->done = NULL;
	m->done_tail = &m->done;
	pthread_mutex_unlock(&m->mu);
	while ((j = list) != NULL) {
		list = j->next;
		x = j->x;
		x->pending--;
		if (--m->inflight == 0)
			ev_unref(m->loop);
		switch (j->op) {
		case HOP_DATA:
			if (j->err != 0 && x->write_errno == 0) {
				x->write_errno = j->err;
				x->hash_valid = false;
			}
			buf_put(m, j);
			break;
		case HOP_RESET:
			if (j->err != 0 && x->write_errno == 0) {
				x->write_errno = j->err;
				x->hash_valid = false;
			}
			free(j);
			break;
		case HOP_REHASH:
			x->offset = j->off;
			x->hash_valid = j->err == 0;
			if (x->finished)
				;
			else if (j->err != 0)
				file_fail(x, false, "%s: %s", x->part, strerror(j->err));
			else if (file_begin_hashed(x, err, sizeof(err)) != 0)
				file_fail(x, false, "%s", err);
			free(j);
			break;
		case HOP_FINISH:
			if (!x->finished)
				file_verified(x, j);
			free(j);
			break;
		}
		if (x->pending == 0 && x->done_wait) {
			x->done_wait = false;
			file_done(x, x->done_rc);
		}
		if (x->pending == 0 && x->finished)
			ev_feed_event(m->loop, &m->reap, EV_CHECK);
	}
	/*
	 * Paused transfers go on once half the buffers are back, not at each
	 * one: every pause makes libcurl keep (copy) the piece it holds.
	 */
	for (x = m->xfers; x != NULL; x = x->next) {
		if (!x->paused || x->easy == NULL)
			continue;
		if (m->nfree + m->max_bufs - m->nbufs < (m->max_bufs + 1) / 2)
			break;
		x->paused = false;
		sock_hold(m, x->held_fd, false);
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
	check_done(m);
}

/* ---- libcurl on libev ----------------------------------------------------- */

static void
dispatch(struct fwdl_eng *m, curl_socket_t fd, int action)
{
	int	 running = 0;

	curl_multi_socket_action(m->multi, fd, action, &running);
	check_done(m);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockw	*s = OWNER_OF(w, struct sockw, io);
	int		 action = 0;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* s may be retired by curl inside this call; it is freed later (reap_cb) */
	dispatch(s->m, s->fd, action);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fwdl_eng	*m = OWNER_OF(w, struct fwdl_eng, timer);

	(void)loop;
	(void)revents;
	dispatch(m, CURL_SOCKET_TIMEOUT, 0);
}

static int
curl_timer_cb(CURLM *multi, long ms, void *userp)
{
	struct fwdl_eng	*m = userp;

	(void)multi;
	ev_timer_stop(m->loop, &m->timer);
	if (ms >= 0) {
		/* 0 means "as soon as possible": never call curl back from inside curl */
		ev_timer_set(&m->timer, ms / 1000.0, 0);
		ev_timer_start(m->loop, &m->timer);
	}
	return (0);
}

static int
curl_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct fwdl_eng	*m = userp;
	struct sockw	*s = socketp;
	int		 ev = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			struct sockw **pp;

			for (pp = &m->socks; *pp != NULL; pp = &(*pp)->next_live)
				if (*pp == s) {
					*pp = s->next_live;
					break;
				}
			ev_io_stop(m->loop, &s->io);
			s->next_dead = m->dead_socks;
			m->dead_socks = s;
			curl_multi_assign(m->multi, fd, NULL);
			ev_feed_event(m->loop, &m->reap, EV_CHECK);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return (-1);
		s->m = m;
		s->fd = fd;
		ev_io_init(&s->io, io_cb, fd, ev);
		curl_multi_assign(m->multi, fd, s);
		s->next_live = m->socks;
		m->socks = s;
	} else {
		ev_io_stop(m->loop, &s->io);
		ev_io_set(&s->io, fd, ev);
	}
	s->events = ev;
	if (!s->held)
		ev_io_start(m->loop, &s->io);
	return (0);
}

static void
xfer_free(struct xfer *x)
{
	if (x->cur != NULL) {
		free(x->cur->buf);
		free(x->cur);
		x->m->nbufs--;
	}
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->m->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	if (x->fd != -1 && x->kind == XFER_FILE)
		close(x->fd);
	ev_timer_stop(x->m->loop, &x->retry);
	EVP_MD_CTX_free(x->h1);
	EVP_MD_CTX_free(x->h256);
	free(x->buf);
	free(x);
}

/* Freed outside every callback of theirs. */
static void
reap_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct fwdl_eng	*m = OWNER_OF(w, struct fwdl_eng, reap);
	struct sockw	*s;
	struct xfer	*x;

	(void)loop;
	(void)revents;
	while ((s = m->dead_socks) != NULL) {
		m->dead_socks = s->next_dead;
		free(s);
	}
	/* a transfer the worker still has work of waits for the next round */
	for (struct xfer **pp = &m->dead; (x = *pp) != NULL;) {
		if (x->pending > 0) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		xfer_free(x);
	}
}

static void
unlink_xfer(struct fwdl_eng *m, struct xfer *x)
{
	struct xfer	**pp;

	for (pp = &m->xfers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	if (x->easy != NULL) {
		curl_multi_remove_handle(m->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	x->next = m->dead;
	m->dead = x;
	ev_feed_event(m->loop, &m->reap, EV_CHECK);
}

static CURL *
easy_new(struct xfer *x, const char *url)
{
	struct fwdl_eng	*m = x->m;
	CURL		*e;

	if ((e = curl_easy_init()) == NULL)
		return (NULL);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)m->opt.max_redirs);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(m->opt.connect_secs * 1000));
	/* a server that sends nothing for stall_secs is as good as gone */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(m->opt.stall_secs < 1 ? 1 : m->opt.stall_secs));
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "idevicebench/" IDB_VERSION);
	x->curl_err[0] = '\0';
	return (e);
}

/* ---- index --------------------------------------------------------------- */

static size_t
index_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;
	char		*nb;

	if (x->len + n > FWDL_MAX_INDEX) {
		x->too_big = true;
		return (0);
	}
	if ((nb = realloc(x->buf, x->len + n + 1)) == NULL)
		return (0);
	x->buf = nb;
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return (n);
}

/* Ask the index about a model; cb is called once on the engine's loop. */
int
fwdl_eng_index_get(struct fwdl_eng *m, const char *identifier, fwdl_index_cb cb, void *arg)
{
	struct xfer	*x;
	char		 url[1024];

	if (!fwdl_id_ok(identifier))
		return (-1);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return (-1);
	x->m = m;
	x->kind = XFER_INDEX;
	x->fd = -1;
	ev_timer_init(&x->retry, NULL, 0, 0);
	text_copy(x->identifier, identifier, sizeof(x->identifier));
	x->icb = cb;
	x->iarg = arg;
	snprintf(url, sizeof(url), "%s/device/%s?type=ipsw", m->index_url, identifier);
	if ((x->easy = easy_new(x, url)) == NULL) {
		free(x);
		return (-1);
	}
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, index_write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	x->next = m->xfers;
	m->xfers = x;
	curl_multi_add_handle(m->multi, x->easy);
	return (0);
}

static void
index_done(struct xfer *x, CURLcode rc)
{
	struct fw_index	 ix;
	char		 err[512], clean[256];
	long		 code = 0;

	memset(&ix, 0, sizeof(ix));
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (x->too_big)
		snprintf(err, sizeof(err), "index answer larger than %lu bytes", FWDL_MAX_INDEX);
	else if (rc != CURLE_OK) {
		text_sanitize(clean, sizeof(clean), x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc),
		    strlen(x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc)));
		snprintf(err, sizeof(err), "index: %s", clean);
	} else if (code != 200)
		snprintf(err, sizeof(err), "index: HTTP %ld", code);
	else if (fwdl_index_parse(x->buf ? x->buf : "", x->len, x->identifier, &ix, err, sizeof(err)) == 0) {
		x->icb(x->iarg, x->identifier, &ix, NULL);
		fwdl_index_clear(&ix);
		return;
	}
	x->icb(x->iarg, x->identifier, NULL, err);
}

/* ---- files ---------------------------------------------------------------- */

static void
report(struct xfer *x, bool force)
{
	double	 now = ev_time(), dt;

	if (!force && now - x->last_report < FWDL_REPORT_SECS)
		return;
	dt = now - x->rate_at;
	if (dt > 0.2) {
		double r = (double)(x->st.bytes - x->rate_bytes) / dt;

		x->st.rate = x->st.rate > 0 ? 0.6 * x->st.rate + 0.4 * r : r;
		x->rate_at = now;
		x->rate_bytes = x->st.bytes;
	}
	x->st.percent = x->st.total ? 100.0 * (double)x->st.bytes / (double)x->st.total : 0;
	x->st.eta = x->st.rate > 1 && x->st.total >= x->st.bytes ?
	    (double)(x->st.total - x->st.bytes) / x->st.rate : -1;
	x->last_report = now;
	if (x->m->cb)
		x->m->cb(x->m->arg, &x->st, x->fw.url);
}

/* Where a 206 answer's Content-Range says its bytes start; -1 when it says nothing usable. */
static long long
range_start(CURL *easy)
{
	struct curl_header	*h;
	unsigned long long	 a, b;
	char			 rest[64];

	if (curl_easy_header(easy, "Content-Range", 0, CURLH_HEADER, -1, &h) != CURLHE_OK ||
	    sscanf(h->value, "bytes %llu-%llu/%63s", &a, &b, rest) != 3 || b < a ||
	    a > (unsigned long long)LLONG_MAX)
		return (-1);
	return ((long long)a);
}

static size_t
file_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;
	long		 code = 0;

	if (!x->checked) {
		x->checked = true;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code == 206) {
			long long start = range_start(x->easy);

			if (start != (long long)x->offset && start != 0) {
				/* bytes from elsewhere than asked: nothing of it is written */
				x->bad_range = start;
				x->write_errno = EPROTO;
				return (0);
			}
			if (start == 0)
				code = 200;	/* the whole file after all */
		}
		if (x->offset > 0 && code == 200) {
			/* the server ignored Range: start again from byte 0 (the worker truncates) */
			xfer_flush(x);
			if (hjob_op(x, HOP_RESET, 0) != 0) {
				x->write_errno = ENOMEM;
				x->hash_valid = false;
				return (0);
			}
			x->offset = 0;
			x->wpos = 0;
			x->st.bytes = 0;
			x->rate_bytes = 0;
		}
	}
	if (x->write_errno != 0)
		return (0);
	if (x->st.bytes + n > x->fw.size) {
		/* more than the index promised: not the file we want */
		x->write_errno = EFBIG;
		return (0);
	}
	if (x->cur != NULL && x->cur->cap - x->cur->len < n)
		xfer_flush(x);
	if (x->cur == NULL) {
		if ((x->cur = buf_get(x->m, n)) == NULL) {
			/* the worker is behind: curl keeps this piece until async_cb */
			x->paused = true;
			x->held_fd = CURL_SOCKET_BAD;
			if (curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &x->held_fd) == CURLE_OK &&
			    x->held_fd != CURL_SOCKET_BAD)
				sock_hold(x->m, x->held_fd, true);
			return (CURL_WRITEFUNC_PAUSE);
		}
		x->cur->off = x->wpos;
	}
	memcpy(x->cur->buf + x->cur->len, p, n);
	x->cur->len += n;
	x->wpos += n;
	if (x->cur->len == x->cur->cap)
		xfer_flush(x);
	x->st.bytes += n;
	if (x->st.state != FWDL_DOWNLOADING) {
		x->st.state = FWDL_DOWNLOADING;
		report(x, true);
	} else
		report(x, false);
	return (n);
}

static void
file_fail(struct xfer *x, bool drop_partial, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_sanitize(x->st.message, sizeof(x->st.message), msg, strlen(msg));
	if (drop_partial)
		unlink(x->part);
	x->st.state = FWDL_FAILED;
	x->finished = true;
	unlink_xfer(x->m, x);
	report(x, true);
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xfer	*x = OWNER_OF(w, struct xfer, retry);
	char		 err[256];

	(void)loop;
	(void)revents;
	if (file_begin(x, err, sizeof(err)) != 0)
		file_fail(x, false, "%s", err);
}

static void
file_done(struct xfer *x, CURLcode rc)
{
	char		 clean[256];
	const char	*why;

	if (x->easy != NULL) {
		curl_multi_remove_handle(x->m->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	if (x->paused)
		sock_hold(x->m, x->held_fd, false);
	x->paused = false;
	xfer_flush(x);
	if (x->pending > 0) {
		/* the worker still writes and hashes: decide once it is through */
		x->done_wait = true;
		x->done_rc = rc;
		return;
	}
	if (x->write_errno == ENOSPC || x->write_errno == EDQUOT) {
		file_fail(x, true, "disk full writing %s (%s): download abandoned", x->name,
		    strerror(x->write_errno));
		return;
	}
	if (x->write_errno == EPROTO) {
		/*
		 * Its 206 was not the range asked for (a broken cache or proxy):
		 * empty the partial file and ask for the whole file, no Range.
		 * The worker has nothing queued for it (pending is 0 here).
		 */
		if (++x->tries > x->m->opt.retries || ftruncate(x->fd, 0) != 0) {
			file_fail(x, true, "%s: asked for bytes %llu- and the server sent bytes from %lld on",
			    x->name, x->offset, x->bad_range);
			return;
		}
		x->hash_valid = false;
		x->write_errno = 0;
		ev_timer_init(&x->retry, retry_cb, FWDL_RETRY_SECS, 0);
		ev_timer_start(x->m->loop, &x->retry);
		return;
	}
	if (x->write_errno == EFBIG) {
		file_fail(x, true, "%s: the server sent more than the index's %llu bytes", x->name,
		    x->fw.size);
		return;
	}
	if (x->write_errno != 0) {
		file_fail(x, false, "%s: %s", x->name, strerror(x->write_errno));
		return;
	}
	if (rc != CURLE_OK || x->st.bytes < x->fw.size) {
		why = x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc);
		text_sanitize(clean, sizeof(clean), why, strlen(why));
		/* HTTP errors (404, 500) do not get better by asking again at once */
		if (rc == CURLE_HTTP_RETURNED_ERROR || rc == CURLE_TOO_MANY_REDIRECTS ||
		    rc == CURLE_UNSUPPORTED_PROTOCOL || ++x->tries > x->m->opt.retries) {
			file_fail(x, false, "%s: %s", x->name, rc == CURLE_OK ? "transfer ended early" : clean);
			return;
		}
		/* dropped mid-way: resume from what is on disk */
		ev_timer_init(&x->retry, retry_cb, FWDL_RETRY_SECS, 0);
		ev_timer_start(x->m->loop, &x->retry);
		return;
	}
	x->st.state = FWDL_VERIFYING;
	report(x, true);
	/* the digests and fsync on the worker, then file_verified */
	if (hjob_op(x, HOP_FINISH, 0) != 0)
		file_fail(x, false, "%s: out of memory", x->name);
}

/* The worker's digests of a complete file: into the library, or deleted. */
static void
file_verified(struct xfer *x, struct hjob *j)
{
	const char	*sha1 = j->sha1, *sha256 = j->sha256;

	if (strcmp(sha1, x->fw.sha1) != 0) {
		file_fail(x, true, "%s: SHA1 mismatch (got %s, the index says %s): deleted", x->name, sha1,
		    x->fw.sha1);
		return;
	}
	if (x->h256 && strcmp(sha256, x->fw.sha256) != 0) {
		file_fail(x, true, "%s: SHA256 mismatch: deleted", x->name);
		return;
	}
	if (j->err != 0) {
		file_fail(x, true, "%s: %s", x->name, strerror(j->err));
		return;
	}
	close(x->fd);
	x->fd = -1;
	/*
	 * What we know of the file first, then the file: the library notices
	 * the rename on the console's thread at once, and must find its SHA1
	 * and "downloaded" already there (else a restore records no SHA1).
	 */
	fwlib_meta_write(x->m->dir, x->name, sha1, true);
	if (rename(x->part, x->final) != 0) {
		char	 meta[PATH_MAX];
		int	 e = errno;

		snprintf(meta, sizeof(meta), "%s/.meta/%s", x->m->dir, x->name);
		unlink(meta);
		file_fail(x, false, "%s: cannot move into the library: %s", x->name, strerror(e));
		return;
	}
	text_copy(x->st.path, x->final, sizeof(x->st.path));
	text_copy(x->st.sha1, sha1, sizeof(x->st.sha1));
	x->st.state = FWDL_READY;
	x->st.percent = 100;
	x->finished = true;
	unlink_xfer(x->m, x);
	report(x, true);
}

static void
check_done(struct fwdl_eng *m)
{
	CURLMsg		*msg;
	int		 left;
	struct xfer	*x;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x == NULL)
			continue;
		if (x->kind == XFER_INDEX) {
			index_done(x, msg->data.result);
			unlink_xfer(m, x);
		} else
			file_done(x, msg->data.result);
	}
}

/* The library file name of a URL: its last component, with only safe characters. */
static int
name_from_url(const char *url, const struct fw_index_fw *fw, char *out, size_t outlen)
{
	const char	*q = strrchr(url, '/'), *e;
	size_t		 n = 0, len;

	q = q ? q + 1 : url;
	e = q + strcspn(q, "?#");
	len = (size_t)(e - q);
	for (size_t i = 0; i < len && n + 1 < outlen; i++) {
		char c = q[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == ','))
			c = '_';
		out[n++] = c;
	}
	out[n] = '\0';
	if (n < 6 || out[0] == '.' || strcasecmp(out + n - 5, ".ipsw") != 0)
		snprintf(out, outlen, "%s_%s_%s_Restore.ipsw", fw->identifier, fw->version, fw->build);
	return (0);
}

static int
file_begin(struct xfer *x, char *err, size_t errlen)
{
	struct stat	 st;

	if (x->fd == -1) {
		/*
		 * Never through a link: the library may be writable by people
		 * who are not root. A link (or anything but a file) where the
		 * partial file goes is removed, and the transfer starts afresh.
		 */
		x->fd = open(x->part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
		    0644);
		if (x->fd != -1 && (fstat(x->fd, &st) != 0 || !S_ISREG(st.st_mode))) {
			close(x->fd);
			x->fd = -1;
			errno = ELOOP;
		}
		if (x->fd == -1 && errno == ELOOP && unlink(x->part) == 0)
			x->fd = open(x->part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY |
			    O_NOFOLLOW, 0644);
		if (x->fd == -1) {
			snprintf(err, errlen, "%s: %s", x->part, strerror(errno));
			return (-1);
		}
	}
	if (fstat(x->fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", x->part, strerror(errno));
		return (-1);
	}
	x->offset = (unsigned long long)st.st_size;
	if (x->offset > x->fw.size) {
		if (ftruncate(x->fd, 0) != 0) {
			snprintf(err, errlen, "%s: %s", x->part, strerror(errno));
			return (-1);
		}
		x->offset = 0;
	}
	/*
	 * After a drop the contexts already cover what is on disk: carry on.
	 * Otherwise (a restart) the worker hashes what is on disk again, so
	 * the hash covers every byte, and async_cb carries on from there.
	 */
	if (x->hash_valid && x->offset == x->st.bytes)
		return (file_begin_hashed(x, err, errlen));
	if (hjob_op(x, HOP_REHASH, x->offset) != 0) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	return (0);
}

/* The hash covers the first x->offset bytes on disk: ask for the rest. */
static int
file_begin_hashed(struct xfer *x, char *err, size_t errlen)
{
	char		 range[64];

	x->wpos = x->offset;
	x->st.bytes = x->offset;
	x->rate_bytes = x->offset;
	x->rate_at = ev_time();
	x->checked = false;
	x->write_errno = 0;
	if (x->offset == x->fw.size) {
		/* complete on disk already (a restart after the last byte): verify it */
		x->easy = NULL;
		file_done(x, CURLE_OK);
		return (0);
	}
	if ((x->easy = easy_new(x, x->fw.url)) == NULL) {
		snprintf(err, errlen, "cannot start a transfer");
		return (-1);
	}
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, file_write_cb);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	/* fewer, larger writes and hash updates: a 6 GB file in 16 kB pieces is 400,000 calls */
	curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, 512L * 1024);
	if (x->offset > 0) {
		snprintf(range, sizeof(range), "%llu-", x->offset);
		curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
	}
	curl_multi_add_handle(x->m->multi, x->easy);
	return (0);
}

/* Fetch one firmware into the library, once. */
int
fwdl_eng_fetch(struct fwdl_eng *m, const char *model, const struct fw_index_fw *fw, char *err, size_t errlen)
{
	struct xfer	*x;

	for (x = m->xfers; x != NULL; x = x->next) {
		if (x->kind == XFER_FILE && strcmp(x->fw.url, fw->url) == 0)
			return (0);	/* joined: one download per file */
	}
	if (fwdl_eng_check(m->dir, fw, err, errlen) != 0)
		return (-1);
	if (worker_start(m) != 0) {
		snprintf(err, errlen, "cannot start the hashing thread");
		return (-1);
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	x->m = m;
	x->kind = XFER_FILE;
	x->fd = -1;
	x->fw = *fw;
	ev_timer_init(&x->retry, retry_cb, 0, 0);
	text_copy(x->st.model, model && model[0] ? model : fw->identifier, sizeof(x->st.model));
	text_copy(x->st.version, fw->version, sizeof(x->st.version));
	text_copy(x->st.build, fw->build, sizeof(x->st.build));
	x->st.state = FWDL_QUEUED;
	x->st.total = fw->size;
	x->st.eta = -1;
	name_from_url(fw->url, fw, x->name, sizeof(x->name));
	snprintf(x->part, sizeof(x->part), "%s/.partial/%s", m->dir, x->name);
	snprintf(x->final, sizeof(x->final), "%s/%s", m->dir, x->name);
	x->h1 = EVP_MD_CTX_new();
	x->h256 = fw->sha256[0] ? EVP_MD_CTX_new() : NULL;
	if (x->h1 == NULL || (fw->sha256[0] && x->h256 == NULL)) {
		snprintf(err, errlen, "out of memory");
		EVP_MD_CTX_free(x->h1);
		EVP_MD_CTX_free(x->h256);
		free(x);
		return (-1);
	}
	x->next = m->xfers;
	m->xfers = x;
	report(x, true);
	/* already in the library (a second `firmware fetch`, say): ready at once, nothing downloaded */
	if (fwdl_eng_have(m->dir, fw)) {
		text_copy(x->st.path, x->final, sizeof(x->st.path));
		text_copy(x->st.sha1, fw->sha1, sizeof(x->st.sha1));
		x->st.state = FWDL_READY;
		x->st.bytes = fw->size;
		x->st.percent = 100;
		x->finished = true;
		unlink_xfer(m, x);
		report(x, true);
		return (0);
	}
	/* from here on, a failure is reported (FAILED), not returned */
	if (file_begin(x, err, errlen) != 0)
		file_fail(x, false, "%s", err);
	return (0);
}

/* True when the library has fw already: a file of its size whose record holds its SHA1. */
bool
fwdl_eng_have(const char *libdir, const struct fw_index_fw *fw)
{
	char	 name[256], have[41];

	name_from_url(fw->url, fw, name, sizeof(name));
	return (fwlib_meta_sha1(libdir, name, fw->size, have) && strcmp(have, fw->sha1) == 0);
}

/* Whether a download of fw into the library dir can start: its folders, and room for it. */
int
fwdl_eng_check(const char *libdir, const struct fw_index_fw *fw, char *err, size_t errlen)
{
	struct statvfs		 vfs;
	struct stat		 pst;
	char			 dir[PATH_MAX], name[256], part[PATH_MAX];
	unsigned long long	 have = 0, need = fw->size;

	snprintf(dir, sizeof(dir), "%s/.partial", libdir);
	if ((mkdir(libdir, 0755) != 0 && errno != EEXIST) || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	/* the partial files' folder is ours: a link there would send them elsewhere */
	if (lstat(dir, &pst) != 0 || !S_ISDIR(pst.st_mode)) {
		snprintf(err, errlen, "%s is not a folder (a link?): remove it", dir);
		return (-1);
	}
	name_from_url(fw->url, fw, name, sizeof(name));
	snprintf(part, sizeof(part), "%s/%s", dir, name);
	/* a transfer that cannot fit fails now, not at 97% */
	if (lstat(part, &pst) == 0 && S_ISREG(pst.st_mode) && (unsigned long long)pst.st_size <= need)
		have = (unsigned long long)pst.st_size;
	if (statvfs(dir, &vfs) == 0 && (unsigned long long)vfs.f_bavail * vfs.f_frsize < need - have) {
		snprintf(err, errlen, "disk full: %s needs %llu MB more, %s has %llu MB free",
		    name, (need - have) >> 20, libdir,
		    ((unsigned long long)vfs.f_bavail * vfs.f_frsize) >> 20);
		return (-1);
	}
	return (0);
}

/* The engine on loop; every call and callback on loop's thread. */
struct fwdl_eng *
fwdl_eng_new(struct ev_loop *loop, const char *dir, const char *index_url,
    const struct fwdl_options *opt, fwdl_eng_status_cb cb, void *arg)
{
	static bool	 inited;
	struct fwdl_eng	*m;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return (NULL);
		inited = true;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->loop = loop;
	text_copy(m->dir, dir, sizeof(m->dir));
	text_copy(m->index_url, index_url ? index_url : "", sizeof(m->index_url));
	m->opt.stall_secs = 60;
	m->opt.connect_secs = 20;
	m->opt.max_redirs = 5;
	m->opt.retries = 5;
	if (opt != NULL) {
		if (opt->stall_secs > 0)
			m->opt.stall_secs = opt->stall_secs;
		if (opt->connect_secs > 0)
			m->opt.connect_secs = opt->connect_secs;
		if (opt->max_redirs > 0)
			m->opt.max_redirs = opt->max_redirs;
		if (opt->retries > 0)
			m->opt.retries = opt->retries;
	}
	m->cb = cb;
	m->arg = arg;
	if ((m->multi = curl_multi_init()) == NULL) {
		free(m);
		return (NULL);
	}
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	ev_timer_init(&m->timer, timer_cb, 0, 0);
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	pthread_mutex_init(&m->mu2, NULL);
	pthread_cond_init(&m->cv2, NULL);
	m->q_tail = &m->q;
	m->done_tail = &m->done;
	/* IDB_FWDL_BUFS=1 makes every buffer wait for the worker: the tests' back-pressure */
	m->max_bufs = FWDL_BUFS;
	{
		const char	*e = getenv("IDB_FWDL_BUFS");

		if (e != NULL && atoi(e) >= 1 && atoi(e) <= 1024)
			m->max_bufs = atoi(e);
	}
	ev_async_init(&m->async, async_cb);
	ev_async_start(loop, &m->async);
	ev_unref(loop);		/* nor does the worker's doorbell */
	ev_check_init(&m->reap, reap_cb);
	ev_check_start(loop, &m->reap);
	ev_unref(loop);		/* the reaper alone never keeps the loop alive */
	return (m);
}

void
fwdl_eng_free(struct fwdl_eng *m)
{
	struct xfer	*x;
	struct sockw	*s;
	struct hjob	*j;

	if (m == NULL)
		return;
	if (m->th_up) {
		/* queued work is dropped: the .partial file resumes next time */
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->th, NULL);
	}
	if (m->th2_up) {
		/* the worker is gone: the helper holds no job */
		pthread_mutex_lock(&m->mu2);
		m->h2_stop = true;
		pthread_cond_broadcast(&m->cv2);
		pthread_mutex_unlock(&m->mu2);
		pthread_join(m->th2, NULL);
	}
	if (m->inflight > 0)
		ev_unref(m->loop);
	for (int pass = 0; pass < 2; pass++) {
		while ((j = pass == 0 ? m->q : m->done) != NULL) {
			if (pass == 0)
				m->q = j->next;
			else
				m->done = j->next;
			if (j->op == HOP_DATA) {
				free(j->buf);
				m->nbufs--;
			}
			free(j);
		}
	}
	while ((j = m->free_bufs) != NULL) {
		m->free_bufs = j->next;
		free(j->buf);
		free(j);
	}
	while ((x = m->xfers) != NULL) {
		m->xfers = x->next;
		xfer_free(x);
	}
	while ((x = m->dead) != NULL) {
		m->dead = x->next;
		xfer_free(x);
	}
	curl_multi_cleanup(m->multi);
	while ((s = m->dead_socks) != NULL) {
		m->dead_socks = s->next_dead;
		free(s);
	}
	ev_timer_stop(m->loop, &m->timer);
	ev_ref(m->loop);
	ev_check_stop(m->loop, &m->reap);
	ev_ref(m->loop);
	ev_async_stop(m->loop, &m->async);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu2);
	pthread_cond_destroy(&m->cv2);
	free(m);
}
