/* remote.c: the client side of the control socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "owner.h"
#include "remote.h"
#include "text.h"

#define SEND_MAX (64u << 10)	/* commands queued for a bench that does not read: typing is slower */

struct remote {
	ev_io rio;
	ev_io wio;
	struct ev_loop *loop;
	int fd;
	bool closed;
	void (*line_cb)(void *, const char *, size_t);
	void (*closed_cb)(void *, const char *);
	void *arg;
	char *in;
	size_t inlen;
	bool skipping;		/* inside an overlong line */
	char out[SEND_MAX];
	size_t outlen;
};

int
remote_dial(const char *path, int *none, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	*none = 0;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	text_copy(sa.sun_path, path, sizeof(sa.sun_path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		*none = e == ENOENT || e == ECONNREFUSED;
		if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "%s: permission denied (root, the bench's user or its group only)",
			    path);
		else
			snprintf(err, errlen, "%s: %s", path, e == ECONNREFUSED ? "no bench listening" : strerror(e));
		return -1;
	}
	return fd;
}

static void
closed(struct remote *r, const char *why)
{
	if (r->closed)
		return;
	r->closed = true;
	ev_io_stop(r->loop, &r->rio);
	ev_io_stop(r->loop, &r->wio);
	if (r->closed_cb)
		r->closed_cb(r->arg, why);
}

static void
flush(struct remote *r)
{
	while (r->outlen > 0) {
		ssize_t w = send(r->fd, r->out, r->outlen, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(r->loop, &r->wio);
			return;
		}
		if (w <= 0) {
			closed(r, "connection lost");
			return;
		}
		memmove(r->out, r->out + w, r->outlen - (size_t)w);
		r->outlen -= (size_t)w;
	}
	ev_io_stop(r->loop, &r->wio);
}

static void
write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	flush(OWNER_OF(w, struct remote, wio));
}

static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct remote *r = OWNER_OF(w, struct remote, rio);
	char chunk[16384];

	(void)loop;
	(void)revents;
	for (int k = 0; k < 16 && !r->closed; k++) {
		ssize_t n = recv(r->fd, chunk, sizeof(chunk), 0), i, start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			closed(r, n == 0 ? "the bench closed the connection" : "connection lost");
			return;
		}
		for (i = 0; i < n && !r->closed; i++) {
			if (chunk[i] != '\n')
				continue;
			if (!r->skipping) {
				size_t part = (size_t)(i - start);

				if (r->inlen + part <= REMOTE_LINE_MAX) {
					memcpy(r->in + r->inlen, chunk + start, part);
					r->line_cb(r->arg, r->in, r->inlen + part);
				}
			}
			r->inlen = 0;
			r->skipping = false;
			start = i + 1;
		}
		if (!r->closed && start < n && !r->skipping) {
			size_t part = (size_t)(n - start);

			if (r->inlen + part > REMOTE_LINE_MAX) {
				r->skipping = true;
				r->inlen = 0;
			} else {
				memcpy(r->in + r->inlen, chunk + start, part);
				r->inlen += part;
			}
		}
	}
}

struct remote *
remote_new(struct ev_loop *loop, int fd, void (*line_cb)(void *, const char *, size_t),
    void (*closed_cb)(void *, const char *), void *arg)
{
	struct remote *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->in = malloc(REMOTE_LINE_MAX + 1)) == NULL) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->fd = fd;
	r->line_cb = line_cb;
	r->closed_cb = closed_cb;
	r->arg = arg;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&r->rio, read_cb, fd, EV_READ);
	ev_io_init(&r->wio, write_cb, fd, EV_WRITE);
	ev_io_start(loop, &r->rio);
	return r;
}

int
remote_send(struct remote *r, const char *line)
{
	size_t n = strlen(line);

	if (r->closed)
		return -1;
	if (r->outlen + n > sizeof(r->out))
		return -1;
	memcpy(r->out + r->outlen, line, n);
	r->outlen += n;
	flush(r);
	return r->closed ? -1 : 0;
}

void
remote_free(struct remote *r)
{
	if (r == NULL)
		return;
	ev_io_stop(r->loop, &r->rio);
	ev_io_stop(r->loop, &r->wio);
	close(r->fd);
	free(r->in);
	free(r);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
remote_relay(int fd)
{
	struct pollfd p[2];
	char buf[65536];
	bool in_open = true;

	/* a reader that stops reading stalls only this relay; the bench drops it when its buffer fills */
	for (;;) {
		p[0].fd = fd;
		p[0].events = POLLIN;
		p[1].fd = in_open ? STDIN_FILENO : -1;
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0;	/* the bench stopped or dropped us */
			if (write_all(STDOUT_FILENO, buf, (size_t)n) != 0)
				return 0;	/* nobody reads our output any more */
		}
		if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* no more commands; events keep coming until the bench goes */
				in_open = false;
				shutdown(fd, SHUT_WR);
				continue;
			}
			if (write_all(fd, buf, (size_t)n) != 0)
				return 0;
		}
	}
}
