/*
 * job.h: run one restore child and supervise it (adapter, libev).
 *
 * The child gets its own process group, stdin from /dev/null, stdout and
 * stderr on two pipes, its own working directory and a clean signal state.
 * Its output goes to output_cb and is appended to a log file. A job is done
 * only when both pipes hit EOF and its exit status arrived, in either order;
 * a grandchild keeping a pipe open after the child exited is given a short
 * drain time, then the group is killed. done_cb is called exactly once,
 * always from the loop (never from inside job_start), also when the program
 * could not be executed.
 *
 * ev_child only works on the default loop: job_start refuses any other.
 * libev reaps every child of the process, so nothing else may waitpid(-1).
 */
#ifndef IDB_JOB_H
#define IDB_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ev_loop;

struct job_spec {
	const char *const *argv;	/* argv[0] = program, searched in PATH; never a shell */
	const char *workdir;		/* created if missing (0700); the child chdirs there; NULL = stay */
	const char *log_path;		/* complete output (stdout+stderr interleaved as read) appended; 0600;
					   parent dirs created 0700; a write error (disk full) is reported once via
					   log_error and never stops the job; NULL = no log */
	const char *const *env_add;	/* extra "NAME=value" entries, may be NULL */
	double stall_timeout;		/* seconds without output before the job is killed as stalled; 0 = off */
	double kill_grace;		/* SIGTERM -> SIGKILL delay, e.g. 5 s; <= 0 means 5 s */
	double drain_timeout;		/* after the exit status, wait this long for EOF from
					   grandchildren before killing the group; <= 0 means 1 s */
	bool batch_reads;		/* after a short read, the pipe is read by a tick shared by all
					   jobs (0.5 s): few wakeups for many chatty children; output,
					   EOF and the stall timer's reset come up to 0.5 s late */
};

struct job_exit {
	bool spawn_failed; char spawn_error[160];	/* exec failed: errno text */
	bool exited; int exit_status; int signal;
	bool cancelled, stalled, killed;		/* why we killed it, if we did */
	char kill_reason[64];
	bool lost;					/* the exit status never arrived (see lost_what) */
	char lost_what[96];				/* what the loop missed and the sweep found, "" normally */
};

struct job_cbs {
	/* may cancel or kill the job, never free it */
	void (*output_cb)(void *arg, int fd_kind /* 1 stdout, 2 stderr */, const char *buf, size_t len);
	void (*done_cb)(void *arg, const struct job_exit *);	/* exactly once; job_free allowed only after */
	void (*log_error_cb)(void *arg, const char *msg);	/* optional */
};

struct job;

/* Start a child as spec says; NULL with a reason in err if nothing could be started. */
struct job *job_start(struct ev_loop *, const struct job_spec *, const struct job_cbs *, void *arg,
    char *err, size_t errlen);
/* Technician cancel: SIGTERM to the group, SIGKILL after the grace (cancelled=true). */
void job_cancel(struct job *);
/* Bench kill (device lost, etc.): the same signals, killed=true and reason kept. */
void job_kill(struct job *, const char *reason);
/* Progress seen: resets the stall timer. */
void job_activity(struct job *);
/* Process id of the child (also its process group id). */
pid_t job_pid(const struct job *);
/* Free a job; may be called from done_cb. A job still running is SIGKILLed first. */
void job_free(struct job *);
/* Run `prog -v` (with a timeout of a few seconds, no shell) and return its first line. 0 / -1. */
int job_probe_version(const char *prog, char *out, size_t outlen);

/*
 * For tests that control the order of events: the batch tick's and the
 * sweep's periods (0 = default; set before the first job), and running
 * either of them now.
 */
void job_tune(double batch_secs, double sweep_secs);
/* What a job still waits for: bit 0 its exit status, bit 1 stdout's EOF, bit 2 stderr's. */
unsigned job_pending(const struct job *);
void job_tick_now(void);
void job_sweep_now(void);

#endif
