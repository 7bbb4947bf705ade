/*
 * sched.h: admission of queued restore jobs (core, libc only).
 *
 * The bench asks, whenever something changed (a job queued, a job finished,
 * a running job moved to another step), which queued jobs may start now.
 * Two limits apply: max_jobs counts every running job; max_per_root counts
 * only the running jobs that still move boot components or the filesystem
 * over USB (detect, prepare, upload_fs), because every hub chained below one
 * root port shares its 480 Mbit/s. Once a job reaches verify_fs the work is
 * on the device, so the next job on that root may start (pipelining).
 */
#ifndef IDB_SCHED_H
#define IDB_SCHED_H

#include <stdbool.h>
#include <stddef.h>

enum sched_state {
	SCHED_QUEUED = 0,
	SCHED_RUNNING
};

struct sched_job {
	int id;			/* caller's id */
	int state;		/* SCHED_QUEUED or SCHED_RUNNING */
	int root;		/* root-port group key: jobs below one root port share 480 Mbit/s */
	int step;		/* enum rp_step (include/restore_parse.h) for running jobs */
	unsigned long seq;	/* queue order (lower = earlier) */
};

struct sched_limits {
	int max_jobs;		/* running jobs on the whole bench; <= 0 means 1 */
	int max_per_root;	/* running jobs in heavy steps per root; <= 0 means 1 */
};

/*
 * Indexes (into jobs[]) of queued jobs to start now, in start order; returns
 * the count. Queued jobs start in seq order (ties: lower index first); a job
 * held back by its root's limit does not hold back jobs on other roots, and
 * no later job on the same root overtakes it. Started jobs count as heavy.
 */
size_t sched_pick(const struct sched_job *jobs, size_t n, const struct sched_limits *,
    size_t *out, size_t outmax);

/* Does a running job in this step use its root port's USB bandwidth? (detect, prepare, upload_fs: yes) */
bool sched_step_heavy(int step);

#endif
