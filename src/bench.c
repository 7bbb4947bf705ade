/*
 * bench.c: the controller. usbwatch, idev and the runner (runner.c) report
 * here; the core (ibootstr, models, slot, triage) decides; the observers
 * (console, JSON writer) are told what changed. Commands from a key or a
 * JSON line arrive in bench_exec().
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "bench.h"
#include "bench_int.h"
#include "command.h"
#include "config.h"
#include "idev.h"
#include "models.h"
#include "osutil.h"
#include "owner.h"
#include "policy.h"
#include "store.h"
#include "text.h"
#include "triage.h"
#include "usbwatch.h"

size_t
bench_slot_index(const struct bench *b, const struct bslot *bs)
{
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i] == bs)
			return i;
	return (size_t)-1;
}

void
bench_changed(struct bench *b, struct bslot *bs)
{
	int i = bs ? (int)bench_slot_index(b, bs) : -1;

	NOTIFY(b, changed_cb, i);
}

void
bench_error(struct bench *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	NOTIFY(b, error_cb, buf);
}

void
bench_recount(struct bench *b)
{
	memset(&b->st.count, 0, sizeof(b->st.count));
	for (size_t i = 0; i < b->nslots; i++)
		slot_tally_add(&b->st.count, &b->slots[i]->s);
}

void
bench_check_store(struct bench *b)
{
	const char *p = b->store ? store_problem(b->store) : "history store unavailable";

	if (p == NULL) {
		b->st.store_ok = true;
		b->st.store_msg[0] = '\0';
		b->last_store_problem[0] = '\0';
		return;
	}
	b->st.store_ok = false;
	text_copy(b->st.store_msg, p, sizeof(b->st.store_msg));
	if (strcmp(p, b->last_store_problem) != 0) {
		text_copy(b->last_store_problem, p, sizeof(b->last_store_problem));
		bench_error(b, "%s", p);
	}
}

/* ---- slots ------------------------------------------------------------- */

static struct bslot *
find_port(struct bench *b, const char *port)
{
	for (size_t i = 0; i < b->nslots; i++)
		if (strcmp(b->slots[i]->s.port, port) == 0)
			return b->slots[i];
	return NULL;
}

static void
port_parts(const char *port, int *bus, int *root, char *hub, size_t hublen)
{
	const char *dash = strchr(port, '-'), *dot;

	*bus = atoi(port);
	*root = dash ? atoi(dash + 1) : 0;
	dot = strrchr(port, '.');
	if (dot && dash && dot > dash) {
		size_t n = (size_t)(dot - port);
		if (n >= hublen)
			n = hublen - 1;
		memcpy(hub, port, n);
		hub[n] = '\0';
	} else
		hub[0] = '\0';
}

static struct bslot *
add_slot(struct bench *b, const char *port, const char *label)
{
	struct bslot *bs, **n;
	size_t at;
	const char *conf;

	if ((bs = find_port(b, port)) != NULL)
		return bs;
	if ((n = array_grow(b->slots, b->nslots, &b->cap, 32, sizeof(*n))) == NULL)
		return NULL;
	b->slots = n;
	if ((bs = calloc(1, sizeof(*bs))) == NULL)
		return NULL;
	text_copy(bs->s.port, port, sizeof(bs->s.port));
	conf = label ? label : config_label_for(b->cfg, port);
	text_copy(bs->s.label, conf ? conf : port, sizeof(bs->s.label));
	bs->s.configured = conf != NULL;
	port_parts(port, &bs->s.bus, &bs->s.root_port, bs->s.hub, sizeof(bs->s.hub));
	bs->s.job.step = STEP_NONE;
	for (at = 0; at < b->nslots; at++)
		if (slot_port_cmp(port, b->slots[at]->s.port) < 0)
			break;
	memmove(&b->slots[at + 1], &b->slots[at], (b->nslots - at) * sizeof(*b->slots));
	b->slots[at] = bs;
	b->nslots++;
	bench_recount(b);
	NOTIFY(b, slot_cb, at);
	bench_changed(b, NULL);
	return bs;
}

/* ---- known devices ------------------------------------------------------ */

static void
known_put(struct bench *b, const char *udid, uint64_t ecid, const char *pt)
{
	size_t i;

	if (udid == NULL || udid[0] == '\0' || ecid == 0)
		return;
	for (i = 0; i < b->nknown; i++)
		if (strcmp(b->known[i].udid, udid) == 0)
			break;
	if (i == b->nknown) {
		if (b->nknown == MAX_KNOWN)
			i = (size_t)(ecid % MAX_KNOWN);	/* overwrite one: it is only a cache */
		else
			b->nknown++;
	}
	text_copy(b->known[i].udid, udid, sizeof(b->known[i].udid));
	b->known[i].ecid = ecid;
	text_copy(b->known[i].product_type, pt ? pt : "", sizeof(b->known[i].product_type));
}

static const struct known_dev *
known_get(struct bench *b, const char *udid)
{
	for (size_t i = 0; i < b->nknown; i++)
		if (strcmp(b->known[i].udid, udid) == 0)
			return &b->known[i];
	return NULL;
}

/* ---- per-device state from the history -------------------------------- */

static void
set_model(struct bench *b, struct slot *s)
{
	const struct model *m;

	/* normal mode gives no board id: what the bench learnt of this ECID earlier */
	if (s->dev.product_type[0] == '\0' && s->dev.ecid)
		for (size_t i = 0; i < b->nknown; i++)
			if (b->known[i].ecid == s->dev.ecid && b->known[i].product_type[0]) {
				text_copy(s->dev.product_type, b->known[i].product_type, sizeof(s->dev.product_type));
				break;
			}
	m = models_find_device(s->dev.product_type, s->dev.cpid, s->dev.bdid);
	if (m) {
		text_copy(s->dev.product_type, m->product_type, sizeof(s->dev.product_type));
		text_copy(s->dev.name, m->name, sizeof(s->dev.name));
	} else if (s->dev.product_type[0] && s->dev.name[0] == '\0')
		text_copy(s->dev.name, s->dev.product_type, sizeof(s->dev.name));
	else if (s->dev.name[0] == '\0' && s->dev.cpid && s->dev.bdid)
		snprintf(s->dev.name, sizeof(s->dev.name), "CPID %04x BDID %02x", s->dev.cpid, s->dev.bdid);
	else if (s->dev.name[0] == '\0' && s->dev.cpid)
		snprintf(s->dev.name, sizeof(s->dev.name), "Apple device, CPID %04x", s->dev.cpid);
}

static void
load_device_state(struct bench *b, struct bslot *bs)
{
	struct slot *s = &bs->s;
	uint64_t ecid = s->dev.ecid;

	s->flagged = false;
	s->flag_reason[0] = s->flag_hint[0] = '\0';
	s->ignored = false;
	s->attempts = 0;
	if (ecid == 0 || b->store == NULL)
		return;
	s->flagged = store_is_flagged(b->store, ecid, s->flag_reason, sizeof(s->flag_reason),
	    s->flag_hint, sizeof(s->flag_hint));
	s->ignored = store_is_ignored(b->store, ecid);
	s->attempts = (int)store_attempts(b->store, ecid, NULL, HISTORY_MAX);
}

/* ---- advice --------------------------------------------------------------- */

void
bench_update_advice(struct bench *b, struct bslot *bs, bool announce)
{
	struct slot *s = &bs->s;
	struct triage_attempt *all = NULL, *mine = NULL;
	struct triage_port tp;
	struct triage_advice adv;
	size_t nall = 0, nmine = 0;
	bool had = s->advice[0] != '\0', suspect;
	char old_rule[32];

	if (b->store == NULL)
		return;
	/* both kept for the bench's life: advice runs for every slot at every job end */
	if (b->tri_all == NULL)
		b->tri_all = calloc(TRIAGE_ALL_MAX, sizeof(*b->tri_all));
	if (b->tri_mine == NULL)
		b->tri_mine = calloc(HISTORY_MAX, sizeof(*b->tri_mine));
	if (b->tri_all == NULL || (mine = b->tri_mine) == NULL)
		return;
	/*
	 * Read the bench's attempts once per change, not once per slot: each
	 * read was a 4096-row query and ~3 MB of calloc, done for every phone
	 * that arrived and for every slot when a job ended (issue #7: 256 phones
	 * plugged at once took 0.5-0.75 s each to show).
	 */
	if (!b->tri_ok || ev_now(b->loop) - b->tri_at > TRIAGE_CACHE_SECS) {
		b->ntri_all = store_triage_attempts(b->store, 0, b->tri_all, TRIAGE_ALL_MAX);
		b->tri_ok = true;
		b->tri_at = ev_now(b->loop);
	}
	all = b->tri_all;
	nall = b->ntri_all;
	memset(&tp, 0, sizeof(tp));
	triage_port_assess(s->port, all, nall, &tp);
	suspect = tp.suspect;
	if (suspect != s->port_suspect) {
		s->port_suspect = suspect;
		bench_recount(b);
		bench_changed(b, bs);
	}
	if (s->dev.ecid == 0)
		return;
	nmine = store_triage_attempts(b->store, s->dev.ecid, mine, HISTORY_MAX);
	text_copy(old_rule, s->advice_rule, sizeof(old_rule));
	triage_advise(mine, nmine, s->dev.product_type, all, nall, &tp, &adv);
	text_copy(s->advice_rule, adv.rule, sizeof(s->advice_rule));
	text_copy(s->advice, adv.text, sizeof(s->advice));
	s->advice_stop = adv.stop_restoring;
	if (s->advice[0] && (strcmp(old_rule, s->advice_rule) != 0 || announce) &&
	    (strcmp(old_rule, s->advice_rule) != 0 || !had))
		NOTIFY(b, advice_cb, bench_slot_index(b, bs));
	bench_changed(b, bs);
}

/* ---- device events -------------------------------------------------------- */

/* Carry out the automatic restore the core's policy decides for the phone. */
static void
auto_policy(struct bench *b, struct bslot *bs)
{
	struct slot *s = &bs->s;
	struct policy_auto p = { b->cfg->on_dfu == ON_DFU_ERASE, b->cfg->on_recovery == ON_RECOVERY_UPDATE };
	enum policy_action a = policy_auto_action(s, bs->auto_done, &p);
	char msg[160];

	switch (a) {
	case POLICY_HOLD:
		bs->auto_done = true;
		text_copy(s->action_msg, POLICY_HOLD_TEXT, sizeof(s->action_msg));
		bench_changed(b, bs);
		break;
	case POLICY_ERASE:
	case POLICY_UPDATE:
		bs->auto_done = true;
		if (runner_queue(b, bs, a == POLICY_ERASE ? ACT_ERASE : ACT_UPDATE, msg, sizeof(msg)) != 0)
			bench_error(b, "%s", msg);
		break;
	default:
		break;
	}
}

static void
device_arrived(struct bench *b, const struct usbwatch_dev *d)
{
	struct bslot *bs;
	struct slot *s;
	enum dev_mode mode;
	struct device_info nd;
	uint64_t prev_ecid;
	bool job_active, same;
	int rc;

	rc = slot_parse_arrival(d->pid, d->serial, sizeof(d->serial), &nd, &mode);
	if (rc == 1 || (bs = add_slot(b, d->port, NULL)) == NULL)
		return;
	if (rc < 0 && nd.serial_raw[0])
		bench_error(b, "%s: unreadable device serial string '%.60s'", d->port, nd.serial_raw);
	s = &bs->s;
	prev_ecid = s->dev.ecid;
	job_active = bs->rj != NULL;
	if (mode == MODE_NORMAL && nd.ecid == 0) {
		const struct known_dev *k = known_get(b, nd.udid);

		if (k != NULL) {
			nd.ecid = k->ecid;
			text_copy(nd.product_type, k->product_type, sizeof(nd.product_type));
		}
	}
	same = slot_merge_arrival(s, &nd, &mode, job_active, time(NULL), b->cfg->reconnect_window);
	if (mode == MODE_NORMAL && nd.udid[0] && nd.ecid)
		known_put(b, nd.udid, nd.ecid, nd.product_type);
	s->dev = nd;
	s->mode = mode;
	s->present = true;
	s->since = time(NULL);
	s->gone_at = 0;
	set_model(b, s);
	if (mode != MODE_NORMAL && mode != MODE_RESTORE && s->dev.ecid && s->dev.product_type[0]) {
		char key[48];

		/* keyed by ECID so a later normal-mode visit (old UDID, no board id) finds its model */
		snprintf(key, sizeof(key), "ecid:%016" PRIx64, s->dev.ecid);
		known_put(b, key, s->dev.ecid, s->dev.product_type);
	}

	runner_device_back(b, bs);
	if (!same) {
		bs->auto_done = false;
		if (!job_active && (s->job.state != JOB_NONE) && s->job.ecid != nd.ecid) {
			/* another phone: the slot's last job belonged to the previous one */
			memset(&s->job, 0, sizeof(s->job));
			s->job.step = STEP_NONE;
		}
		if (s->dfu != DFU_OFF && prev_ecid && nd.ecid && prev_ecid != nd.ecid)
			s->dfu = DFU_OFF;
		s->action_msg[0] = '\0';
		s->advice[0] = s->advice_rule[0] = '\0';
		s->advice_stop = false;
		load_device_state(b, bs);
	}
	slot_dfu_arrival(s, os_mono());
	if (b->store && nd.ecid) {
		/*
		 * What set_model() learnt (recovery and DFU carry only CPID and
		 * BDID), but only a real model name: "CPID 8010 BDID 08" is no name.
		 */
		const struct model *m = s->dev.product_type[0] ? models_find_product(s->dev.product_type) : NULL;

		store_device_seen(b->store, nd.ecid, s->dev.product_type, m != NULL ? m->name : nd.name,
		    nd.udid, time(NULL));
	}
	if (mode == MODE_NORMAL && nd.udid[0] && !bs->idev_pending &&
	    (nd.ecid == 0 || nd.version[0] == '\0') && b->idev) {
		bs->idev_pending = true;
		idev_submit(b->idev, IDEV_QUERY, s->port, nd.udid);
	}
	bench_recount(b);
	NOTIFY(b, device_cb, bench_slot_index(b, bs));
	/* a phone of a new model: fetch its firmware now, so that nothing waits at u */
	if (!same)
		runner_fw_arrived(b, bs);
	if (!job_active)
		bench_update_advice(b, bs, true);
	bench_changed(b, bs);
	auto_policy(b, bs);
}

static void
device_left(struct bench *b, const struct usbwatch_dev *d)
{
	struct bslot *bs = find_port(b, d->port);
	struct slot *s;
	uint64_t ecid;
	enum dev_mode prev_mode;

	if (bs == NULL || !bs->s.present)
		return;		/* a departure without an arrival */
	s = &bs->s;
	ecid = s->dev.ecid;
	prev_mode = s->mode;
	s->present = false;
	s->mode = MODE_NONE;
	s->gone_at = time(NULL);
	if (!runner_device_left(b, bs, prev_mode) && s->job.state == JOB_QUEUED)
		runner_cancel(b, bs, "device left before its turn");
	bench_recount(b);
	NOTIFY(b, gone_cb, bench_slot_index(b, bs), ecid);
	bench_changed(b, bs);
}

static void
hub_arrived(struct bench *b, const struct usbwatch_dev *d)
{
	char port[48];

	struct bslot *bs;

	/* root hubs' ports are inside the computer; external hubs' ports are slots */
	if (d->port[0] == '\0' || strchr(d->port, '-') == NULL)
		return;
	/* a hub on a port makes that port a hub, not a place for a phone */
	if ((bs = find_port(b, d->port)) != NULL && !bs->s.configured && !bs->s.present && bs->rj == NULL) {
		size_t i = bench_slot_index(b, bs);

		memmove(&b->slots[i], &b->slots[i + 1], (b->nslots - i - 1) * sizeof(*b->slots));
		b->nslots--;
		free(bs);
		bench_recount(b);
		bench_changed(b, NULL);
	}
	for (int i = 1; i <= d->nports && i <= 32; i++) {
		snprintf(port, sizeof(port), "%s.%d", d->port, i);
		if (strlen(port) < sizeof(((struct slot *)0)->port))
			add_slot(b, port, NULL);
	}
}

static void
usb_cb(void *arg, enum usbwatch_event ev, const struct usbwatch_dev *d)
{
	struct bench *b = arg;

	if (d->is_hub) {
		if (ev == USBWATCH_ARRIVED)
			hub_arrived(b, d);
		return;
	}
	if (d->vid != USBWATCH_APPLE_VID || slot_mode_from_pid(d->pid) == MODE_NONE)
		return;
	if (ev == USBWATCH_ARRIVED)
		device_arrived(b, d);
	else
		device_left(b, d);
}

static void
idev_cb(void *arg, const struct idev_result *r)
{
	struct bench *b = arg;
	struct bslot *bs = find_port(b, r->port);
	struct slot *s;

	if (bs == NULL)
		return;
	s = &bs->s;
	if (r->req == IDEV_QUERY)
		bs->idev_pending = false;
	if (!s->present || strcmp(s->dev.udid, r->udid) != 0)
		return;		/* the device changed meanwhile */
	if (r->req == IDEV_ENTER_RECOVERY) {
		text_copy(s->action_msg, r->err ? r->msg : "entering recovery mode", sizeof(s->action_msg));
		if (r->err) {
			bench_error(b, "%s: recovery: %s", s->label, r->msg);
			if (s->dfu == DFU_TO_RECOVERY)
				s->dfu = DFU_OFF;
		}
		bench_changed(b, bs);
		return;
	}
	if (r->err) {
		/* a passive identity query: usbmuxd being down is said once in the header, not per slot */
		if (b->st.usbmuxd_ok)
			text_copy(s->action_msg, r->msg, sizeof(s->action_msg));
		bench_changed(b, bs);
		return;
	}
	if (r->version[0])
		text_copy(s->dev.version, r->version, sizeof(s->dev.version));
	if (r->product_type[0])
		text_copy(s->dev.product_type, r->product_type, sizeof(s->dev.product_type));
	known_put(b, r->udid, r->ecid, r->product_type);
	if (s->dev.ecid != r->ecid) {
		s->dev.ecid = r->ecid;
		s->dev.name[0] = '\0';
		set_model(b, s);
		load_device_state(b, bs);
		if (b->store)
			store_device_seen(b->store, s->dev.ecid, s->dev.product_type, s->dev.name, s->dev.udid,
			    time(NULL));
		NOTIFY(b, device_cb, bench_slot_index(b, bs));
		bench_update_advice(b, bs, true);
	}
	bench_changed(b, bs);
}

static void
kick_done_cb(void *arg, const char *port, int err, const char *msg)
{
	struct bench *b = arg;
	struct bslot *bs = find_port(b, port);

	if (bs == NULL)
		return;
	if (err) {
		snprintf(bs->s.action_msg, sizeof(bs->s.action_msg), "kick failed: %s", msg ? msg : "error");
		bench_error(b, "%s: kick failed: %s", bs->s.label, msg ? msg : "error");
	} else
		text_copy(bs->s.action_msg, "kicked: rebooting out of recovery", sizeof(bs->s.action_msg));
	bench_changed(b, bs);
}

/* ---- commands ------------------------------------------------------------- */

int
bench_exec(struct bench *b, const struct command *c, char *msg, size_t msglen)
{
	struct bslot *bs = NULL;
	struct slot *s;
	int i;

	msg[0] = '\0';
	if (c->verb == CMD_QUIT) {
		bench_shutdown(b, true);
		return 0;
	}
	if ((i = bench_slot_find(b, c->slot)) < 0) {
		snprintf(msg, msglen, "no slot named '%s'", c->slot);
		return -1;
	}
	bs = b->slots[i];
	s = &bs->s;
	/* what a command may do to a slot in its state: the core's one rule */
	if (!command_allowed(c->verb, s, msg, msglen))
		return -1;
	switch (c->verb) {
	case CMD_UPDATE:
		return runner_queue(b, bs, ACT_UPDATE, msg, msglen);
	case CMD_ERASE:
		return runner_queue(b, bs, ACT_ERASE, msg, msglen);
	case CMD_CANCEL:
		if (s->dfu != DFU_OFF) {
			s->dfu = DFU_OFF;
			bench_changed(b, bs);
			if (s->job.state != JOB_QUEUED && s->job.state != JOB_RUNNING)
				return 0;
		}
		runner_cancel(b, bs, "cancelled before it started");
		return 0;
	case CMD_RECOVERY:
		if (b->idev == NULL || idev_submit(b->idev, IDEV_ENTER_RECOVERY, s->port, s->dev.udid) != 0) {
			snprintf(msg, msglen, "%s: cannot reach lockdownd", s->label);
			return -1;
		}
		text_copy(s->action_msg, "asking lockdownd to enter recovery...", sizeof(s->action_msg));
		bench_changed(b, bs);
		return 0;
	case CMD_KICK: {
		static const char *const cmds[] = { "setenv auto-boot true", "saveenv", "reboot" };

		if (b->uw == NULL || usbwatch_iboot_send(b->uw, s->port, cmds, 3, kick_done_cb, b) != 0) {
			snprintf(msg, msglen, "%s: cannot talk to the device", s->label);
			return -1;
		}
		text_copy(s->action_msg, "kicking out of recovery...", sizeof(s->action_msg));
		bench_changed(b, bs);
		return 0;
	}
	case CMD_DFU:
		if (s->mode == MODE_DFU) {
			s->dfu = DFU_DONE;
		} else if (s->mode == MODE_NORMAL) {
			s->dfu = DFU_TO_RECOVERY;
			if (b->idev)
				idev_submit(b->idev, IDEV_ENTER_RECOVERY, s->port, s->dev.udid);
		} else {
			s->dfu = DFU_STEPS;
			s->dfu_step = 0;
			s->dfu_step_started = os_mono();
		}
		bench_changed(b, bs);
		return 0;
	case CMD_FLAG: {
		char hint[160] = "";

		triage_hint(s->dev.product_type, hint, sizeof(hint));
		s->flagged = true;
		text_copy(s->flag_reason, c->reason, sizeof(s->flag_reason));
		text_copy(s->flag_hint, hint, sizeof(s->flag_hint));
		if (b->store)
			store_flag(b->store, s->dev.ecid, c->reason, hint, time(NULL));
		bench_check_store(b);
		bench_recount(b);
		NOTIFY(b, flag_cb, (size_t)i);
		bench_changed(b, bs);
		return 0;
	}
	case CMD_UNFLAG:
		s->flagged = false;
		s->flag_reason[0] = s->flag_hint[0] = '\0';
		if (b->store)
			store_unflag(b->store, s->dev.ecid, time(NULL));
		bench_recount(b);
		bench_changed(b, bs);
		return 0;
	case CMD_IGNORE:
	case CMD_UNIGNORE:
		s->ignored = c->verb == CMD_IGNORE;
		if (b->store)
			store_ignore(b->store, s->dev.ecid, s->ignored);
		if (s->ignored && s->job.state == JOB_QUEUED)
			runner_cancel(b, bs, "device ignored");
		bench_changed(b, bs);
		return 0;
	default:
		snprintf(msg, msglen, "command not available");
		return -1;
	}
}

/* ---- accessors -------------------------------------------------------------- */

const struct bench_status *
bench_status(const struct bench *b)
{
	return &b->st;
}

size_t
bench_slot_count(const struct bench *b)
{
	return b->nslots;
}

const struct slot *
bench_slot_at(const struct bench *b, size_t i)
{
	return i < b->nslots ? &b->slots[i]->s : NULL;
}

int
bench_slot_find(const struct bench *b, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return -1;
	for (size_t i = 0; i < b->nslots; i++)
		if (strcmp(b->slots[i]->s.label, name) == 0)
			return (int)i;
	for (size_t i = 0; i < b->nslots; i++)
		if (strcmp(b->slots[i]->s.port, name) == 0)
			return (int)i;
	return -1;
}

size_t
bench_history(struct bench *b, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	if (b->store == NULL || ecid == 0)
		return 0;
	return store_attempts(b->store, ecid, out, max);
}

size_t
bench_flag_suggestions(struct bench *b, size_t i, char out[][128], size_t max)
{
	const struct slot *s = bench_slot_at(b, i);
	struct triage_attempt *mine = NULL;
	size_t n, nmine = 0;

	if (s == NULL || max == 0)
		return 0;
	if (s->dev.ecid != 0 && b->store != NULL && (mine = calloc(HISTORY_MAX, sizeof(*mine))) != NULL)
		nmine = store_triage_attempts(b->store, s->dev.ecid, mine, HISTORY_MAX);
	n = policy_flag_suggestions(s, mine, nmine, out, max);
	free(mine);
	return n;
}

bool
bench_busy(const struct bench *b)
{
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i]->s.job.state == JOB_RUNNING || b->slots[i]->s.job.state == JOB_QUEUED ||
		    b->slots[i]->rj != NULL)
			return true;
	return false;
}

void
bench_set_headless(struct bench *b, bool on)
{
	b->st.headless = on;
	bench_maybe_finish(b);
}

void
bench_add_observer(struct bench *b, const struct bench_observer *o)
{
	if (b->nobs < MAX_OBSERVERS)
		b->obs[b->nobs++] = *o;
}

void
bench_remove_observer(struct bench *b, void *arg)
{
	for (size_t i = 0; i < b->nobs; i++) {
		if (b->obs[i].arg == arg) {
			memmove(&b->obs[i], &b->obs[i + 1], (b->nobs - i - 1) * sizeof(b->obs[0]));
			b->nobs--;
			i--;
		}
	}
}

/* ---- lifecycle -------------------------------------------------------------- */

void
bench_maybe_finish(struct bench *b)
{
	bool running = false;

	if (!b->shutting_down && !b->st.headless)
		return;
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i]->rj != NULL || (b->st.headless && b->slots[i]->s.job.state == JOB_QUEUED))
			running = true;
	if (!running && b->dead == NULL)
		ev_break(b->loop, EVBREAK_ALL);
}

void
bench_shutdown(struct bench *b, bool cancel)
{
	b->shutting_down = true;
	for (size_t i = 0; i < b->nslots; i++) {
		struct bslot *bs = b->slots[i];

		if (bs->s.job.state == JOB_QUEUED)
			runner_cancel(b, bs, "bench shut down before it started");
		else if (cancel)
			runner_kill(b, bs);
	}
	bench_maybe_finish(b);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = OWNER_OF(w, struct bench, tick);
	bool mux;

	(void)loop;
	(void)revents;
	if (b->store)
		store_flush(b->store);
	bench_check_store(b);
	mux = idev_usbmuxd_running();
	if (mux != b->st.usbmuxd_ok || !b->usbmuxd_told) {
		b->st.usbmuxd_ok = mux;
		if (!mux && !b->usbmuxd_told)
			bench_error(b, "usbmuxd is not running: normal-mode and restore-mode devices cannot be "
			    "reached (recovery and DFU work without it); start it with `usbmuxd -f -U usbmux`");
		b->usbmuxd_told = true;
		bench_changed(b, NULL);
	}
	/* the DFU countdown and "since" times move on their own */
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i]->s.dfu == DFU_STEPS || b->slots[i]->s.dfu == DFU_WAIT)
			bench_changed(b, b->slots[i]);
}

static int
take_lock(struct bench *b, char *err, size_t errlen)
{
	char path[1100], pid[32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bench.lock", b->log_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		text_rtrim(pid);
		snprintf(err, errlen, "the bench is busy: another idevicebench (pid %s) is running on it",
		    pid[0] ? pid : "?");
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) == 0) {
		snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (write(fd, pid, strlen(pid)) < 0) {
			/* the lock is what matters, not the pid text */
		}
	}
	b->lockfd = fd;
	return 0;
}

struct bench *
bench_new(struct ev_loop *loop, struct config *cfg, const struct bench_options *opt,
    char *err, size_t errlen)
{
	struct bench *b = calloc(1, sizeof(*b));
	char merr[256];

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->loop = loop;
	b->cfg = cfg;
	b->lockfd = -1;
	text_copy(b->st.name, cfg->name, sizeof(b->st.name));

	runner_configure(b, opt);
	config_expand_home(opt && opt->log_dir ? opt->log_dir : cfg->log_dir, b->log_dir, sizeof(b->log_dir));
	if (os_mkdirs(b->log_dir, 0700) != 0) {
		snprintf(err, errlen, "%s: cannot create the log directory: %s", b->log_dir, strerror(errno));
		free(b);
		return NULL;
	}
	snprintf(b->work_dir, sizeof(b->work_dir), "%s/work", b->log_dir);
	if (take_lock(b, err, errlen) != 0) {
		free(b);
		return NULL;
	}

	idev_load_models();
	if (cfg->models_file[0]) {
		if (models_load_file(cfg->models_file, merr, sizeof(merr)) < 0) {
			snprintf(err, errlen, "%s", merr);
			close(b->lockfd);
			free(b);
			return NULL;
		}
	} else {
		const char *cands[] = { "config/models.tsv", IDB_DATADIR "/models.tsv",
		    "/usr/share/idevicebench/models.tsv" };
		for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
			if (access(cands[i], R_OK) == 0 && models_load_file(cands[i], merr, sizeof(merr)) >= 0)
				break;
	}

	b->store = store_open(opt && opt->db ? opt->db : cfg->db, merr, sizeof(merr));
	if (b->store) {
		store_set_bench(b->store, cfg->name);
		/* with a shared history, this bench judges its own ports only */
		store_set_scope(b->store, cfg->name);
	}
	runner_init(b);
	runner_fw_init(b);
	b->st.usbmuxd_ok = idev_usbmuxd_running();
	ev_timer_init(&b->tick, tick_cb, 1.0, 1.0);
	return b;
}

int
bench_start(struct bench *b, char *err, size_t errlen)
{
	const char *fault;

	bench_check_store(b);
	/* from here on the loop runs: a slow history server must not hold it */
	if (b->store)
		store_set_async(b->store);
	if (b->store && store_interrupted_count(b->store) > 0)
		bench_error(b, "%d restore attempt(s) left open by an earlier run were closed as interrupted",
		    store_interrupted_count(b->store));
	runner_announce(b);
	for (size_t i = 0; i < b->cfg->nslots; i++)
		add_slot(b, b->cfg->slots[i].port, b->cfg->slots[i].label);
	/* tests reach the start-up failure path with this; nothing else sets it */
	if ((fault = getenv("IDEVICEBENCH_TEST_FAULT")) != NULL && strcmp(fault, "usb-start") == 0) {
		snprintf(err, errlen, "USB start-up failure injected (IDEVICEBENCH_TEST_FAULT)");
		return -1;
	}
	b->idev = idev_new(b->loop, idev_cb, b);
	b->uw = usbwatch_new(b->loop, usb_cb, b, err, errlen);
	if (b->uw == NULL)
		return -1;
	ev_timer_start(b->loop, &b->tick);
	ev_unref(b->loop);	/* the tick alone does not keep the bench alive */
	bench_recount(b);
	bench_changed(b, NULL);
	return 0;
}

void
bench_free(struct bench *b)
{
	if (b == NULL)
		return;
	if (ev_is_active(&b->tick)) {
		ev_ref(b->loop);
		ev_timer_stop(b->loop, &b->tick);
	}
	runner_free(b);
	for (size_t i = 0; i < b->nslots; i++)
		free(b->slots[i]);
	free(b->slots);
	usbwatch_free(b->uw);
	idev_free(b->idev);
	if (b->store)
		store_close(b->store);
	free(b->tri_all);
	free(b->tri_mine);
	if (b->lockfd >= 0)
		close(b->lockfd);
	free(b);
}
