/*
 * test_job.c: the job runner with real child processes (the scripts in tests/data/job)
 * on the real libev default loop.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include <ev.h>

#include "testutil.h"
#include "job.h"

static char tmpdir[] = "/tmp/idb-test-job-XXXXXX";

struct run {
	struct job	*job;
	char		*out[3];	/* [0] both, interleaved; [1] stdout; [2] stderr */
	size_t		 len[3];
	size_t		 cap[3];
	int		 done;
	int		 chunks;	/* output_cb calls */
	struct job_exit	 ex;
	int		 log_errors;
	char		 log_msg[256];
	int		 output_after_done;
	const char	*cancel_on;	/* cancel once stdout has this */
	const char	*kill_on;	/* job_kill once stdout has this */
	bool		 acted;
	bool		 free_in_done;
	bool		 timed_out;
	const char	*order;		/* test_end_orders: the order under test */
};

static const char *
data(const char *name)
{
	static char	 buf[8][4096];
	static int	 k;
	char		 rel[256];

	k = (k + 1) % 8;
	snprintf(rel, sizeof(rel), "tests/data/job/%s", name);
	snprintf(buf[k], sizeof(buf[k]), "%s", test_path(rel));
	return buf[k];
}

static const char *
tmp(const char *name)
{
	static char	 buf[8][4096];
	static int	 k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

static void
append(struct run *r, int i, const char *buf, size_t len)
{
	if (r->len[i] + len + 1 > r->cap[i]) {
		/* grow geometrically: 10 MiB in pipe-sized pieces must not copy quadratically (ASan) */
		size_t cap = r->cap[i] ? r->cap[i] : 4096;

		while (cap < r->len[i] + len + 1)
			cap *= 2;
		r->out[i] = realloc(r->out[i], cap);
		assert_non_null(r->out[i]);
		r->cap[i] = cap;
	}
	memcpy(r->out[i] + r->len[i], buf, len);
	r->len[i] += len;
	r->out[i][r->len[i]] = '\0';
}

static void
output_cb(void *arg, int kind, const char *buf, size_t len)
{
	struct run	*r = arg;

	assert_true(kind == 1 || kind == 2);
	assert_true(len > 0);
	if (r->done)
		r->output_after_done++;
	r->chunks++;
	append(r, 0, buf, len);
	append(r, kind, buf, len);
	if (!r->acted && kind == 1 && r->cancel_on != NULL && strstr(r->out[1], r->cancel_on)) {
		r->acted = true;
		job_cancel(r->job);
	}
	if (!r->acted && kind == 1 && r->kill_on != NULL && strstr(r->out[1], r->kill_on)) {
		r->acted = true;
		job_kill(r->job, "device lost");
		job_cancel(r->job);	/* a second request changes nothing */
	}
}

static void
done_cb(void *arg, const struct job_exit *ex)
{
	struct run	*r = arg;

	r->done++;
	r->ex = *ex;
	if (r->free_in_done) {
		job_free(r->job);
		r->job = NULL;
	}
	ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
log_error_cb(void *arg, const char *msg)
{
	struct run	*r = arg;

	r->log_errors++;
	snprintf(r->log_msg, sizeof(r->log_msg), "%s", msg);
}

static const struct job_cbs cbs = { output_cb, done_cb, log_error_cb };

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)revents;
	r->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until the job is done (or a generous guard fires). */
static void
wait_done(struct run *r)
{
	ev_timer	guard;

	ev_timer_init(&guard, guard_cb, 60., 0.);
	guard.data = r;
	ev_timer_start(EV_DEFAULT, &guard);
	while (!r->done && !r->timed_out)
		ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &guard);
	assert_false(r->timed_out);
	assert_int_equal(r->done, 1);
}

static void
start(struct run *r, const struct job_spec *spec)
{
	char	err[256];

	r->job = job_start(EV_DEFAULT, spec, &cbs, r, err, sizeof(err));
	if (r->job == NULL)
		fail_msg("job_start: %s", err);
	/* nothing is ever reported from inside job_start */
	assert_int_equal(r->done, 0);
	assert_int_equal(r->log_errors, 0);
}

static void
finish(struct run *r)
{
	int	i;

	assert_int_equal(r->output_after_done, 0);
	job_free(r->job);
	for (i = 0; i < 3; i++)
		free(r->out[i]);
	memset(r, 0, sizeof(*r));
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f = fopen(path, "rb");
	char	*buf = NULL;
	size_t	 len = 0, n;
	char	 chunk[65536];

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = realloc(buf, len + n + 1);
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (buf == NULL)
		buf = calloc(1, 1);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Is any process left in the group? Runs the loop meanwhile so libev reaps zombies. */
static bool
group_gone(pid_t pgid)
{
	int	i;

	for (i = 0; i < 200; i++) {
		if (kill(-pgid, 0) == -1 && errno == ESRCH)
			return true;
		ev_run(EV_DEFAULT, EVRUN_NOWAIT);
		usleep(10000);
	}
	return false;
}

static void
test_output_and_log(void **state)
{
	const char	*argv[] = { data("lines.sh"), "3", NULL };
	struct job_spec	 spec = { .argv = argv, .log_path = tmp("logs/a/b/lines.log") };
	struct run	 r = { 0 };
	struct stat	 st;
	char		*log, line[64], *p;
	size_t		 loglen, sum;
	int		 i;

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 3);
	assert_int_equal(r.ex.signal, 0);
	assert_false(r.ex.spawn_failed || r.ex.cancelled || r.ex.stalled || r.ex.killed);

	/* each stream complete and in order */
	p = r.out[1];
	for (i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "out %d\n", i);
		assert_memory_equal(p, line, strlen(line));
		p += strlen(line);
	}
	assert_int_equal(p - r.out[1], r.len[1]);
	p = r.out[2];
	for (i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "err %d\n", i);
		assert_memory_equal(p, line, strlen(line));
		p += strlen(line);
	}
	assert_int_equal(p - r.out[2], r.len[2]);

	/* the log has everything, interleaved exactly as read */
	log = slurp(spec.log_path, &loglen);
	assert_non_null(log);
	sum = r.len[1] + r.len[2];
	assert_int_equal(loglen, sum);
	assert_memory_equal(log, r.out[0], loglen);
	free(log);
	assert_int_equal(stat(spec.log_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(tmp("logs/a/b"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(r.log_errors, 0);
	finish(&r);

	/* a second run appends */
	start(&r, &spec);
	wait_done(&r);
	finish(&r);
	log = slurp(spec.log_path, &loglen);
	assert_int_equal(loglen, 2 * sum);
	free(log);
}

/*
 * 10 MiB and binary data arrive whole, read at once or in batches. Batched,
 * the child is silent first, so its pipe is left to the tick; the flood
 * that follows must be read at once again (at one 64 KiB read per tick
 * it would take 80 s, past wait_done's guard).
 */
static void
test_big_and_binary(void **state)
{
	const char	*argv[] = { data("bigdata.sh"), NULL, NULL };
	struct job_spec	 spec = { .argv = argv, .workdir = tmp("work/big") };
	struct run	 r = { 0 };
	char		*bin;
	size_t		 binlen, i, big = 10485760;
	int		 batch;

	(void)state;
	for (batch = 0; batch < 2; batch++) {
		spec.batch_reads = batch;
		argv[1] = batch ? "1.2" : NULL;
		start(&r, &spec);
		wait_done(&r);
		assert_true(r.ex.exited);
		assert_int_equal(r.ex.exit_status, 0);
		/* the child ran in the workdir: data.bin is there */
		bin = slurp(tmp("work/big/data.bin"), &binlen);
		assert_non_null(bin);
		assert_int_equal(binlen, 1000000);
		assert_int_equal(r.len[1], big + 1 + binlen);
		for (i = 0; i < big; i++) {
			if (r.out[1][i] != 'x')
				fail_msg("byte %zu of the long line is %d", i, r.out[1][i]);
		}
		assert_int_equal(r.out[1][big], '\n');
		assert_memory_equal(r.out[1] + big + 1, bin, binlen);
		free(bin);
		finish(&r);
	}
}

static void
test_signal_status(void **state)
{
	const char	*argv[] = { data("signal_self.sh"), "SEGV", NULL };
	struct job_spec	 spec = { .argv = argv };
	struct run	 r = { 0 };

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_false(r.ex.exited);
	assert_int_equal(r.ex.signal, SIGSEGV);
	assert_false(r.ex.cancelled || r.ex.killed || r.ex.stalled);
	finish(&r);
}

/* Ignored and blocked signals of the parent do not leak into the child. */
static void
test_signals_reset(void **state)
{
	const char	*argv_int[] = { data("signal_self.sh"), "INT", NULL };
	const char	*argv_usr[] = { data("signal_self.sh"), "USR1", NULL };
	struct job_spec	 spec = { .argv = argv_int };
	struct run	 r = { 0 };
	struct sigaction sa, old;
	sigset_t	 set, oldset;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, &old);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &oldset);

	start(&r, &spec);
	wait_done(&r);
	assert_int_equal(r.ex.signal, SIGINT);
	assert_null(r.out[1]);
	finish(&r);

	spec.argv = argv_usr;
	start(&r, &spec);
	wait_done(&r);
	assert_int_equal(r.ex.signal, SIGUSR1);
	finish(&r);

	sigprocmask(SIG_SETMASK, &oldset, NULL);
	sigaction(SIGINT, &old, NULL);
}

static void
test_env_workdir_fds(void **state)
{
	const char	*argv[] = { "sh", data("env.sh"), NULL };	/* found in PATH */
	const char	*env[] = { "IDB_JOB_TEST=hello world", "HOME=/nonexistent", NULL };
	struct job_spec	 spec = { .argv = argv, .workdir = tmp("work/env/deep"), .env_add = env };
	struct run	 r = { 0 };
	struct stat	 st;
	char		 want[4200];
	int		 fd;

	(void)state;
	/* an fd without CLOEXEC in the parent must not reach the child */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 57), 57);
	close(fd);
	start(&r, &spec);
	wait_done(&r);
	close(57);
	assert_int_equal(r.ex.exit_status, 0);
	snprintf(want, sizeof(want), "var=hello world\nhome=/nonexistent\npwd=%s\nfd57=closed\nstdin=0\n",
	    tmp("work/env/deep"));
	assert_string_equal(r.out[1], want);
	assert_int_equal(stat(tmp("work/env"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(tmp("work/env/deep"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	finish(&r);
}

/* stdout closes early, the exit status comes later: done waits for both. */
static void
test_eof_before_exit(void **state)
{
	const char	*argv[] = { data("close_early.sh"), NULL };
	struct job_spec	 spec = { .argv = argv };
	struct run	 r = { 0 };

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_string_equal(r.out[1], "first\n");
	assert_string_equal(r.out[2], "late\n");
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 4);
	finish(&r);
}

/* The child exits first; a grandchild still writes: done waits for its EOF. */
static void
test_exit_before_eof(void **state)
{
	const char	*argv[] = { data("grandchild.sh"), "0.3", NULL };
	struct job_spec	 spec = { .argv = argv, .workdir = tmp("work/gc1"), .drain_timeout = 5 };
	struct run	 r = { 0 };

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_string_equal(r.out[1], "parent\ngrand\n");
	assert_int_equal(r.ex.exit_status, 0);
	finish(&r);
}

/* A grandchild that holds the pipe for ever: after a short drain, the group dies. */
static void
test_grandchild_holds_pipe(void **state)
{
	const char	*argv[] = { data("grandchild.sh"), "30", NULL };
	struct job_spec	 spec = { .argv = argv, .workdir = tmp("work/gc2"), .drain_timeout = 0.2 };
	struct run	 r = { 0 };
	pid_t		 pgid;

	(void)state;
	start(&r, &spec);
	pgid = job_pid(r.job);
	wait_done(&r);
	assert_string_equal(r.out[1], "parent\n");
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 0);
	assert_true(group_gone(pgid));
	finish(&r);
}

static void
test_cancel_term(void **state)
{
	const char	*argv[] = { data("term_trap.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .kill_grace = 10 };
	struct run	 r = { .cancel_on = "ready\n" };
	pid_t		 pgid;

	(void)state;
	start(&r, &spec);
	pgid = job_pid(r.job);
	assert_true(pgid > 0);
	wait_done(&r);
	assert_true(r.ex.cancelled);
	assert_false(r.ex.killed || r.ex.stalled);
	assert_string_equal(r.ex.kill_reason, "cancelled");
	assert_string_equal(r.out[1], "ready\ngot-term\n");
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 7);
	assert_true(group_gone(pgid));
	finish(&r);
}

static void
test_kill_ignores_term(void **state)
{
	const char	*argv[] = { data("term_ignore.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .kill_grace = 0.2 };
	struct run	 r = { .kill_on = "ready\n" };
	pid_t		 pgid;

	(void)state;
	start(&r, &spec);
	pgid = job_pid(r.job);
	wait_done(&r);
	assert_true(r.ex.killed);
	assert_false(r.ex.cancelled);		/* first reason wins */
	assert_string_equal(r.ex.kill_reason, "device lost");
	assert_false(r.ex.exited);
	assert_int_equal(r.ex.signal, SIGKILL);
	assert_true(group_gone(pgid));
	finish(&r);
}

static void
test_stall(void **state)
{
	const char	*argv[] = { data("silent.sh"), "10", NULL };
	struct job_spec	 spec = { .argv = argv, .stall_timeout = 0.2, .kill_grace = 1 };
	struct run	 r = { 0 };

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_true(r.ex.stalled);
	assert_false(r.ex.cancelled || r.ex.killed);
	assert_non_null(strstr(r.ex.kill_reason, "stalled"));
	assert_int_equal(r.ex.signal, SIGTERM);
	finish(&r);
}

static void
test_chatty_not_stalled(void **state)
{
	const char	*argv[] = { data("chatty.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .stall_timeout = 0.4 };
	struct run	 r = { 0 };

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_false(r.ex.stalled);
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 0);
	assert_non_null(strstr(r.out[1], "tick 15\n"));
	finish(&r);
}

static void
activity_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run	*r = w->data;

	(void)loop;
	(void)revents;
	if (r->job != NULL && !r->done)
		job_activity(r->job);
}

/* Silent, but the bench sees progress (job_activity): not stalled. */
static void
test_activity_keeps_alive(void **state)
{
	const char	*argv[] = { data("silent.sh"), "0.8", NULL };
	struct job_spec	 spec = { .argv = argv, .stall_timeout = 0.3 };
	struct run	 r = { 0 };
	ev_timer	 tick;

	(void)state;
	start(&r, &spec);
	ev_timer_init(&tick, activity_cb, 0.05, 0.05);
	tick.data = &r;
	ev_timer_start(EV_DEFAULT, &tick);
	wait_done(&r);
	ev_timer_stop(EV_DEFAULT, &tick);
	assert_false(r.ex.stalled);
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 0);
	finish(&r);
}

/* The same chatty child, read at once and in batches: the same bytes, far fewer reads. */
static void
test_batch_reads(void **state)
{
	const char	*argv[] = { data("chatty.sh"), "40", NULL };
	struct job_spec	 spec = { .argv = argv, .log_path = tmp("batch.log") };
	struct run	 a = { 0 }, b = { 0 };
	char		*log;
	size_t		 loglen;
	int		 i;

	(void)state;
	start(&a, &spec);
	spec.batch_reads = true;
	spec.log_path = tmp("batch2.log");
	start(&b, &spec);
	while (!a.done || !b.done) {
		ev_run(EV_DEFAULT, EVRUN_ONCE);
		assert_true(a.done <= 1 && b.done <= 1);
	}
	for (i = 0; i < 40; i++) {
		char line[32];

		snprintf(line, sizeof(line), "tick %d\n", i);
		assert_non_null(strstr(b.out[1], line));
	}
	assert_string_equal(a.out[1], b.out[1]);
	log = slurp(tmp("batch2.log"), &loglen);
	assert_non_null(log);
	assert_int_equal(loglen, b.len[1]);
	assert_memory_equal(log, b.out[1], loglen);
	free(log);
	/*
	 * 40 lines 50 ms apart (2 s): one read each at once; batched, one each
	 * until the first tick (at most 0.5 s: 10 lines), then one per tick
	 */
	assert_true(b.chunks <= 20);
	assert_true(a.chunks > b.chunks);
	assert_true(b.ex.exited);
	assert_int_equal(b.ex.exit_status, 0);
	finish(&a);
	finish(&b);
}

/* A job freed while its pipes wait for the tick leaves the batch list sound (ASan). */
static void
test_batch_free_paused(void **state)
{
	const char	*argv[] = { data("chatty.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .batch_reads = true };
	struct run	 a = { 0 }, b = { 0 };
	pid_t		 pid;

	(void)state;
	start(&a, &spec);
	start(&b, &spec);
	while (a.len[1] == 0)
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	pid = job_pid(a.job);
	job_free(a.job);	/* paused now: its first read was short */
	a.job = NULL;
	assert_true(group_gone(pid));
	wait_done(&b);
	assert_non_null(strstr(b.out[1], "tick 15\n"));
	finish(&a);
	finish(&b);
}

static void
test_spawn_failed(void **state)
{
	const char	*argv[] = { "idb-no-such-program-here", "-v", NULL };
	const char	*argv2[] = { tmp("not-exec.sh"), NULL };
	const char	*argv3[] = { data("lines.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .log_path = tmp("logs/spawn.log") };
	struct run	 r = { .free_in_done = true };
	FILE		*f;

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	assert_true(r.ex.spawn_failed);
	assert_non_null(strstr(r.ex.spawn_error, "idb-no-such-program-here"));
	assert_non_null(strstr(r.ex.spawn_error, strerror(ENOENT)));
	assert_null(r.out[0]);
	finish(&r);

	f = fopen(argv2[0], "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho should not run\n", f);
	fclose(f);
	assert_int_equal(chmod(argv2[0], 0644), 0);
	spec.argv = argv2;
	start(&r, &spec);
	wait_done(&r);
	assert_true(r.ex.spawn_failed);
	assert_non_null(strstr(r.ex.spawn_error, strerror(EACCES)));
	assert_null(r.out[0]);
	finish(&r);

	/* a workdir that cannot be entered is a spawn failure too */
	spec.argv = argv3;
	spec.workdir = tmp("not-exec.sh/sub");
	start(&r, &spec);
	wait_done(&r);
	assert_true(r.ex.spawn_failed);
	assert_non_null(strstr(r.ex.spawn_error, "chdir"));
	finish(&r);

	/* bad arguments: nothing started */
	char	err[128] = "";
	const char *none[] = { NULL };
	const char *badenv[] = { "NOEQUALS", NULL };
	spec.argv = none;
	assert_null(job_start(EV_DEFAULT, &spec, &cbs, &r, err, sizeof(err)));
	assert_true(err[0] != '\0');
	spec.argv = argv3;
	spec.workdir = NULL;
	spec.env_add = badenv;
	assert_null(job_start(EV_DEFAULT, &spec, &cbs, &r, err, sizeof(err)));
	assert_int_equal(r.done, 0);
}

/* Bytes lines.sh writes to one stream. */
static size_t
lines_len(const char *prefix)
{
	char	line[64];
	size_t	len = 0;
	int	i;

	for (i = 0; i < 2000; i++)
		len += (size_t)snprintf(line, sizeof(line), "%s %d\n", prefix, i);
	return len;
}

static void
test_log_unwritable(void **state)
{
	const char	*argv[] = { data("lines.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .log_path = tmp("not-exec.sh/logs/x.log") };
	struct run	 r = { 0 };
	FILE		*f;

	(void)state;
	/* a directory path running through a regular file: fails even for root */
	f = fopen(tmp("not-exec.sh"), "w");
	assert_non_null(f);
	fclose(f);
	start(&r, &spec);
	wait_done(&r);
	assert_int_equal(r.log_errors, 1);
	if (strstr(r.log_msg, "x.log") == NULL)
		fail_msg("log message: [%s]", r.log_msg);
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 0);
	assert_int_equal(r.len[1], lines_len("out"));
	finish(&r);
}

static void
test_log_disk_full(void **state)
{
	const char	*argv[] = { data("lines.sh"), NULL };
	struct job_spec	 spec = { .argv = argv, .log_path = "/dev/full" };
	struct run	 r = { 0 };

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	start(&r, &spec);
	wait_done(&r);
	assert_int_equal(r.log_errors, 1);
	assert_non_null(strstr(r.log_msg, strerror(ENOSPC)));
	assert_int_equal(r.ex.exit_status, 0);
	assert_non_null(strstr(r.out[1], "out 1999\n"));
	assert_non_null(strstr(r.out[2], "err 1999\n"));
	finish(&r);
}

static void
test_cancel_after_done(void **state)
{
	const char	*argv[] = { data("lines.sh"), "0", NULL };
	struct job_spec	 spec = { .argv = argv };
	struct run	 r = { 0 };

	(void)state;
	start(&r, &spec);
	wait_done(&r);
	/* late requests are harmless no-ops */
	job_cancel(r.job);
	job_kill(r.job, "late");
	job_activity(r.job);
	assert_false(r.ex.cancelled);
	finish(&r);

	/* freeing a running job kills its group */
	const char	*argv2[] = { data("silent.sh"), "30", NULL };
	char		 err[128];
	pid_t		 pgid;

	spec.argv = argv2;
	r.job = job_start(EV_DEFAULT, &spec, &cbs, &r, err, sizeof(err));
	assert_non_null(r.job);
	pgid = job_pid(r.job);
	job_free(r.job);
	r.job = NULL;
	assert_true(group_gone(pgid));
	assert_int_equal(r.done, 0);
	finish(&r);
}

static void
test_probe_version(void **state)
{
	char	out[64];

	(void)state;
	memset(out, 'z', sizeof(out));
	assert_int_equal(job_probe_version(data("version.sh"), out, sizeof(out)), 0);
	/* first line only, the escape sequence defused */
	assert_non_null(strstr(out, "fakerestore 1.0.0"));
	assert_null(strchr(out, '\033'));
	assert_null(strstr(out, "second"));
	assert_int_equal(job_probe_version("idb-no-such-program-here", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	/* no output at all: nothing to report */
	assert_int_equal(job_probe_version("true", out, sizeof(out)), -1);
	/* tiny buffer: truncated, terminated */
	assert_int_equal(job_probe_version(data("version.sh"), out, 5), 0);
	assert_string_equal(out, "fake");
}

static void
test_not_default_loop(void **state)
{
	const char	*argv[] = { "true", NULL };
	struct job_spec	 spec = { .argv = argv };
	struct ev_loop	*other = ev_loop_new(EVFLAG_AUTO);
	struct run	 r = { 0 };
	char		 err[128] = "";

	(void)state;
	assert_null(job_start(other, &spec, &cbs, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "default loop"));
	ev_loop_destroy(other);
}

/*
 * The end of a job, in every order. Three things end a child: its exit
 * status (SIGCHLD, then libev's reaping) and the EOF of each pipe; the
 * batch tick reads quiet pipes; the bench may kill a job whose device did
 * not come back. ordered.sh lets the test make each happen when it says:
 * SIGCHLD is held blocked until the step that delivers it, the tick runs
 * only when called, and each pipe closes on command. Every order must end
 * the job exactly once, with all output and the right status.
 */
struct order_ctl {
	int	 exit_fd, hold_fd;
	pid_t	 holder;
	sigset_t chld;
};

static void
order_pump(void)
{
	int	i;

	for (i = 0; i < 4; i++)
		ev_run(EV_DEFAULT, EVRUN_NOWAIT);
}

/* Wait until the holder has let go of fd (1 or 2). */
static void
order_wait_closed(pid_t holder, int fd)
{
	char	path[64], link[256];
	int	i;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)holder, fd);
	for (i = 0; i < 500; i++) {
		ssize_t n = readlink(path, link, sizeof(link) - 1);

		if (n == -1 || strncmp(link, "pipe:", 5) != 0)
			return;
		usleep(2000);
	}
	fail_msg("holder %d kept fd %d", (int)holder, fd);
}

static void
order_step(struct run *r, struct order_ctl *c, char step)
{
	siginfo_t	si;

	switch (step) {
	case 'p':	/* a tick while the pipes are quiet: they are tick-read from now on */
	case 't':
		job_tick_now();
		order_pump();
		break;
	case 'o':
		assert_int_equal(write(c->hold_fd, "o\n", 2), 2);
		order_wait_closed(c->holder, 1);
		order_pump();
		break;
	case 'e':
		assert_int_equal(write(c->hold_fd, "e\n", 2), 2);
		order_wait_closed(c->holder, 2);
		order_pump();
		break;
	case 'x':	/* the child exits; its SIGCHLD waits, blocked */
		assert_int_equal(write(c->exit_fd, "x\n", 2), 2);
		memset(&si, 0, sizeof(si));
		assert_int_equal(waitid(P_PID, (id_t)job_pid(r->job), &si, WEXITED | WNOWAIT), 0);
		order_pump();
		/* held: the loop has not heard of it */
		if ((job_pending(r->job) & 1u) == 0)
			fail_msg("order %s: the exit status arrived while SIGCHLD was held", r->order);
		break;
	case 's':	/* SIGCHLD is delivered and the loop runs */
		sigprocmask(SIG_UNBLOCK, &c->chld, NULL);
		order_pump();
		sigprocmask(SIG_BLOCK, &c->chld, NULL);
		break;
	case 'r':	/* something else reaps the child: its status is lost to libev */
		assert_int_equal(waitpid(job_pid(r->job), NULL, 0), job_pid(r->job));
		order_pump();
		break;
	case 'w':	/* the sweep runs */
		job_sweep_now();
		order_pump();
		break;
	case 'k':	/* the bench's reconnect window ran out */
		if (!r->done)
			job_kill(r->job, "device did not come back");
		order_pump();
		break;
	}
}

/* Run one order; returns after the job ended (or fails the test). */
static void
order_run(const char *order)
{
	char		 prog[4096], exitf[4096], holdf[4096], work[4096], pidf[4096];
	const char	*argv[] = { prog, exitf, holdf, NULL };
	struct job_spec	 spec = { .argv = argv, .workdir = work, .batch_reads = true,
			    .drain_timeout = 60, .kill_grace = 60 };
	struct run	 r = { .order = order };
	struct order_ctl c;
	char		*pidtxt;
	size_t		 len;
	const char	*p, *kpos;
	int		 i;

	/* tmp() and data() hand out a small ring of buffers: keep copies */
	snprintf(prog, sizeof(prog), "%s", data("ordered.sh"));
	snprintf(exitf, sizeof(exitf), "%s", tmp("exit.fifo"));
	snprintf(holdf, sizeof(holdf), "%s", tmp("hold.fifo"));
	snprintf(work, sizeof(work), "%s", tmp("work/ord"));
	snprintf(pidf, sizeof(pidf), "%s", tmp("work/ord/holder.pid"));
	unlink(exitf);
	unlink(holdf);
	assert_int_equal(mkfifo(exitf, 0600), 0);
	assert_int_equal(mkfifo(holdf, 0600), 0);
	c.exit_fd = open(exitf, O_RDWR | O_CLOEXEC);
	c.hold_fd = open(holdf, O_RDWR | O_CLOEXEC);
	assert_true(c.exit_fd >= 0 && c.hold_fd >= 0);
	sigemptyset(&c.chld);
	sigaddset(&c.chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &c.chld, NULL);
	/* a SIGCHLD that came before the block (an earlier run's holder) is handled now, not later */
	order_pump();
	unlink(pidf);

	start(&r, &spec);
	/* the holder is running and the child has let go of both pipes */
	for (i = 0; i < 500 && (pidtxt = slurp(pidf, &len)) == NULL; i++)
		usleep(2000);
	assert_non_null(pidtxt);
	while (len == 0 || pidtxt[len - 1] != '\n') {
		free(pidtxt);
		usleep(2000);
		pidtxt = slurp(pidf, &len);
	}
	c.holder = (pid_t)atoi(pidtxt);
	free(pidtxt);
	order_pump();

	for (p = order; *p != '\0'; p++) {
		order_step(&r, &c, *p);
		assert_true(r.done <= 1);
	}
	/*
	 * What every order must come to: the tick goes on, signals flow and the
	 * sweep runs every second, as in the bench. Without an 's' step, SIGCHLD
	 * stays blocked: the loop never hears of the exit, only the sweep can.
	 */
	if (strchr(order, 's') != NULL)
		sigprocmask(SIG_UNBLOCK, &c.chld, NULL);
	for (i = 0; i < 300 && !r.done; i++) {
		job_tick_now();
		order_pump();
		if (i % 10 == 9)
			job_sweep_now();
		usleep(10000);
	}
	sigprocmask(SIG_UNBLOCK, &c.chld, NULL);
	if (r.done != 1)
		fail_msg("order %s: the job never ended (done=%d, pending=%#x)", order, r.done,
		    job_pending(r.job));
	order_pump();
	assert_int_equal(r.done, 1);
	if (strchr(order, 'r') != NULL) {
		/* the status is gone for good: the sweep ends the job and says so */
		assert_true(r.ex.lost);
		assert_non_null(strstr(r.ex.lost_what, "reaped elsewhere"));
		assert_false(r.ex.exited);
	} else if (strchr(order, 's') == NULL) {
		/* the SIGCHLD never came: the sweep reaps the child and recovers its status */
		assert_false(r.ex.lost);
		assert_non_null(strstr(r.ex.lost_what, "SIGCHLD"));
	} else if (r.ex.lost_what[0] != '\0')
		fail_msg("order %s: the sweep had to step in: %s", order, r.ex.lost_what);
	/* a pipe closed before a kill brought its last line; after one, the group is dead */
	kpos = strchr(order, 'k') != NULL ? strchr(order, 'k') : order + strlen(order);
	if (strchr(order, 'o') != NULL && strchr(order, 'o') < kpos && strcmp(r.out[1] ? r.out[1] : "", "last out\n") != 0)
		fail_msg("order %s: stdout '%s'", order, r.out[1] ? r.out[1] : "");
	if (strchr(order, 'e') != NULL && strchr(order, 'e') < kpos && strcmp(r.out[2] ? r.out[2] : "", "last err\n") != 0)
		fail_msg("order %s: stderr '%s'", order, r.out[2] ? r.out[2] : "");
	if (strchr(order, 'k') != NULL && strchr(order, 'k') < strchr(order, 'x')) {
		assert_true(r.ex.killed);
		assert_int_equal(r.ex.signal, SIGTERM);
	} else if (strchr(order, 'x') != NULL && strchr(order, 'r') == NULL) {
		assert_true(r.ex.exited);
		assert_int_equal(r.ex.exit_status, 7);
	}
	(void)!write(c.hold_fd, "q\n", 2);
	close(c.exit_fd);
	close(c.hold_fd);
	finish(&r);
	/* the holder is reaped (we are its subreaper) before the next run holds SIGCHLD */
	for (i = 0; i < 500 && kill(c.holder, 0) == 0; i++) {
		order_pump();
		usleep(2000);
	}
}

/*
 * Defence in depth: when the loop misses the end of a job (a lost SIGCHLD,
 * a status reaped by someone else), the sweep still ends it, exactly once,
 * and says what was missed; it never steps in when nothing was missed.
 */
static void
test_sweep(void **state)
{
	(void)state;
	job_tune(1000., 1000.);
	order_run("oexr");	/* reaped elsewhere after both EOFs */
	order_run("xroe");	/* ... before them */
	order_run("poexw");	/* SIGCHLD never delivered; first sweep too early to judge */
	order_run("xpoe");	/* ... pipes tick-read */
	order_run("oexsw");	/* delivered normally: a sweep after the end changes nothing */
	order_run("xswoe");	/* a sweep while a grandchild still holds the pipes: no step-in */
	job_tune(0, 0);
}

/* Every order of exit, status delivery, the two EOFs and the tick. */
static void
test_end_orders(void **state)
{
	static const char *const base[] = { "oex", "oxe", "xoe", "eox", "exo", "xeo" };
	char		 order[16];
	size_t		 b, si, ti, n, runs = 0;
	int		 pause;

	(void)state;
	job_tune(1000., 1000.);		/* no tick or sweep but the test's own */
	if (getenv("IDB_ORDER") != NULL) {
		order_run(getenv("IDB_ORDER"));
		job_tune(0, 0);
		return;
	}
	for (pause = 0; pause < 2; pause++) {
		for (b = 0; b < 6; b++) {
			const char	*x = strchr(base[b], 'x');
			size_t		 xpos = (size_t)(x - base[b]);

			/* s somewhere after x; t nowhere or anywhere */
			for (si = xpos + 1; si <= 3; si++) {
				for (ti = 0; ti <= 5; ti++) {
					char	 tmpo[8];
					size_t	 k, m = 0;

					for (k = 0; k <= 3; k++) {
						if (k == si)
							tmpo[m++] = 's';
						if (k < 3)
							tmpo[m++] = base[b][k];
					}
					tmpo[m] = '\0';
					n = 0;
					if (pause)
						order[n++] = 'p';
					for (k = 0; k <= m; k++) {
						if (k == ti && ti < 5)
							order[n++] = 't';
						if (k < m)
							order[n++] = tmpo[k];
					}
					order[n] = '\0';
					if (ti == 5 && strchr(order, 't') != NULL)
						continue;
					order_run(order);
					runs++;
				}
			}
		}
	}
	/* the bench kills a job whose device did not come back: before, between and after */
	order_run("pkxso");
	order_run("poktxse");
	order_run("pxkseo");
	order_run("pxoeks");
	runs += 4;
	job_tune(0, 0);
	assert_true(runs > 100);
}

static int
threads(void)
{
	char	path[64];
	DIR	*d;
	int	 n = 0;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)getpid());
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* orphaned grandchildren come to us, so libev reaps them and groups empty */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	/* one thread: a SIGCHLD held blocked here is held for the whole process */
	if (threads() != 1) {
		fprintf(stderr, "test_job must run as one thread (it has %d)\n", threads());
		return -1;
	}
	ev_default_loop(0);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_log),
		cmocka_unit_test(test_big_and_binary),
		cmocka_unit_test(test_signal_status),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_env_workdir_fds),
		cmocka_unit_test(test_eof_before_exit),
		cmocka_unit_test(test_exit_before_eof),
		cmocka_unit_test(test_grandchild_holds_pipe),
		cmocka_unit_test(test_cancel_term),
		cmocka_unit_test(test_kill_ignores_term),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_chatty_not_stalled),
		cmocka_unit_test(test_activity_keeps_alive),
		cmocka_unit_test(test_batch_reads),
		cmocka_unit_test(test_batch_free_paused),
		cmocka_unit_test(test_spawn_failed),
		cmocka_unit_test(test_log_unwritable),
		cmocka_unit_test(test_log_disk_full),
		cmocka_unit_test(test_cancel_after_done),
		cmocka_unit_test(test_probe_version),
		cmocka_unit_test(test_not_default_loop),
		cmocka_unit_test(test_end_orders),
		cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
