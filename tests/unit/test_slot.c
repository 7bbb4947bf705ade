/* test_slot.c: the slot helpers (names, product ids, output tail, port order). */
#include "testutil.h"

#include "slot.h"

static void
test_names(void **state)
{
	static const char *const json[] = {
		"none", "normal", "recovery", "dfu", "restore", "portdfu", "wtf"
	};
	static const char *const tags[] = { "", "NRM", "REC", "DFU", "RST", "PDF", "WTF" };
	static const char *const states[] = {
		"", "queued", "running", "done", "failed", "cancelled"
	};
	int	i;

	(void)state;
	assert_int_equal(sizeof(json) / sizeof(json[0]), MODE__COUNT);
	for (i = 0; i < MODE__COUNT; i++) {
		assert_string_equal(slot_mode_name((enum dev_mode)i), json[i]);
		assert_string_equal(slot_mode_tag((enum dev_mode)i), tags[i]);
	}
	assert_string_equal(slot_mode_name(MODE_RECOVERY), "recovery");
	assert_string_equal(slot_mode_tag(MODE_PORTDFU), "PDF");
	assert_string_equal(slot_mode_name(MODE__COUNT), "none");
	assert_string_equal(slot_mode_tag((enum dev_mode)-1), "");

	assert_int_equal(sizeof(states) / sizeof(states[0]), JOB__COUNT);
	for (i = 0; i < JOB__COUNT; i++)
		assert_string_equal(slot_job_state_name((enum job_state)i), states[i]);
	assert_string_equal(slot_job_state_name(JOB__COUNT), "");

	assert_string_equal(slot_action_name(ACT_UPDATE), "update");
	assert_string_equal(slot_action_name(ACT_ERASE), "erase");
	assert_string_equal(slot_action_name((enum job_action)7), "");
}

static void
test_mode_from_pid(void **state)
{
	(void)state;
	assert_int_equal(slot_mode_from_pid(0x1280), MODE_RECOVERY);
	assert_int_equal(slot_mode_from_pid(0x1281), MODE_RECOVERY);
	assert_int_equal(slot_mode_from_pid(0x1283), MODE_RECOVERY);
	assert_int_equal(slot_mode_from_pid(0x1284), MODE_NONE);
	assert_int_equal(slot_mode_from_pid(0x127f), MODE_NONE);
	assert_int_equal(slot_mode_from_pid(0x1227), MODE_DFU);
	assert_int_equal(slot_mode_from_pid(0x1222), MODE_WTF);
	assert_int_equal(slot_mode_from_pid(0xf014), MODE_PORTDFU);
	/* normal and restore mode share these: the bench tells them apart */
	assert_int_equal(slot_mode_from_pid(0x1290), MODE_NORMAL);
	assert_int_equal(slot_mode_from_pid(0x12a8), MODE_NORMAL);
	assert_int_equal(slot_mode_from_pid(0x12ab), MODE_NORMAL);
	assert_int_equal(slot_mode_from_pid(0x12af), MODE_NORMAL);
	assert_int_equal(slot_mode_from_pid(0x12b0), MODE_NONE);
	assert_int_equal(slot_mode_from_pid(0x128f), MODE_NONE);
	assert_int_equal(slot_mode_from_pid(0x0000), MODE_NONE);
	assert_int_equal(slot_mode_from_pid(0xffff), MODE_NONE);
	assert_int_equal(slot_mode_from_pid(0x1281 ^ 0x8000), MODE_NONE);
}

/* The i-th newest line of the tail (0 = newest). */
static const char *
tail_line(const struct slot_job *job, unsigned i)
{
	return job->tail[(job->tail_next + SLOT_TAIL_LINES - 1 - i) % SLOT_TAIL_LINES];
}

static void
test_tail(void **state)
{
	struct slot_job	*job;
	char		 line[32], big[400];
	unsigned	 i;

	(void)state;
	job = calloc(1, sizeof(*job));
	assert_non_null(job);
	slot_tail_push(job, "progress: 2 0.010001\n", 21);
	assert_int_equal(job->tail_count, 1);
	assert_int_equal(job->tail_next, 1);
	assert_string_equal(tail_line(job, 0), "progress: 2 0.010001");

	/* the ring keeps the newest SLOT_TAIL_LINES, oldest overwritten first */
	for (i = 0; i < 2 * SLOT_TAIL_LINES + 3; i++) {
		snprintf(line, sizeof(line), "line %u\r\n", i);
		slot_tail_push(job, line, strlen(line));
	}
	assert_int_equal(job->tail_count, SLOT_TAIL_LINES);
	assert_true(job->tail_next < SLOT_TAIL_LINES);
	for (i = 0; i < SLOT_TAIL_LINES; i++) {
		snprintf(line, sizeof(line), "line %u", 2 * SLOT_TAIL_LINES + 2 - i);
		assert_string_equal(tail_line(job, i), line);
	}

	/* hostile output is defused; only len bytes count */
	slot_tail_push(job, "\x1b[2JERROR: \x1b]0;x\x07 lost\tdevice", 28);
	assert_string_equal(tail_line(job, 0), "?[2JERROR: ?]0;x? lost devic");
	slot_tail_push(job, "a\0b", 3);
	assert_string_equal(tail_line(job, 0), "a?b");

	/* long lines are cut to the width */
	memset(big, 'x', sizeof(big));
	slot_tail_push(job, big, sizeof(big));
	assert_int_equal(strlen(tail_line(job, 0)), SLOT_TAIL_WIDTH - 1);

	/* blank lines are not kept; a NULL job or line is harmless */
	slot_tail_push(job, "\r\n", 2);
	slot_tail_push(job, "", 0);
	slot_tail_push(job, NULL, 5);
	assert_int_equal(strlen(tail_line(job, 0)), SLOT_TAIL_WIDTH - 1);
	slot_tail_push(NULL, "x", 1);

	/* a corrupt index does not write outside the ring */
	job->tail_next = 1000;
	slot_tail_push(job, "safe", 4);
	assert_true(job->tail_next < SLOT_TAIL_LINES);
	assert_string_equal(tail_line(job, 0), "safe");
	free(job);
}

static int
cmp_ptr(const void *a, const void *b)
{
	return slot_port_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

static void
test_port_cmp(void **state)
{
	/* the display order */
	static const char *const sorted[] = {
		"1-1", "1-2", "1-2.1", "1-2.1.1", "1-2.1.10", "1-2.2", "1-2.9",
		"1-2.10", "1-10", "1-10.1", "2-1", "2-1.4", "10-1", "A1", "bogus", "usb1",
	};
	const char	*list[sizeof(sorted) / sizeof(sorted[0])];
	size_t		 n = sizeof(sorted) / sizeof(sorted[0]), i, j;
	unsigned	 seed = 3;

	(void)state;
	assert_true(slot_port_cmp("1-2.10", "1-2.9") > 0);
	assert_true(slot_port_cmp("1-2.9", "1-2.10") < 0);
	assert_true(slot_port_cmp("1-2", "1-2.1") < 0);
	assert_true(slot_port_cmp("2-1", "1-9.9.9") > 0);
	assert_true(slot_port_cmp("1-3", "1-2.7") > 0);
	assert_int_equal(slot_port_cmp("1-2.3", "1-2.3"), 0);
	/* equal numbers written differently: still ordered, never equal */
	assert_true(slot_port_cmp("1-02", "1-2") != 0);
	assert_int_equal(sign(slot_port_cmp("1-02", "1-2")), -sign(slot_port_cmp("1-2", "1-02")));
	/* not port paths: after all port paths, among themselves by strcmp */
	assert_true(slot_port_cmp("A1", "9-9") > 0);
	assert_true(slot_port_cmp("1-", "1-1") > 0);
	assert_true(slot_port_cmp("1-2..3", "1-2.3") > 0);
	assert_true(slot_port_cmp("1.2-3", "1-2") > 0);
	assert_true(slot_port_cmp("1", "1-1") > 0);
	assert_true(slot_port_cmp("1-99999999999", "1-1") > 0);
	assert_true(slot_port_cmp("1-1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16", "1-1") > 0);
	assert_true(slot_port_cmp("A1", "B1") < 0);
	assert_int_equal(slot_port_cmp("", ""), 0);
	assert_true(slot_port_cmp(NULL, "1-1") < 0);
	assert_true(slot_port_cmp("1-1", NULL) > 0);
	assert_int_equal(slot_port_cmp(NULL, NULL), 0);

	/* a total order: antisymmetric, consistent with the list */
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			int c = slot_port_cmp(sorted[i], sorted[j]);
			assert_int_equal(sign(c), i < j ? -1 : i > j);
		}
	}
	/* qsort of any shuffle gives the display order */
	for (int round = 0; round < 50; round++) {
		memcpy(list, sorted, sizeof(list));
		for (i = n - 1; i > 0; i--) {
			const char *t;
			j = (size_t)rand_r(&seed) % (i + 1);
			t = list[i];
			list[i] = list[j];
			list[j] = t;
		}
		qsort(list, n, sizeof(list[0]), cmp_ptr);
		for (i = 0; i < n; i++)
			assert_string_equal(list[i], sorted[i]);
	}
}

/* Which product ids take iBoot commands: the same table as the modes. */
static void
test_pid_iboot(void **state)
{
	(void)state;
	assert_true(slot_pid_speaks_iboot(0x1281));
	assert_true(slot_pid_speaks_iboot(0x1227));
	assert_true(slot_pid_speaks_iboot(0x1222));
	assert_false(slot_pid_speaks_iboot(0x12a8));
	assert_false(slot_pid_speaks_iboot(0xf014));
	assert_false(slot_pid_speaks_iboot(0x1284));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_iboot),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_mode_from_pid),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_port_cmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
