/* server.c: the control socket; consoles and JSON clients attach to the bench. */
#define _GNU_SOURCE
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "command.h"
#include "events.h"
#include "log.h"
#include "outbuf.h"
#include "owner.h"
#include "server.h"
#include "text.h"

#define CLIENTS_MAX	64
#define OUT_MAX		(4u << 20)	/* a client further behind than this is dropped */
#define READ_CHUNK	1024		/* bytes read from one client per loop pass: a flood of commands
					 * runs at most ~100 of them before the others get their turn */

struct client {
	ev_io rio;
	struct server *srv;
	struct client *next;
	int fd;
	uid_t uid;
	pid_t pid;
	char in[SERVER_LINE_MAX];
	size_t inlen;
	bool discarding;		/* inside an overlong line */
	bool dead;			/* closed; freed by the reaper */
	struct outbuf *out;		/* events on their way; stopped when the client is dropped */
};

struct server {
	ev_io lio;
	ev_prepare reaper;
	struct ev_loop *loop;
	struct bench *b;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char log_dir[512];
	char db[512];			/* the history file, told to clients ("" for a URL) */
	ino_t ino;			/* our socket file, to remove only our own */
	dev_t dev;
	gid_t gid;
	bool have_group;
	int fd;
	struct client *clients;
	int nclients, local, ndead;
	void (*clients_cb)(void *, int);
	void *clients_arg;
	/* last detail body sent per slot port, to send a detail only when it changed */
	struct seen { char port[32]; char *body; } *seen;
	size_t nseen, capseen;
	char *last_bench;		/* last bench event body (without time) */
};

static void client_drop(struct client *, const char *why);

/* watchers of the socket never keep the loop alive by themselves: the bench decides when to end */
static void
io_start(struct ev_loop *loop, ev_io *w)
{
	if (!ev_is_active(w)) {
		ev_io_start(loop, w);
		ev_unref(loop);
	}
}

static void
io_stop(struct ev_loop *loop, ev_io *w)
{
	if (ev_is_active(w)) {
		ev_ref(loop);
		ev_io_stop(loop, w);
	}
}

int
server_socket_path(const char *explicit_path, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *env = getenv("IDEVICEBENCH_SOCKET"), *rt = getenv("XDG_RUNTIME_DIR");
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n;

	if (explicit_path && explicit_path[0])
		n = snprintf(out, outlen, "%s", explicit_path);
	else if (env && env[0])
		n = snprintf(out, outlen, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(out, outlen, "/run/idevicebench/bench.sock");
	else if (rt && rt[0] == '/')
		n = snprintf(out, outlen, "%s/idevicebench/bench.sock", rt);
	else {
		snprintf(err, errlen, "no socket path: XDG_RUNTIME_DIR is not set (use --socket PATH)");
		return -1;
	}
	if (n < 0 || (size_t)n >= outlen || (size_t)n >= max) {
		snprintf(err, errlen, "socket path too long (at most %zu bytes)", max - 1);
		return -1;
	}
	return 0;
}

/* ---- output ----------------------------------------------------------------- */

/* The client's queue lost a line or its socket: its picture of the bench is wrong, drop it. */
static void
client_fail_cb(void *arg, enum outbuf_fail why)
{
	struct client *c = arg;

	switch (why) {
	case OUTBUF_FULL:
		client_drop(c, "not reading: its buffer is full");
		break;
	case OUTBUF_NOMEM:
		client_drop(c, "out of memory");
		break;
	case OUTBUF_BROKEN:
		client_drop(c, "gone");
		break;
	}
}

static void
client_put(struct client *c, const char *line, size_t n)
{
	/* a failure drops the client from client_fail_cb */
	if (!c->dead)
		(void)outbuf_put(c->out, line, n);
}

static void
client_put_owned(void *arg, char *line)
{
	client_put(arg, line, strlen(line));
	free(line);
}

void
server_broadcast(struct server *s, const char *line, size_t len)
{
	for (struct client *c = s->clients; c; c = c->next)
		client_put(c, line, len);
}

static void
broadcast_owned(struct server *s, char *line)
{
	if (line == NULL)
		return;
	server_broadcast(s, line, strlen(line));
	free(line);
}

static void
client_error(struct client *c, const char *text)
{
	char *line = events_error(text);

	if (line)
		client_put_owned(c, line);
}

/* ---- the bench's events --------------------------------------------------------- */

static struct seen *
seen_for(struct server *s, const char *port)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (strcmp(s->seen[i].port, port) == 0)
			return &s->seen[i];
	if (s->nseen == s->capseen) {
		size_t cap = s->capseen ? s->capseen * 2 : 32;
		struct seen *n = realloc(s->seen, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		s->seen = n;
		s->capseen = cap;
	}
	memset(&s->seen[s->nseen], 0, sizeof(s->seen[0]));
	text_copy(s->seen[s->nseen].port, port, sizeof(s->seen[0].port));
	return &s->seen[s->nseen++];
}

static void
send_detail(struct server *s, size_t i)
{
	const struct slot *sl;
	struct seen *sn;
	char *body;

	/* nobody to tell: a client that attaches gets the current detail in its snapshot */
	if (s->clients == NULL || i >= bench_slot_count(s->b))
		return;
	sl = bench_slot_at(s->b, i);
	if ((body = events_detail_body(sl)) == NULL || (sn = seen_for(s, sl->port)) == NULL) {
		free(body);
		return;
	}
	if (sn->body && strcmp(sn->body, body) == 0) {
		free(body);
		return;
	}
	free(sn->body);
	sn->body = body;
	broadcast_owned(s, events_stamp(body));
}

static void
send_bench(struct server *s, bool force)
{
	char *line = events_bench(bench_status(s->b), s->log_dir, s->db, s->nclients + s->local);
	char *t;

	if (line == NULL)
		return;
	/* compare without the time stamp */
	if ((t = strstr(line, ",\"time\":")) != NULL && s->last_bench && !force &&
	    strncmp(s->last_bench, line, (size_t)(t - line)) == 0 && s->last_bench[t - line] == '\0') {
		free(line);
		return;
	}
	free(s->last_bench);
	s->last_bench = t ? strndup(line, (size_t)(t - line)) : NULL;
	broadcast_owned(s, line);
}

static void
slot_cb(void *arg, size_t i)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_slot(bench_slot_at(s->b, i), i));
}

static void
device_cb(void *arg, size_t i)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_device(bench_slot_at(s->b, i)));
}

static void
gone_cb(void *arg, size_t i, uint64_t ecid)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_gone(bench_slot_at(s->b, i), ecid));
}

static void
job_cb(void *arg, size_t i)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_job(bench_slot_at(s->b, i)));
}

static void
firmware_cb(void *arg, const void *status)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_firmware(status));
}

static void
advice_cb(void *arg, size_t i)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_advice(bench_slot_at(s->b, i)));
}

static void
flag_cb(void *arg, size_t i)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_flag(bench_slot_at(s->b, i)));
}

static void
error_cb(void *arg, const char *text)
{
	struct server *s = arg;

	if (s->clients)
		broadcast_owned(s, events_error(text));
}

static void
changed_cb(void *arg, int i)
{
	struct server *s = arg;
	size_t n;

	if (i >= 0) {
		send_detail(s, (size_t)i);
		return;
	}
	n = bench_slot_count(s->b);
	for (size_t k = 0; k < n; k++)
		send_detail(s, k);
	if (s->clients)
		send_bench(s, false);
}

/* ---- input ------------------------------------------------------------------------ */

static void
run_line(struct client *c, const char *line, size_t len)
{
	struct command cmd;
	char err[256];

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return;
	if (command_parse(line, len, &cmd, err, sizeof(err)) != 0) {
		client_error(c, err);
		return;
	}
	if (cmd.verb == CMD_QUIT)
		log_info("quit from client pid %ld (uid %ld): stopping the bench", (long)c->pid, (long)c->uid);
	if (bench_exec(c->srv->b, &cmd, err, sizeof(err)) != 0)
		client_error(c, err);
}

static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = OWNER_OF(w, struct client, rio);
	char chunk[READ_CHUNK];
	ssize_t n;

	(void)loop;
	(void)revents;
	/* one read a pass; the watcher is level-triggered, so the rest comes next pass */
	n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_drop(c, "gone");
		return;
	}
	if (n == 0) {
		struct pollfd pf = { .fd = c->fd, .events = POLLOUT };

		/* gone for good (POLLHUP), or only done sending: events still go out then */
		if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLERR)))
			client_drop(c, "closed");
		else
			io_stop(c->srv->loop, &c->rio);
		return;
	}
	for (ssize_t i = 0; i < n && !c->dead; i++) {
		char ch = chunk[i];

		if (ch == '\n') {
			if (c->discarding)
				client_error(c, "command line too long");
			else
				run_line(c, c->in, c->inlen);
			c->inlen = 0;
			c->discarding = false;
		} else if (!c->discarding) {
			if (c->inlen == sizeof(c->in) - 1)
				c->discarding = true;
			else
				c->in[c->inlen++] = ch;
		}
	}
}

/* ---- clients ---------------------------------------------------------------------- */

static void
client_drop(struct client *c, const char *why)
{
	struct server *s = c->srv;

	if (c->dead)
		return;
	log_info("client pid %ld (uid %ld) detached: %s", (long)c->pid, (long)c->uid, why);
	io_stop(s->loop, &c->rio);
	outbuf_stop(c->out);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	s->nclients--;
	s->ndead++;
	/* freed by the reaper: we may be inside this client's callback */
}

static void
reap_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct server *s = OWNER_OF(w, struct server, reaper);
	struct client **pp = &s->clients, *c;
	bool any = false;

	(void)loop;
	(void)revents;
	if (s->ndead == 0)
		return;
	while ((c = *pp) != NULL) {
		if (c->dead) {
			*pp = c->next;
			outbuf_free(c->out, 0);
			free(c);
			any = true;
		} else
			pp = &c->next;
	}
	s->ndead = 0;
	if (any) {
		send_bench(s, false);
		if (s->clients_cb)
			s->clients_cb(s->clients_arg, s->nclients);
	}
}

static bool
peer_allowed(struct server *s, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);
	gid_t groups[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) != 0)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!s->have_group)
		return false;
	if (cr->gid == s->gid)
		return true;
#ifdef SO_PEERGROUPS
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == s->gid)
				return true;
	}
#else
	(void)groups;
#endif
	return false;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct server *s = OWNER_OF(w, struct server, lio);
	struct client *c;
	struct ucred cr;
	int fd;

	(void)revents;
	for (int k = 0; k < 16; k++) {
		if ((fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("control socket: accept: %s", strerror(errno));
			return;
		}
		memset(&cr, 0, sizeof(cr));
		if (!peer_allowed(s, fd, &cr)) {
			char *line = events_error("permission denied: not root, the bench's user or in its group");

			log_warn("control socket: refused pid %ld uid %ld gid %ld", (long)cr.pid, (long)cr.uid,
			    (long)cr.gid);
			if (line && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* nothing more to tell it */
			}
			free(line);
			close(fd);
			continue;
		}
		c = NULL;
		if (s->nclients >= CLIENTS_MAX || (c = calloc(1, sizeof(*c))) == NULL ||
		    (c->out = outbuf_new(loop, fd, OUT_MAX, NULL, c)) == NULL) {
			char *line = events_error("too many clients attached");

			if (line && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* nothing more to tell it */
			}
			free(line);
			free(c);
			close(fd);
			continue;
		}
		outbuf_set_fail_cb(c->out, client_fail_cb);
		c->srv = s;
		c->fd = fd;
		c->uid = cr.uid;
		c->pid = cr.pid;
		ev_io_init(&c->rio, read_cb, fd, EV_READ);
		c->next = s->clients;
		s->clients = c;
		s->nclients++;
		log_info("client pid %ld (uid %ld) attached (%d now)", (long)cr.pid, (long)cr.uid, s->nclients);
		/* the current state first, then live events: nothing runs between the two */
		events_snapshot(s->b, s->log_dir, s->db, s->nclients + s->local, client_put_owned, c);
		if (c->dead)
			continue;
		io_start(loop, &c->rio);
		/* the others learn the new count */
		for (struct client *o = s->clients; o; o = o->next)
			if (o != c) {
				char *line = events_bench(bench_status(s->b), s->log_dir, s->db, s->nclients + s->local);

				if (line)
					client_put_owned(o, line);
			}
		if (s->clients_cb)
			s->clients_cb(s->clients_arg, s->nclients);
	}
}

/* ---- the socket -------------------------------------------------------------------- */

static int
make_dir(const char *path, mode_t mode, gid_t gid, bool have_group, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *slash;
	struct stat st;

	text_copy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	if (slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &st) == 0) {
		/* ours (a bench made it before): follow the configured group; anyone else's is left alone */
		if (have_group && st.st_uid == geteuid() && st.st_gid != gid && S_ISDIR(st.st_mode)) {
			if (chown(dir, (uid_t)-1, gid) != 0 || chmod(dir, mode) != 0)
				log_warn("%s: cannot give it to the bench's group: %s", dir, strerror(errno));
		}
		return 0;
	}
	if (mkdir(dir, mode) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (have_group && chown(dir, (uid_t)-1, gid) != 0)
		log_warn("%s: cannot give it to the bench's group: %s", dir, strerror(errno));
	chmod(dir, mode);
	return 0;
}

/* Is something listening on path? 1 live, 0 stale or absent, -1 cannot tell (err). */
static int
socket_live(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	text_copy(sa.sun_path, path, sizeof(sa.sun_path));
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0)
		return 1;
	if (errno == ECONNREFUSED || errno == ENOENT)
		return 0;
	if (errno == EAGAIN)
		return 1;	/* a live bench with a full backlog */
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

struct server *
server_new(struct ev_loop *loop, struct bench *b, const char *path, const char *group,
    const char *log_dir, const char *db, char *err, size_t errlen)
{
	struct bench_observer o = {
		slot_cb, device_cb, gone_cb, job_cb, advice_cb, flag_cb, error_cb, changed_cb, NULL,
		firmware_cb
	};
	struct sockaddr_un sa;
	struct server *s;
	struct stat st;
	mode_t old;
	int live;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->b = b;
	s->fd = -1;
	text_copy(s->path, path, sizeof(s->path));
	text_copy(s->log_dir, log_dir ? log_dir : "", sizeof(s->log_dir));
	text_copy(s->db, db && !strstr(db, "://") ? db : "", sizeof(s->db));
	if (group && group[0]) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			snprintf(err, errlen, "[bench] group: no group named '%s'", group);
			free(s);
			return NULL;
		}
		s->gid = gr->gr_gid;
		s->have_group = true;
	}
	if (make_dir(path, s->have_group ? 0750 : 0700, s->gid, s->have_group, err, errlen) != 0)
		goto fail;
	if ((live = socket_live(path, err, errlen)) < 0)
		goto fail;
	if (live) {
		snprintf(err, errlen, "another bench is listening on %s", path);
		goto fail;
	}
	/* stale: a bench that crashed left it; we hold the bench lock, so it is not a live one starting */
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	text_copy(sa.sun_path, path, sizeof(sa.sun_path));
	/* never a moment with a wider mode than asked */
	old = umask(s->have_group ? 0117 : 0177);
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	umask(old);
	if (s->have_group && chown(path, (uid_t)-1, s->gid) != 0)
		log_warn("%s: cannot give it to group %s: %s", path, group, strerror(errno));
	chmod(path, s->have_group ? 0660 : 0600);
	if (stat(path, &st) == 0) {
		s->ino = st.st_ino;
		s->dev = st.st_dev;
	}
	if (listen(s->fd, 32) != 0) {
		snprintf(err, errlen, "%s: listen: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	ev_io_init(&s->lio, accept_cb, s->fd, EV_READ);
	io_start(loop, &s->lio);
	ev_prepare_init(&s->reaper, reap_cb);
	ev_prepare_start(loop, &s->reaper);
	ev_unref(loop);
	o.arg = s;
	bench_add_observer(b, &o);
	log_info("listening on %s (mode %s)", path, s->have_group ? "0660" : "0600");
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

void
server_free(struct server *s)
{
	struct client *c, *n;
	struct stat st;

	if (s == NULL)
		return;
	bench_remove_observer(s->b, s);
	for (c = s->clients; c; c = c->next) {
		if (!c->dead) {
			/* last words: whatever is queued, if the client takes it now */
			outbuf_free(c->out, 0);
			c->out = NULL;
			client_drop(c, "bench stopped");
		}
	}
	for (c = s->clients; c; c = n) {
		n = c->next;
		outbuf_free(c->out, 0);
		free(c);
	}
	io_stop(s->loop, &s->lio);
	if (ev_is_active(&s->reaper)) {
		ev_ref(s->loop);
		ev_prepare_stop(s->loop, &s->reaper);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (stat(s->path, &st) == 0 && st.st_ino == s->ino && st.st_dev == s->dev)
		unlink(s->path);
	for (size_t i = 0; i < s->nseen; i++)
		free(s->seen[i].body);
	free(s->seen);
	free(s->last_bench);
	free(s);
}

int
server_clients(const struct server *s)
{
	return s ? s->nclients : 0;
}

void
server_set_local(struct server *s, int n)
{
	if (s->local == n)
		return;
	s->local = n;
	send_bench(s, false);
}

void
server_set_clients_cb(struct server *s, void (*cb)(void *, int), void *arg)
{
	s->clients_cb = cb;
	s->clients_arg = arg;
}
