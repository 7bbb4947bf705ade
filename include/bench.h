/*
 * bench.h: the controller. Adapters (usbwatch, job, idev, store, ui, jsonl)
 * report events to it; it feeds the core, carries out the actions the core
 * returns and marks the UI dirty. The UI and the JSON front end read the
 * bench through the accessors below and act on it only through bench_exec().
 */
#ifndef IDB_BENCH_H
#define IDB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include "slot.h"
#include "command.h"

struct config;
struct ev_loop;

/* Header figures for the console. */
struct bench_status {
	char name[64];			/* bench name (config, default host name) */
	char ipsw[512];			/* configured IPSW path, "" if none */
	char ipsw_desc[128];		/* "iPhone 15.8 (19H370)" when known, else the file name */
	char restore_prog[256];
	char restore_version[64];	/* "idevicerestore 1.0.0", "missing" */
	bool usbmuxd_ok;
	bool store_ok;
	char store_msg[128];		/* store problem shown once, "" if fine */
	int slots, present, running, queued, done, failed, flagged, suspect;
	bool headless;			/* terminal lost: supervising without a screen */
};

/* One past attempt as the detail pane and history command show it. */
struct bench_attempt {
	long id;
	char port[32];
	enum job_action action;
	time_t started, ended;
	enum job_state state;		/* JOB_FAILED etc; "interrupted" shows as failed + class */
	char cls[24];			/* class name, "interrupted" for rows closed at start-up */
	int code;
	int step;
	double percent;
	char log_path[512];
};

struct bench;

/* Observer for the front end: called after a slot changed (or i == -1: the header). */
typedef void (*bench_changed_cb)(void *arg, int slot_index);

const struct bench_status *bench_status(const struct bench *);
size_t bench_slot_count(const struct bench *);
const struct slot *bench_slot_at(const struct bench *, size_t i);
/* Index of the slot named by label or port path, -1 if none. */
int bench_slot_find(const struct bench *, const char *name);
/*
 * Carry out a command (from a key or a JSON line). Returns 0, or -1 with a
 * one-line reason in msg. Erase needs no confirmation here: the UI asks first.
 */
int bench_exec(struct bench *, const struct command *, char *msg, size_t msglen);
/* Past attempts of a device, newest first; returns how many were written. */
size_t bench_history(struct bench *, uint64_t ecid, struct bench_attempt *out, size_t max);
/* Flag reasons to offer for the slot: the model's known finding first, then the failure history. */
size_t bench_flag_suggestions(struct bench *, size_t slot_index, char out[][128], size_t max);
/* True while any job is queued or running. */
bool bench_busy(const struct bench *);
/* The terminal went away: keep supervising, exit when the jobs are done. */
void bench_set_headless(struct bench *, bool);

#endif
