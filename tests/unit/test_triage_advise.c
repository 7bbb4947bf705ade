/* test_triage_advise.c: one assembly of a device's advice for the console and the report. */
#include "testutil.h"

#include <stdbool.h>

#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "triage.h"

#define H_MAX 32
#define BAD "1-2.5"
#define GOOD "1-2.1"

static struct triage_attempt	all[H_MAX];
static size_t			nall;
static long			clk;

/* Newest first, like the store hands them over. */
static void
add(uint64_t ecid, const char *port, int state, int cls, int code)
{
	struct triage_attempt *t;

	assert_true(nall < H_MAX);
	memmove(&all[1], &all[0], nall * sizeof(all[0]));
	t = &all[0];
	memset(t, 0, sizeof(*t));
	t->ecid = ecid;
	snprintf(t->port, sizeof(t->port), "%s", port);
	t->action = ACT_UPDATE;
	t->state = state;
	t->cls = cls;
	t->code = code;
	t->step = STEP_UPLOAD_FS;
	t->percent = 20;
	t->started = 1000 + 100 * clk++;
	nall++;
}

/* Three phones failed on BAD and then worked on GOOD: BAD is a suspect port. */
static void
bad_port_history(void)
{
	uint64_t e;

	nall = 0;
	for (e = 1; e <= 3; e++)
		add(e, BAD, JOB_FAILED, EC_CONNECTION_LOST, 4013);
	for (e = 1; e <= 3; e++)
		add(e, GOOD, JOB_DONE, EC_NONE, ERR_NOCODE);
}

static size_t
mine_of(uint64_t ecid, struct triage_attempt *out)
{
	size_t i, n = 0;

	for (i = 0; i < nall; i++)
		if (all[i].ecid == ecid)
			out[n++] = all[i];
	return n;
}

static void
test_override_where_it_is(void **state)
{
	struct triage_attempt	mine[H_MAX];
	struct triage_port	here;
	struct triage_advice	adv;
	size_t			n;

	(void)state;
	bad_port_history();
	add(0x1a2b, GOOD, JOB_FAILED, EC_CONNECTION_LOST, 4013);
	n = mine_of(0x1a2b, mine);
	triage_port_assess(BAD, all, nall, &here);
	assert_true(here.suspect);
	/* the console: the phone now sits on the suspect port */
	assert_int_equal(triage_advise(mine, n, "iPhone12,1", all, nall, &here, &adv), 1);
	assert_string_equal(adv.rule, "suspect-port");
	assert_string_equal(adv.text, "port 1-2.5: 3 different devices failed here and worked "
	    "elsewhere; the port, cable or hub is suspect: move the phone to another port");
	assert_false(adv.stop_restoring);
	/* the report: judged where it was last (a good port): the ladder's first step */
	assert_int_equal(triage_advise(mine, n, "iPhone12,1", all, nall, NULL, &adv), 1);
	assert_string_equal(adv.rule, "first-connection-loss");
}

static void
test_override_where_it_was(void **state)
{
	struct triage_attempt	mine[H_MAX];
	struct triage_advice	adv;
	size_t			n;

	(void)state;
	bad_port_history();
	add(0x1a2b, BAD, JOB_FAILED, EC_CONNECTION_LOST, 4013);
	n = mine_of(0x1a2b, mine);
	assert_int_equal(triage_advise(mine, n, "iPhone12,1", all, nall, NULL, &adv), 1);
	assert_string_equal(adv.rule, "suspect-port");
	assert_non_null(strstr(adv.text, "port 1-2.5: "));
}

static void
test_hardware_wins(void **state)
{
	struct triage_attempt	mine[H_MAX];
	struct triage_port	here;
	struct triage_advice	adv;
	size_t			n;

	(void)state;
	bad_port_history();
	add(0x1a2b, BAD, JOB_FAILED, EC_DEVICE_REPORTED, 53);
	n = mine_of(0x1a2b, mine);
	triage_port_assess(BAD, all, nall, &here);
	assert_int_equal(triage_advise(mine, n, "iPhone12,1", all, nall, &here, &adv), 1);
	assert_string_equal(adv.rule, "hardware-code");
	assert_true(adv.hardware);
	assert_true(adv.stop_restoring);
}

static void
test_no_history(void **state)
{
	struct triage_port	here;
	struct triage_advice	adv;

	(void)state;
	bad_port_history();
	triage_port_assess(BAD, all, nall, &here);
	assert_int_equal(triage_advise(NULL, 0, "iPhone12,1", all, nall, &here, &adv), 1);
	assert_string_equal(adv.rule, "suspect-port");
	memset(&adv, 'x', sizeof(adv));
	assert_int_equal(triage_advise(NULL, 0, "iPhone12,1", all, nall, NULL, &adv), 0);
	assert_string_equal(adv.rule, "");
	assert_string_equal(adv.text, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_override_where_it_is),
		cmocka_unit_test(test_override_where_it_was),
		cmocka_unit_test(test_hardware_wins),
		cmocka_unit_test(test_no_history),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
