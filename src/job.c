/*
 * job.c: run one restore child and supervise it (adapter: libev).
 *
 * The model is tmux's job.c: a job is finished only when both of its pipes
 * hit EOF and its exit status arrived, in either order. Everything the
 * caller hears (output, log trouble, the end) comes from the loop, never
 * from inside job_start(), so a program that cannot be executed takes the
 * same path as one that fails later.
 *
 * The child is started with posix_spawn() (see job_spawn() for why not
 * fork): a program that cannot be executed is known at once, and its job
 * ends from the loop like any other.
 *
 * Output can be read in batches (spec->batch_reads, what the bench uses):
 * a pipe that brought less than a read buffer (64 KiB) since the last
 * tick of a timer shared by every job is from then on read by that tick,
 * its watcher stopped, so 64 children printing a progress line each every
 * 200 ms cost the loop two wakeups a second instead of one per line
 * (docs/PERFORMANCE.md). A tick read that fills the buffer means a writer
 * waits on the pipe: its watcher comes back, so a chatty child is never
 * held up. The exit status restarts the watchers too, so the end of a job
 * is not delayed.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "job.h"
#include "owner.h"
#include "osutil.h"
#include "text.h"

extern char **environ;

#define JOB_READ_SIZE		65536
#define JOB_DRAIN_READS		64	/* bounded: a killed writer may still be running */
#define JOB_GRACE_DEFAULT	5.0
#define JOB_DRAIN_DEFAULT	1.0
#define JOB_PROBE_TIMEOUT_MS	5000
#define JOB_PROBE_MAX		512
#define JOB_BATCH_SECS		0.5	/* output reaches the parser at most this late */
#define JOB_SWEEP_SECS		2.0	/* how often the sweep looks for forgotten jobs */
#define JOB_ZOMBIE_SWEEPS	2	/* an unreaped exit seen this often was missed by the loop */

/* Why a child could not be started: the stage and errno. */
struct job_spawn_err {
	int	stage;		/* JOB_STAGE_* */
	int	err;		/* errno, 0 when the child runs */
};
#define JOB_STAGE_EXEC		0
#define JOB_STAGE_CHDIR		1
#define JOB_STAGE_SETUP		2

struct job_spawn {
	const char *const	*argv;
	char *const		*envp;		/* NULL: inherit environ */
	const char		*workdir;	/* NULL: stay */
	int			 out_fd;	/* becomes the child's stdout */
	int			 err_fd;	/* becomes the child's stderr */
};

struct job {
	struct ev_loop	*loop;
	struct job_cbs	 cbs;
	void		*arg;
	pid_t		 pid;

	int		 fd[2];		/* stdout, stderr read ends; -1 after EOF */
	ev_io		 io[2];
	ev_child	 child_w;
	ev_timer	 stall_w;
	ev_timer	 kill_w;
	ev_timer	 drain_w;
	ev_timer	 start_w;	/* delivers a log error from job_start */

	double		 stall_timeout;
	double		 kill_grace;
	double		 drain_timeout;

	int		 log_fd;
	char		*log_path;
	bool		 log_reported;
	char		 log_pending[256];

	bool		 batch_reads;
	bool		 batch_linked;	/* on job_batch_head (batch_reads, until the exit status) */
	unsigned	 paused;	/* bit i: pipe i is read by the batch tick, io[i] stopped */
	size_t		 recent[2];	/* bytes read by the watcher since the last tick */
	unsigned	 batch_serial;	/* the last tick that read this job */
	unsigned	 ready;		/* bit i: the tick's poll saw pipe i readable */
	struct job	*batch_next, *batch_prev;

	bool		 status_in;	/* exit status arrived */
	bool		 term_sent;	/* a kill was requested */
	bool		 done;
	struct job_exit	 exit;

	unsigned	 zombie_sweeps;	/* sweeps that found the child exited but not reaped */
	struct job	*all_next, *all_prev;	/* every live job, for the sweep */
};

/* One loop thread: a single read buffer serves every job. */
static char job_buf[JOB_READ_SIZE];
/* Jobs that batch their reads, and the tick that reads them (default loop only). */
static struct job *job_batch_head;
static ev_timer job_batch_w;
static double job_batch_secs = JOB_BATCH_SECS;
/* Every job not yet freed, and the sweep that checks none is forgotten. */
static struct job *job_all_head;
static ev_timer job_sweep_w;
static double job_sweep_secs = JOB_SWEEP_SECS;

static void	job_out_cb(struct ev_loop *, ev_io *, int);
static void	job_err_cb(struct ev_loop *, ev_io *, int);
static void	job_child_cb(struct ev_loop *, ev_child *, int);
static void	job_stall_cb(struct ev_loop *, ev_timer *, int);
static void	job_kill_cb(struct ev_loop *, ev_timer *, int);
static void	job_drain_cb(struct ev_loop *, ev_timer *, int);
static void	job_start_cb(struct ev_loop *, ev_timer *, int);
static void	job_batch_cb(struct ev_loop *, ev_timer *, int);
static void	job_sweep_cb(struct ev_loop *, ev_timer *, int);
static void	job_close_pipe(struct job *, int);
static void	job_check_done(struct job *);

/* Is env entry e the same variable as "NAME=value" entry a? */
static bool
job_env_same(const char *e, const char *a)
{
	const char	*eq = strchr(a, '=');
	size_t		 n = (size_t)(eq - a);

	return strncmp(e, a, n) == 0 && e[n] == '=';
}

/* environ with env_add laid over it; only the array is allocated. */
static char **
job_envp(const char *const *add, char *err, size_t errlen)
{
	char	**envp;
	size_t	  n, m, i, j, k = 0;

	for (m = 0; add[m] != NULL; m++) {
		const char	*eq = strchr(add[m], '=');

		if (eq == NULL || eq == add[m]) {
			snprintf(err, errlen, "bad environment entry (want NAME=value)");
			return NULL;
		}
	}
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		;
	if ((envp = calloc(n + m + 1, sizeof(*envp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < m; j++) {
			if (job_env_same(environ[i], add[j]))
				break;
		}
		if (j == m)
			envp[k++] = environ[i];
	}
	for (j = 0; j < m; j++)
		envp[k++] = (char *)add[j];
	envp[k] = NULL;
	return envp;
}

/*
 * Start the child with posix_spawn(), not fork() and exec(). A fork copies
 * a process of several threads (libusb's, libirecovery's, the lockdownd
 * worker's): any lock another thread held at that moment stays held in the
 * child for ever. Under an LD_PRELOAD wrapper (umockdev's, in every bench
 * simulation) chdir() and close() are such wrapped calls, and a child
 * stuck on one before exec froze the whole bench in the read of its exec
 * pipe (found by the chaos soak under valgrind: docs/RELIABILITY.md).
 * glibc's posix_spawn runs the child on its own stack with the parent
 * waiting, does every step with its internal, unwrapped system calls, and
 * reports an exec failure as its return value, so nothing of ours runs in
 * the child and nothing waits on it.
 *
 * Returns the pid, or 0 with *se_out set when no child runs (the program
 * or the working directory cannot be used), or -1 with err set when the
 * process could not spawn at all.
 */
static pid_t
job_spawn(const struct job_spawn *sp, struct job_spawn_err *se_out, char *err, size_t errlen)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	sigset_t			 all, none;
	pid_t				 pid = -1;
	int				 dirfd = -1, rc;

	memset(se_out, 0, sizeof(*se_out));
	if (sp->workdir != NULL &&
	    (dirfd = open(sp->workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		se_out->stage = JOB_STAGE_CHDIR;
		se_out->err = errno;
		return 0;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		snprintf(err, errlen, "spawn: %s", strerror(rc));
		if (dirfd != -1)
			close(dirfd);
		return -1;
	}
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		snprintf(err, errlen, "spawn: %s", strerror(rc));
		posix_spawn_file_actions_destroy(&fa);
		if (dirfd != -1)
			close(dirfd);
		return -1;
	}
	/* its own group, every signal at its default, none blocked */
	sigfillset(&all);
	sigemptyset(&none);
	rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(&at, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&at, &all);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&at, &none);
	/* stdin from /dev/null, stdout and stderr on the pipes, nothing else open */
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, sp->out_fd, STDOUT_FILENO);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(&fa, sp->err_fd, STDERR_FILENO);
	if (rc == 0 && dirfd != -1)
		rc = posix_spawn_file_actions_addfchdir_np(&fa, dirfd);
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	if (rc == 0) {
		rc = posix_spawnp(&pid, sp->argv[0], &fa, &at, (char *const *)sp->argv,
		    sp->envp != NULL ? sp->envp : environ);
		if (rc != 0) {
			se_out->stage = JOB_STAGE_EXEC;
			se_out->err = rc;
			pid = 0;
		}
	} else {
		se_out->stage = JOB_STAGE_SETUP;
		se_out->err = rc;
		pid = 0;
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (dirfd != -1)
		close(dirfd);
	/* Also here, so the group exists before anyone signals it (fails harmlessly after exec). */
	if (pid > 0)
		(void)setpgid(pid, pid);
	return pid;
}

/* Text for a spawn failure record. */
static void
job_spawn_text(const struct job_spawn *sp, const struct job_spawn_err *se, char *buf, size_t len)
{
	switch (se->stage) {
	case JOB_STAGE_CHDIR:
		snprintf(buf, len, "chdir %s: %s", sp->workdir, strerror(se->err));
		break;
	case JOB_STAGE_SETUP:
		snprintf(buf, len, "spawn: %s", strerror(se->err));
		break;
	default:
		snprintf(buf, len, "%s: %s", sp->argv[0], strerror(se->err));
		break;
	}
}

/* Signal the job's process group; never anything else (a job that never started has no pid). */
static void
job_killpg(struct job *job, int sig)
{
	if (job->pid > 0)
		(void)kill(-job->pid, sig);
}

/* The caller hears of a log problem once per job. */
static void
job_log_error(struct job *job, const char *msg)
{
	char	copy[sizeof(job->log_pending)];

	if (job->log_reported)
		return;
	job->log_reported = true;
	/* msg may be log_pending itself, which must read as delivered now */
	text_copy(copy, msg, sizeof(copy));
	job->log_pending[0] = '\0';
	if (job->cbs.log_error_cb != NULL)
		job->cbs.log_error_cb(job->arg, copy);
}

/* Append output to the log; a failing log is dropped, never the job. */
static void
job_log(struct job *job, const char *buf, size_t len)
{
	char	msg[256];
	ssize_t	n;

	while (job->log_fd != -1 && len > 0) {
		n = write(job->log_fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(msg, sizeof(msg), "log %s: %s", job->log_path,
			    strerror(n == -1 ? errno : EIO));
			close(job->log_fd);
			job->log_fd = -1;
			job_log_error(job, msg);
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* A batched job joins the tick's list when it starts. */
static void
job_batch_link(struct job *job)
{
	job->batch_prev = NULL;
	job->batch_next = job_batch_head;
	if (job_batch_head != NULL)
		job_batch_head->batch_prev = job;
	job_batch_head = job;
	job->batch_linked = true;
	if (!ev_is_active(&job_batch_w)) {
		ev_timer_init(&job_batch_w, job_batch_cb, job_batch_secs, job_batch_secs);
		ev_timer_start(job->loop, &job_batch_w);
	}
}

static void
job_batch_unlink(struct job *job)
{
	if (!job->batch_linked)
		return;
	if (job->batch_prev != NULL)
		job->batch_prev->batch_next = job->batch_next;
	else
		job_batch_head = job->batch_next;
	if (job->batch_next != NULL)
		job->batch_next->batch_prev = job->batch_prev;
	job->batch_next = job->batch_prev = NULL;
	job->batch_linked = false;
	if (job_batch_head == NULL)
		ev_timer_stop(job->loop, &job_batch_w);
}

/* Every live job is on the sweep's list; the sweep runs while the list is not empty. */
static void
job_all_link(struct job *job)
{
	job->all_prev = NULL;
	job->all_next = job_all_head;
	if (job_all_head != NULL)
		job_all_head->all_prev = job;
	job_all_head = job;
	if (!ev_is_active(&job_sweep_w)) {
		ev_timer_init(&job_sweep_w, job_sweep_cb, job_sweep_secs, job_sweep_secs);
		ev_timer_start(job->loop, &job_sweep_w);
	}
}

static void
job_all_unlink(struct job *job)
{
	if (job->all_prev == NULL && job_all_head != job)
		return;		/* not linked */
	if (job->all_prev != NULL)
		job->all_prev->all_next = job->all_next;
	else
		job_all_head = job->all_next;
	if (job->all_next != NULL)
		job->all_next->all_prev = job->all_prev;
	job->all_next = job->all_prev = NULL;
	if (job_all_head == NULL)
		ev_timer_stop(job->loop, &job_sweep_w);
}

/* Leave batching: every open pipe is watched again (the exit status came). */
static void
job_resume(struct job *job)
{
	int	i;

	for (i = 0; i < 2; i++)
		if ((job->paused & (1u << i)) != 0 && job->fd[i] != -1)
			ev_io_start(job->loop, &job->io[i]);
	job->paused = 0;
	job_batch_unlink(job);
}

/*
 * The tick's work for one job. A watched pipe that brought less than a
 * buffer since the last tick is quiet: from now on the tick reads it. A
 * tick-read pipe that fills the buffer has a writer waiting on it: it is
 * watched again. May end (and so free) the job, so that comes last.
 */
static void
job_batch_read(struct job *job)
{
	bool	closed = false;
	ssize_t	n;
	int	i;

	for (i = 0; i < 2; i++) {
		if (job->fd[i] == -1)
			continue;
		if ((job->paused & (1u << i)) == 0) {
			if (job->recent[i] < sizeof(job_buf)) {
				ev_io_stop(job->loop, &job->io[i]);
				job->paused |= 1u << i;
			}
			job->recent[i] = 0;
			continue;
		}
		if ((job->ready & (1u << i)) == 0)
			continue;
		n = read(job->fd[i], job_buf, sizeof(job_buf));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			job_close_pipe(job, i);
			closed = true;
			continue;
		}
		job_log(job, job_buf, (size_t)n);
		if (job->stall_timeout > 0 && ev_is_active(&job->stall_w))
			ev_timer_again(job->loop, &job->stall_w);
		if ((size_t)n == sizeof(job_buf)) {
			job->paused &= ~(1u << i);
			job->recent[i] = 0;
			ev_io_start(job->loop, &job->io[i]);
		}
		if (job->cbs.output_cb != NULL)
			job->cbs.output_cb(job->arg, i + 1, job_buf, (size_t)n);
	}
	if (closed)
		job_check_done(job);
}

/* Mark the paused pipes that have something to read (one poll, not a read each). */
static void
job_batch_poll(void)
{
	static struct pollfd	*pfd;
	static struct job	**pjob;
	static size_t		 cap;
	struct job		*job;
	size_t			 n = 0, k;
	int			 i;

	for (job = job_batch_head; job != NULL; job = job->batch_next)
		n += 2;
	if (n > cap) {
		struct pollfd	*np = realloc(pfd, n * sizeof(*pfd));
		struct job	**nj;

		if (np != NULL)
			pfd = np;
		nj = realloc(pjob, n * sizeof(*pjob));
		if (nj != NULL)
			pjob = nj;
		if (np == NULL || nj == NULL) {
			/* no memory for the set: try every pipe, as EAGAIN is harmless */
			for (job = job_batch_head; job != NULL; job = job->batch_next)
				job->ready = job->paused;
			return;
		}
		cap = n;
	}
	n = 0;
	for (job = job_batch_head; job != NULL; job = job->batch_next) {
		job->ready = 0;
		for (i = 0; i < 2; i++) {
			if ((job->paused & (1u << i)) == 0 || job->fd[i] == -1)
				continue;
			pfd[n].fd = job->fd[i];
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			pjob[n++] = job;
		}
	}
	if (poll(pfd, n, 0) <= 0)
		return;
	for (k = 0; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		job = pjob[k];
		job->ready |= pfd[k].fd == job->fd[0] ? 1u : 2u;
	}
}

/*
 * Every tick: read each tick-read pipe that has data (or its EOF) once,
 * and move pipes between the watcher and the tick by how much they bring.
 * A quiet pipe stays out of the loop's poll set for good: a stopped ev_io
 * is only dropped from epoll lazily, at its next readiness, so stopping
 * and restarting watchers at every tick would still wake the loop for
 * every line. done_cb may free jobs, so the list is walked again from its
 * head after each job.
 */
static void
job_batch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	static unsigned	 serial;
	struct job	*job;

	(void)loop;
	(void)w;
	(void)revents;
	job_batch_poll();
	serial++;
again:
	for (job = job_batch_head; job != NULL; job = job->batch_next) {
		if (job->batch_serial == serial)
			continue;
		job->batch_serial = serial;
		job_batch_read(job);
		goto again;
	}
}

static void
job_close_pipe(struct job *job, int i)
{
	if (job->fd[i] == -1)
		return;
	ev_io_stop(job->loop, &job->io[i]);
	close(job->fd[i]);
	job->fd[i] = -1;
	job->paused &= ~(1u << i);
	if (job->fd[0] == -1 && job->fd[1] == -1)
		job_batch_unlink(job);
}

static void
job_stop_all(struct job *job)
{
	ev_child_stop(job->loop, &job->child_w);
	ev_timer_stop(job->loop, &job->stall_w);
	ev_timer_stop(job->loop, &job->kill_w);
	ev_timer_stop(job->loop, &job->drain_w);
	ev_timer_stop(job->loop, &job->start_w);
	job_close_pipe(job, 0);
	job_close_pipe(job, 1);
	if (job->log_fd != -1) {
		close(job->log_fd);
		job->log_fd = -1;
	}
}

/* Both EOFs and the status are in: tell the caller. Touches job no more after done_cb. */
static void
job_check_done(struct job *job)
{
	struct job_exit	 ex;

	if (job->done || !job->status_in || job->fd[0] != -1 || job->fd[1] != -1)
		return;
	job->done = true;
	job_all_unlink(job);
	if (job->log_pending[0] != '\0')
		job_log_error(job, job->log_pending);
	job_stop_all(job);
	/* We wanted the group dead: no straggler outlives the job. */
	if (job->term_sent)
		job_killpg(job, SIGKILL);
	ex = job->exit;
	if (job->cbs.done_cb != NULL)
		job->cbs.done_cb(job->arg, &ex);
}

/* Read once per wakeup so that one chatty child cannot starve the others. */
static void
job_read(struct ev_loop *loop, struct job *job, int i)
{
	ssize_t		 n;

	n = read(job->fd[i], job_buf, sizeof(job_buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		job_close_pipe(job, i);
		job_check_done(job);
		return;
	}
	job_log(job, job_buf, (size_t)n);
	if (job->stall_timeout > 0 && ev_is_active(&job->stall_w))
		ev_timer_again(loop, &job->stall_w);
	job->recent[i] += (size_t)n;
	if (job->cbs.output_cb != NULL)
		job->cbs.output_cb(job->arg, i + 1, job_buf, (size_t)n);
}

/* stdout (io[0]) and stderr (io[1]): one callback each, so each finds its job */
static void
job_out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	job_read(loop, OWNER_OF(w, struct job, io[0]), 0);
}

static void
job_err_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	job_read(loop, OWNER_OF(w, struct job, io[1]), 1);
}

/*
 * Read what a pipe holds now, without waiting for the loop to report it;
 * EOF closes it. Bounded: a writer may still be running.
 */
static void
job_read_now(struct job *job, int i)
{
	ssize_t	n;
	int	k;

	for (k = 0; k < JOB_DRAIN_READS && job->fd[i] != -1; k++) {
		n = read(job->fd[i], job_buf, sizeof(job_buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			job_close_pipe(job, i);
			return;
		}
		job_log(job, job_buf, (size_t)n);
		if (job->cbs.output_cb != NULL)
			job->cbs.output_cb(job->arg, i + 1, job_buf, (size_t)n);
	}
}

/*
 * The exit status is in (from libev, or from the sweep when libev missed
 * it). The pipes are read at once rather than left to their watchers: a
 * child that exited has usually closed them, and their EOF is wanted now,
 * not at the next tick or the next readiness report.
 */
static void
job_status(struct job *job, int st)
{
	ev_child_stop(job->loop, &job->child_w);
	job->status_in = true;
	if (WIFEXITED(st)) {
		job->exit.exited = true;
		job->exit.exit_status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st))
		job->exit.signal = WTERMSIG(st);
	ev_timer_stop(job->loop, &job->stall_w);
	job_resume(job);
	job_read_now(job, 0);
	job_read_now(job, 1);

	/* A grandchild may hold a pipe open for ever: give it a moment only. */
	if ((job->fd[0] != -1 || job->fd[1] != -1) && !ev_is_active(&job->drain_w)) {
		ev_timer_set(&job->drain_w, job->drain_timeout, 0.);
		ev_timer_start(job->loop, &job->drain_w);
	}
	job_check_done(job);
}

static void
job_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct job	*job = OWNER_OF(w, struct job, child_w);

	(void)loop;
	(void)revents;
	job_status(job, w->rstatus);
}

/* No more waiting for the pipes: kill the group, read what they hold, close them, end. */
static void
job_end_now(struct job *job)
{
	job_killpg(job, SIGKILL);
	job_read_now(job, 0);
	job_read_now(job, 1);
	job_close_pipe(job, 0);
	job_close_pipe(job, 1);
	job_check_done(job);
}

static void
job_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	job_end_now(OWNER_OF(w, struct job, drain_w));
}

/*
 * Defence in depth: a job whose end the loop never reported. libev reaps
 * every child and reports its status; the pipes' EOF ends the rest. If
 * either were ever missed, a slot would stay "running" for ever and keep
 * its seat, so every few seconds each live job is checked against the
 * kernel's view. A child that exited but stayed unreaped for two sweeps
 * means its SIGCHLD went unseen: it is reaped here and ends normally. A
 * child that is no longer ours (reaped by someone else) has lost its
 * status for good: its group is killed, its pipes read out and closed,
 * and it ends with exit.lost_what set, which the bench logs loudly. In
 * the soak this never fires; if it does, a root cause is back.
 */
static void
job_sweep_one(struct job *job)
{
	siginfo_t	si;
	int		st;

	if (job->done)
		return;
	if (job->status_in) {
		/* the status came but a pipe is still open and nothing will close it */
		if ((job->fd[0] != -1 || job->fd[1] != -1) && !ev_is_active(&job->drain_w)) {
			snprintf(job->exit.lost_what, sizeof(job->exit.lost_what),
			    "the end of output of pid %d", (int)job->pid);
			ev_timer_set(&job->drain_w, 0., 0.);
			ev_timer_start(job->loop, &job->drain_w);
		}
		return;
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)job->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
		if (si.si_pid != job->pid) {
			job->zombie_sweeps = 0;		/* still running */
			return;
		}
		if (++job->zombie_sweeps < JOB_ZOMBIE_SWEEPS)
			return;		/* the loop may simply not have got to it yet */
		if (waitpid(job->pid, &st, WNOHANG) != job->pid)
			return;
		snprintf(job->exit.lost_what, sizeof(job->exit.lost_what),
		    "the exit signal (SIGCHLD) of pid %d; its status was recovered", (int)job->pid);
		job_status(job, st);
		return;
	}
	if (errno != ECHILD)
		return;
	/* Not our child any more: someone else reaped it, its status is gone. */
	snprintf(job->exit.lost_what, sizeof(job->exit.lost_what),
	    "the exit status of pid %d (reaped elsewhere)", (int)job->pid);
	job->exit.lost = true;
	ev_child_stop(job->loop, &job->child_w);
	job->status_in = true;
	ev_timer_stop(job->loop, &job->stall_w);
	job_resume(job);
	job_end_now(job);
}

/* done_cb may free jobs: the list is walked again from its head after each end. */
static void
job_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job	*job;
	bool		 again;

	(void)loop;
	(void)w;
	(void)revents;
	do {
		again = false;
		for (job = job_all_head; job != NULL; job = job->all_next) {
			if (job->done)
				continue;
			job_sweep_one(job);
			if (job->done) {
				again = true;
				break;
			}
		}
	} while (again);
}

static void
job_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job	*job = OWNER_OF(w, struct job, kill_w);

	(void)loop;
	(void)revents;
	job_killpg(job, SIGKILL);
}

/* First reason wins; later requests neither rename nor restart the grace. */
static void
job_terminate(struct job *job)
{
	job->term_sent = true;
	ev_timer_stop(job->loop, &job->stall_w);
	job_killpg(job, SIGTERM);
	ev_timer_set(&job->kill_w, job->kill_grace, 0.);
	ev_timer_start(job->loop, &job->kill_w);
}

static void
job_stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job	*job = OWNER_OF(w, struct job, stall_w);

	(void)loop;
	(void)revents;
	if (job->done || job->term_sent)
		return;
	job->exit.stalled = true;
	snprintf(job->exit.kill_reason, sizeof(job->exit.kill_reason),
	    "stalled: no output for %g s", job->stall_timeout);
	job_terminate(job);
}

static void
job_start_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job	*job = OWNER_OF(w, struct job, start_w);

	(void)loop;
	(void)revents;
	if (job->log_pending[0] != '\0')
		job_log_error(job, job->log_pending);
	/* a job whose program could not be started ends here, from the loop */
	job_check_done(job);
}

/* Start a child as spec says; NULL with a reason in err if nothing could be started. */
struct job *
job_start(struct ev_loop *loop, const struct job_spec *spec, const struct job_cbs *cbs,
    void *arg, char *err, size_t errlen)
{
	struct job		*job;
	struct job_spawn	 sp;
	struct job_spawn_err	 se;
	char			**envp = NULL;
	char			 dummy[8];
	int			 po[2] = { -1, -1 }, pe[2] = { -1, -1 }, i;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (loop == NULL || !ev_is_default_loop(loop)) {
		snprintf(err, errlen, "jobs need the default loop (ev_child)");
		return NULL;
	}
	if (spec == NULL || spec->argv == NULL || spec->argv[0] == NULL ||
	    spec->argv[0][0] == '\0') {
		snprintf(err, errlen, "no program to run");
		return NULL;
	}
	if (spec->env_add != NULL && (envp = job_envp(spec->env_add, err, errlen)) == NULL)
		return NULL;

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(envp);
		return NULL;
	}
	job->loop = loop;
	if (cbs != NULL)
		job->cbs = *cbs;
	job->arg = arg;
	job->fd[0] = job->fd[1] = -1;
	job->log_fd = -1;
	job->stall_timeout = spec->stall_timeout > 0 ? spec->stall_timeout : 0;
	job->kill_grace = spec->kill_grace > 0 ? spec->kill_grace : JOB_GRACE_DEFAULT;
	job->drain_timeout = spec->drain_timeout > 0 ? spec->drain_timeout : JOB_DRAIN_DEFAULT;
	job->batch_reads = spec->batch_reads;

	if (spec->log_path != NULL) {
		if ((job->log_path = strdup(spec->log_path)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (os_mkdirs_parent(spec->log_path, 0700) == -1 ||
		    (job->log_fd = open(spec->log_path,
		    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600)) == -1)
			snprintf(job->log_pending, sizeof(job->log_pending), "log %s: %s",
			    spec->log_path, strerror(errno));
	}
	/* A failure here shows up as the child's chdir error, through done_cb. */
	if (spec->workdir != NULL)
		(void)os_mkdirs(spec->workdir, 0700);

	if (pipe2(po, O_CLOEXEC) == -1 || pipe2(pe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	memset(&sp, 0, sizeof(sp));
	sp.argv = spec->argv;
	sp.envp = envp;
	sp.workdir = spec->workdir;
	sp.out_fd = po[1];
	sp.err_fd = pe[1];
	job->pid = job_spawn(&sp, &se, err, errlen);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (job->pid == -1)
		goto fail;
	free(envp);
	envp = NULL;
	job->fd[0] = po[0];
	job->fd[1] = pe[0];

	ev_child_init(&job->child_w, job_child_cb, job->pid, 0);
	if (job->pid > 0) {
		/* Safe although the child may be gone: libev reaps only from the loop. */
		ev_child_start(loop, &job->child_w);
		job_all_link(job);
	}

	ev_init(&job->stall_w, job_stall_cb);
	ev_init(&job->kill_w, job_kill_cb);
	ev_init(&job->drain_w, job_drain_cb);
	ev_timer_init(&job->start_w, job_start_cb, 0., 0.);

	if (job->pid == 0) {
		/* No child: the job ends from the loop, as a shell's 127 would say. */
		job->exit.spawn_failed = true;
		job->exit.exited = true;
		job->exit.exit_status = 127;
		job->status_in = true;
		job_spawn_text(&sp, &se, job->exit.spawn_error, sizeof(job->exit.spawn_error));
		job_close_pipe(job, 0);
		job_close_pipe(job, 1);
		ev_timer_start(loop, &job->start_w);
	} else {
		for (i = 0; i < 2; i++) {
			(void)fcntl(job->fd[i], F_SETFL,
			    fcntl(job->fd[i], F_GETFL) | O_NONBLOCK);
			ev_io_init(&job->io[i], i == 0 ? job_out_cb : job_err_cb, job->fd[i], EV_READ);
			ev_io_start(loop, &job->io[i]);
		}
		if (job->batch_reads)
			job_batch_link(job);
		if (job->stall_timeout > 0) {
			job->stall_w.repeat = job->stall_timeout;
			ev_timer_again(loop, &job->stall_w);
		}
	}
	if (job->log_pending[0] != '\0' && !ev_is_active(&job->start_w))
		ev_timer_start(loop, &job->start_w);
	return job;

fail:
	for (i = 0; i < 2; i++) {
		if (po[i] != -1)
			close(po[i]);
		if (pe[i] != -1)
			close(pe[i]);
	}
	if (job->log_fd != -1)
		close(job->log_fd);
	free(job->log_path);
	free(job);
	free(envp);
	return NULL;
}

/* Technician cancel: SIGTERM to the group, SIGKILL after the grace (cancelled=true). */
void
job_cancel(struct job *job)
{
	if (job == NULL || job->done || job->term_sent)
		return;
	job->exit.cancelled = true;
	text_copy(job->exit.kill_reason, "cancelled", sizeof(job->exit.kill_reason));
	job_terminate(job);
}

/* Bench kill (device lost, etc.): the same signals, killed=true and reason kept. */
void
job_kill(struct job *job, const char *reason)
{
	if (job == NULL || job->done || job->term_sent)
		return;
	job->exit.killed = true;
	text_copy(job->exit.kill_reason, reason != NULL ? reason : "killed",
	    sizeof(job->exit.kill_reason));
	job_terminate(job);
}

/* Progress seen: resets the stall timer. */
void
job_activity(struct job *job)
{
	if (job == NULL || job->done || job->stall_timeout <= 0)
		return;
	if (ev_is_active(&job->stall_w))
		ev_timer_again(job->loop, &job->stall_w);
}

/* Process id of the child (also its process group id). */
pid_t
job_pid(const struct job *job)
{
	return job != NULL ? job->pid : -1;
}

/* Free a job; may be called from done_cb. A job still running is SIGKILLed first. */
void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	if (!job->done && job->pid > 0)
		job_killpg(job, SIGKILL);	/* libev still reaps it */
	job_all_unlink(job);
	job_stop_all(job);
	free(job->log_path);
	free(job);
}

/* Tests: the tick's and the sweep's periods (0 keeps the default); set before any job starts. */
void
job_tune(double batch_secs, double sweep_secs)
{
	job_batch_secs = batch_secs > 0 ? batch_secs : JOB_BATCH_SECS;
	job_sweep_secs = sweep_secs > 0 ? sweep_secs : JOB_SWEEP_SECS;
	if (job_all_head != NULL && ev_is_active(&job_sweep_w)) {
		ev_timer_stop(job_all_head->loop, &job_sweep_w);
		ev_timer_set(&job_sweep_w, job_sweep_secs, job_sweep_secs);
		ev_timer_start(job_all_head->loop, &job_sweep_w);
	}
	if (job_batch_head != NULL && ev_is_active(&job_batch_w)) {
		ev_timer_stop(job_batch_head->loop, &job_batch_w);
		ev_timer_set(&job_batch_w, job_batch_secs, job_batch_secs);
		ev_timer_start(job_batch_head->loop, &job_batch_w);
	}
}

/* What a job still waits for: bit 0 its exit status, bit 1 stdout's EOF, bit 2 stderr's. */
unsigned
job_pending(const struct job *job)
{
	if (job == NULL || job->done)
		return 0;
	return (job->status_in ? 0u : 1u) | (job->fd[0] != -1 ? 2u : 0u) | (job->fd[1] != -1 ? 4u : 0u);
}

/* Tests: run the batch tick now. */
void
job_tick_now(void)
{
	if (job_batch_head != NULL)
		job_batch_cb(job_batch_head->loop, &job_batch_w, EV_TIMER);
}

/* Tests: run the sweep now. */
void
job_sweep_now(void)
{
	if (job_all_head != NULL)
		job_sweep_cb(job_all_head->loop, &job_sweep_w, EV_TIMER);
}

/* Run `prog -v` (with a timeout of a few seconds, no shell) and return its first line. 0 / -1. */
int
job_probe_version(const char *prog, char *out, size_t outlen)
{
	const char		*argv[] = { prog, "-v", NULL };
	struct job_spawn	 sp;
	struct job_spawn_err	 se;
	struct pollfd		 pfd;
	char			 buf[JOB_PROBE_MAX], err[128];
	size_t			 len = 0, line;
	ssize_t			 n;
	long			 deadline, left;
	int			 p[2], st;
	pid_t			 pid;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (prog == NULL || *prog == '\0' || out == NULL || outlen == 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.out_fd = sp.err_fd = p[1];
	pid = job_spawn(&sp, &se, err, sizeof(err));
	close(p[1]);
	if (pid <= 0) {
		close(p[0]);
		return -1;
	}
	deadline = (long)(os_mono() * 1000) + JOB_PROBE_TIMEOUT_MS;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (len < sizeof(buf) && memchr(buf, '\n', len) == NULL) {
		if ((left = deadline - (long)(os_mono() * 1000)) <= 0)
			break;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = read(p[0], buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	/* We reap it ourselves; libev's later waitpid(-1) finds nothing of it. */
	(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;

	for (line = 0; line < len && buf[line] != '\n' && buf[line] != '\r'; line++)
		;
	if (line == 0)
		return -1;
	text_sanitize(out, outlen, buf, line);
	return 0;
}
