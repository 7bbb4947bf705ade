/*
 * events.h: the JSON-lines events of DESIGN.md, formatted once for every
 * reader (stdout in --json mode, the control socket's clients, the snapshot
 * a client gets on connect). Each function returns one malloc'd line ending
 * in "\n" (NUL-terminated too), or NULL when out of memory.
 */
#ifndef IDB_EVENTS_H
#define IDB_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct slot;
struct bench;
struct bench_status;

/* {"event":"slot"}; index is the slot's place in the bench's order. */
char *events_slot(const struct slot *, size_t index);
/* {"event":"device"}: arrival or mode change. */
char *events_device(const struct slot *);
/* {"event":"gone"}. */
char *events_gone(const struct slot *, uint64_t ecid);
/* {"event":"job"} with state, step, percent, class... as the state says. */
char *events_job(const struct slot *);
char *events_advice(const struct slot *);
char *events_flag(const struct slot *);
/* {"event":"firmware"}: a download moved (status is a const struct fwdl_status *). */
char *events_firmware(const void *status);
/* {"event":"error"}: text is sanitized here. */
char *events_error(const char *text);
/*
 * {"event":"bench"} (added for consoles): header figures that are not in
 * the slot events, and how many consoles and clients are attached. The
 * history's file is named (db) so that a console on the same machine may
 * read past attempts itself; a URL is never sent (it may hold a password).
 */
char *events_bench(const struct bench_status *, const char *log_dir, const char *db, int clients);
/*
 * The body (without "time" and newline) of {"event":"detail"} (added for
 * consoles): what a console shows of a slot beyond the stable events.
 * Callers compare bodies to send only what changed; events_stamp() makes
 * the line.
 */
char *events_detail_body(const struct slot *);
/* A line from a body "{...}": adds "time" and the newline. */
char *events_stamp(const char *body);
/*
 * The current state as events, in order: bench, then per slot slot, device,
 * job, flag, advice, detail. put() takes ownership of each line.
 */
void events_snapshot(const struct bench *, const char *log_dir, const char *db, int clients,
    void (*put)(void *arg, char *line), void *arg);

#endif
