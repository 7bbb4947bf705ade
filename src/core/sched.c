/*
 * sched.c: which queued restore jobs may start now.
 *
 * Pure function of the job list: the bench keeps no scheduler state, so a
 * cancelled or vanished job is simply not passed in. Lists are a few dozen
 * entries, so plain quadratic scans beat any bookkeeping.
 */
#include <stddef.h>
#include <stdbool.h>

#include "sched.h"
#include "restore_parse.h"

/* A job that has not reported a step yet is detecting the device: heavy. */
bool
sched_step_heavy(int step)
{
	switch (step) {
	case STEP_NONE:
	case STEP_DETECT:
	case STEP_PREPARE:
	case STEP_UPLOAD_FS:
		return true;
	default:
		return false;
	}
}

/* Is job a queued before job b? seq first, index breaks ties. */
static bool
sched_before(const struct sched_job *jobs, size_t a, size_t b)
{
	if (jobs[a].seq != jobs[b].seq)
		return jobs[a].seq < jobs[b].seq;
	return a < b;
}

/* The earliest queued job after prev (or the first when have_prev is false); n if none. */
static size_t
sched_next_queued(const struct sched_job *jobs, size_t n, bool have_prev, size_t prev)
{
	size_t	i, best = n;

	for (i = 0; i < n; i++) {
		if (jobs[i].state != SCHED_QUEUED)
			continue;
		if (have_prev && !sched_before(jobs, prev, i))
			continue;
		if (best == n || sched_before(jobs, i, best))
			best = i;
	}
	return best;
}

size_t
sched_pick(const struct sched_job *jobs, size_t n, const struct sched_limits *lim,
    size_t *out, size_t outmax)
{
	long	 max_jobs = 1, max_root = 1, running = 0, heavy;
	size_t	 i, j, k, picked = 0;
	bool	 have_prev = false;

	if (jobs == NULL || out == NULL)
		return 0;
	if (lim != NULL && lim->max_jobs > 0)
		max_jobs = lim->max_jobs;
	if (lim != NULL && lim->max_per_root > 0)
		max_root = lim->max_per_root;

	for (i = 0; i < n; i++) {
		if (jobs[i].state == SCHED_RUNNING)
			running++;
	}

	j = 0;
	while (picked < outmax && running < max_jobs) {
		j = sched_next_queued(jobs, n, have_prev, j);
		if (j == n)
			break;
		have_prev = true;

		/*
		 * Heavy jobs on this root: running ones plus those picked in
		 * this call (they start in detect). The count only grows
		 * within a call, so once a root is full every later job on it
		 * is refused too: nobody overtakes the job refused first.
		 */
		heavy = 0;
		for (i = 0; i < n; i++) {
			if (jobs[i].root == jobs[j].root &&
			    jobs[i].state == SCHED_RUNNING &&
			    sched_step_heavy(jobs[i].step))
				heavy++;
		}
		for (k = 0; k < picked; k++) {
			if (jobs[out[k]].root == jobs[j].root)
				heavy++;
		}
		if (heavy >= max_root)
			continue;
		out[picked++] = j;
		running++;
	}
	return picked;
}
