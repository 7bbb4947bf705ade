/*
 * bench.c: the controller. usbwatch, job, idev and store report here; the
 * core (ibootstr, models, restore_parse, errclass, sched, triage) decides;
 * the observers (console, JSON writer) are told what changed.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"
#include "errclass.h"
#include "idev.h"
#include "ipsw.h"
#include "job.h"
#include "log.h"
#include "models.h"
#include "restore_parse.h"
#include "sched.h"
#include "store.h"
#include "text.h"
#include "triage.h"
#include "usbwatch.h"

#define MAX_OBSERVERS	4
#define MAX_KNOWN	512
#define HISTORY_MAX	256
#define TRIAGE_ALL_MAX	4096	/* the bench's attempts the port verdicts look at */
#define TRIAGE_CACHE_SECS 2.0	/* ...read again at most this often (another writer) */

struct bench;
struct bslot;

/* A running (or finishing) restore: the child, its parser, its attempt row. */
struct runjob {
	struct bench *b;
	struct bslot *bs;
	struct job *job;
	struct restore_parse *rp;
	long attempt_id;
	ev_timer lost_timer;		/* reconnect window after the device left */
	bool device_lost;
	int lost_mode;
	int last_step;
	int emitted_step;
	int emitted_pct;
	ev_tstamp emitted_at;
	struct runjob *next_dead;
};

struct bslot {
	struct slot s;			/* what the front ends see */
	struct runjob *rj;		/* while a child runs */
	unsigned long qseq;		/* queue order while queued */
	bool auto_done;			/* an auto policy already acted on this device */
	bool idev_pending;		/* a lockdownd query is under way */
};

/* UDID -> ECID pairs learnt from lockdownd and from mode changes on one port. */
struct known_dev {
	char udid[48];
	uint64_t ecid;
	char product_type[32];
};

struct bench {
	struct ev_loop *loop;
	struct config *cfg;
	struct bslot **slots;
	size_t nslots, cap;
	struct bench_status st;
	struct bench_observer obs[MAX_OBSERVERS];
	size_t nobs;

	struct usbwatch *uw;
	struct idev *idev;
	struct store *store;
	enum rp_dialect dialect;
	char restore_cmd[256];
	char ipsw[512];
	struct ipsw_info ipsw_info;
	bool ipsw_info_ok;
	char ipsw_err[256];		/* why the IPSW could not be read, said at start */
	char ipsw_base_desc[128];
	struct ipsw_prep *prep;		/* one-time filesystem extraction for 1.0.0 children */
	char irecvfix[PATH_MAX];	/* the preload for 1.0.0 children, "" if not found */
	char preload_env[PATH_MAX * 2 + 16];	/* "LD_PRELOAD=..." for 1.0.0 children */
	bool prep_done;
	char log_dir[512];
	char work_dir[512];
	int lockfd;

	unsigned long seq;
	ev_timer tick;
	ev_timer reap;
	struct runjob *dead;
	bool shutting_down;
	bool usbmuxd_told;
	char last_store_problem[160];

	struct known_dev known[MAX_KNOWN];
	size_t nknown;

	/* every attempt of this bench in triage's form: the same for every slot */
	struct triage_attempt *tri_all;
	size_t ntri_all;
	bool tri_ok;
	ev_tstamp tri_at;
};

static void bench_schedule(struct bench *);
static void bench_update_advice(struct bench *, struct bslot *, bool announce);
static void bench_maybe_finish(struct bench *);

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t slot_index(const struct bench *b, const struct bslot *bs)
{
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i] == bs)
			return i;
	return (size_t)-1;
}

/* Observer fan-out. */
#define NOTIFY(b, fn, ...) do {						\
	for (size_t o_ = 0; o_ < (b)->nobs; o_++)			\
		if ((b)->obs[o_].fn)					\
			(b)->obs[o_].fn((b)->obs[o_].arg, __VA_ARGS__);	\
} while (0)

static void changed(struct bench *b, struct bslot *bs)
{
	int i = bs ? (int)slot_index(b, bs) : -1;

	NOTIFY(b, changed_cb, i);
}

static void bench_error(struct bench *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	NOTIFY(b, error_cb, buf);
}

static void recount(struct bench *b)
{
	struct bench_status *st = &b->st;

	st->slots = (int)b->nslots;
	st->present = st->running = st->queued = st->done = st->failed = st->flagged = st->suspect = 0;
	for (size_t i = 0; i < b->nslots; i++) {
		const struct slot *s = &b->slots[i]->s;

		st->present += s->present;
		st->running += s->job.state == JOB_RUNNING;
		st->queued += s->job.state == JOB_QUEUED;
		st->done += s->job.state == JOB_DONE;
		st->failed += s->job.state == JOB_FAILED;
		st->flagged += s->flagged;
		st->suspect += s->port_suspect;
	}
}

static void check_store(struct bench *b)
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

static struct bslot *find_port(struct bench *b, const char *port)
{
	for (size_t i = 0; i < b->nslots; i++)
		if (strcmp(b->slots[i]->s.port, port) == 0)
			return b->slots[i];
	return NULL;
}

static void port_parts(const char *port, int *bus, int *root, char *hub, size_t hublen)
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

static struct bslot *add_slot(struct bench *b, const char *port, const char *label)
{
	struct bslot *bs, **n;
	size_t at;
	const char *conf;

	if ((bs = find_port(b, port)) != NULL)
		return bs;
	if (b->nslots == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		if ((n = realloc(b->slots, cap * sizeof(*n))) == NULL)
			return NULL;
		b->slots = n;
		b->cap = cap;
	}
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
	recount(b);
	NOTIFY(b, slot_cb, at);
	changed(b, NULL);
	return bs;
}

/* ---- known devices ------------------------------------------------------ */

static void known_put(struct bench *b, const char *udid, uint64_t ecid, const char *pt)
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

static const struct known_dev *known_get(struct bench *b, const char *udid)
{
	for (size_t i = 0; i < b->nknown; i++)
		if (strcmp(b->known[i].udid, udid) == 0)
			return &b->known[i];
	return NULL;
}

/* ---- per-device state from the history -------------------------------- */

static void set_model(struct bench *b, struct slot *s)
{
	const struct model *m = NULL;

	/* normal mode gives no board id: what the bench learnt of this ECID earlier */
	if (s->dev.product_type[0] == '\0' && s->dev.ecid)
		for (size_t i = 0; i < b->nknown; i++)
			if (b->known[i].ecid == s->dev.ecid && b->known[i].product_type[0]) {
				text_copy(s->dev.product_type, b->known[i].product_type, sizeof(s->dev.product_type));
				break;
			}
	if (s->dev.product_type[0])
		m = models_find_product(s->dev.product_type);

	if (m == NULL && s->dev.cpid && s->dev.bdid)
		m = models_find_chip(s->dev.cpid, s->dev.bdid);
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

static void load_device_state(struct bench *b, struct bslot *bs)
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

/* ---- jobs ----------------------------------------------------------------- */

static void emit_job(struct bench *b, struct bslot *bs)
{
	size_t i = slot_index(b, bs);

	recount(b);
	NOTIFY(b, job_cb, i);
	NOTIFY(b, changed_cb, (int)i);
}

static void runjob_free(struct runjob *rj)
{
	if (rj->job)
		job_free(rj->job);
	if (rj->rp)
		rp_free(rj->rp);
	free(rj);
}

static void reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = (struct bench *)((char *)w - offsetof(struct bench, reap));
	struct runjob *rj;

	(void)loop;
	(void)revents;
	while ((rj = b->dead) != NULL) {
		b->dead = rj->next_dead;
		runjob_free(rj);
	}
	bench_maybe_finish(b);
}

static void parse_cb(void *arg, const struct rp_event *ev)
{
	struct runjob *rj = arg;
	struct bench *b = rj->b;
	struct slot *s;
	int pct;
	ev_tstamp now;

	if (rj->bs == NULL)
		return;
	s = &rj->bs->s;
	switch (ev->kind) {
	case RP_PROGRESS:
	case RP_STEP:
		if (ev->step >= 0 && ev->step < STEP__COUNT) {
			if (ev->step != s->job.step)
				s->job.percent = 0;
			s->job.step = ev->step;
			rj->last_step = ev->step;
		}
		if (ev->kind == RP_PROGRESS && ev->percent >= 0 && ev->percent <= 100)
			s->job.percent = ev->percent;
		job_activity(rj->job);
		pct = (int)s->job.percent;
		now = ev_now(b->loop);
		if (s->job.step != rj->emitted_step) {
			rj->emitted_step = s->job.step;
			rj->emitted_pct = pct;
			rj->emitted_at = now;
			emit_job(b, rj->bs);
			bench_schedule(b);	/* a job leaving upload_fs frees its root port */
		} else if (pct != rj->emitted_pct && now - rj->emitted_at >= 0.25) {
			rj->emitted_pct = pct;
			rj->emitted_at = now;
			emit_job(b, rj->bs);
		} else
			changed(b, rj->bs);
		break;
	case RP_LINE:
		slot_tail_push(&s->job, ev->text, ev->len);
		job_activity(rj->job);
		break;
	default:
		break;
	}
}

static void output_cb(void *arg, int fd_kind, const char *buf, size_t len)
{
	struct runjob *rj = arg;

	/* separate line buffers: 1.0.0's block-buffered stdout can be cut by stderr lines */
	rp_feed_stream(rj->rp, fd_kind == 2 ? 1 : 0, buf, len);
}

static void log_error_cb(void *arg, const char *msg)
{
	struct runjob *rj = arg;

	bench_error(rj->b, "log of %s: %s", rj->bs ? rj->bs->s.label : "job", msg);
}

static void finish_job(struct bench *b, struct bslot *bs, const struct err_input *in, long attempt_id)
{
	struct slot *s = &bs->s;
	struct err_result r;

	errclass_decide(in, &r);
	s->job.result = r;
	s->job.ended = time(NULL);
	s->job.pid = 0;
	if (r.ok) {
		s->job.state = JOB_DONE;
		s->job.percent = 100;
	} else if (r.cls == EC_CANCELLED)
		s->job.state = JOB_CANCELLED;
	else
		s->job.state = JOB_FAILED;
	/* a negative id is an attempt the store still holds in memory (database locked, ...) */
	if (attempt_id != 0 && b->store)
		store_attempt_end(b->store, attempt_id, s->job.ended, s->job.state, &r);
	b->tri_ok = false;
	check_store(b);
	emit_job(b, bs);
	bench_update_advice(b, bs, true);
	/* the port's verdict may change with every outcome */
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i] != bs)
			bench_update_advice(b, b->slots[i], false);
}

static void done_cb(void *arg, const struct job_exit *ex)
{
	struct runjob *rj = arg;
	struct bench *b = rj->b;
	struct bslot *bs = rj->bs;
	struct err_input in;

	if (ev_is_active(&rj->lost_timer))
		ev_timer_stop(b->loop, &rj->lost_timer);
	if (ex->lost_what[0])
		log_warn("lost track of the restore on %s (pid %d): the loop never reported %s; "
		    "the job was ended by the sweep", bs ? bs->s.label : "a freed slot", (int)job_pid(rj->job),
		    ex->lost_what);
	rp_finish(rj->rp);
	memset(&in, 0, sizeof(in));
	in.parse = rp_summary(rj->rp);
	in.exited = ex->exited;
	in.exit_status = ex->exit_status;
	in.signal = ex->signal;
	in.stalled = ex->stalled;
	in.cancelled = ex->cancelled;
	in.spawn_failed = ex->spawn_failed;
	in.device_lost = rj->device_lost;
	in.lost_mode = rj->lost_mode;
	if (bs) {
		bs->rj = NULL;
		finish_job(b, bs, &in, rj->attempt_id);
		if (ex->spawn_failed)
			bench_error(b, "%s: cannot run %s: %s", bs->s.label, b->restore_cmd, ex->spawn_error);
	}
	/* never free a job inside its own callback */
	rj->next_dead = b->dead;
	b->dead = rj;
	ev_timer_set(&b->reap, 0, 0);
	ev_timer_start(b->loop, &b->reap);
	bench_schedule(b);
}

static void lost_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct runjob *rj = (struct runjob *)((char *)w - offsetof(struct runjob, lost_timer));

	(void)loop;
	(void)revents;
	rj->device_lost = true;
	if (rj->job)
		job_kill(rj->job, "device did not come back");
}

static int mkdirs(const char *path, mode_t mode)
{
	char tmp[1024], *p;

	if (text_copy(tmp, path, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	for (p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, mode) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void fail_now(struct bench *b, struct bslot *bs, enum job_action act, bool ipsw)
{
	struct err_input in;
	long id = 0;

	memset(&in, 0, sizeof(in));
	in.ipsw_missing = ipsw;
	in.spawn_failed = !ipsw;
	bs->s.job.action = act;
	bs->s.job.ecid = bs->s.dev.ecid;
	bs->s.job.started = time(NULL);
	bs->s.job.step = STEP_NONE;
	bs->s.job.percent = 0;
	bs->s.job.log_path[0] = '\0';
	if (b->store)
		id = store_attempt_begin(b->store, bs->s.dev.ecid, bs->s.port, act, bs->s.job.started, "");
	b->tri_ok = false;
	bs->s.attempts++;
	finish_job(b, bs, &in, id);
}

static void launch(struct bench *b, struct bslot *bs)
{
	struct slot *s = &bs->s;
	struct runjob *rj;
	struct job_spec spec;
	struct job_cbs cbs = { output_cb, done_cb, log_error_cb };
	const char *argv[16], *env[4];
	char ecidarg[32], logdir[1024], workdir[1024], stamp[32], err[256];
	size_t n = 0, ne = 0;
	time_t t = time(NULL);
	struct tm tm;

	if ((rj = calloc(1, sizeof(*rj))) == NULL)
		return;
	rj->b = b;
	rj->bs = bs;
	rj->last_step = STEP_DETECT;
	rj->emitted_step = STEP_NONE;
	rj->emitted_pct = -1;
	ev_timer_init(&rj->lost_timer, lost_cb, b->cfg->reconnect_window, 0);
	if ((rj->rp = rp_new(parse_cb, rj)) == NULL) {
		free(rj);
		return;
	}
	snprintf(ecidarg, sizeof(ecidarg), "0x%" PRIx64, s->dev.ecid);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(logdir, sizeof(logdir), "%s/%016" PRIX64, b->log_dir, s->dev.ecid);
	snprintf(s->job.log_path, sizeof(s->job.log_path), "%s/%s-%s.log", logdir, stamp,
	    slot_action_name(s->job.action));
	snprintf(workdir, sizeof(workdir), "%s/%016" PRIX64, b->work_dir, s->dev.ecid);
	mkdirs(logdir, 0700);
	if (mkdirs(workdir, 0700) != 0) {
		const char *tmp = getenv("TMPDIR");
		int e = errno;

		/* an unwritable log directory loses the log, never the restore */
		if (tmp == NULL || tmp[0] != '/')
			tmp = "/tmp";
		bench_error(b, "%s: cannot create %s (%s): the restore runs in %s", s->label, workdir,
		    strerror(e), tmp);
		text_copy(workdir, tmp, sizeof(workdir));
	}

	argv[n++] = b->restore_cmd;
	argv[n++] = "-i";
	argv[n++] = ecidarg;
	argv[n++] = "-y";
	argv[n++] = "-P";
	if (s->job.action == ACT_ERASE)
		argv[n++] = "-e";
	if (b->cfg->cache_dir[0]) {
		argv[n++] = "-C";
		argv[n++] = b->cfg->cache_dir;
	}
	if (b->dialect == DIALECT_MASTER)
		argv[n++] = "--logfile=-";
	argv[n++] = b->ipsw;
	argv[n] = NULL;
	/*
	 * Debian 12's libirecovery 1.0.0 frees the device list in
	 * irecv_open_with_ecid and keeps reading it. Without the tcache the
	 * freed memory is not reused at once and a phone alone on the bus
	 * survives; with other Apple devices listed before it only the
	 * preloaded fix helps (src/preload/irecvfix.c).
	 */
	if (b->dialect != DIALECT_MASTER)
		env[ne++] = "GLIBC_TUNABLES=glibc.malloc.tcache_count=0";
	if (b->dialect != DIALECT_MASTER && b->preload_env[0])
		env[ne++] = b->preload_env;
	env[ne] = NULL;

	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.workdir = workdir;
	spec.log_path = s->job.log_path;
	spec.env_add = env;
	spec.stall_timeout = b->cfg->stall_timeout;
	spec.kill_grace = b->cfg->kill_grace;
	spec.batch_reads = true;

	s->job.state = JOB_RUNNING;
	s->job.started = t;
	s->job.ended = 0;
	s->job.step = STEP_DETECT;
	s->job.percent = 0;
	s->job.queue_pos = 0;
	s->job.tail_count = s->job.tail_next = 0;
	memset(&s->job.result, 0, sizeof(s->job.result));
	s->attempts++;
	bs->rj = rj;
	if (b->store)
		rj->attempt_id = store_attempt_begin(b->store, s->dev.ecid, s->port, s->job.action, t,
		    s->job.log_path);
	b->tri_ok = false;
	rj->job = job_start(b->loop, &spec, &cbs, rj, err, sizeof(err));
	if (rj->job == NULL) {
		struct job_exit ex;

		memset(&ex, 0, sizeof(ex));
		ex.spawn_failed = true;
		text_copy(ex.spawn_error, err, sizeof(ex.spawn_error));
		done_cb(rj, &ex);
		return;
	}
	s->job.pid = job_pid(rj->job);
	emit_job(b, bs);
}

static void renumber_queue(struct bench *b)
{
	/* queue positions follow start order (seq) */
	for (size_t i = 0; i < b->nslots; i++) {
		struct slot *s = &b->slots[i]->s;
		int pos = 1;

		if (s->job.state != JOB_QUEUED)
			continue;
		for (size_t j = 0; j < b->nslots; j++)
			if (b->slots[j]->s.job.state == JOB_QUEUED && b->slots[j]->qseq < b->slots[i]->qseq)
				pos++;
		s->job.queue_pos = pos;
	}
}

static void prep_progress_cb(void *arg, double percent)
{
	struct bench *b = arg;

	snprintf(b->st.ipsw_desc, sizeof(b->st.ipsw_desc), "%.90s, extracting filesystem %.0f%%",
	    b->ipsw_base_desc, percent);
	changed(b, NULL);
}

static void prep_done_cb(void *arg, int err, const char *msg)
{
	struct bench *b = arg;

	b->prep_done = true;
	text_copy(b->st.ipsw_desc, b->ipsw_base_desc, sizeof(b->st.ipsw_desc));
	if (err)
		bench_error(b, "could not extract the filesystem of %s once for all restores (%s): each restore "
		    "will extract its own copy", b->st.ipsw_desc, msg ? msg : strerror(err));
	changed(b, NULL);
	/* b->prep is kept (and freed with the bench): never free it inside its own callback */
	bench_schedule(b);
}

/*
 * idevicerestore 1.0.0 extracts the root filesystem (GBs) into the cache
 * before each restore; parallel children would each extract their own copy.
 * Extract it once, off the loop, and hold the queue until it is there.
 */
static bool ipsw_ready(struct bench *b)
{
	char err[256];

	if (b->prep_done || !b->ipsw_info_ok || b->ipsw_info.is_dir || b->dialect == DIALECT_MASTER ||
	    b->ipsw_info.os_path[0] == '\0')
		return true;
	if (b->prep != NULL)
		return false;
	if (ipsw_cached(b->ipsw, b->cfg->cache_dir, &b->ipsw_info)) {
		b->prep_done = true;
		return true;
	}
	b->prep = ipsw_prepare_start(b->loop, b->ipsw, b->cfg->cache_dir, &b->ipsw_info, prep_progress_cb,
	    prep_done_cb, b, err, sizeof(err));
	if (b->prep == NULL) {
		b->prep_done = true;
		bench_error(b, "cannot extract the filesystem once for all restores: %s", err);
		return true;
	}
	prep_progress_cb(b, 0);
	return false;
}

static void bench_schedule(struct bench *b)
{
	struct sched_job *jobs;
	struct bslot **who;
	size_t n = 0, *pick, npick;
	struct sched_limits lim = { b->cfg->max_jobs, b->cfg->max_jobs_per_root };

	if (b->shutting_down || b->nslots == 0)
		return;
	if (!ipsw_ready(b))
		return;
	jobs = calloc(b->nslots, sizeof(*jobs));
	who = calloc(b->nslots, sizeof(*who));
	pick = calloc(b->nslots, sizeof(*pick));
	if (!jobs || !who || !pick)
		goto out;
	for (size_t i = 0; i < b->nslots; i++) {
		struct bslot *bs = b->slots[i];

		if (bs->s.job.state == JOB_QUEUED) {
			jobs[n].state = SCHED_QUEUED;
			jobs[n].step = STEP_NONE;
		} else if (bs->s.job.state == JOB_RUNNING && bs->rj) {
			jobs[n].state = SCHED_RUNNING;
			jobs[n].step = bs->rj->last_step;
		} else
			continue;
		jobs[n].id = (int)i;
		jobs[n].root = bs->s.bus * 1000 + bs->s.root_port;
		jobs[n].seq = bs->qseq;
		who[n++] = bs;
	}
	npick = sched_pick(jobs, n, &lim, pick, n);
	for (size_t k = 0; k < npick; k++)
		launch(b, who[pick[k]]);
	if (npick)
		renumber_queue(b);
out:
	free(jobs);
	free(who);
	free(pick);
}

static int queue_job(struct bench *b, struct bslot *bs, enum job_action act, char *msg, size_t msglen)
{
	struct slot *s = &bs->s;
	struct stat st;

	if (b->shutting_down) {
		snprintf(msg, msglen, "the bench is shutting down");
		return -1;
	}
	if (!s->present) {
		snprintf(msg, msglen, "%s: no device on this port", s->label);
		return -1;
	}
	if (s->dev.ecid == 0) {
		snprintf(msg, msglen, "%s: device not identified yet (no ECID)", s->label);
		return -1;
	}
	if (s->job.state == JOB_QUEUED || s->job.state == JOB_RUNNING) {
		snprintf(msg, msglen, "%s: a job is already %s", s->label, slot_job_state_name(s->job.state));
		return -1;
	}
	if (s->ignored) {
		snprintf(msg, msglen, "%s: device is ignored (unignore first)", s->label);
		return -1;
	}
	if (s->mode == MODE_RESTORE) {
		snprintf(msg, msglen, "%s: device is in restore mode", s->label);
		return -1;
	}
	s->job.action = act;
	s->job.ecid = s->dev.ecid;
	memset(&s->job.result, 0, sizeof(s->job.result));
	if (b->ipsw[0] == '\0' || stat(b->ipsw, &st) != 0) {
		fail_now(b, bs, act, true);
		snprintf(msg, msglen, "%s: %s", s->label,
		    b->ipsw[0] ? "the IPSW cannot be read" : "no IPSW configured (--ipsw or ipsw = in the config)");
		return -1;
	}
	s->job.state = JOB_QUEUED;
	s->job.step = STEP_NONE;
	s->job.percent = 0;
	s->job.tail_count = s->job.tail_next = 0;
	s->job.log_path[0] = '\0';
	bs->qseq = ++b->seq;
	renumber_queue(b);
	emit_job(b, bs);
	bench_schedule(b);
	return 0;
}

static void cancel_job(struct bench *b, struct bslot *bs, const char *why)
{
	struct slot *s = &bs->s;

	if (s->job.state == JOB_QUEUED) {
		s->job.state = JOB_CANCELLED;
		s->job.result.ok = false;
		s->job.result.cls = EC_CANCELLED;
		s->job.result.code = ERR_NOCODE;
		s->job.result.step = STEP_NONE;
		text_copy(s->job.result.message, why, sizeof(s->job.result.message));
		s->job.ended = time(NULL);
		renumber_queue(b);
		emit_job(b, bs);
	} else if (s->job.state == JOB_RUNNING && bs->rj && bs->rj->job)
		job_cancel(bs->rj->job);
}

/* ---- advice --------------------------------------------------------------- */

static void bench_update_advice(struct bench *b, struct bslot *bs, bool announce)
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
	if (b->tri_all == NULL)
		b->tri_all = calloc(TRIAGE_ALL_MAX, sizeof(*b->tri_all));
	mine = calloc(HISTORY_MAX, sizeof(*mine));
	if (b->tri_all == NULL || mine == NULL)
		goto out;
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
		recount(b);
		changed(b, bs);
	}
	if (s->dev.ecid == 0)
		goto out;
	nmine = store_triage_attempts(b->store, s->dev.ecid, mine, HISTORY_MAX);
	text_copy(old_rule, s->advice_rule, sizeof(old_rule));
	memset(&adv, 0, sizeof(adv));
	if (nmine > 0) {
		struct triage_port lp;

		memset(&lp, 0, sizeof(lp));
		triage_port_assess(mine[0].port, all, nall, &lp);
		if (triage_device(mine, nmine, s->dev.product_type, &lp, &adv) != 1)
			memset(&adv, 0, sizeof(adv));
	}
	if (!suspect || adv.hardware) {
		text_copy(s->advice_rule, adv.rule, sizeof(s->advice_rule));
		text_copy(s->advice, adv.text, sizeof(s->advice));
		s->advice_stop = adv.stop_restoring;
	} else {
		s->advice_stop = false;
		text_copy(s->advice_rule, "suspect-port", sizeof(s->advice_rule));
		snprintf(s->advice, sizeof(s->advice),
		    "port %s: %d different devices failed here and worked elsewhere; the port, cable or hub is "
		    "suspect: move the phone to another port", s->port, tp.devices_failed_ok_elsewhere);
	}
	if (s->advice[0] && (strcmp(old_rule, s->advice_rule) != 0 || announce) &&
	    (strcmp(old_rule, s->advice_rule) != 0 || !had))
		NOTIFY(b, advice_cb, slot_index(b, bs));
	changed(b, bs);
out:
	free(mine);
}

/* ---- device events -------------------------------------------------------- */

static void auto_policy(struct bench *b, struct bslot *bs)
{
	struct slot *s = &bs->s;
	char msg[160];

	if (bs->auto_done || s->ignored || s->flagged || s->dev.ecid == 0 || s->dfu != DFU_OFF ||
	    s->job.state == JOB_QUEUED || s->job.state == JOB_RUNNING)
		return;
	/* the history says more restores are wasted on this phone (triage: hardware) */
	if (s->advice_stop && ((s->mode == MODE_DFU && b->cfg->on_dfu == ON_DFU_ERASE) ||
	    (s->mode == MODE_RECOVERY && b->cfg->on_recovery == ON_RECOVERY_UPDATE))) {
		bs->auto_done = true;
		text_copy(s->action_msg, "not restored automatically: its history says stop restoring",
		    sizeof(s->action_msg));
		changed(b, bs);
		return;
	}
	if (s->mode == MODE_DFU && b->cfg->on_dfu == ON_DFU_ERASE) {
		bs->auto_done = true;
		if (queue_job(b, bs, ACT_ERASE, msg, sizeof(msg)) != 0)
			bench_error(b, "%s", msg);
	} else if (s->mode == MODE_RECOVERY && b->cfg->on_recovery == ON_RECOVERY_UPDATE) {
		bs->auto_done = true;
		if (queue_job(b, bs, ACT_UPDATE, msg, sizeof(msg)) != 0)
			bench_error(b, "%s", msg);
	}
}

static void device_arrived(struct bench *b, const struct usbwatch_dev *d)
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

	if (bs->rj && ev_is_active(&bs->rj->lost_timer))
		ev_timer_stop(b->loop, &bs->rj->lost_timer);
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
	slot_dfu_arrival(s, now_mono());
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
	recount(b);
	NOTIFY(b, device_cb, slot_index(b, bs));
	if (!job_active)
		bench_update_advice(b, bs, true);
	changed(b, bs);
	auto_policy(b, bs);
}

static void device_left(struct bench *b, const struct usbwatch_dev *d)
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
	if (bs->rj && !bs->rj->device_lost) {
		bs->rj->lost_mode = slot_lost_mode(prev_mode, bs->rj->last_step);
		ev_timer_set(&bs->rj->lost_timer, b->cfg->reconnect_window, 0);
		ev_timer_start(b->loop, &bs->rj->lost_timer);
	} else if (s->job.state == JOB_QUEUED)
		cancel_job(b, bs, "device left before its turn");
	recount(b);
	NOTIFY(b, gone_cb, slot_index(b, bs), ecid);
	changed(b, bs);
}

static void hub_arrived(struct bench *b, const struct usbwatch_dev *d)
{
	char port[48];

	struct bslot *bs;

	/* root hubs' ports are inside the computer; external hubs' ports are slots */
	if (d->port[0] == '\0' || strchr(d->port, '-') == NULL)
		return;
	/* a hub on a port makes that port a hub, not a place for a phone */
	if ((bs = find_port(b, d->port)) != NULL && !bs->s.configured && !bs->s.present && bs->rj == NULL) {
		size_t i = slot_index(b, bs);

		memmove(&b->slots[i], &b->slots[i + 1], (b->nslots - i - 1) * sizeof(*b->slots));
		b->nslots--;
		free(bs);
		recount(b);
		changed(b, NULL);
	}
	for (int i = 1; i <= d->nports && i <= 32; i++) {
		snprintf(port, sizeof(port), "%s.%d", d->port, i);
		if (strlen(port) < sizeof(((struct slot *)0)->port))
			add_slot(b, port, NULL);
	}
}

static void usb_cb(void *arg, enum usbwatch_event ev, const struct usbwatch_dev *d)
{
	struct bench *b = arg;

	if (d->is_hub) {
		if (ev == USBWATCH_ARRIVED)
			hub_arrived(b, d);
		return;
	}
	if (d->vid != 0x05ac || slot_mode_from_pid(d->pid) == MODE_NONE)
		return;
	if (ev == USBWATCH_ARRIVED)
		device_arrived(b, d);
	else
		device_left(b, d);
}

static void idev_cb(void *arg, const struct idev_result *r)
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
		changed(b, bs);
		return;
	}
	if (r->err) {
		/* a passive identity query: usbmuxd being down is said once in the header, not per slot */
		if (b->st.usbmuxd_ok)
			text_copy(s->action_msg, r->msg, sizeof(s->action_msg));
		changed(b, bs);
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
		NOTIFY(b, device_cb, slot_index(b, bs));
		bench_update_advice(b, bs, true);
	}
	changed(b, bs);
}

static void kick_done_cb(void *arg, const char *port, int err, const char *msg)
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
	changed(b, bs);
}

/* ---- commands ------------------------------------------------------------- */

int bench_exec(struct bench *b, const struct command *c, char *msg, size_t msglen)
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
	/* an ignored phone is never touched: only unignore (and cancel of what runs) apply */
	if (s->ignored && s->present && c->verb != CMD_UNIGNORE && c->verb != CMD_CANCEL &&
	    c->verb != CMD_FLAG && c->verb != CMD_UNFLAG && c->verb != CMD_IGNORE) {
		snprintf(msg, msglen, "%s: device is ignored (unignore first)", s->label);
		return -1;
	}
	switch (c->verb) {
	case CMD_UPDATE:
		return queue_job(b, bs, ACT_UPDATE, msg, msglen);
	case CMD_ERASE:
		return queue_job(b, bs, ACT_ERASE, msg, msglen);
	case CMD_CANCEL:
		if (s->dfu != DFU_OFF) {
			s->dfu = DFU_OFF;
			changed(b, bs);
			if (s->job.state != JOB_QUEUED && s->job.state != JOB_RUNNING)
				return 0;
		}
		if (s->job.state != JOB_QUEUED && s->job.state != JOB_RUNNING) {
			snprintf(msg, msglen, "%s: no job to cancel", s->label);
			return -1;
		}
		cancel_job(b, bs, "cancelled before it started");
		return 0;
	case CMD_RECOVERY:
		if (!s->present || s->mode != MODE_NORMAL) {
			snprintf(msg, msglen, "%s: recovery needs a device in normal mode", s->label);
			return -1;
		}
		if (bs->rj) {
			snprintf(msg, msglen, "%s: a restore is running", s->label);
			return -1;
		}
		if (b->idev == NULL || idev_submit(b->idev, IDEV_ENTER_RECOVERY, s->port, s->dev.udid) != 0) {
			snprintf(msg, msglen, "%s: cannot reach lockdownd", s->label);
			return -1;
		}
		text_copy(s->action_msg, "asking lockdownd to enter recovery...", sizeof(s->action_msg));
		changed(b, bs);
		return 0;
	case CMD_KICK: {
		static const char *const cmds[] = { "setenv auto-boot true", "saveenv", "reboot" };

		if (!s->present || (s->mode != MODE_RECOVERY && s->mode != MODE_DFU)) {
			snprintf(msg, msglen, "%s: kick needs a device in recovery mode", s->label);
			return -1;
		}
		if (bs->rj) {
			snprintf(msg, msglen, "%s: a restore is running (cancel it first)", s->label);
			return -1;
		}
		if (b->uw == NULL || usbwatch_iboot_send(b->uw, s->port, cmds, 3, kick_done_cb, b) != 0) {
			snprintf(msg, msglen, "%s: cannot talk to the device", s->label);
			return -1;
		}
		text_copy(s->action_msg, "kicking out of recovery...", sizeof(s->action_msg));
		changed(b, bs);
		return 0;
	}
	case CMD_DFU:
		if (!s->present) {
			snprintf(msg, msglen, "%s: no device on this port", s->label);
			return -1;
		}
		if (bs->rj) {
			snprintf(msg, msglen, "%s: a restore is running", s->label);
			return -1;
		}
		if (s->mode == MODE_DFU) {
			s->dfu = DFU_DONE;
		} else if (s->mode == MODE_NORMAL) {
			s->dfu = DFU_TO_RECOVERY;
			if (b->idev)
				idev_submit(b->idev, IDEV_ENTER_RECOVERY, s->port, s->dev.udid);
		} else {
			s->dfu = DFU_STEPS;
			s->dfu_step = 0;
			s->dfu_step_started = now_mono();
		}
		changed(b, bs);
		return 0;
	case CMD_FLAG: {
		char hint[160] = "";

		if (s->dev.ecid == 0) {
			snprintf(msg, msglen, "%s: no identified device to flag", s->label);
			return -1;
		}
		triage_hint(s->dev.product_type, hint, sizeof(hint));
		s->flagged = true;
		text_copy(s->flag_reason, c->reason, sizeof(s->flag_reason));
		text_copy(s->flag_hint, hint, sizeof(s->flag_hint));
		if (b->store)
			store_flag(b->store, s->dev.ecid, c->reason, hint, time(NULL));
		check_store(b);
		recount(b);
		NOTIFY(b, flag_cb, (size_t)i);
		changed(b, bs);
		return 0;
	}
	case CMD_UNFLAG:
		if (!s->flagged) {
			snprintf(msg, msglen, "%s: not flagged", s->label);
			return -1;
		}
		s->flagged = false;
		s->flag_reason[0] = s->flag_hint[0] = '\0';
		if (b->store)
			store_unflag(b->store, s->dev.ecid, time(NULL));
		recount(b);
		changed(b, bs);
		return 0;
	case CMD_IGNORE:
	case CMD_UNIGNORE:
		if (s->dev.ecid == 0) {
			snprintf(msg, msglen, "%s: no identified device", s->label);
			return -1;
		}
		s->ignored = c->verb == CMD_IGNORE;
		if (b->store)
			store_ignore(b->store, s->dev.ecid, s->ignored);
		if (s->ignored && s->job.state == JOB_QUEUED)
			cancel_job(b, bs, "device ignored");
		changed(b, bs);
		return 0;
	default:
		snprintf(msg, msglen, "command not available");
		return -1;
	}
}

/* ---- accessors -------------------------------------------------------------- */

const struct bench_status *bench_status(const struct bench *b)
{
	return &b->st;
}

size_t bench_slot_count(const struct bench *b)
{
	return b->nslots;
}

const struct slot *bench_slot_at(const struct bench *b, size_t i)
{
	return i < b->nslots ? &b->slots[i]->s : NULL;
}

int bench_slot_find(const struct bench *b, const char *name)
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

size_t bench_history(struct bench *b, uint64_t ecid, struct bench_attempt *out, size_t max)
{
	if (b->store == NULL || ecid == 0)
		return 0;
	return store_attempts(b->store, ecid, out, max);
}

size_t bench_flag_suggestions(struct bench *b, size_t i, char out[][128], size_t max)
{
	const struct slot *s = bench_slot_at(b, i);
	const struct hw_finding *f;
	size_t n = 0;

	if (s == NULL || max == 0)
		return 0;
	if ((f = triage_finding(s->dev.product_type)) != NULL && n < max)
		snprintf(out[n++], 128, "%s (%s, %s)", f->finding, f->repair, f->price);
	if (s->job.state == JOB_FAILED && n < max) {
		char sh[32];

		errclass_short(&s->job.result, sh, sizeof(sh));
		snprintf(out[n++], 128, "restore fails: %s at %s %.0f%%", sh, rp_step_name(s->job.result.step),
		    s->job.result.percent);
	}
	if (s->dev.ecid != 0 && b->store != NULL && n < max) {
		struct bench_attempt *h = calloc(HISTORY_MAX, sizeof(*h));
		size_t nh = h ? store_attempts(b->store, s->dev.ecid, h, HISTORY_MAX) : 0, k;
		int failed = 0;

		/* failures only: a phone restored fine once and failing now is not "3 failures" */
		for (k = 0; k < nh; k++)
			failed += h[k].state == JOB_FAILED && strcmp(h[k].cls, "signing") != 0;
		free(h);
		if (failed >= 3)
			snprintf(out[n++], 128, "%d failed restores: needs board-level diagnosis", failed);
	}
	if (n < max)
		snprintf(out[n++], 128, "USB port / Tristar (charging port, USB controller)");
	if (n < max)
		snprintf(out[n++], 128, "NAND (disk failure)");
	return n;
}

bool bench_busy(const struct bench *b)
{
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i]->s.job.state == JOB_RUNNING || b->slots[i]->s.job.state == JOB_QUEUED ||
		    b->slots[i]->rj != NULL)
			return true;
	return false;
}

void bench_set_headless(struct bench *b, bool on)
{
	b->st.headless = on;
	bench_maybe_finish(b);
}

void bench_add_observer(struct bench *b, const struct bench_observer *o)
{
	if (b->nobs < MAX_OBSERVERS)
		b->obs[b->nobs++] = *o;
}

void bench_remove_observer(struct bench *b, void *arg)
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

static void bench_maybe_finish(struct bench *b)
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

void bench_shutdown(struct bench *b, bool cancel)
{
	b->shutting_down = true;
	for (size_t i = 0; i < b->nslots; i++) {
		struct bslot *bs = b->slots[i];

		if (bs->s.job.state == JOB_QUEUED)
			cancel_job(b, bs, "bench shut down before it started");
		else if (cancel && bs->rj && bs->rj->job)
			job_cancel(bs->rj->job);
	}
	bench_maybe_finish(b);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = (struct bench *)((char *)w - offsetof(struct bench, tick));
	bool mux;

	(void)loop;
	(void)revents;
	if (b->store)
		store_flush(b->store);
	check_store(b);
	mux = idev_usbmuxd_running();
	if (mux != b->st.usbmuxd_ok || !b->usbmuxd_told) {
		b->st.usbmuxd_ok = mux;
		if (!mux && !b->usbmuxd_told)
			bench_error(b, "usbmuxd is not running: normal-mode and restore-mode devices cannot be "
			    "reached (recovery and DFU work without it); start it with `usbmuxd -f -U usbmux`");
		b->usbmuxd_told = true;
		changed(b, NULL);
	}
	/* the DFU countdown and "since" times move on their own */
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i]->s.dfu == DFU_STEPS || b->slots[i]->s.dfu == DFU_WAIT)
			changed(b, b->slots[i]);
}

/*
 * Debian's libirecovery 1.0.0 walks a freed device list when another Apple
 * device is listed before the child's own (src/preload/irecvfix.c): find the
 * library that neutralises it, beside the binary (the build directory) or
 * where `make install` put it.
 */
static void find_irecvfix(struct bench *b)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64], *slash;
	const char *pre = getenv("LD_PRELOAD");
	ssize_t n;

	b->irecvfix[0] = b->preload_env[0] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/libidevicebench-irecvfix.so", exe);
		if (access(cand, R_OK) == 0)
			text_copy(b->irecvfix, cand, sizeof(b->irecvfix));
	}
	if (b->irecvfix[0] == '\0' && access(IDB_LIBDIR "/libidevicebench-irecvfix.so", R_OK) == 0)
		text_copy(b->irecvfix, IDB_LIBDIR "/libidevicebench-irecvfix.so", sizeof(b->irecvfix));
	if (b->irecvfix[0] == '\0')
		return;
	/* keep what is preloaded already (the bench simulator's umockdev) */
	snprintf(b->preload_env, sizeof(b->preload_env), "LD_PRELOAD=%s%s%s",
	    pre && *pre ? pre : "", pre && *pre ? ":" : "", b->irecvfix);
}

static void probe_restore_prog(struct bench *b)
{
	char ver[128] = "";

	if (job_probe_version(b->restore_cmd, ver, sizeof(ver)) != 0 || ver[0] == '\0') {
		snprintf(b->st.restore_version, sizeof(b->st.restore_version), "missing");
		b->dialect = DIALECT_1_0_0;
		return;
	}
	text_sanitize(b->st.restore_version, sizeof(b->st.restore_version), ver, strlen(ver));
	b->dialect = rp_dialect_from_version(ver);
}

static int take_lock(struct bench *b, char *err, size_t errlen)
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

struct bench *bench_new(struct ev_loop *loop, struct config *cfg, const struct bench_options *opt,
    char *err, size_t errlen)
{
	struct bench *b = calloc(1, sizeof(*b));
	const char *env;
	char merr[256], path[1100];

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->loop = loop;
	b->cfg = cfg;
	b->lockfd = -1;
	text_copy(b->st.name, cfg->name, sizeof(b->st.name));

	/* restore program: --restore-cmd > config > $IDEVICEBENCH_RESTORE_CMD > idevicerestore */
	if (opt && opt->restore_cmd)
		text_copy(b->restore_cmd, opt->restore_cmd, sizeof(b->restore_cmd));
	else if (cfg->restore_cmd_set || (env = getenv("IDEVICEBENCH_RESTORE_CMD")) == NULL || env[0] == '\0')
		text_copy(b->restore_cmd, cfg->restore_cmd, sizeof(b->restore_cmd));
	else
		text_copy(b->restore_cmd, env, sizeof(b->restore_cmd));
	if (strchr(b->restore_cmd, '/') != NULL && b->restore_cmd[0] != '/') {
		/* children run in their own working directory: a relative path must not move with them */
		char abs[PATH_MAX];

		if (realpath(b->restore_cmd, abs) != NULL)
			text_copy(b->restore_cmd, abs, sizeof(b->restore_cmd));
	}
	text_copy(b->st.restore_prog, b->restore_cmd, sizeof(b->st.restore_prog));
	config_expand_home(opt && opt->ipsw ? opt->ipsw : cfg->ipsw, b->ipsw, sizeof(b->ipsw));
	if (b->ipsw[0] && b->ipsw[0] != '/') {
		char cwd[512];

		if (getcwd(cwd, sizeof(cwd)) != NULL) {
			snprintf(path, sizeof(path), "%s/%s", cwd, b->ipsw);
			text_copy(b->ipsw, path, sizeof(b->ipsw));
		}
	}
	text_copy(b->st.ipsw, b->ipsw, sizeof(b->st.ipsw));
	{
		const char *base = strrchr(b->ipsw, '/');
		char first[32] = "";

		text_copy(b->ipsw_base_desc, base ? base + 1 : b->ipsw, sizeof(b->ipsw_base_desc));
		if (b->ipsw[0] && ipsw_read_info(b->ipsw, &b->ipsw_info, b->ipsw_err, sizeof(b->ipsw_err)) == 0) {
			b->ipsw_info_ok = true;
			sscanf(b->ipsw_info.product_types, "%31s", first);
			snprintf(b->ipsw_base_desc, sizeof(b->ipsw_base_desc), "%s %s (%s)",
			    b->ipsw_info.product_types[0] ? first : "iOS", b->ipsw_info.product_version,
			    b->ipsw_info.build);
		}
		text_copy(b->st.ipsw_desc, b->ipsw_base_desc, sizeof(b->st.ipsw_desc));
	}
	config_expand_home(opt && opt->log_dir ? opt->log_dir : cfg->log_dir, b->log_dir, sizeof(b->log_dir));
	if (mkdirs(b->log_dir, 0700) != 0) {
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
	probe_restore_prog(b);
	find_irecvfix(b);
	b->st.usbmuxd_ok = idev_usbmuxd_running();
	ev_timer_init(&b->tick, tick_cb, 1.0, 1.0);
	ev_timer_init(&b->reap, reap_cb, 0, 0);
	return b;
}

int bench_start(struct bench *b, char *err, size_t errlen)
{
	const char *fault;

	check_store(b);
	if (b->store && store_interrupted_count(b->store) > 0)
		bench_error(b, "%d restore attempt(s) left open by an earlier run were closed as interrupted",
		    store_interrupted_count(b->store));
	if (strcmp(b->st.restore_version, "missing") == 0)
		bench_error(b, "restore program '%s' not found or not runnable: restores will fail "
		    "(set restore_cmd or --restore-cmd)", b->restore_cmd);
	if (b->ipsw[0] && !b->ipsw_info_ok)
		bench_error(b, "IPSW %s: %s", b->ipsw, b->ipsw_err);
	if (b->dialect != DIALECT_MASTER && strcmp(b->st.restore_version, "missing") != 0 &&
	    b->irecvfix[0] == '\0')
		bench_error(b, "libidevicebench-irecvfix.so not found (next to the binary or in %s): "
		    "idevicerestore 1.0.0 children may crash at detect when several phones are "
		    "plugged in", IDB_LIBDIR);
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
	recount(b);
	changed(b, NULL);
	return 0;
}

void bench_free(struct bench *b)
{
	struct runjob *rj;

	if (b == NULL)
		return;
	if (ev_is_active(&b->tick)) {
		ev_ref(b->loop);
		ev_timer_stop(b->loop, &b->tick);
	}
	ev_timer_stop(b->loop, &b->reap);
	while ((rj = b->dead) != NULL) {
		b->dead = rj->next_dead;
		runjob_free(rj);
	}
	for (size_t i = 0; i < b->nslots; i++) {
		if ((rj = b->slots[i]->rj) != NULL) {
			/* exiting at once (a second signal): no restore outlives the bench */
			ev_timer_stop(b->loop, &rj->lost_timer);
			if (rj->attempt_id != 0 && b->store) {
				struct err_result r;

				memset(&r, 0, sizeof(r));
				r.cls = EC_CANCELLED;
				r.code = ERR_NOCODE;
				r.step = b->slots[i]->s.job.step;
				r.percent = b->slots[i]->s.job.percent;
				text_copy(r.message, "cancelled: the bench exited at once", sizeof(r.message));
				store_attempt_end(b->store, rj->attempt_id, time(NULL), JOB_CANCELLED, &r);
			}
			runjob_free(rj);
		}
		free(b->slots[i]);
	}
	free(b->slots);
	ipsw_prepare_free(b->prep);
	usbwatch_free(b->uw);
	idev_free(b->idev);
	if (b->store)
		store_close(b->store);
	free(b->tri_all);
	if (b->lockfd >= 0)
		close(b->lockfd);
	free(b);
}
