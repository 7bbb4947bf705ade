/* attach.c: a console on a bench in another process (mirror + remote + ui). */
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "benchview.h"
#include "log.h"
#include "mirror.h"
#include "owner.h"
#include "policy.h"
#include "remote.h"
#include "slot.h"
#include "store.h"
#include "text.h"
#include "triage.h"
#include "ui.h"

#define LOOKUP_MAX	256		/* attempts read for the flag suggestions, as the bench does */

struct console {
	struct ev_loop *loop;
	struct remote *remote;
	struct mirror *mirror;
	struct ui *ui;
	struct benchview view;
	ev_signal sigint, sigterm, sighup;
	char gone[160];			/* why the bench went away, "" if it did not */
	struct store *store;		/* the bench's history, read-only, when this user may read it */
	bool store_tried;
	bool left;
};

/* The history file the bench named, opened read-only once (a user who may not read it sees none). */
static struct store *
history(struct console *c, const char *db)
{
	char err[256];

	if (c->store == NULL && !c->store_tried && db[0]) {
		c->store_tried = true;
		if ((c->store = store_open_readonly(db, err, sizeof(err))) == NULL)
			log_info("past attempts are not shown: %s", err);
	}
	return c->store;
}

static size_t
history_cb(void *arg, const char *db, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	struct store *st = history(arg, db);

	return st ? store_attempts(st, ecid, out, max) : 0;
}

static size_t
suggest_cb(void *arg, const char *db, const struct slot *s, char out[][128], size_t max)
{
	struct store *st = history(arg, db);
	struct triage_attempt *mine = NULL;
	size_t n, nmine = 0;

	if (st && s->dev.ecid && (mine = calloc(LOOKUP_MAX, sizeof(*mine))) != NULL)
		nmine = store_triage_attempts(st, s->dev.ecid, mine, LOOKUP_MAX);
	n = policy_flag_suggestions(s, mine, nmine, out, max);
	free(mine);
	return n;
}

static int
send_cb(void *arg, const char *line)
{
	struct console *c = arg;

	return c->remote ? remote_send(c->remote, line) : -1;
}

static void
line_cb(void *arg, const char *line, size_t len)
{
	struct console *c = arg;
	char msg[512];
	int rc = mirror_feed(c->mirror, line, len, msg, sizeof(msg));

	if (c->ui == NULL)
		return;
	if (rc == MIRROR_ERROR)
		ui_message(c->ui, "%s", msg);
	else if (rc >= 0 || rc == MIRROR_ALL)
		ui_dirty(c->ui, rc >= 0 ? rc : -1);
}

static void
closed_cb(void *arg, const char *why)
{
	struct console *c = arg;

	if (!c->left)
		text_copy(c->gone, why, sizeof(c->gone));
	ev_break(c->loop, EVBREAK_ALL);
}

static void
leave_cb(void *arg)
{
	struct console *c = arg;

	c->left = true;
	ev_break(c->loop, EVBREAK_ALL);
}

static void
sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct console *c = w->signum == SIGINT ? OWNER_OF(w, struct console, sigint) :
	    w->signum == SIGTERM ? OWNER_OF(w, struct console, sigterm) : OWNER_OF(w, struct console, sighup);

	(void)revents;
	/* a console on someone else's bench only ever leaves: the bench and its jobs stay */
	c->left = true;
	if (w->signum == SIGHUP && c->ui) {
		/* the terminal is gone: do not touch it again */
		ui_free(c->ui);
		c->ui = NULL;
	}
	ev_break(loop, EVBREAK_ALL);
}

int
attach_console(int fd)
{
	struct console c;
	struct mirror_lookup look = { history_cb, suggest_cb, &c };
	char err[256];
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.loop = ev_default_loop(EVFLAG_AUTO);
	signal(SIGPIPE, SIG_IGN);
	if ((c.mirror = mirror_new(send_cb, &c)) == NULL ||
	    (c.remote = remote_new(c.loop, fd, line_cb, closed_cb, &c)) == NULL) {
		fprintf(stderr, "idevicebench: out of memory\n");
		mirror_free(c.mirror);
		close(fd);
		return 1;
	}
	mirror_view(c.mirror, &c.view);
	mirror_set_lookup(c.mirror, &look);
	log_stderr(false);
	if ((c.ui = ui_new(c.loop, &c.view, err, sizeof(err))) == NULL) {
		log_stderr(true);
		fprintf(stderr, "idevicebench: %s\n", err);
		remote_free(c.remote);
		mirror_free(c.mirror);
		return 1;
	}
	ui_set_leave_cb(c.ui, leave_cb, &c);
	ui_message(c.ui, "attached to the running bench: q leaves this console, Q stops the bench");
	ev_signal_init(&c.sigint, sig_cb, SIGINT);
	ev_signal_init(&c.sigterm, sig_cb, SIGTERM);
	ev_signal_init(&c.sighup, sig_cb, SIGHUP);
	ev_signal_start(c.loop, &c.sigint);
	ev_signal_start(c.loop, &c.sigterm);
	ev_signal_start(c.loop, &c.sighup);

	ev_run(c.loop, 0);

	if (c.ui)
		ui_free(c.ui);
	log_stderr(true);
	ev_signal_stop(c.loop, &c.sigint);
	ev_signal_stop(c.loop, &c.sigterm);
	ev_signal_stop(c.loop, &c.sighup);
	remote_free(c.remote);
	mirror_free(c.mirror);
	if (c.store)
		store_close(c.store);
	if (c.gone[0] && !c.left) {
		fprintf(stderr, "idevicebench: the bench stopped (%s)\n", c.gone);
		rc = 0;
	}
	return rc;
}
