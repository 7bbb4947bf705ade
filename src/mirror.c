/* mirror.c: a console's copy of a bench elsewhere, kept from its events. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "benchview.h"
#include "command.h"
#include "errclass.h"
#include "mirror.h"
#include "osutil.h"
#include "restore_parse.h"
#include "slot.h"
#include "text.h"

struct mirror {
	struct slot **slots;
	size_t nslots, cap;
	struct bench_status st;
	char log_dir[512];
	char db[512];
	struct mirror_lookup look;
	int clients;
	bool ready;
	int (*send)(void *, const char *);
	void *send_arg;
};

static double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- reading fields: anything of the wrong type leaves the old value ---- */

static void
get_str(json_t *o, const char *key, char *dst, size_t len)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (json_is_null(v))
		dst[0] = '\0';
	else if ((s = json_string_value(v)) != NULL)
		/* the bench sanitized it; a console never trusts a socket with its terminal */
		text_sanitize(dst, len, s, strlen(s));
}

static bool
get_bool(json_t *o, const char *key, bool dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static long long
get_int(json_t *o, const char *key, long long dflt)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return dflt;
}

static double
get_num(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

static uint64_t
get_hex(json_t *o, const char *key, uint64_t dflt)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (json_is_null(v))
		return 0;
	if ((s = json_string_value(v)) == NULL)
		return dflt;
	return strtoull(s, NULL, 16);
}

static int
name_index(const char *(*name)(int), int n, const char *s, int dflt)
{
	for (int i = 0; i < n; i++)
		if (strcmp(name(i), s) == 0)
			return i;
	return dflt;
}

static const char *
mode_name(int i)
{
	return slot_mode_name((enum dev_mode)i);
}

static const char *
state_name(int i)
{
	return slot_job_state_name((enum job_state)i);
}

static const char *
action_name(int i)
{
	return slot_action_name((enum job_action)i);
}

/* ---- slots ---- */

static int
find(const struct mirror *m, const char *name)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (strcmp(m->slots[i]->label, name) == 0 || strcmp(m->slots[i]->port, name) == 0)
			return (int)i;
	return -1;
}

static void
recount(struct mirror *m)
{
	memset(&m->st.count, 0, sizeof(m->st.count));
	for (size_t i = 0; i < m->nslots; i++)
		slot_tally_add(&m->st.count, m->slots[i]);
}

static int
add_slot(struct mirror *m, json_t *o, const char *label)
{
	char port[32] = "";
	struct slot *s;
	long long at;
	size_t pos;

	get_str(o, "port", port, sizeof(port));
	if (port[0] == '\0' || !command_slot_name_ok(label) || !command_slot_name_ok(port))
		return MIRROR_NONE;
	for (size_t i = 0; i < m->nslots; i++)
		if (strcmp(m->slots[i]->port, port) == 0)
			return (int)i;	/* a slot is its port: told again, it is the same slot */
	if (m->nslots == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		struct slot **n = realloc(m->slots, cap * sizeof(*n));

		if (n == NULL)
			return MIRROR_NONE;
		m->slots = n;
		m->cap = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MIRROR_NONE;
	text_copy(s->label, label, sizeof(s->label));
	text_copy(s->port, port, sizeof(s->port));
	s->job.step = STEP_NONE;
	/* the bench's order: its index when given, else by port */
	at = get_int(o, "index", -1);
	if (at >= 0 && (size_t)at <= m->nslots)
		pos = (size_t)at;
	else
		for (pos = 0; pos < m->nslots; pos++)
			if (slot_port_cmp(port, m->slots[pos]->port) < 0)
				break;
	memmove(&m->slots[pos + 1], &m->slots[pos], (m->nslots - pos) * sizeof(*m->slots));
	m->slots[pos] = s;
	m->nslots++;
	return MIRROR_ALL;
}

static void
apply_device(struct slot *s, json_t *o)
{
	const char *mode = json_string_value(json_object_get(o, "mode"));

	s->present = true;
	if (mode)
		s->mode = (enum dev_mode)name_index(mode_name, MODE__COUNT, mode, s->mode);
	s->dev.ecid = get_hex(o, "ecid", s->dev.ecid);
	s->dev.cpid = (uint32_t)get_hex(o, "cpid", s->dev.cpid);
	s->dev.bdid = (uint32_t)get_hex(o, "bdid", s->dev.bdid);
	get_str(o, "product_type", s->dev.product_type, sizeof(s->dev.product_type));
	get_str(o, "name", s->dev.name, sizeof(s->dev.name));
	get_str(o, "udid", s->dev.udid, sizeof(s->dev.udid));
}

static void
apply_job(struct slot *s, json_t *o)
{
	struct slot_job *jb = &s->job;
	const char *v;

	if ((v = json_string_value(json_object_get(o, "state"))) != NULL)
		jb->state = (enum job_state)name_index(state_name, JOB__COUNT, v, jb->state);
	if ((v = json_string_value(json_object_get(o, "action"))) != NULL)
		jb->action = (enum job_action)name_index(action_name, 2, v, jb->action);
	jb->ecid = get_hex(o, "ecid", jb->ecid);
	jb->queue_pos = (int)get_int(o, "position", jb->queue_pos);
	jb->pid = jb->state == JOB_RUNNING ? (pid_t)get_int(o, "pid", 0) : 0;
	/* the IPSW chosen, and whether the job waits for its download */
	jb->waiting_fw = jb->state == JOB_QUEUED &&
	    json_is_string(json_object_get(o, "waiting")) &&
	    strcmp(json_string_value(json_object_get(o, "waiting")), "firmware") == 0;
	jb->firmware[0] = '\0';
	get_str(o, "firmware", jb->firmware, sizeof(jb->firmware));
	if (jb->state == JOB_QUEUED || jb->state == JOB_RUNNING) {
		memset(&jb->result, 0, sizeof(jb->result));
		jb->result.step = STEP_NONE;
	}
	if (jb->state == JOB_RUNNING) {
		if ((v = json_string_value(json_object_get(o, "step"))) != NULL)
			jb->step = rp_step_from_name(v);
		jb->percent = get_num(o, "percent", jb->percent);
	} else if (jb->state == JOB_FAILED || jb->state == JOB_CANCELLED) {
		struct err_result *r = &jb->result;
		json_t *code = json_object_get(o, "code");

		if ((v = json_string_value(json_object_get(o, "class"))) != NULL)
			r->cls = errclass_from_name(v);
		r->code = json_is_integer(code) ? (int)json_integer_value(code) : ERR_NOCODE;
		v = json_string_value(json_object_get(o, "step"));
		r->step = v ? rp_step_from_name(v) : STEP_NONE;
		r->percent = get_num(o, "percent", 0);
		get_str(o, "message", r->message, sizeof(r->message));
	} else if (jb->state == JOB_DONE) {
		jb->result.ok = true;
		jb->percent = 100;
	}
	get_str(o, "log", jb->log_path, sizeof(jb->log_path));
}

static void
apply_detail(struct slot *s, json_t *o)
{
	const char *mode = json_string_value(json_object_get(o, "mode"));
	json_t *tail = json_object_get(o, "tail");
	double dfu_wall;

	s->present = get_bool(o, "present", s->present);
	if (mode)
		s->mode = (enum dev_mode)name_index(mode_name, MODE__COUNT, mode, s->mode);
	if (!s->present) {
		json_t *last = json_object_get(o, "last");

		memset(&s->dev, 0, sizeof(s->dev));
		if (json_is_object(last)) {
			/* an empty slot still names the phone it last had, as the bench's own console does */
			s->dev.ecid = get_hex(last, "ecid", 0);
			s->dev.cpid = (uint32_t)get_hex(last, "cpid", 0);
			s->dev.bdid = (uint32_t)get_hex(last, "bdid", 0);
			get_str(last, "product_type", s->dev.product_type, sizeof(s->dev.product_type));
			get_str(last, "name", s->dev.name, sizeof(s->dev.name));
		}
	}
	s->since = (time_t)get_int(o, "since", s->since);
	s->dev.product_id = (uint16_t)get_int(o, "product_id", s->dev.product_id);
	get_str(o, "version", s->dev.version, sizeof(s->dev.version));
	get_str(o, "srnm", s->dev.srnm, sizeof(s->dev.srnm));
	get_str(o, "serial", s->dev.serial_raw, sizeof(s->dev.serial_raw));
	s->attempts = (int)get_int(o, "attempts", s->attempts);
	s->flagged = get_bool(o, "flagged", s->flagged);
	get_str(o, "reason", s->flag_reason, sizeof(s->flag_reason));
	get_str(o, "hint", s->flag_hint, sizeof(s->flag_hint));
	s->ignored = get_bool(o, "ignored", s->ignored);
	s->port_suspect = get_bool(o, "port_suspect", s->port_suspect);
	get_str(o, "rule", s->advice_rule, sizeof(s->advice_rule));
	get_str(o, "advice", s->advice, sizeof(s->advice));
	s->advice_stop = get_bool(o, "advice_stop", s->advice_stop);
	get_str(o, "action_msg", s->action_msg, sizeof(s->action_msg));
	s->dfu = (enum dfu_phase)get_int(o, "dfu", s->dfu);
	if (s->dfu > DFU_TOO_LONG)
		s->dfu = DFU_OFF;
	s->dfu_step = (int)get_int(o, "dfu_step", s->dfu_step);
	if (s->dfu_step < 0 || s->dfu_step > 64)
		s->dfu_step = 0;
	dfu_wall = get_num(o, "dfu_started", 0);
	s->dfu_step_started = dfu_wall > 0 ? os_mono() - (now_wall() - dfu_wall) : 0;
	s->job.step = (int)get_int(o, "job_step", s->job.step);
	if (s->job.step < STEP_NONE || s->job.step > 64)
		s->job.step = STEP_NONE;
	s->job.started = (time_t)get_int(o, "started", s->job.started);
	s->job.ended = (time_t)get_int(o, "ended", s->job.ended);
	get_str(o, "decisive", s->job.result.decisive, sizeof(s->job.result.decisive));
	get_str(o, "log", s->job.log_path, sizeof(s->job.log_path));
	if (json_is_array(tail)) {
		size_t k;
		json_t *line;

		s->job.tail_next = s->job.tail_count = 0;
		json_array_foreach(tail, k, line) {
			const char *t = json_string_value(line);

			if (t && s->job.tail_count < SLOT_TAIL_LINES)
				slot_tail_push(&s->job, t, strlen(t));
		}
	}
}

static void
apply_bench(struct mirror *m, json_t *o)
{
	struct bench_status *st = &m->st;

	get_str(o, "name", st->name, sizeof(st->name));
	get_str(o, "ipsw", st->ipsw, sizeof(st->ipsw));
	get_str(o, "ipsw_desc", st->ipsw_desc, sizeof(st->ipsw_desc));
	get_str(o, "restore_prog", st->restore_prog, sizeof(st->restore_prog));
	get_str(o, "restore_version", st->restore_version, sizeof(st->restore_version));
	st->usbmuxd_ok = get_bool(o, "usbmuxd_ok", st->usbmuxd_ok);
	st->store_ok = get_bool(o, "store_ok", st->store_ok);
	get_str(o, "store_msg", st->store_msg, sizeof(st->store_msg));
	st->headless = get_bool(o, "headless", st->headless);
	get_str(o, "log_dir", m->log_dir, sizeof(m->log_dir));
	get_str(o, "db", m->db, sizeof(m->db));
	m->clients = (int)get_int(o, "clients", m->clients);
	m->ready = true;
}

int
mirror_feed(struct mirror *m, const char *line, size_t len, char *msg, size_t msglen)
{
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *ev, *label;
	int rc = MIRROR_NONE, i = -1;

	if (!json_is_object(o) || (ev = json_string_value(json_object_get(o, "event"))) == NULL) {
		json_decref(o);
		return MIRROR_NONE;
	}
	label = json_string_value(json_object_get(o, "slot"));
	if (label && strcmp(ev, "slot") != 0)
		i = find(m, label);
	if (strcmp(ev, "bench") == 0) {
		apply_bench(m, o);
		rc = MIRROR_ALL;
	} else if (strcmp(ev, "error") == 0) {
		msg[0] = '\0';
		get_str(o, "text", msg, msglen);
		rc = MIRROR_ERROR;
	} else if (strcmp(ev, "slot") == 0) {
		if (label)
			rc = add_slot(m, o, label);
	} else if (i < 0) {
		rc = MIRROR_NONE;	/* an event for a slot we were never told of */
	} else {
		struct slot *s = m->slots[i];

		rc = i;
		if (strcmp(ev, "device") == 0)
			apply_device(s, o);
		else if (strcmp(ev, "gone") == 0) {
			s->present = false;
			s->gone_at = time(NULL);
		} else if (strcmp(ev, "job") == 0)
			apply_job(s, o);
		else if (strcmp(ev, "advice") == 0) {
			get_str(o, "rule", s->advice_rule, sizeof(s->advice_rule));
			get_str(o, "text", s->advice, sizeof(s->advice));
			s->port_suspect = get_bool(o, "port_suspect", s->port_suspect);
		} else if (strcmp(ev, "flag") == 0) {
			s->flagged = true;
			get_str(o, "reason", s->flag_reason, sizeof(s->flag_reason));
			get_str(o, "hint", s->flag_hint, sizeof(s->flag_hint));
		} else if (strcmp(ev, "detail") == 0)
			apply_detail(s, o);
		else
			rc = MIRROR_NONE;
	}
	if (rc != MIRROR_NONE && rc != MIRROR_ERROR)
		recount(m);
	json_decref(o);
	return rc;
}

/* ---- the view ---- */

static const struct bench_status *
m_status(void *a)
{
	return &((struct mirror *)a)->st;
}

static size_t
m_slot_count(void *a)
{
	return ((struct mirror *)a)->nslots;
}

static const struct slot *
m_slot_at(void *a, size_t i)
{
	struct mirror *m = a;

	return i < m->nslots ? m->slots[i] : NULL;
}

static int
m_slot_find(void *a, const char *name)
{
	return find(a, name);
}

static int
m_exec(void *a, const struct command *c, char *msg, size_t msglen)
{
	struct mirror *m = a;
	char line[CMD_SLOT_MAX + CMD_REASON_MAX + 32];

	msg[0] = '\0';
	if (c->slot[0] && c->reason[0])
		snprintf(line, sizeof(line), "%s %s %s\n", command_name(c->verb), c->slot, c->reason);
	else if (c->slot[0])
		snprintf(line, sizeof(line), "%s %s\n", command_name(c->verb), c->slot);
	else
		snprintf(line, sizeof(line), "%s\n", command_name(c->verb));
	if (m->send(m->send_arg, line) != 0) {
		snprintf(msg, msglen, "the bench is not reachable");
		return -1;
	}
	/* the bench answers with events; an error comes back as an error event */
	return 0;
}

static size_t
m_history(void *a, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	struct mirror *m = a;

	if (m->look.history == NULL || ecid == 0)
		return 0;
	return m->look.history(m->look.arg, m->db, ecid, out, max);
}

static size_t
m_flag_suggestions(void *a, size_t i, char out[][128], size_t max)
{
	struct mirror *m = a;
	size_t n = 0;

	if (i < m->nslots && m->look.flag_suggestions)
		return m->look.flag_suggestions(m->look.arg, m->db, m->slots[i], out, max);
	/* the advice the bench gave is the best suggestion a console can offer by itself */
	if (i < m->nslots && max > 0 && m->slots[i]->advice[0])
		text_copy(out[n++], m->slots[i]->advice, 128);
	return n;
}

static bool
m_busy(void *a)
{
	struct mirror *m = a;

	return m->st.count.running + m->st.count.queued > 0;
}

static void
m_set_headless(void *a, bool on)
{
	(void)a;
	(void)on;	/* an attached console going away leaves the bench as it is */
}

static int
m_consoles(void *a)
{
	return ((struct mirror *)a)->clients;
}

static const struct benchview_ops mirror_ops = {
	m_status, m_slot_count, m_slot_at, m_slot_find, m_exec, m_history, m_flag_suggestions,
	m_busy, m_set_headless, m_consoles
};

struct mirror *
mirror_new(int (*send)(void *, const char *), void *send_arg)
{
	struct mirror *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->send = send;
	m->send_arg = send_arg;
	m->st.usbmuxd_ok = true;
	m->st.store_ok = true;
	return m;
}

void
mirror_free(struct mirror *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nslots; i++)
		free(m->slots[i]);
	free(m->slots);
	free(m);
}

void
mirror_view(struct mirror *m, struct benchview *v)
{
	v->ops = &mirror_ops;
	v->arg = m;
	v->remote = true;
}

void
mirror_set_lookup(struct mirror *m, const struct mirror_lookup *l)
{
	m->look = *l;
}

bool
mirror_ready(const struct mirror *m)
{
	return m->ready;
}

const char *
mirror_log_dir(const struct mirror *m)
{
	return m->log_dir;
}
