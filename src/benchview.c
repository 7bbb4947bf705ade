/* benchview.c: the console's view of a bench running in this process. */
#include <stdlib.h>

#include "bench.h"
#include "benchview.h"

/* the local view's state: the bench, and who counts the attached consoles */
struct local {
	struct bench *b;
	int (*consoles)(void *);
	void *consoles_arg;
};

static struct local local_view;

static const struct bench_status *
l_status(void *a)
{
	return bench_status(((struct local *)a)->b);
}

static size_t
l_slot_count(void *a)
{
	return bench_slot_count(((struct local *)a)->b);
}

static const struct slot *
l_slot_at(void *a, size_t i)
{
	return bench_slot_at(((struct local *)a)->b, i);
}

static int
l_slot_find(void *a, const char *name)
{
	return bench_slot_find(((struct local *)a)->b, name);
}

static int
l_exec(void *a, const struct command *c, char *msg, size_t msglen)
{
	return bench_exec(((struct local *)a)->b, c, msg, msglen);
}

static size_t
l_history(void *a, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	return bench_history(((struct local *)a)->b, ecid, out, max);
}

static size_t
l_flag_suggestions(void *a, size_t i, char out[][128], size_t max)
{
	return bench_flag_suggestions(((struct local *)a)->b, i, out, max);
}

static bool
l_busy(void *a)
{
	return bench_busy(((struct local *)a)->b);
}

static void
l_set_headless(void *a, bool on)
{
	bench_set_headless(((struct local *)a)->b, on);
}

static int
l_consoles(void *a)
{
	struct local *l = a;

	return l->consoles ? l->consoles(l->consoles_arg) : 1;
}

static const struct benchview_ops local_ops = {
	l_status, l_slot_count, l_slot_at, l_slot_find, l_exec, l_history, l_flag_suggestions,
	l_busy, l_set_headless, l_consoles
};

void
benchview_local(struct benchview *v, struct bench *b, int (*consoles)(void *), void *consoles_arg)
{
	/* one bench per process: one local view */
	local_view.b = b;
	local_view.consoles = consoles;
	local_view.consoles_arg = consoles_arg;
	v->ops = &local_ops;
	v->arg = &local_view;
	v->remote = false;
}
