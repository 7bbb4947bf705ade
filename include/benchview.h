/*
 * benchview.h: what a console reads of a bench and how it acts on it, the
 * same whether the bench runs in this process (the real one, bench.h) or
 * elsewhere (a mirror fed by the control socket's events, mirror.h). The UI
 * calls only these.
 */
#ifndef IDB_BENCHVIEW_H
#define IDB_BENCHVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

struct benchview_ops {
	const struct bench_status *(*status)(void *);
	size_t (*slot_count)(void *);
	const struct slot *(*slot_at)(void *, size_t i);
	int (*slot_find)(void *, const char *name);
	int (*exec)(void *, const struct command *, char *msg, size_t msglen);
	size_t (*history)(void *, uint64_t ecid, struct bench_attempt *out, size_t max);
	size_t (*flag_suggestions)(void *, size_t slot_index, char out[][128], size_t max);
	bool (*busy)(void *);
	void (*set_headless)(void *, bool);
	int (*consoles)(void *);	/* consoles attached, this one included */
};

struct benchview {
	const struct benchview_ops *ops;
	void *arg;
	bool remote;			/* attached over the socket: q leaves, the bench stays */
};

/* A view of the bench in this process. */
void benchview_local(struct benchview *, struct bench *, int (*consoles)(void *), void *consoles_arg);

static inline const struct bench_status *
bv_status(const struct benchview *v)
{
	return v->ops->status(v->arg);
}

static inline size_t
bv_slot_count(const struct benchview *v)
{
	return v->ops->slot_count(v->arg);
}

static inline const struct slot *
bv_slot_at(const struct benchview *v, size_t i)
{
	return v->ops->slot_at(v->arg, i);
}

static inline int
bv_slot_find(const struct benchview *v, const char *name)
{
	return v->ops->slot_find(v->arg, name);
}

static inline int
bv_exec(const struct benchview *v, const struct command *c, char *msg, size_t msglen)
{
	return v->ops->exec(v->arg, c, msg, msglen);
}

static inline size_t
bv_history(const struct benchview *v, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	return v->ops->history(v->arg, ecid, out, max);
}

static inline size_t
bv_flag_suggestions(const struct benchview *v, size_t i, char out[][128], size_t max)
{
	return v->ops->flag_suggestions(v->arg, i, out, max);
}

static inline bool
bv_busy(const struct benchview *v)
{
	return v->ops->busy(v->arg);
}

static inline void
bv_set_headless(const struct benchview *v, bool on)
{
	v->ops->set_headless(v->arg, on);
}

static inline int
bv_consoles(const struct benchview *v)
{
	return v->ops->consoles(v->arg);
}

#endif
