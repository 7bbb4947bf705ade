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
#include <stdint.h>

struct config;
struct ev_loop;

/* Header figures for the console. */
struct bench_status {
	char name[64];			/* bench name (config, default host name) */
	char ipsw[512];			/* configured IPSW path, "" if none */
	char ipsw_desc[128];		/* "iPhone 15.8 (19H370)" when known, else the file name */
	char firmware[160];		/* downloads in progress for the header, "" when none */
	char restore_prog[256];
	char restore_version[64];	/* "idevicerestore 1.0.0", "missing" */
	bool usbmuxd_ok;
	bool store_ok;
	char store_msg[128];		/* store problem shown once, "" if fine */
	struct slot_tally count;	/* slots, present, running, ... */
	bool headless;			/* terminal lost: supervising without a screen */
};

struct bench;

/*
 * What a front end (the console, the JSON-lines writer) is told. Every
 * callback is optional; slot indexes are valid until the next callback.
 */
struct bench_observer {
	void (*slot_cb)(void *arg, size_t i);		/* a slot appeared */
	void (*device_cb)(void *arg, size_t i);		/* arrival or mode change */
	void (*gone_cb)(void *arg, size_t i, uint64_t ecid);
	void (*job_cb)(void *arg, size_t i);		/* job state or progress */
	void (*advice_cb)(void *arg, size_t i);
	void (*flag_cb)(void *arg, size_t i);
	void (*error_cb)(void *arg, const char *text);	/* command or system error */
	void (*changed_cb)(void *arg, int i);		/* anything shown changed (-1: header/all) */
	void *arg;
	/* a firmware download moved (const struct fwdl_status *, include/fwdl.h) */
	void (*firmware_cb)(void *arg, const void *status);
};

/* Start-up overrides from the command line (NULL = keep the config's). */
struct bench_options {
	const char *ipsw;
	const char *restore_cmd;
	const char *db;
	const char *log_dir;
};

/* Create the bench: reads the model tables, opens the history, takes the bench lock. */
struct bench *bench_new(struct ev_loop *, struct config *, const struct bench_options *, char *err, size_t errlen);
/* Start watching USB and announce the configured slots. 0 or -1 with err. */
int bench_start(struct bench *, char *err, size_t errlen);
void bench_add_observer(struct bench *, const struct bench_observer *);
void bench_remove_observer(struct bench *, void *arg);
/*
 * Stop: no new jobs; running ones are cancelled when `cancel` is true, else
 * left to finish. The loop is broken once nothing runs any more.
 */
void bench_shutdown(struct bench *, bool cancel);
void bench_free(struct bench *);

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
