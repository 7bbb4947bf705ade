/* events.c: one formatter for the JSON-lines events (stdout, socket, snapshot). */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "events.h"
#include "fwdl.h"
#include "osutil.h"
#include "restore_parse.h"
#include "slot.h"
#include "text.h"

static double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
dump(json_t *o, bool stamp)
{
	char *s;
	size_t n;

	if (o == NULL)
		return NULL;
	if (stamp)
		json_object_set_new(o, "time", json_real(now_wall()));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL || !stamp)
		return s;
	n = strlen(s);
	/* room for the newline: json_dumps allocated exactly n + 1 */
	char *line = realloc(s, n + 2);

	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
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

/* json_string refuses invalid UTF-8: never lose an event to a byte */
static json_t *
str(const char *s)
{
	json_t *j = json_string(s);

	if (j == NULL) {
		char clean[1024];

		text_sanitize(clean, sizeof(clean), s, strlen(s));
		for (char *p = clean; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		j = json_string(clean);
	}
	return j ? j : json_string("");
}

static json_t *
base(const char *event, const struct slot *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "event", json_string(event));
	if (s)
		json_object_set_new(o, "slot", str(s->label));
	return o;
}

char *
events_slot(const struct slot *s, size_t index)
{
	json_t *o = base("slot", s);

	json_object_set_new(o, "port", str(s->port));
	json_object_set_new(o, "index", json_integer((json_int_t)index));
	return dump(o, true);
}

char *
events_device(const struct slot *s)
{
	json_t *o = base("device", s);

	json_object_set_new(o, "port", str(s->port));
	json_object_set_new(o, "mode", json_string(slot_mode_name(s->mode)));
	json_object_set_new(o, "ecid", hex_or_null(s->dev.ecid, 1));
	json_object_set_new(o, "cpid", hex_or_null(s->dev.cpid, 4));
	json_object_set_new(o, "bdid", s->dev.cpid ? hex_or_null(s->dev.bdid, 2) : json_null());
	json_object_set_new(o, "product_type", s->dev.product_type[0] ? str(s->dev.product_type) : json_null());
	json_object_set_new(o, "name", s->dev.name[0] ? str(s->dev.name) : json_null());
	if (s->dev.udid[0])
		json_object_set_new(o, "udid", str(s->dev.udid));
	return dump(o, true);
}

char *
events_gone(const struct slot *s, uint64_t ecid)
{
	json_t *o = base("gone", s);

	json_object_set_new(o, "port", str(s->port));
	json_object_set_new(o, "ecid", hex_or_null(ecid, 1));
	return dump(o, true);
}

char *
events_job(const struct slot *s)
{
	const struct slot_job *jb = &s->job;
	json_t *o = base("job", s);

	json_object_set_new(o, "ecid", hex_or_null(jb->ecid, 1));
	json_object_set_new(o, "action", json_string(slot_action_name(jb->action)));
	json_object_set_new(o, "state", json_string(slot_job_state_name(jb->state)));
	if (jb->state == JOB_QUEUED)
		json_object_set_new(o, "position", json_integer(jb->queue_pos));
	if (jb->state == JOB_QUEUED && jb->waiting_fw)
		json_object_set_new(o, "waiting", json_string("firmware"));
	if (jb->firmware[0])
		json_object_set_new(o, "firmware", json_string(jb->firmware));
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
		json_object_set_new(o, "message", str(r->message));
	}
	if ((jb->state == JOB_DONE || jb->state == JOB_FAILED || jb->state == JOB_CANCELLED) && jb->log_path[0])
		json_object_set_new(o, "log", str(jb->log_path));
	return dump(o, true);
}

char *
events_advice(const struct slot *s)
{
	json_t *o = base("advice", s);

	json_object_set_new(o, "ecid", hex_or_null(s->dev.ecid, 1));
	json_object_set_new(o, "rule", str(s->advice_rule));
	json_object_set_new(o, "text", str(s->advice));
	if (s->port_suspect)
		json_object_set_new(o, "port_suspect", json_true());
	return dump(o, true);
}

char *
events_flag(const struct slot *s)
{
	json_t *o = base("flag", s);

	json_object_set_new(o, "ecid", hex_or_null(s->dev.ecid, 1));
	json_object_set_new(o, "reason", str(s->flag_reason));
	if (s->flag_hint[0])
		json_object_set_new(o, "hint", str(s->flag_hint));
	return dump(o, true);
}

/* {"event":"firmware","model","version","build","state","percent","bytes","total"}: a download moved. */
char *
events_firmware(const void *p)
{
	const struct fwdl_status *st = p;
	json_t *o = base("firmware", NULL);

	json_object_set_new(o, "model", json_string(st->model));
	json_object_set_new(o, "version", json_string(st->version));
	json_object_set_new(o, "build", json_string(st->build));
	json_object_set_new(o, "state", json_string(fwdl_state_name(st->state)));
	json_object_set_new(o, "percent", pct(st->percent));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "total", json_integer((json_int_t)st->total));
	if (st->state == FWDL_DOWNLOADING) {
		json_object_set_new(o, "rate", json_integer((json_int_t)st->rate));
		json_object_set_new(o, "eta", st->eta >= 0 ? json_integer((json_int_t)st->eta) : json_null());
	}
	if (st->state == FWDL_FAILED)
		json_object_set_new(o, "message", json_string(st->message));
	return dump(o, true);
}

char *
events_error(const char *text)
{
	json_t *o = base("error", NULL);
	char clean[512];

	text_sanitize(clean, sizeof(clean), text, strlen(text));
	json_object_set_new(o, "text", str(clean));
	return dump(o, true);
}

char *
events_bench(const struct bench_status *st, const char *log_dir, const char *db, int clients)
{
	json_t *o = base("bench", NULL);

	json_object_set_new(o, "name", str(st->name));
	json_object_set_new(o, "ipsw", str(st->ipsw));
	json_object_set_new(o, "ipsw_desc", str(st->ipsw_desc));
	json_object_set_new(o, "restore_prog", str(st->restore_prog));
	json_object_set_new(o, "restore_version", str(st->restore_version));
	json_object_set_new(o, "usbmuxd_ok", json_boolean(st->usbmuxd_ok));
	json_object_set_new(o, "store_ok", json_boolean(st->store_ok));
	json_object_set_new(o, "store_msg", str(st->store_msg));
	json_object_set_new(o, "headless", json_boolean(st->headless));
	json_object_set_new(o, "log_dir", str(log_dir ? log_dir : ""));
	json_object_set_new(o, "db", str(db && !strstr(db, "://") ? db : ""));
	json_object_set_new(o, "clients", json_integer(clients));
	return dump(o, true);
}

char *
events_detail_body(const struct slot *s)
{
	const struct slot_job *jb = &s->job;
	json_t *o = base("detail", s), *tail = json_array();
	double dfu_wall = 0;

	json_object_set_new(o, "port", str(s->port));
	json_object_set_new(o, "present", json_boolean(s->present));
	json_object_set_new(o, "mode", json_string(slot_mode_name(s->mode)));
	json_object_set_new(o, "since", json_integer((json_int_t)s->since));
	json_object_set_new(o, "product_id", json_integer(s->dev.product_id));
	if (!s->present && s->dev.ecid) {
		/* the phone the slot last had: an empty slot still names it, in every console */
		json_t	*last = json_object();
		char	 hex[32];

		snprintf(hex, sizeof(hex), "0x%" PRIx64, s->dev.ecid);
		json_object_set_new(last, "ecid", json_string(hex));
		snprintf(hex, sizeof(hex), "0x%04x", s->dev.cpid);
		json_object_set_new(last, "cpid", json_string(hex));
		snprintf(hex, sizeof(hex), "0x%02x", s->dev.bdid);
		json_object_set_new(last, "bdid", json_string(hex));
		json_object_set_new(last, "product_type", str(s->dev.product_type));
		json_object_set_new(last, "name", str(s->dev.name));
		json_object_set_new(o, "last", last);
	}
	json_object_set_new(o, "version", str(s->dev.version));
	json_object_set_new(o, "srnm", str(s->dev.srnm));
	json_object_set_new(o, "serial", str(s->dev.serial_raw));
	json_object_set_new(o, "attempts", json_integer(s->attempts));
	json_object_set_new(o, "flagged", json_boolean(s->flagged));
	json_object_set_new(o, "reason", str(s->flag_reason));
	json_object_set_new(o, "hint", str(s->flag_hint));
	json_object_set_new(o, "ignored", json_boolean(s->ignored));
	json_object_set_new(o, "port_suspect", json_boolean(s->port_suspect));
	json_object_set_new(o, "rule", str(s->advice_rule));
	json_object_set_new(o, "advice", str(s->advice));
	json_object_set_new(o, "advice_stop", json_boolean(s->advice_stop));
	json_object_set_new(o, "action_msg", str(s->action_msg));
	json_object_set_new(o, "dfu", json_integer(s->dfu));
	json_object_set_new(o, "dfu_step", json_integer(s->dfu_step));
	if (s->dfu != DFU_OFF && s->dfu_step_started > 0)
		dfu_wall = (double)(long)((now_wall() - (os_mono() - s->dfu_step_started)) * 10) / 10;
	json_object_set_new(o, "dfu_started", json_real(dfu_wall));
	json_object_set_new(o, "job_step", json_integer(jb->step));
	json_object_set_new(o, "started", json_integer((json_int_t)jb->started));
	json_object_set_new(o, "ended", json_integer((json_int_t)jb->ended));
	json_object_set_new(o, "decisive", str(jb->result.decisive));
	json_object_set_new(o, "log", str(jb->log_path));
	for (unsigned k = 0; k < jb->tail_count && k < SLOT_TAIL_LINES; k++) {
		unsigned at = (jb->tail_next + SLOT_TAIL_LINES - jb->tail_count + k) % SLOT_TAIL_LINES;

		json_array_append_new(tail, str(jb->tail[at]));
	}
	json_object_set_new(o, "tail", tail);
	return dump(o, false);
}

char *
events_stamp(const char *body)
{
	size_t n = strlen(body);
	char *line;

	if (n < 2 || body[n - 1] != '}')
		return NULL;
	if ((line = malloc(n + 48)) == NULL)
		return NULL;
	snprintf(line, n + 48, "%.*s,\"time\":%.6f}\n", (int)(n - 1), body, now_wall());
	return line;
}

void
events_snapshot(const struct bench *b, const char *log_dir, const char *db, int clients,
    void (*put)(void *arg, char *line), void *arg)
{
	size_t n = bench_slot_count(b);
	char *line;

	if ((line = events_bench(bench_status(b), log_dir, db, clients)) != NULL)
		put(arg, line);
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = bench_slot_at(b, i);
		char *body;

		if ((line = events_slot(s, i)) != NULL)
			put(arg, line);
		if (s->present && (line = events_device(s)) != NULL)
			put(arg, line);
		if (s->job.state != JOB_NONE && (line = events_job(s)) != NULL)
			put(arg, line);
		if (s->flagged && (line = events_flag(s)) != NULL)
			put(arg, line);
		if (s->advice[0] && (line = events_advice(s)) != NULL)
			put(arg, line);
		if ((body = events_detail_body(s)) != NULL) {
			if ((line = events_stamp(body)) != NULL)
				put(arg, line);
			free(body);
		}
	}
}
