/* jsonl.c: JSON-lines events on stdout, commands on stdin (jansson). */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "command.h"
#include "events.h"
#include "jsonl.h"
#include "log.h"
#include "outbuf.h"
#include "owner.h"
#include "text.h"

#define LINE_MAX_CMD 4096
#define OUT_LIMIT (1024 * 1024)	/* events queued for a slow reader; the rest are dropped */
#define OUT_CLOSE_MS 2000	/* at exit, how long the last events may wait for the reader */

struct jsonl {
	ev_io in;
	struct ev_loop *loop;
	struct bench *b;
	struct outbuf *out;		/* stdout: never blocks the loop */
	char buf[LINE_MAX_CMD];
	size_t len;
	bool discarding;		/* inside an overlong line */
	bool out_told;			/* stdout's failure is logged once */
};

/* One formatted line (events.c) to stdout; the line is freed here. */
static void
emit(struct jsonl *j, char *s)
{
	if (s == NULL || j->out == NULL) {
		free(s);
		return;
	}
	/* a reader that does not keep up loses events, never the bench (drained_cb says how many) */
	if (outbuf_put(j->out, s, strlen(s)) != 0 && outbuf_broken(j->out) && !j->out_told) {
		j->out_told = true;
		log_warn("stdout closed: JSON events are no longer written");
	}
	free(s);
}

/* The reader caught up after events were dropped: tell it, in the stream itself. */
static void
out_drained_cb(void *arg, unsigned long dropped)
{
	struct jsonl *j = arg;
	char text[160];

	snprintf(text, sizeof(text), "%lu events were lost: stdout was not read for a while "
	    "(the bench went on; the slots show the current state)", dropped);
	log_warn("%s", text);
	jsonl_error(j, text);
}

static void
slot_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;

	emit(j, events_slot(bench_slot_at(j->b, i), i));
}

static void
device_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;

	emit(j, events_device(bench_slot_at(j->b, i)));
}

static void
gone_cb(void *arg, size_t i, uint64_t ecid)
{
	struct jsonl *j = arg;

	emit(j, events_gone(bench_slot_at(j->b, i), ecid));
}

static void
job_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;

	emit(j, events_job(bench_slot_at(j->b, i)));
}

static void
firmware_cb(void *arg, const void *status)
{
	struct jsonl *j = arg;

	emit(j, events_firmware(status));
}

static void
advice_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;

	emit(j, events_advice(bench_slot_at(j->b, i)));
}

static void
flag_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;

	emit(j, events_flag(bench_slot_at(j->b, i)));
}

void
jsonl_error(struct jsonl *j, const char *text)
{
	emit(j, events_error(text));
}

static void
error_cb(void *arg, const char *text)
{
	jsonl_error(arg, text);
}

static void
run_line(struct jsonl *j, const char *line, size_t len)
{
	struct command c;
	char err[256];

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return;
	if (command_parse(line, len, &c, err, sizeof(err)) != 0) {
		jsonl_error(j, err);
		return;
	}
	if (bench_exec(j->b, &c, err, sizeof(err)) != 0)
		jsonl_error(j, err);
}

static void
in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct jsonl *j = OWNER_OF(w, struct jsonl, in);
	char chunk[4096];
	ssize_t n;

	(void)revents;
	n = read(w->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF: no more commands, but the running work goes on */
		ev_ref(loop);
		ev_io_stop(loop, w);
		if (j->len > 0 && !j->discarding)
			run_line(j, j->buf, j->len);
		j->len = 0;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char ch = chunk[i];

		if (ch == '\n') {
			if (j->discarding)
				jsonl_error(j, "command line too long");
			else
				run_line(j, j->buf, j->len);
			j->len = 0;
			j->discarding = false;
		} else if (!j->discarding) {
			if (j->len == sizeof(j->buf) - 1)
				j->discarding = true;
			else
				j->buf[j->len++] = ch;
		}
	}
}

struct jsonl *
jsonl_new(struct ev_loop *loop, struct bench *b, int in_fd, int out_fd)
{
	struct jsonl *j = calloc(1, sizeof(*j));
	struct bench_observer o = {
		slot_cb, device_cb, gone_cb, job_cb, advice_cb, flag_cb, error_cb, NULL, NULL, firmware_cb
	};

	if (j == NULL)
		return NULL;
	j->loop = loop;
	j->b = b;
	if (out_fd >= 0 && (j->out = outbuf_new(loop, out_fd, OUT_LIMIT, out_drained_cb, j)) == NULL) {
		free(j);
		return NULL;
	}
	o.arg = j;
	bench_add_observer(b, &o);
	if (in_fd >= 0) {
		fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
		ev_io_init(&j->in, in_cb, in_fd, EV_READ);
		ev_io_start(loop, &j->in);
		ev_unref(loop);		/* stdin alone does not keep the bench running */
	}
	return j;
}

void
jsonl_free(struct jsonl *j)
{
	if (j == NULL)
		return;
	bench_remove_observer(j->b, j);
	if (ev_is_active(&j->in)) {
		ev_ref(j->loop);
		ev_io_stop(j->loop, &j->in);
	}
	outbuf_free(j->out, OUT_CLOSE_MS);
	free(j);
}
