/*
 * fwdl.c: firmware index and downloads, off the console's loop.
 *
 * The engine (fwxfer.c: libcurl's multi interface on libev, the hashing
 * worker) runs on its own libev loop, on one thread for every transfer:
 * libcurl's receive and the copy out of its buffer cost a tenth of a core
 * per 100 MB/s, which the console's loop (keys, USB, restores) does not
 * pay. The locking is libev's own pattern: the network thread holds m->lk
 * except while it waits in the kernel (the loop's release and acquire
 * callbacks); a caller takes m->lk, calls the engine, and wakes that loop
 * (m->wake) so it watches what changed. What the engine reports (status,
 * index answers) is copied into messages for the caller's loop
 * (m->deliver): callbacks run there, never on the network thread and never
 * inside the call that started them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "fwdl.h"
#include "fwdl_int.h"
#include "owner.h"
#include "text.h"

struct relay;
struct index_req;

struct fwdl {
	struct fwdl_eng		*e;
	struct ev_loop		*loop;		/* the network thread's: the engine's */
	struct ev_loop		*main_loop;	/* the caller's: callbacks run here */
	pthread_t		 net;
	bool			 net_up;
	pthread_mutex_t		 lk;		/* the engine; the network thread drops it to poll */
	ev_async		 wake;		/* on loop: a caller changed watchers, or quit */
	bool			 quit;
	fwdl_status_cb		 ucb;
	void			*uarg;
	struct index_req	*reqs;		/* index questions not answered yet (under lk) */
	pthread_mutex_t		 qmu;
	struct relay		*rq, **rq_tail;	/* to main_loop */
	ev_async		 deliver;	/* on main_loop */
	bool			 held;		/* main_loop referenced while busy */
};

enum relay_kind { RELAY_STATUS, RELAY_INDEX };

struct relay {
	struct relay		*next;
	enum relay_kind		 kind;
	struct fwdl_status	 st;		/* RELAY_STATUS */
	fwdl_index_cb		 icb;		/* RELAY_INDEX */
	void			*iarg;
	char			 identifier[32];
	bool			 have_ix;
	struct fw_index		 ix;
	char			 err[512];
};

struct index_req {
	struct fwdl		*m;
	fwdl_index_cb		 cb;
	void			*arg;
	struct index_req	*next, **prevp;	/* on m->reqs */
};

static void
relay_post(struct fwdl *m, struct relay *r)
{
	pthread_mutex_lock(&m->qmu);
	*m->rq_tail = r;
	m->rq_tail = &r->next;
	pthread_mutex_unlock(&m->qmu);
	ev_async_send(m->main_loop, &m->deliver);
}

/* The engine's status report (network thread, m->lk held). */
static void
relay_status(void *arg, const struct fwdl_status *st)
{
	struct fwdl	*m = arg;
	struct relay	*r;

	if (m->ucb == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->kind = RELAY_STATUS;
	r->st = *st;
	relay_post(m, r);
}

/* The engine's index answer (network thread, m->lk held): copied, it is freed after. */
static void
relay_index(void *arg, const char *identifier, const struct fw_index *ix, const char *err)
{
	struct index_req	*q = arg;
	struct relay		*r;

	if ((*q->prevp = q->next) != NULL)
		q->next->prevp = q->prevp;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		free(q);
		return;
	}
	r->kind = RELAY_INDEX;
	r->icb = q->cb;
	r->iarg = q->arg;
	text_copy(r->identifier, identifier, sizeof(r->identifier));
	if (ix != NULL) {
		r->ix = *ix;
		r->ix.fw = NULL;
		if (ix->n > 0 && (r->ix.fw = calloc(ix->n, sizeof(*ix->fw))) == NULL) {
			r->ix.n = 0;
			text_copy(r->err, "out of memory", sizeof(r->err));
		} else {
			if (ix->n > 0)
				memcpy(r->ix.fw, ix->fw, ix->n * sizeof(*ix->fw));
			r->have_ix = true;
		}
	} else
		text_copy(r->err, err ? err : "index: no answer", sizeof(r->err));
	relay_post(q->m, r);
	free(q);
}

/*
 * The caller's loop stays alive while a transfer runs or a message waits
 * (the command line runs its loop until the download ends).
 */
static void
hold_update(struct fwdl *m)
{
	bool	 busy;

	pthread_mutex_lock(&m->lk);
	pthread_mutex_lock(&m->qmu);
	busy = fwdl_eng_active(m->e) > 0 || m->rq != NULL;
	pthread_mutex_unlock(&m->qmu);
	pthread_mutex_unlock(&m->lk);
	if (busy && !m->held) {
		ev_ref(m->main_loop);
		m->held = true;
	} else if (!busy && m->held) {
		ev_unref(m->main_loop);
		m->held = false;
	}
}

static void
deliver_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fwdl	*m = OWNER_OF(w, struct fwdl, deliver);
	struct relay	*list, *r;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&m->qmu);
	list = m->rq;
	m->rq = NULL;
	m->rq_tail = &m->rq;
	pthread_mutex_unlock(&m->qmu);
	while ((r = list) != NULL) {
		list = r->next;
		if (r->kind == RELAY_STATUS) {
			if (m->ucb != NULL)
				m->ucb(m->uarg, &r->st);
		} else {
			r->icb(r->iarg, r->identifier, r->have_ix ? &r->ix : NULL,
			    r->have_ix ? NULL : r->err);
			fwdl_index_clear(&r->ix);
		}
		free(r);
	}
	hold_update(m);
}

static void
net_release(struct ev_loop *loop)
{
	struct fwdl	*m = ev_userdata(loop);

	pthread_mutex_unlock(&m->lk);
}

static void
net_acquire(struct ev_loop *loop)
{
	struct fwdl	*m = ev_userdata(loop);

	pthread_mutex_lock(&m->lk);
}

static void
wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fwdl	*m = OWNER_OF(w, struct fwdl, wake);

	(void)revents;
	/* the watchers a caller changed are picked up on the way back to the poll */
	if (m->quit)
		ev_break(loop, EVBREAK_ALL);
}

static void *
net_main(void *arg)
{
	struct fwdl	*m = arg;

	pthread_mutex_lock(&m->lk);
	ev_run(m->loop, 0);
	pthread_mutex_unlock(&m->lk);
	return (NULL);
}

/* Ask the index about a model; cb is called once on the loop (never from inside this call). */
int
fwdl_index_get(struct fwdl *m, const char *identifier, fwdl_index_cb cb, void *arg)
{
	struct index_req	*q;
	int			 rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return (-1);
	q->m = m;
	q->cb = cb;
	q->arg = arg;
	pthread_mutex_lock(&m->lk);
	if ((rc = fwdl_eng_index_get(m->e, identifier, relay_index, q)) == 0) {
		if ((q->next = m->reqs) != NULL)
			q->next->prevp = &q->next;
		q->prevp = &m->reqs;
		m->reqs = q;
	}
	ev_async_send(m->loop, &m->wake);
	pthread_mutex_unlock(&m->lk);
	if (rc != 0)
		free(q);
	hold_update(m);
	return (rc);
}

/* Fetch one firmware into the library, once. */
int
fwdl_fetch(struct fwdl *m, const char *model, const struct fw_index_fw *fw, char *err, size_t errlen)
{
	int	 rc;

	pthread_mutex_lock(&m->lk);
	rc = fwdl_eng_fetch(m->e, model, fw, err, errlen);
	ev_async_send(m->loop, &m->wake);
	pthread_mutex_unlock(&m->lk);
	hold_update(m);
	return (rc);
}

/* True when a download of this build is queued or running. */
bool
fwdl_busy(const struct fwdl *cm, const char *build)
{
	struct fwdl	*m = (struct fwdl *)cm;	/* the lock, not the engine, changes */
	bool		 busy;

	pthread_mutex_lock(&m->lk);
	busy = fwdl_eng_busy(m->e, build);
	pthread_mutex_unlock(&m->lk);
	return (busy);
}

int
fwdl_active(const struct fwdl *cm)
{
	struct fwdl	*m = (struct fwdl *)cm;
	int		 n;

	pthread_mutex_lock(&m->lk);
	n = fwdl_eng_active(m->e);
	pthread_mutex_unlock(&m->lk);
	return (n);
}

static void
fwdl_destroy(struct fwdl *m)
{
	struct index_req	*q;
	struct relay		*r;

	/* the engine first: it joins its worker threads */
	fwdl_eng_free(m->e);
	while ((q = m->reqs) != NULL) {
		m->reqs = q->next;
		free(q);
	}
	while ((r = m->rq) != NULL) {
		m->rq = r->next;
		fwdl_index_clear(&r->ix);
		free(r);
	}
	if (m->loop != NULL)
		ev_loop_destroy(m->loop);
	if (m->held)
		ev_unref(m->main_loop);
	ev_ref(m->main_loop);
	ev_async_stop(m->main_loop, &m->deliver);
	pthread_mutex_destroy(&m->lk);
	pthread_mutex_destroy(&m->qmu);
	free(m);
}

/* A download manager whose callbacks run on loop. */
struct fwdl *
fwdl_new(struct ev_loop *loop, const char *dir, const char *index_url,
    const struct fwdl_options *opt, fwdl_status_cb cb, void *arg)
{
	struct fwdl	*m;
	sigset_t	 all, old;
	int		 rc;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	pthread_mutex_init(&m->lk, NULL);
	pthread_mutex_init(&m->qmu, NULL);
	m->rq_tail = &m->rq;
	m->main_loop = loop;
	m->ucb = cb;
	m->uarg = arg;
	ev_async_init(&m->deliver, deliver_cb);
	ev_async_start(loop, &m->deliver);
	ev_unref(loop);		/* held only while something runs (hold_update) */
	if ((m->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL ||
	    (m->e = fwdl_eng_new(m->loop, dir, index_url, opt, relay_status, m)) == NULL) {
		fwdl_destroy(m);
		return (NULL);
	}
	/* the network loop runs until fwdl_free: its doorbell stays referenced */
	ev_async_init(&m->wake, wake_cb);
	ev_async_start(m->loop, &m->wake);
	ev_set_userdata(m->loop, m);
	ev_set_loop_release_cb(m->loop, net_release, net_acquire);
	/* signals stay with the caller's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&m->net, NULL, net_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		fwdl_destroy(m);
		return (NULL);
	}
	pthread_setname_np(m->net, "fwdl-net");
	m->net_up = true;
	return (m);
}

void
fwdl_free(struct fwdl *m)
{
	if (m == NULL)
		return;
	if (m->net_up) {
		pthread_mutex_lock(&m->lk);
		m->quit = true;
		ev_async_send(m->loop, &m->wake);
		pthread_mutex_unlock(&m->lk);
		pthread_join(m->net, NULL);
		m->net_up = false;
	}
	/* the network loop has stopped: the engine is this thread's now */
	fwdl_destroy(m);
}
