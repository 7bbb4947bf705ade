/*
 * test_spawn_locks.c: starting a restore child never depends on a lock
 * another thread holds.
 *
 * The bench has several threads (libusb's, libirecovery's, the lockdownd
 * worker's). Under umockdev's LD_PRELOAD, chdir() is a wrapper that takes a
 * lock; a child forked while another thread held it waited on it for ever
 * before exec, and the bench waited for the child's exec report: the whole
 * bench froze (the chaos soak found it). This test plays that preload: its
 * chdir() takes a lock that a second thread holds while a job starts with a
 * working directory. The job must run and end all the same.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/types.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include <ev.h>

#include "testutil.h"
#include "job.h"

static pthread_mutex_t	 wrap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 hold_cv = PTHREAD_COND_INITIALIZER;
static bool		 held, release;

/* What an LD_PRELOAD wrapper does: a lock around the real call. */
int
chdir(const char *path)
{
	long	rc;

	pthread_mutex_lock(&wrap_lock);
	rc = syscall(SYS_chdir, path);
	pthread_mutex_unlock(&wrap_lock);
	return (int)rc;
}

/* Another thread inside a wrapped call: it holds the wrapper's lock until told. */
static void *
holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wrap_lock);
	pthread_mutex_lock(&hold_lock);
	held = true;
	pthread_cond_broadcast(&hold_cv);
	while (!release)
		pthread_cond_wait(&hold_cv, &hold_lock);
	pthread_mutex_unlock(&hold_lock);
	pthread_mutex_unlock(&wrap_lock);
	return NULL;
}

struct run {
	int		done;
	struct job_exit	ex;
	char		out[256];
	size_t		len;
};

static void
output_cb(void *arg, int kind, const char *buf, size_t len)
{
	struct run	*r = arg;

	(void)kind;
	if (r->len + len < sizeof(r->out)) {
		memcpy(r->out + r->len, buf, len);
		r->len += len;
	}
}

static void
done_cb(void *arg, const struct job_exit *ex)
{
	struct run	*r = arg;

	r->done++;
	r->ex = *ex;
}

static void
test_spawn_while_locked(void **state)
{
	static const struct job_cbs cbs = { output_cb, done_cb, NULL };
	char		 dir[] = "/tmp/idb-test-spawn-XXXXXX";
	const char	*argv[] = { "sh", "-c", "pwd", NULL };
	struct job_spec	 spec = { .argv = argv };
	struct job	*job;
	struct run	 r = { 0 };
	pthread_t	 t;
	char		 err[256], want[64];
	int		 i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	spec.workdir = dir;
	assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
	pthread_mutex_lock(&hold_lock);
	while (!held)
		pthread_cond_wait(&hold_cv, &hold_lock);
	pthread_mutex_unlock(&hold_lock);

	/* a freeze here is the bug: the alarm turns it into a failure */
	alarm(20);
	job = job_start(EV_DEFAULT, &spec, &cbs, &r, err, sizeof(err));
	if (job == NULL)
		fail_msg("job_start: %s", err);
	for (i = 0; i < 1000 && !r.done; i++) {
		ev_run(EV_DEFAULT, EVRUN_NOWAIT);
		usleep(10000);
	}
	alarm(0);
	assert_int_equal(r.done, 1);
	assert_true(r.ex.exited);
	assert_int_equal(r.ex.exit_status, 0);
	snprintf(want, sizeof(want), "%s\n", dir);
	r.out[r.len] = '\0';
	assert_string_equal(r.out, want);	/* it did run in its working directory */

	pthread_mutex_lock(&hold_lock);
	assert_true(held);			/* and the lock was held all along */
	release = true;
	pthread_cond_broadcast(&hold_cv);
	pthread_mutex_unlock(&hold_lock);
	pthread_join(t, NULL);
	job_free(job);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_while_locked),
	};

	signal(SIGPIPE, SIG_IGN);
	ev_default_loop(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
