/* fakebench.c: bench.h over a static set of slots, for the console's tests. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "fakebench.h"
#include "restore_parse.h"
#include "text.h"

#define MAX_OBS 4
#define MAX_PHASES 8

struct bench {
	struct ev_loop *loop;
	struct fakebench_opts o;
	struct slot *slots;
	size_t n;
	struct bench_status st;
	struct bench_observer obs[MAX_OBS];
	size_t nobs;
	bool quit;
	ev_timer anim;
	/* the DFU script being played */
	ev_timer dfu_timer;
	int dfu_slot;
	enum dfu_phase phases[MAX_PHASES];
	double secs[MAX_PHASES];
	size_t nphases, phase;
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
notify(struct bench *b, int i)
{
	size_t k;

	for (k = 0; k < b->nobs; k++)
		if (b->obs[k].changed_cb)
			b->obs[k].changed_cb(b->obs[k].arg, i);
}

static void
dev(struct slot *s, enum dev_mode m, const char *name, const char *pt, uint32_t cpid,
    uint32_t bdid, uint64_t ecid)
{
	s->present = true;
	s->mode = m;
	text_copy(s->dev.name, name, sizeof(s->dev.name));
	text_copy(s->dev.product_type, pt, sizeof(s->dev.product_type));
	s->dev.cpid = cpid;
	s->dev.bdid = bdid;
	s->dev.ecid = ecid;
	if (m == MODE_NORMAL)
		text_copy(s->dev.version, "15.8", sizeof(s->dev.version));
	if (m == MODE_RECOVERY)
		snprintf(s->dev.serial_raw, sizeof(s->dev.serial_raw),
		    "CPID:%04X CPRV:11 CPFM:03 SCEP:01 BDID:%02X ECID:%016llX IBFL:3C SRTG:[iBoot-2696.0.0.1.33]",
		    cpid, bdid, (unsigned long long)ecid);
}

static void
job(struct bench *b, struct slot *s, enum job_state st, enum job_action a, int step, double pct)
{
	s->job.state = st;
	s->job.action = a;
	s->job.ecid = s->dev.ecid;
	s->job.step = step;
	s->job.percent = pct;
	s->job.started = time(NULL) - 300;
	if (st == JOB_DONE || st == JOB_FAILED || st == JOB_CANCELLED)
		s->job.ended = time(NULL) - 60;
	if (b->o.logfile)
		text_copy(s->job.log_path, b->o.logfile, sizeof(s->job.log_path));
	s->job.result.step = STEP_NONE;
	s->job.result.code = ERR_NOCODE;
}

static void
fail(struct slot *s, enum err_class c, int code, int step, double pct, const char *msg)
{
	s->job.result.ok = false;
	s->job.result.cls = c;
	s->job.result.code = code;
	s->job.result.step = step;
	s->job.result.percent = pct;
	text_copy(s->job.result.message, msg, sizeof(s->job.result.message));
}

/* Slot i in one of a dozen states, in turn. */
static void
fill(struct bench *b, size_t i, struct slot *s)
{
	static const char *tail[] = {
		"Sending filesystem now...", "[==================                  ] 50.0%",
		"Verifying restore (14)", "Checking filesystems (15)", "Mounting filesystems (16)",
	};
	size_t k;

	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%c%zu", (int)('A' + i / 4 % 26), i % 4 + 1);
	snprintf(s->hub, sizeof(s->hub), "1-%zu", 2 + i / 4);
	snprintf(s->port, sizeof(s->port), "1-%zu.%zu", 2 + i / 4, i % 4 + 1);
	s->bus = 1;
	s->root_port = (int)(2 + i / 4);
	s->configured = true;
	s->since = time(NULL) - 600;
	s->dfu_step_started = 0;
	switch (i % 12) {
	case 0:
		dev(s, MODE_RECOVERY, "iPhone 7", "iPhone9,1", 0x8010, 0x08, 0x1a2b3c4d5e6f70 + i);
		job(b, s, JOB_RUNNING, ACT_UPDATE, STEP_UPLOAD_FS, 62);
		s->attempts = 2;
		s->port_suspect = true;
		for (k = 0; k < sizeof(tail) / sizeof(tail[0]); k++)
			slot_tail_push(&s->job, tail[k], strlen(tail[k]));
		break;
	case 1:
		dev(s, MODE_DFU, "iPhone 8 Plus", "iPhone10,2", 0x8015, 0x04, 0x0000111122223333 + i);
		job(b, s, JOB_QUEUED, ACT_ERASE, STEP_NONE, 0);
		s->job.queue_pos = 2;
		break;
	case 2:
		break;
	case 3:
		dev(s, MODE_RECOVERY, "iPhone X", "iPhone10,3", 0x8015, 0x06, 0x000115480aa2801c + i);
		job(b, s, JOB_FAILED, ACT_UPDATE, STEP_UPLOAD_FS, 37);
		fail(s, EC_CONNECTION_LOST, 4013, STEP_UPLOAD_FS, 37,
		    "the device was lost during the filesystem upload");
		s->attempts = 3;
		text_copy(s->advice_rule, "same-failure-point", sizeof(s->advice_rule));
		text_copy(s->advice, "3 tries, all lost near 37% of upload_fs: same failure point -> "
		    "hardware (earpiece/Face ID flex, $80-120). f to flag.", sizeof(s->advice));
		break;
	case 4:
		dev(s, MODE_NORMAL, "iPhone 7 Plus", "iPhone9,2", 0x8010, 0x0a, 0x42 + i);
		s->flagged = true;
		text_copy(s->flag_reason, "CPU reball", sizeof(s->flag_reason));
		text_copy(s->flag_hint, "A10 CPU pseudo-soldering: CPU reballing, $300-400",
		    sizeof(s->flag_hint));
		s->attempts = 3;
		break;
	case 5:
		dev(s, MODE_NORMAL, "iPad 7th gen", "iPad7,11", 0x8010, 0x1a, 0x777 + i);
		job(b, s, JOB_DONE, ACT_ERASE, STEP_NONE, 100);
		s->attempts = 1;
		break;
	case 6:
		dev(s, MODE_NORMAL, "iPhone 6s", "iPhone8,1", 0x8000, 0x04, 0x666 + i);
		break;
	case 7:
		dev(s, MODE_RECOVERY, "iPhone 11", "iPhone12,1", 0x8030, 0x04, 0x1111 + i);
		s->ignored = true;
		break;
	case 8:
		dev(s, MODE_RESTORE, "iPhone XR", "iPhone11,8", 0x8020, 0x0c, 0x2222 + i);
		job(b, s, JOB_RUNNING, ACT_ERASE, STEP_VERIFY_FS, 80);
		s->attempts = 1;
		break;
	case 9:
		dev(s, MODE_RECOVERY, "iPhone SE", "iPhone8,4", 0x8003, 0x02, 0x3333 + i);
		job(b, s, JOB_CANCELLED, ACT_UPDATE, STEP_PREPARE, 5);
		s->attempts = 1;
		break;
	case 10:
		dev(s, MODE_RECOVERY, "iPhone 12", "iPhone13,2", 0x8101, 0x0c, 0x4444 + i);
		job(b, s, JOB_FAILED, ACT_UPDATE, STEP_PREPARE, 0);
		fail(s, EC_SIGNING, 3194, STEP_PREPARE, 0, "the signing server refused this build");
		s->attempts = 1;
		break;
	default:
		break;
	}
	if (b->o.idle && (s->job.state == JOB_RUNNING || s->job.state == JOB_QUEUED))
		s->job.state = JOB_DONE;
}

static void
anim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = w->data;
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < b->n; i++)
		if (b->slots[i].job.state == JOB_RUNNING) {
			b->slots[i].job.percent += 1.5;
			if (b->slots[i].job.percent > 100)
				b->slots[i].job.percent = 0;
			notify(b, (int)i);
		}
}

struct bench *
fakebench_new(struct ev_loop *loop, const struct fakebench_opts *o)
{
	struct bench *b;
	size_t i;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->loop = loop;
	b->o = *o;
	b->n = o->nslots ? o->nslots : 16;
	if ((b->slots = calloc(b->n, sizeof(*b->slots))) == NULL) {
		free(b);
		return NULL;
	}
	for (i = 0; i < b->n; i++)
		fill(b, i, &b->slots[i]);
	text_copy(b->st.name, "bench-3", sizeof(b->st.name));
	text_copy(b->st.ipsw, "/srv/ipsw/iPhone_4.7_P3_15.8_19H370_Restore.ipsw", sizeof(b->st.ipsw));
	text_copy(b->st.ipsw_desc, "iPhone 15.8 (19H370)", sizeof(b->st.ipsw_desc));
	text_copy(b->st.restore_prog, "idevicerestore", sizeof(b->st.restore_prog));
	text_copy(b->st.restore_version, "idevicerestore 1.0.0", sizeof(b->st.restore_version));
	b->st.usbmuxd_ok = true;
	b->st.store_ok = true;
	ev_timer_init(&b->anim, anim_cb, 0.5, 0.5);
	b->anim.data = b;
	if (o->animate)
		ev_timer_start(loop, &b->anim);
	b->dfu_slot = -1;
	return b;
}

void
fakebench_free(struct bench *b)
{
	if (b == NULL)
		return;
	ev_timer_stop(b->loop, &b->anim);
	ev_timer_stop(b->loop, &b->dfu_timer);
	free(b->slots);
	free(b);
}

bool
fakebench_quit(const struct bench *b)
{
	return b->quit;
}

const struct bench_status *
bench_status(const struct bench *cb)
{
	struct bench *b = (struct bench *)cb;
	struct bench_status *st = &b->st;
	size_t i;

	/* the real count (core slot.c), so the fake cannot drift from the bench */
	memset(&st->count, 0, sizeof(st->count));
	for (i = 0; i < b->n; i++)
		slot_tally_add(&st->count, &b->slots[i]);
	return st;
}

size_t
bench_slot_count(const struct bench *b)
{
	return b->n;
}

const struct slot *
bench_slot_at(const struct bench *b, size_t i)
{
	return i < b->n ? &b->slots[i] : NULL;
}

int
bench_slot_find(const struct bench *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->slots[i].label, name) == 0 || strcmp(b->slots[i].port, name) == 0)
			return (int)i;
	return -1;
}

static void
dfu_enter(struct bench *b, size_t k)
{
	struct slot *s;

	if (b->dfu_slot < 0 || k >= b->nphases)
		return;
	s = &b->slots[b->dfu_slot];
	b->phase = k;
	s->dfu = b->phases[k];
	if (s->dfu == DFU_STEPS) {
		s->dfu_step = 0;
		s->dfu_step_started = mono_now();
	}
	if (s->dfu == DFU_DONE)
		s->mode = MODE_DFU;
	ev_timer_stop(b->loop, &b->dfu_timer);
	if (b->secs[k] > 0) {
		ev_timer_set(&b->dfu_timer, b->secs[k], 0.);
		ev_timer_start(b->loop, &b->dfu_timer);
	}
	notify(b, b->dfu_slot);
}

static void
dfu_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = w->data;

	(void)loop;
	(void)revents;
	dfu_enter(b, b->phase + 1);
}

/* "torec:1,steps:3,done": phases and how long each lasts (none: for ever). */
static void
dfu_script(struct bench *b, int i)
{
	char buf[256], *tok, *save, *colon;
	const char *sc = b->o.dfu_script ? b->o.dfu_script : "steps";

	b->nphases = 0;
	text_copy(buf, sc, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok && b->nphases < MAX_PHASES;
	    tok = strtok_r(NULL, ",", &save)) {
		enum dfu_phase p = DFU_STEPS;

		if ((colon = strchr(tok, ':')) != NULL)
			*colon++ = '\0';
		if (strcmp(tok, "torec") == 0)
			p = DFU_TO_RECOVERY;
		else if (strcmp(tok, "wait") == 0)
			p = DFU_WAIT;
		else if (strcmp(tok, "done") == 0)
			p = DFU_DONE;
		else if (strcmp(tok, "toolong") == 0)
			p = DFU_TOO_LONG;
		b->phases[b->nphases] = p;
		b->secs[b->nphases++] = colon ? atof(colon) : 0;
	}
	b->dfu_slot = i;
	ev_timer_init(&b->dfu_timer, dfu_timer_cb, 1., 0.);
	b->dfu_timer.data = b;
	dfu_enter(b, 0);
}

int
bench_exec(struct bench *b, const struct command *c, char *msg, size_t msglen)
{
	struct slot *s;
	FILE *f;
	int i = -1;

	msg[0] = '\0';
	if (b->o.cmdlog && (f = fopen(b->o.cmdlog, "a")) != NULL) {
		fprintf(f, "%s%s%s%s%s\n", command_name(c->verb), c->slot[0] ? " " : "", c->slot,
		    c->reason[0] ? " " : "", c->reason);
		fclose(f);
	}
	if (c->verb == CMD_QUIT) {
		b->quit = true;
		return 0;
	}
	if ((i = bench_slot_find(b, c->slot)) < 0) {
		snprintf(msg, msglen, "no slot named '%s'", c->slot);
		return -1;
	}
	s = &b->slots[i];
	switch (c->verb) {
	case CMD_UPDATE:
	case CMD_ERASE:
		if (!s->present) {
			snprintf(msg, msglen, "%s: no device on this port", s->label);
			return -1;
		}
		s->job.state = JOB_QUEUED;
		s->job.action = c->verb == CMD_ERASE ? ACT_ERASE : ACT_UPDATE;
		s->job.queue_pos = 1;
		break;
	case CMD_CANCEL:
		if (s->job.state != JOB_RUNNING && s->job.state != JOB_QUEUED) {
			snprintf(msg, msglen, "%s: no job to cancel", s->label);
			return -1;
		}
		s->job.state = JOB_CANCELLED;
		break;
	case CMD_KICK:
		if (!s->present || s->mode != MODE_RECOVERY) {
			snprintf(msg, msglen, "%s: kick needs a device in recovery mode", s->label);
			return -1;
		}
		text_copy(s->action_msg, "kicking out of recovery...", sizeof(s->action_msg));
		break;
	case CMD_RECOVERY:
		text_copy(s->action_msg, "asking lockdownd to enter recovery...", sizeof(s->action_msg));
		break;
	case CMD_DFU:
		if (!s->present) {
			snprintf(msg, msglen, "%s: no device on this port", s->label);
			return -1;
		}
		dfu_script(b, i);
		break;
	case CMD_FLAG:
		s->flagged = true;
		text_copy(s->flag_reason, c->reason, sizeof(s->flag_reason));
		break;
	case CMD_UNFLAG:
		s->flagged = false;
		break;
	case CMD_IGNORE:
		s->ignored = true;
		break;
	case CMD_UNIGNORE:
		s->ignored = false;
		break;
	default:
		snprintf(msg, msglen, "unsupported");
		return -1;
	}
	notify(b, i);
	notify(b, -1);
	return 0;
}

size_t
bench_history(struct bench *b, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	size_t i, n = 0;
	int k = -1;

	for (i = 0; i < b->n; i++)
		if (b->slots[i].dev.ecid == ecid)
			k = (int)i;
	if (k < 0)
		return 0;
	for (i = 0; i < (size_t)b->slots[k].attempts && n < max; i++, n++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].id = (long)(100 - i);
		text_copy(out[n].port, i == 1 ? "1-9.9" : b->slots[k].port, sizeof(out[n].port));
		out[n].action = ACT_UPDATE;
		out[n].started = time(NULL) - 3600 * (long)(i + 1);
		out[n].ended = out[n].started + 600;
		out[n].state = JOB_FAILED;
		text_copy(out[n].cls, "connection-lost", sizeof(out[n].cls));
		out[n].code = 4013;
		out[n].step = STEP_UPLOAD_FS;
		out[n].percent = 37 + (double)i;
	}
	return n;
}

size_t
bench_flag_suggestions(struct bench *b, size_t i, char out[][128], size_t max)
{
	static const char *sugg[] = {
		"A10 CPU pseudo-soldering: CPU reballing ($300-400)",
		"4013 at upload_fs near 37%, 3 times",
		"Tristar (USB controller) replacement",
	};
	size_t k;

	if (i >= b->n)
		return 0;
	for (k = 0; k < max && k < 3; k++)
		text_copy(out[k], sugg[k], 128);
	return k;
}

bool
bench_busy(const struct bench *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->slots[i].job.state == JOB_RUNNING || b->slots[i].job.state == JOB_QUEUED)
			return true;
	return false;
}

void
bench_set_headless(struct bench *b, bool on)
{
	b->st.headless = on;
	if (on)
		b->quit = true;
}

void
bench_add_observer(struct bench *b, const struct bench_observer *o)
{
	if (b->nobs < MAX_OBS)
		b->obs[b->nobs++] = *o;
}

void
bench_remove_observer(struct bench *b, void *arg)
{
	size_t k;

	for (k = 0; k < b->nobs; k++)
		if (b->obs[k].arg == arg) {
			b->obs[k] = b->obs[--b->nobs];
			k--;
		}
}
