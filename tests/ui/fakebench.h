/*
 * fakebench.h: a stand-in bench for developing and testing the console.
 * It implements bench.h's accessors over a static set of slots in every
 * state and records each command it receives, one a line, in a file.
 */
#ifndef IDB_FAKEBENCH_H
#define IDB_FAKEBENCH_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct bench;

struct fakebench_opts {
	size_t nslots;			/* how many slots (16 by default) */
	const char *cmdlog;		/* commands received are appended here, NULL: nowhere */
	const char *logfile;		/* log_path of every slot with a job */
	const char *dfu_script;		/* phases after `dfu`: "torec:1,steps:3,done" */
	bool idle;			/* no queued or running jobs */
	bool animate;			/* running jobs make progress */
};

struct bench *fakebench_new(struct ev_loop *, const struct fakebench_opts *);
void fakebench_free(struct bench *);
/* True once the quit command arrived. */
bool fakebench_quit(const struct bench *);

#endif
