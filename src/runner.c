/*
 * runner.c: the job runner. A queued restore waits here for the scheduler
 * (core sched.c) to admit it; launch builds the restore program's argv and
 * environment for its dialect, the child's output goes through the parser
 * (core restore_parse.c) to the slot, and its end is classified (core
 * errclass.c) and written to the history. The one-time IPSW extraction for
 * idevicerestore 1.0.0 children holds the queue until it is done.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_int.h"
#include "command.h"
#include "config.h"
#include "errclass.h"
#include "fwsel.h"
#include "ipsw.h"
#include "job.h"
#include "log.h"
#include "osutil.h"
#include "owner.h"
#include "restore_parse.h"
#include "sched.h"
#include "store.h"
#include "text.h"

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

static void
emit_job(struct bench *b, struct bslot *bs)
{
	size_t i = bench_slot_index(b, bs);

	bench_recount(b);
	NOTIFY(b, job_cb, i);
	NOTIFY(b, changed_cb, (int)i);
}

static void
runjob_free(struct runjob *rj)
{
	if (rj->job)
		job_free(rj->job);
	if (rj->rp)
		rp_free(rj->rp);
	free(rj);
}

static void
reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = OWNER_OF(w, struct bench, reap);
	struct runjob *rj;

	(void)loop;
	(void)revents;
	while ((rj = b->dead) != NULL) {
		b->dead = rj->next_dead;
		runjob_free(rj);
	}
	bench_maybe_finish(b);
}

static void
parse_cb(void *arg, const struct rp_event *ev)
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
			runner_schedule(b);	/* a job leaving upload_fs frees its root port */
		} else if (pct != rj->emitted_pct && now - rj->emitted_at >= 0.25) {
			rj->emitted_pct = pct;
			rj->emitted_at = now;
			emit_job(b, rj->bs);
		} else
			bench_changed(b, rj->bs);
		break;
	case RP_LINE:
		slot_tail_push(&s->job, ev->text, ev->len);
		job_activity(rj->job);
		break;
	default:
		break;
	}
}

static void
output_cb(void *arg, int fd_kind, const char *buf, size_t len)
{
	struct runjob *rj = arg;

	/* separate line buffers: 1.0.0's block-buffered stdout can be cut by stderr lines */
	rp_feed_stream(rj->rp, fd_kind == 2 ? 1 : 0, buf, len);
}

static void
log_error_cb(void *arg, const char *msg)
{
	struct runjob *rj = arg;

	bench_error(rj->b, "log of %s: %s", rj->bs ? rj->bs->s.label : "job", msg);
}

static void
finish_job(struct bench *b, struct bslot *bs, const struct err_input *in, long attempt_id)
{
	struct slot *s = &bs->s;
	struct err_result r;

	errclass_decide(in, &r);
	if (bs->fw_fail[0]) {
		text_sanitize(r.message, sizeof(r.message), bs->fw_fail, strlen(bs->fw_fail));
		bs->fw_fail[0] = '\0';
	}
	s->job.result = r;
	s->job.ended = time(NULL);
	runner_fw_ended(b, bs, &r, in->ipsw_missing);
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
	bench_check_store(b);
	emit_job(b, bs);
	bench_update_advice(b, bs, true);
	/* the port's verdict may change with every outcome */
	for (size_t i = 0; i < b->nslots; i++)
		if (b->slots[i] != bs)
			bench_update_advice(b, b->slots[i], false);
}

static void
done_cb(void *arg, const struct job_exit *ex)
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
	runner_schedule(b);
}

static void
lost_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct runjob *rj = OWNER_OF(w, struct runjob, lost_timer);

	(void)loop;
	(void)revents;
	rj->device_lost = true;
	if (rj->job)
		job_kill(rj->job, "device did not come back");
}

static void
fail_now(struct bench *b, struct bslot *bs, enum job_action act, bool ipsw)
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

/* Fail the slot's queued job now (class ipsw, msg its message): its firmware cannot come. */
void
runner_fail_firmware(struct bench *b, struct bslot *bs, const char *msg)
{
	text_copy(bs->fw_fail, msg, sizeof(bs->fw_fail));
	fail_now(b, bs, bs->s.job.action, true);
}

static void
launch(struct bench *b, struct bslot *bs)
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
	os_mkdirs(logdir, 0700);
	if (os_mkdirs(workdir, 0700) != 0) {
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
	argv[n++] = bs->fw_path[0] ? bs->fw_path : b->ipsw;
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
	runner_fw_launching(b, bs, rj->attempt_id);
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

static void
renumber_queue(struct bench *b)
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

static void
prep_progress_cb(void *arg, double percent)
{
	struct bench *b = arg;

	snprintf(b->st.ipsw_desc, sizeof(b->st.ipsw_desc), "%.90s, extracting filesystem %.0f%%",
	    b->ipsw_base_desc, percent);
	bench_changed(b, NULL);
}

static void
prep_done_cb(void *arg, int err, const char *msg)
{
	struct bench *b = arg;

	b->prep_done = true;
	text_copy(b->st.ipsw_desc, b->ipsw_base_desc, sizeof(b->st.ipsw_desc));
	if (err)
		bench_error(b, "could not extract the filesystem of %s once for all restores (%s): each restore "
		    "will extract its own copy", b->st.ipsw_desc, msg ? msg : strerror(err));
	bench_changed(b, NULL);
	/* b->prep is kept (and freed with the bench): never free it inside its own callback */
	runner_schedule(b);
}

/*
 * idevicerestore 1.0.0 extracts the root filesystem (GBs) into the cache
 * before each restore; parallel children would each extract their own copy.
 * Extract it once, off the loop, and hold the queue until it is there.
 */
static bool
ipsw_ready(struct bench *b)
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

void
runner_schedule(struct bench *b)
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

		if (bs->s.job.state == JOB_QUEUED && bs->s.job.waiting_fw)
			continue;	/* its firmware is not there yet */
		if (bs->s.job.state == JOB_QUEUED && !runner_fw_prepared(b, bs->fw_path))
			continue;	/* its filesystem is being extracted */
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

int
runner_queue(struct bench *b, struct bslot *bs, enum job_action act, char *msg, size_t msglen)
{
	struct slot *s = &bs->s;
	char why[256];

	if (b->shutting_down) {
		snprintf(msg, msglen, "the bench is shutting down");
		return -1;
	}
	if (!command_allowed(act == ACT_ERASE ? CMD_ERASE : CMD_UPDATE, s, msg, msglen))
		return -1;
	s->job.action = act;
	s->job.ecid = s->dev.ecid;
	memset(&s->job.result, 0, sizeof(s->job.result));
	s->job.firmware[0] = '\0';
	bs->fw_path[0] = '\0';
	if (runner_fw_resolve(b, bs, true, why, sizeof(why)) < 0) {
		fail_now(b, bs, act, true);	/* with bs->fw_fail when the reason names the phone */
		snprintf(msg, msglen, "%s: %s", s->label, why);
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
	runner_schedule(b);
	return 0;
}

void
runner_cancel(struct bench *b, struct bslot *bs, const char *why)
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

/*
 * Debian's libirecovery 1.0.0 walks a freed device list when another Apple
 * device is listed before the child's own (src/preload/irecvfix.c): find the
 * library that neutralises it, beside the binary (the build directory) or
 * where `make install` put it.
 */
static void
find_irecvfix(struct bench *b)
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

static void
probe_restore_prog(struct bench *b)
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

void
runner_init(struct bench *b)
{
	probe_restore_prog(b);
	find_irecvfix(b);
	ev_timer_init(&b->reap, reap_cb, 0, 0);
}

void
runner_free(struct bench *b)
{
	struct runjob *rj;

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
	}
	ipsw_prepare_free(b->prep);
	runner_fw_free(b);
}

void
runner_kill(struct bench *b, struct bslot *bs)
{
	(void)b;
	if (bs->rj && bs->rj->job)
		job_cancel(bs->rj->job);
}

void
runner_device_back(struct bench *b, struct bslot *bs)
{
	if (bs->rj && ev_is_active(&bs->rj->lost_timer))
		ev_timer_stop(b->loop, &bs->rj->lost_timer);
}

bool
runner_device_left(struct bench *b, struct bslot *bs, enum dev_mode prev_mode)
{
	if (bs->rj == NULL || bs->rj->device_lost)
		return false;
	bs->rj->lost_mode = slot_lost_mode(prev_mode, bs->rj->last_step);
	ev_timer_set(&bs->rj->lost_timer, b->cfg->reconnect_window, 0);
	ev_timer_start(b->loop, &bs->rj->lost_timer);
	return true;
}

void
runner_configure(struct bench *b, const struct bench_options *opt)
{
	struct config *cfg = b->cfg;
	const char *env;
	char path[1100];

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
}

void
runner_announce(struct bench *b)
{
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
}
