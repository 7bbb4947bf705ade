/*
 * remote.h: the client side of the control socket. A console attached to a
 * bench elsewhere reads its events line by line and sends it commands;
 * `attach --json` relays both ways between the socket and stdin/stdout.
 */
#ifndef IDB_REMOTE_H
#define IDB_REMOTE_H

#include <stddef.h>

struct ev_loop;
struct remote;

/* Longest event line taken from a bench; longer ones are skipped. */
#define REMOTE_LINE_MAX (256 * 1024)

/*
 * Connect to the bench on path. Returns the fd, or -1 with a reason in err;
 * *none is set when no bench runs there (no socket, or a stale one).
 */
int remote_dial(const char *path, int *none, char *err, size_t errlen);
/*
 * Read events from fd (from remote_dial) on the loop: line_cb gets each line
 * (without the newline), closed_cb once when the bench goes away.
 */
struct remote *remote_new(struct ev_loop *, int fd, void (*line_cb)(void *, const char *, size_t),
    void (*closed_cb)(void *, const char *why), void *arg);
/* Queue one line (with its newline) for the bench. 0, or -1 once the connection is gone. */
int remote_send(struct remote *, const char *line);
void remote_free(struct remote *);
/* attach --json: relay stdin to the bench and its events to stdout until it goes away. */
int remote_relay(int fd);

#endif
