/* test_sched.c: admission limits, pipelining, order, no starvation. */
#include "testutil.h"
#include "sched.h"
#include "restore_parse.h"

#define Q(id_, root_, seq_)	{ .id = (id_), .state = SCHED_QUEUED, .root = (root_), .step = STEP_NONE, .seq = (seq_) }
#define R(id_, root_, step_)	{ .id = (id_), .state = SCHED_RUNNING, .root = (root_), .step = (step_), .seq = 0 }

static void
test_heavy_steps(void **state)
{
	(void)state;
	assert_true(sched_step_heavy(STEP_NONE));
	assert_true(sched_step_heavy(STEP_DETECT));
	assert_true(sched_step_heavy(STEP_PREPARE));
	assert_true(sched_step_heavy(STEP_UPLOAD_FS));
	assert_false(sched_step_heavy(STEP_VERIFY_FS));
	assert_false(sched_step_heavy(STEP_FLASH_FW));
	assert_false(sched_step_heavy(STEP_FLASH_BB));
	assert_false(sched_step_heavy(STEP_FUD));
}

static void
test_limits(void **state)
{
	struct sched_job	 jobs[] = {
		Q(1, 1, 10), Q(2, 1, 11), Q(3, 1, 12), Q(4, 2, 13), Q(5, 2, 14),
		Q(6, 3, 15),
	};
	struct sched_limits	 lim = { .max_jobs = 4, .max_per_root = 2 };
	size_t			 out[8], n;

	(void)state;
	n = sched_pick(jobs, 6, &lim, out, 8);
	assert_int_equal(n, 4);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	/* job 3 refused by its root, job 4 and 5 go in its place */
	assert_int_equal(out[2], 3);
	assert_int_equal(out[3], 4);

	/* outmax caps the answer */
	n = sched_pick(jobs, 6, &lim, out, 1);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0);

	/* the global limit counts running jobs whatever their step */
	struct sched_job	 busy[] = {
		R(1, 1, STEP_FUD), R(2, 2, STEP_FLASH_FW), R(3, 3, STEP_VERIFY_FS),
		Q(4, 4, 1),
	};
	lim.max_jobs = 3;
	assert_int_equal(sched_pick(busy, 4, &lim, out, 8), 0);
	lim.max_jobs = 4;
	assert_int_equal(sched_pick(busy, 4, &lim, out, 8), 1);
	assert_int_equal(out[0], 3);
}

static void
test_limits_nonpositive(void **state)
{
	struct sched_job	 jobs[] = { Q(1, 1, 1), Q(2, 2, 2), Q(3, 3, 3) };
	struct sched_limits	 lim = { .max_jobs = 0, .max_per_root = -3 };
	size_t			 out[4];

	(void)state;
	assert_int_equal(sched_pick(jobs, 3, &lim, out, 4), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(sched_pick(jobs, 3, NULL, out, 4), 1);
	lim.max_jobs = 10;
	/* max_per_root <= 0 means 1: one per root */
	struct sched_job	 same[] = { Q(1, 7, 1), Q(2, 7, 2) };
	assert_int_equal(sched_pick(same, 2, &lim, out, 4), 1);
	assert_int_equal(sched_pick(NULL, 0, &lim, out, 4), 0);
}

static void
test_pipelining(void **state)
{
	struct sched_job	 jobs[] = {
		R(1, 1, STEP_UPLOAD_FS), R(2, 1, STEP_PREPARE), Q(3, 1, 5),
	};
	struct sched_limits	 lim = { .max_jobs = 10, .max_per_root = 2 };
	size_t			 out[4];

	(void)state;
	assert_int_equal(sched_pick(jobs, 3, &lim, out, 4), 0);
	/* job 1 moves to on-device work: its root has room again */
	jobs[0].step = STEP_VERIFY_FS;
	assert_int_equal(sched_pick(jobs, 3, &lim, out, 4), 1);
	assert_int_equal(out[0], 2);
	/* a running job with no step yet is detecting: heavy */
	jobs[0].step = STEP_NONE;
	assert_int_equal(sched_pick(jobs, 3, &lim, out, 4), 0);
	/* other roots are unaffected */
	jobs[2].root = 2;
	assert_int_equal(sched_pick(jobs, 3, &lim, out, 4), 1);
}

static void
test_order(void **state)
{
	/* listed out of order: seq decides, index breaks ties */
	struct sched_job	 jobs[] = {
		Q(1, 1, 30), Q(2, 2, 10), Q(3, 3, 20), Q(4, 4, 10),
	};
	struct sched_limits	 lim = { .max_jobs = 10, .max_per_root = 2 };
	size_t			 out[4];

	(void)state;
	assert_int_equal(sched_pick(jobs, 4, &lim, out, 4), 4);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 2);
	assert_int_equal(out[3], 0);
	lim.max_jobs = 2;
	assert_int_equal(sched_pick(jobs, 4, &lim, out, 4), 2);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 3);
}

static void
test_no_starvation(void **state)
{
	/* root 1 is full; the earliest queued job is on root 1 */
	struct sched_job	 jobs[] = {
		R(1, 1, STEP_UPLOAD_FS), Q(2, 1, 1), Q(3, 2, 2), Q(4, 1, 3),
		Q(5, 2, 4),
	};
	struct sched_limits	 lim = { .max_jobs = 3, .max_per_root = 1 };
	size_t			 out[4], n;

	(void)state;
	/* no head-of-line blocking: root 2 starts although job 2 waits */
	n = sched_pick(jobs, 5, &lim, out, 4);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 2);
	jobs[2].state = SCHED_RUNNING;
	jobs[2].step = STEP_DETECT;

	/* root 1 frees: the earlier job 2 goes, never the later job 4 */
	jobs[0].step = STEP_FLASH_FW;
	n = sched_pick(jobs, 5, &lim, out, 4);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 1);
}

static void
test_removed_job(void **state)
{
	struct sched_job	 jobs[] = { Q(1, 1, 1), Q(2, 1, 2), Q(3, 1, 3) };
	struct sched_limits	 lim = { .max_jobs = 10, .max_per_root = 1 };
	size_t			 out[4];

	(void)state;
	assert_int_equal(sched_pick(jobs, 3, &lim, out, 4), 1);
	assert_int_equal(jobs[out[0]].id, 1);
	/* job 1 cancelled: the caller drops it from the list */
	assert_int_equal(sched_pick(jobs + 1, 2, &lim, out, 4), 1);
	assert_int_equal(jobs[1 + out[0]].id, 2);
}

/* Simulated bench: 24 jobs over 3 roots, each step takes a random number of ticks. */
static void
test_random_property(void **state)
{
	struct sched_job	 jobs[24];
	int			 left[24];
	struct sched_limits	 lim = { .max_jobs = 10, .max_per_root = 2 };
	size_t			 out[24], n, i, k;
	unsigned		 seed, round;
	int			 done, tick, running, heavy[3], max_seen, started_order;
	unsigned long		 last_start_seq[3];

	(void)state;
	for (round = 0; round < 50; round++) {
		seed = 1234u + round;
		srand(seed);
		for (i = 0; i < 24; i++) {
			jobs[i].id = (int)i;
			jobs[i].state = SCHED_QUEUED;
			jobs[i].root = rand() % 3;
			jobs[i].step = STEP_NONE;
			jobs[i].seq = (unsigned long)(rand() % 1000) * 24 + i;
			left[i] = 0;
		}
		memset(last_start_seq, 0, sizeof(last_start_seq));
		done = 0;
		max_seen = 0;
		started_order = 0;
		for (tick = 0; tick < 10000 && done < 24; tick++) {
			n = sched_pick(jobs, 24, &lim, out, 24);
			for (k = 0; k < n; k++) {
				i = out[k];
				assert_int_equal(jobs[i].state, SCHED_QUEUED);
				/* never overtakes an earlier job on the same root */
				assert_true(jobs[i].seq >= last_start_seq[jobs[i].root]);
				last_start_seq[jobs[i].root] = jobs[i].seq;
				jobs[i].state = SCHED_RUNNING;
				jobs[i].step = STEP_DETECT;
				left[i] = 1 + rand() % 4;
				started_order++;
			}
			running = 0;
			memset(heavy, 0, sizeof(heavy));
			for (i = 0; i < 24; i++) {
				if (jobs[i].state != SCHED_RUNNING)
					continue;
				running++;
				if (sched_step_heavy(jobs[i].step))
					heavy[jobs[i].root]++;
			}
			assert_true(running <= lim.max_jobs);
			for (k = 0; k < 3; k++)
				assert_true(heavy[k] <= lim.max_per_root);
			if (running > max_seen)
				max_seen = running;
			/* advance the clock: jobs move on through the steps */
			for (i = 0; i < 24; i++) {
				if (jobs[i].state != SCHED_RUNNING || --left[i] > 0)
					continue;
				if (jobs[i].step == STEP_FUD) {
					/* finished: no longer passed to the scheduler */
					jobs[i].state = -1;
					done++;
					continue;
				}
				jobs[i].step++;
				left[i] = 1 + rand() % 4;
			}
		}
		assert_int_equal(done, 24);
		assert_int_equal(started_order, 24);
		/* pipelining lets more than 2 per root run: the bench is used */
		assert_true(max_seen > 6);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heavy_steps),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_limits_nonpositive),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_no_starvation),
		cmocka_unit_test(test_removed_job),
		cmocka_unit_test(test_random_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
