/*
 * server.h: the control socket. The bench listens on a Unix socket; any
 * number of consoles and JSON-lines clients attach. Each gets the current
 * state as events first, then the live events; each sends commands, one per
 * line. A client that stops reading is dropped when its bounded buffer
 * fills; it never slows the bench or the others.
 */
#ifndef IDB_SERVER_H
#define IDB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct bench;
struct server;

/* Longest command line a client may send (longer ones get an error event and are discarded). */
#define SERVER_LINE_MAX 4096

/*
 * The socket path: `explicit` if given, else $IDEVICEBENCH_SOCKET, else
 * $XDG_RUNTIME_DIR/idevicebench/bench.sock, for root /run/idevicebench/bench.sock.
 * Returns 0, or -1 with a reason in err.
 */
int server_socket_path(const char *explicit_path, char *out, size_t outlen, char *err, size_t errlen);
/*
 * Listen on path for bench b. A stale socket (nothing answers) is replaced;
 * a live one is never taken over (-1, "another bench is listening"). group
 * ("" for none) may connect besides root and the bench's own user. log_dir
 * and db (the history) are told to clients. NULL with a reason in err.
 */
struct server *server_new(struct ev_loop *, struct bench *, const char *path, const char *group,
    const char *log_dir, const char *db, char *err, size_t errlen);
/* Close every client and the socket; the socket file is removed if it is still ours. */
void server_free(struct server *);
/* Attached clients. */
int server_clients(const struct server *);
/* Consoles outside the socket (the in-process console) counted in the header figure. */
void server_set_local(struct server *, int n);
/* Told when the number of attached clients changes (may be NULL). */
void server_set_clients_cb(struct server *, void (*cb)(void *arg, int clients), void *arg);
/* Send a line (an event) to every client; the line is copied. */
void server_broadcast(struct server *, const char *line, size_t len);

#endif
