/* test_policy.c: automatic restores of arriving phones and the flag menu's suggestions. */
#include "testutil.h"

#include <stdbool.h>

#include "errclass.h"
#include "policy.h"
#include "restore_parse.h"
#include "slot.h"
#include "text.h"
#include "triage.h"

static struct slot
phone(enum dev_mode mode, const char *pt)
{
	struct slot	s;

	memset(&s, 0, sizeof(s));
	text_copy(s.label, "A1", sizeof(s.label));
	s.present = true;
	s.mode = mode;
	s.dev.ecid = 0xa10001;
	text_copy(s.dev.product_type, pt, sizeof(s.dev.product_type));
	s.job.step = STEP_NONE;
	return s;
}

static void
test_auto(void **state)
{
	const struct policy_auto both = { true, true }, none = { false, false };
	const struct policy_auto dfu_only = { true, false };
	struct slot s;

	(void)state;
	s = phone(MODE_DFU, "iPhone10,1");
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_ERASE);
	assert_int_equal(policy_auto_action(&s, false, &none), POLICY_NONE);
	assert_int_equal(policy_auto_action(&s, true, &both), POLICY_NONE);
	s = phone(MODE_RECOVERY, "iPhone10,1");
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_UPDATE);
	assert_int_equal(policy_auto_action(&s, false, &dfu_only), POLICY_NONE);
	s = phone(MODE_NORMAL, "iPhone10,1");
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_NONE);

	/* left alone: ignored, flagged, unidentified, busy, being guided into DFU */
	s = phone(MODE_DFU, "iPhone10,1");
	s.ignored = true;
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_NONE);
	s = phone(MODE_DFU, "iPhone10,1");
	s.flagged = true;
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_NONE);
	s = phone(MODE_DFU, "iPhone10,1");
	s.dev.ecid = 0;
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_NONE);
	s = phone(MODE_DFU, "iPhone10,1");
	s.job.state = JOB_QUEUED;
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_NONE);
	s = phone(MODE_DFU, "iPhone10,1");
	s.dfu = DFU_DONE;
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_NONE);

	/* the history says stop: held, and only when a restore was due */
	s = phone(MODE_RECOVERY, "iPhone10,1");
	s.advice_stop = true;
	assert_int_equal(policy_auto_action(&s, false, &both), POLICY_HOLD);
	assert_int_equal(policy_auto_action(&s, false, &none), POLICY_NONE);
}

static struct triage_attempt
attempt(int state, int cls)
{
	struct triage_attempt t;

	memset(&t, 0, sizeof(t));
	t.ecid = 0xa10001;
	t.state = state;
	t.cls = cls;
	return t;
}

static void
test_flag_suggestions(void **state)
{
	struct triage_attempt	h[4];
	char			out[8][128];
	struct slot		s;
	size_t			n;

	(void)state;
	/* an iPhone 7 whose last restore failed at upload_fs, three failures in its history */
	s = phone(MODE_RECOVERY, "iPhone9,1");
	s.job.state = JOB_FAILED;
	s.job.result.cls = EC_CONNECTION_LOST;
	s.job.result.code = 4013;
	s.job.result.step = STEP_UPLOAD_FS;
	s.job.result.percent = 37;
	h[0] = attempt(JOB_FAILED, EC_CONNECTION_LOST);
	h[1] = attempt(JOB_DONE, EC_NONE);
	h[2] = attempt(JOB_FAILED, EC_CONNECTION_LOST);
	h[3] = attempt(JOB_FAILED, TRIAGE_CLS_INTERRUPTED);
	n = policy_flag_suggestions(&s, h, 4, out, 8);
	assert_int_equal(n, 5);
	assert_non_null(strstr(out[0], "CPU"));
	assert_non_null(strstr(out[1], "restore fails: "));
	assert_non_null(strstr(out[1], "upload_fs 37%"));
	assert_string_equal(out[2], "3 failed restores: needs board-level diagnosis");
	assert_string_equal(out[3], "USB port / Tristar (charging port, USB controller)");
	assert_string_equal(out[4], "NAND (disk failure)");

	/* signing failures are Apple's, not the phone's; a model without a finding */
	s = phone(MODE_RECOVERY, "iPhone12,1");
	h[0] = attempt(JOB_FAILED, EC_SIGNING);
	n = policy_flag_suggestions(&s, h, 4, out, 8);
	assert_int_equal(n, 2);
	assert_string_equal(out[0], "USB port / Tristar (charging port, USB controller)");

	/* at most max */
	s = phone(MODE_RECOVERY, "iPhone9,1");
	assert_int_equal(policy_flag_suggestions(&s, NULL, 0, out, 1), 1);
	assert_int_equal(policy_flag_suggestions(&s, NULL, 0, out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_flag_suggestions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
