/*
 * fwdl.c: firmware index and downloads, off the console's loop.
 *
 * The engine (fwxfer.c: libcurl's multi interface on libev, the hashing
 * worker) runs on its own libev loop, on one thread for every transfer,
 * and only that thread touches it: libcurl's receive and the copy out of
 * its buffer cost a tenth of a core per 100 MB/s, and a socket-action call
 * can read for tens of milliseconds, none of which the console's loop
 * (keys, USB, restores) should pay or wait for. Callers post commands
 * (fetch, ask the index) to the network thread and wake it (m->wake); what
 * the engine reports (status, index answers) comes back as copied messages
 * to the caller's loop (m->deliver), where the callbacks run, never inside
 * the call that started them. The one lock between the threads (m->qmu)
 * guards the two queues and is held for a pointer swap.
 *
 * The caller's view of what runs (fwdl_busy, fwdl_active) is kept on the
 * caller's side, from what it asked and what came back: a transfer, keyed
 * by its URL, runs from the fetch that started it until its READY or
 * FAILED message is delivered.
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "fwdl.h"
#include "fwdl_int.h"
#include "owner.h"
#include "text.h"

#define FWDL_NICE	10	/* the network and hashing threads, below the loop */

enum cmd_kind { CMD_INDEX, CMD_FETCH };

/* To the network thread. */
struct cmd {
	struct cmd		*next;
	enum cmd_kind		 kind;
	char			 identifier[32];	/* CMD_INDEX */
	struct index_req	*q;
	char			 model[32];		/* CMD_FETCH */
	struct fw_index_fw	 fw;
};

/* An index question: its answer goes to cb on the caller's loop. */
struct index_req {
	struct fwdl		*m;
	fwdl_index_cb		 cb;
	void			*arg;
	struct index_req	*next, **prevp;	/* on m->reqs, which owns it (caller's side) */
};

enum relay_kind { RELAY_STATUS, RELAY_INDEX };

/* Back to the caller's loop. */
struct relay {
	struct relay		*next;
	enum relay_kind		 kind;
	struct fwdl_status	 st;		/* RELAY_STATUS */
	char			 url[1024];
	struct index_req	*q;		/* RELAY_INDEX */
	char			 identifier[32];
	bool			 have_ix;
	struct fw_index		 ix;
	char			 err[512];
};

/* A transfer as the caller sees it (caller's thread only). */
struct running {
	char			 url[1024];
	char			 build[32];
};

struct fwdl {
	struct fwdl_eng		*e;		/* the network thread's alone */
	struct ev_loop		*loop;		/* the network thread's: the engine's */
	struct ev_loop		*main_loop;	/* the caller's: callbacks run here */
	char			 dir[4096];
	pthread_t		 net;
	bool			 net_up;
	ev_async		 wake;		/* on loop: commands, or quit */
	fwdl_status_cb		 ucb;
	void			*uarg;

	pthread_mutex_t		 qmu;		/* the two queues and quit */
	struct cmd		*cq, **cq_tail;	/* to loop */
	struct relay		*rq, **rq_tail;	/* to main_loop */
	bool			 quit;
	ev_async		 deliver;	/* on main_loop */

	/* the caller's side */
	struct running		*run;
	size_t			 nrun, caprun;
	struct index_req	*reqs;		/* index questions not answered yet */
	int			 nindex;
	bool			 held;		/* main_loop referenced while busy */
};

/* ---- the network thread ---------------------------------------------------- */

static void
relay_post(struct fwdl *m, struct relay *r)
{
	pthread_mutex_lock(&m->qmu);
	*m->rq_tail = r;
	m->rq_tail = &r->next;
	pthread_mutex_unlock(&m->qmu);
	ev_async_send(m->main_loop, &m->deliver);
}

/* The engine's status report. */
static void
relay_status(void *arg, const struct fwdl_status *st, const char *url)
{
	struct fwdl	*m = arg;
	struct relay	*r;

	/* a lost message would leave its transfer "running" for the caller: block, never drop */
	while ((r = calloc(1, sizeof(*r))) == NULL)
		usleep(10000);
	r->kind = RELAY_STATUS;
	r->st = *st;
	text_copy(r->url, url, sizeof(r->url));
	relay_post(m, r);
}

/* The engine's index answer (ix is freed after this returns: copied). */
static void
relay_index(void *arg, const char *identifier, const struct fw_index *ix, const char *err)
{
	struct index_req	*q = arg;
	struct relay		*r;

	while ((r = calloc(1, sizeof(*r))) == NULL)
		usleep(10000);
	r->kind = RELAY_INDEX;
	r->q = q;
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
}

static void
cmd_run(struct fwdl *m, struct cmd *c)
{
	struct fwdl_status	 st;
	char			 err[512];

	if (c->kind == CMD_INDEX) {
		if (fwdl_eng_index_get(m->e, c->identifier, relay_index, c->q) != 0)
			relay_index(c->q, c->identifier, NULL, "index: cannot start the request");
		return;
	}
	err[0] = '\0';
	if (fwdl_eng_fetch(m->e, c->model, &c->fw, err, sizeof(err)) == 0)
		return;
	/* it could not start: the caller hears FAILED as from a transfer */
	memset(&st, 0, sizeof(st));
	text_copy(st.model, c->model[0] ? c->model : c->fw.identifier, sizeof(st.model));
	text_copy(st.version, c->fw.version, sizeof(st.version));
	text_copy(st.build, c->fw.build, sizeof(st.build));
	st.state = FWDL_FAILED;
	st.total = c->fw.size;
	st.eta = -1;
	text_sanitize(st.message, sizeof(st.message), err, strlen(err));
	relay_status(m, &st, c->fw.url);
}

static void
wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fwdl	*m = OWNER_OF(w, struct fwdl, wake);
	struct cmd	*list, *c;
	bool		 quit;

	(void)revents;
	pthread_mutex_lock(&m->qmu);
	list = m->cq;
	m->cq = NULL;
	m->cq_tail = &m->cq;
	quit = m->quit;
	pthread_mutex_unlock(&m->qmu);
	while ((c = list) != NULL) {
		list = c->next;
		if (!quit)
			cmd_run(m, c);
		free(c);
	}
	if (quit)
		ev_break(loop, EVBREAK_ALL);
}

static void *
net_main(void *arg)
{
	struct fwdl	*m = arg;
	int		 prio;

	/*
	 * Background work: niced, and so are the hashing threads it starts
	 * (a thread inherits its creator's nice value), so that the console's
	 * loop wins the CPU whenever it wakes. On the 2-core machine, with
	 * nginx, this thread and two hashers busy, answers on the control
	 * socket took up to 7-9 ms during a download without it.
	 */
	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (errno == 0)
		setpriority(PRIO_PROCESS, (id_t)gettid(), prio + FWDL_NICE < 19 ? prio + FWDL_NICE : 19);
	ev_run(m->loop, 0);
	return (NULL);
}

static void
cmd_post(struct fwdl *m, struct cmd *c)
{
	pthread_mutex_lock(&m->qmu);
	*m->cq_tail = c;
	m->cq_tail = &c->next;
	pthread_mutex_unlock(&m->qmu);
	ev_async_send(m->loop, &m->wake);
}

/* ---- the caller's side ------------------------------------------------------- */

static struct running *
running_find(struct fwdl *m, const char *url)
{
	for (size_t i = 0; i < m->nrun; i++)
		if (strcmp(m->run[i].url, url) == 0)
			return (&m->run[i]);
	return (NULL);
}

/*
 * The caller's loop stays alive while a transfer runs, a question waits
 * for its answer or a message waits (the command line runs its loop until
 * its download ends).
 */
static void
hold_update(struct fwdl *m)
{
	bool	 busy;

	pthread_mutex_lock(&m->qmu);
	busy = m->nrun > 0 || m->nindex > 0 || m->rq != NULL;
	pthread_mutex_unlock(&m->qmu);
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
	struct running	*x;

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
			/* the end of a transfer: no longer running before its callback hears it */
			if ((r->st.state == FWDL_READY || r->st.state == FWDL_FAILED) &&
			    (x = running_find(m, r->url)) != NULL)
				*x = m->run[--m->nrun];
			if (m->ucb != NULL)
				m->ucb(m->uarg, &r->st);
		} else {
			m->nindex--;
			if ((*r->q->prevp = r->q->next) != NULL)
				r->q->next->prevp = r->q->prevp;
			r->q->cb(r->q->arg, r->identifier, r->have_ix ? &r->ix : NULL,
			    r->have_ix ? NULL : r->err);
			free(r->q);
			fwdl_index_clear(&r->ix);
		}
		free(r);
	}
	hold_update(m);
}

/* Ask the index about a model; cb is called once on the loop (never from inside this call). */
int
fwdl_index_get(struct fwdl *m, const char *identifier, fwdl_index_cb cb, void *arg)
{
	struct cmd	*c;

	if (!fwdl_id_ok(identifier))
		return (-1);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->q = calloc(1, sizeof(*c->q))) == NULL) {
		free(c);
		return (-1);
	}
	c->kind = CMD_INDEX;
	text_copy(c->identifier, identifier, sizeof(c->identifier));
	c->q->m = m;
	c->q->cb = cb;
	c->q->arg = arg;
	if ((c->q->next = m->reqs) != NULL)
		m->reqs->prevp = &c->q->next;
	c->q->prevp = &m->reqs;
	m->reqs = c->q;
	m->nindex++;
	cmd_post(m, c);
	hold_update(m);
	return (0);
}

/* Fetch one firmware into the library, once: a second call for the same URL joins it. */
int
fwdl_fetch(struct fwdl *m, const char *model, const struct fw_index_fw *fw, char *err, size_t errlen)
{
	struct cmd	*c;
	struct running	*r;

	if (running_find(m, fw->url) != NULL)
		return (0);
	/* what can be known at once is said at once (a full disk, a library that cannot be made) */
	if (fwdl_eng_check(m->dir, fw, err, errlen) != 0)
		return (-1);
	if (m->nrun == m->caprun) {
		size_t	 cap = m->caprun ? 2 * m->caprun : 4;

		if ((r = realloc(m->run, cap * sizeof(*r))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return (-1);
		}
		m->run = r;
		m->caprun = cap;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	c->kind = CMD_FETCH;
	text_copy(c->model, model ? model : "", sizeof(c->model));
	c->fw = *fw;
	r = &m->run[m->nrun++];
	text_copy(r->url, fw->url, sizeof(r->url));
	text_copy(r->build, fw->build, sizeof(r->build));
	cmd_post(m, c);
	hold_update(m);
	return (0);
}

bool
fwdl_have(const struct fwdl *m, const struct fw_index_fw *fw)
{
	return (fwdl_eng_have(m->dir, fw));
}

/* True when a download of this build is queued or running. */
bool
fwdl_busy(const struct fwdl *m, const char *build)
{
	for (size_t i = 0; i < m->nrun; i++)
		if (strcmp(m->run[i].build, build) == 0)
			return (true);
	return (false);
}

int
fwdl_active(const struct fwdl *m)
{
	return ((int)m->nrun + m->nindex);
}

static void
fwdl_destroy(struct fwdl *m)
{
	struct cmd		*c;
	struct relay		*r;
	struct index_req	*q;

	/* the engine first: it joins its worker threads */
	fwdl_eng_free(m->e);
	while ((c = m->cq) != NULL) {
		m->cq = c->next;
		free(c);
	}
	while ((r = m->rq) != NULL) {
		m->rq = r->next;
		fwdl_index_clear(&r->ix);
		free(r);
	}
	/* questions never answered, wherever they were (queued, asked, or their answer waiting) */
	while ((q = m->reqs) != NULL) {
		m->reqs = q->next;
		free(q);
	}
	if (m->loop != NULL)
		ev_loop_destroy(m->loop);
	if (m->held)
		ev_unref(m->main_loop);
	ev_ref(m->main_loop);
	ev_async_stop(m->main_loop, &m->deliver);
	pthread_mutex_destroy(&m->qmu);
	free(m->run);
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
	pthread_mutex_init(&m->qmu, NULL);
	m->cq_tail = &m->cq;
	m->rq_tail = &m->rq;
	m->main_loop = loop;
	m->ucb = cb;
	m->uarg = arg;
	text_copy(m->dir, dir, sizeof(m->dir));
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
		pthread_mutex_lock(&m->qmu);
		m->quit = true;
		pthread_mutex_unlock(&m->qmu);
		ev_async_send(m->loop, &m->wake);
		pthread_join(m->net, NULL);
		m->net_up = false;
	}
	/* the network loop has stopped: the engine is this thread's now */
	fwdl_destroy(m);
}
