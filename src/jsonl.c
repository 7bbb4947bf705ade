/* jsonl.c: JSON-lines events on stdout, commands on stdin (jansson). */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "command.h"
#include "jsonl.h"
#include "log.h"
#include "outbuf.h"
#include "owner.h"
#include "restore_parse.h"
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

static double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
emit(struct jsonl *j, json_t *o)
{
	char *s;
	size_t n;

	json_object_set_new(o, "time", json_real(now_wall()));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL || j->out == NULL) {
		free(s);
		return;
	}
	n = strlen(s);
	s[n++] = '\n';		/* json_dumps leaves room: replace the NUL */
	/* a reader that does not keep up loses events, never the bench (drained_cb says how many) */
	if (outbuf_put(j->out, s, n) != 0 && outbuf_broken(j->out) && !j->out_told) {
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

static json_t *
pct(double v)
{
	/* one decimal is what a person reads; the parser's float noise is not */
	return json_real((double)(long)(v * 10 + 0.5) / 10);
}

static json_t *
hex_or_null(uint64_t v, int width)
{
	char buf[32];

	if (v == 0)
		return json_null();
	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, v);
	return json_string(buf);
}

static json_t *
base(const char *event, const struct slot *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "event", json_string(event));
	if (s)
		json_object_set_new(o, "slot", json_string(s->label));
	return o;
}

static void
slot_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;
	const struct slot *s = bench_slot_at(j->b, i);
	json_t *o = base("slot", s);

	json_object_set_new(o, "port", json_string(s->port));
	emit(j, o);
}

static void
device_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;
	const struct slot *s = bench_slot_at(j->b, i);
	json_t *o = base("device", s);

	json_object_set_new(o, "port", json_string(s->port));
	json_object_set_new(o, "mode", json_string(slot_mode_name(s->mode)));
	json_object_set_new(o, "ecid", hex_or_null(s->dev.ecid, 1));
	json_object_set_new(o, "cpid", hex_or_null(s->dev.cpid, 4));
	json_object_set_new(o, "bdid", s->dev.cpid ? hex_or_null(s->dev.bdid, 2) : json_null());
	json_object_set_new(o, "product_type", s->dev.product_type[0] ? json_string(s->dev.product_type) : json_null());
	json_object_set_new(o, "name", s->dev.name[0] ? json_string(s->dev.name) : json_null());
	if (s->dev.udid[0])
		json_object_set_new(o, "udid", json_string(s->dev.udid));
	emit(j, o);
}

static void
gone_cb(void *arg, size_t i, uint64_t ecid)
{
	struct jsonl *j = arg;
	const struct slot *s = bench_slot_at(j->b, i);
	json_t *o = base("gone", s);

	json_object_set_new(o, "port", json_string(s->port));
	json_object_set_new(o, "ecid", hex_or_null(ecid, 1));
	emit(j, o);
}

static void
job_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;
	const struct slot *s = bench_slot_at(j->b, i);
	const struct slot_job *jb = &s->job;
	json_t *o = base("job", s);

	json_object_set_new(o, "ecid", hex_or_null(jb->ecid, 1));
	json_object_set_new(o, "action", json_string(slot_action_name(jb->action)));
	json_object_set_new(o, "state", json_string(slot_job_state_name(jb->state)));
	if (jb->state == JOB_QUEUED)
		json_object_set_new(o, "position", json_integer(jb->queue_pos));
	if (jb->state == JOB_RUNNING) {
		json_object_set_new(o, "step", json_string(rp_step_name(jb->step >= 0 ? jb->step : 0)));
		json_object_set_new(o, "percent", pct(jb->percent));
		if (jb->pid > 0)
			json_object_set_new(o, "pid", json_integer(jb->pid));
	} else if (jb->state == JOB_FAILED || jb->state == JOB_CANCELLED) {
		const struct err_result *r = &jb->result;

		json_object_set_new(o, "class", json_string(errclass_name(r->cls)));
		json_object_set_new(o, "code", r->code == ERR_NOCODE ? json_null() : json_integer(r->code));
		json_object_set_new(o, "step", r->step >= 0 ? json_string(rp_step_name(r->step)) : json_null());
		json_object_set_new(o, "percent", pct(r->percent));
		json_object_set_new(o, "message", json_string(r->message));
	}
	if ((jb->state == JOB_DONE || jb->state == JOB_FAILED || jb->state == JOB_CANCELLED) && jb->log_path[0])
		json_object_set_new(o, "log", json_string(jb->log_path));
	emit(j, o);
}

static void
advice_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;
	const struct slot *s = bench_slot_at(j->b, i);
	json_t *o = base("advice", s);

	json_object_set_new(o, "ecid", hex_or_null(s->dev.ecid, 1));
	json_object_set_new(o, "rule", json_string(s->advice_rule));
	json_object_set_new(o, "text", json_string(s->advice));
	if (s->port_suspect)
		json_object_set_new(o, "port_suspect", json_true());
	emit(j, o);
}

static void
flag_cb(void *arg, size_t i)
{
	struct jsonl *j = arg;
	const struct slot *s = bench_slot_at(j->b, i);
	json_t *o = base("flag", s);

	json_object_set_new(o, "ecid", hex_or_null(s->dev.ecid, 1));
	json_object_set_new(o, "reason", json_string(s->flag_reason));
	if (s->flag_hint[0])
		json_object_set_new(o, "hint", json_string(s->flag_hint));
	emit(j, o);
}

void
jsonl_error(struct jsonl *j, const char *text)
{
	json_t *o = base("error", NULL);
	char clean[512];

	text_sanitize(clean, sizeof(clean), text, strlen(text));
	json_object_set_new(o, "text", json_string(clean));
	emit(j, o);
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
		slot_cb, device_cb, gone_cb, job_cb, advice_cb, flag_cb, error_cb, NULL, NULL
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
