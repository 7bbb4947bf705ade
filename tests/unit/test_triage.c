/* test_triage.c: every triage rule from an attempt history, port health, findings. */
#include "testutil.h"

#include <stdbool.h>

#include "errclass.h"
#include "restore_parse.h"
#include "slot.h"
#include "triage.h"

#define H_MAX 16

/* A history under construction, oldest added first, handed to triage newest first. */
struct hist {
	struct triage_attempt	a[H_MAX];
	size_t			n;
	long			clock;
};

static void
add(struct hist *h, uint64_t ecid, const char *port, int action, int state, int cls, int code,
    int step, double percent)
{
	struct triage_attempt *t;

	assert_true(h->n < H_MAX);
	memmove(&h->a[1], &h->a[0], h->n * sizeof(h->a[0]));	/* newest first */
	t = &h->a[0];
	memset(t, 0, sizeof(*t));
	t->ecid = ecid;
	snprintf(t->port, sizeof(t->port), "%s", port);
	t->action = action;
	t->state = state;
	t->cls = cls;
	t->code = code;
	t->step = step;
	t->percent = percent;
	t->started = 1000 + 100 * h->clock++;
	h->n++;
}

static void
lost(struct hist *h, const char *port, int action, int code, int step, double pct)
{
	add(h, 0x1a2b, port, action, JOB_FAILED, EC_CONNECTION_LOST, code, step, pct);
}

static int
run(struct hist *h, const char *pt, const struct triage_port *p, struct triage_advice *adv)
{
	return triage_device(h->a, h->n, pt, p, adv);
}

static void
test_findings(void **state)
{
	const struct hw_finding *f;
	char buf[200];

	(void)state;
	f = triage_finding("iPhone9,1");
	assert_non_null(f);
	assert_non_null(strstr(f->repair, "CPU reballing"));
	assert_string_equal(f->price, "$300-400");
	assert_ptr_equal(triage_finding("iPhone9,4"), f);
	f = triage_finding("iPhone10,3");
	assert_non_null(f);
	assert_non_null(strstr(f->finding, "Face ID"));
	assert_string_equal(f->price, "$80-120");
	f = triage_finding("iPhone10,5");
	assert_non_null(f);
	assert_non_null(strstr(f->finding, "Tristar"));
	f = triage_finding("iPad7,11");
	assert_non_null(f);
	assert_non_null(strstr(f->repair, "Tristar + CPU"));
	assert_null(triage_finding("iPhone12,1"));
	assert_null(triage_finding("iPhone9,10"));	/* no prefix match */
	assert_null(triage_finding("iPhone9"));
	assert_null(triage_finding(""));
	assert_null(triage_finding(NULL));
	triage_hint("iPhone10,3", buf, sizeof(buf));
	assert_non_null(strstr(buf, "flex replacement ($80-120)"));
	triage_hint("iPhone14,5", buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_first_connection_loss(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 42);
	assert_int_equal(run(&h, "iPhone9,1", NULL, &adv), 1);
	assert_string_equal(adv.rule, "first-connection-loss");
	assert_non_null(strstr(adv.text, "4013-class"));
	assert_non_null(strstr(adv.text, "upload_fs 42%"));
	assert_non_null(strstr(adv.text, "cable"));
	assert_non_null(strstr(adv.text, "not a deep hub"));
	assert_non_null(strstr(adv.text, "Recovery + Update"));
	assert_null(strstr(adv.text, "Apple says"));
	assert_false(adv.hardware);
	assert_false(adv.stop_restoring);
}

static void
test_update_failed_then_erase(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 20);
	lost(&h, "1-2.3", ACT_UPDATE, 4005, STEP_PREPARE, 0);
	assert_int_equal(run(&h, "iPhone12,1", NULL, &adv), 1);
	assert_string_equal(adv.rule, "update-failed");
	assert_non_null(strstr(adv.text, "DFU erase-restore"));
	assert_non_null(strstr(adv.text, "ERASES everything"));
	assert_non_null(strstr(adv.text, "backed up"));
	assert_false(adv.hardware);
}

static void
test_erase_failed(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 20);
	add(&h, 0x1a2b, "1-2.3", ACT_ERASE, JOB_FAILED, EC_STALLED, ERR_NOCODE,
	    STEP_VERIFY_FS, 70);
	assert_int_equal(run(&h, "iPhone12,1", NULL, &adv), 1);
	assert_string_equal(adv.rule, "erase-failed");
	assert_non_null(strstr(adv.text, "stalled at verify_fs 70%"));
}

static void
test_same_failure_point(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 37);
	lost(&h, "1-2.3", ACT_ERASE, 4013, STEP_UPLOAD_FS, 41.5);
	assert_int_equal(run(&h, "iPhone10,3", NULL, &adv), 1);
	assert_string_equal(adv.rule, "same-failure-point");
	assert_true(adv.hardware);
	assert_non_null(strstr(adv.text, "Face ID flex"));
	assert_non_null(strstr(adv.text, "$80-120"));
}

static void
test_same_point_needs_close_percent(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 37);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 60);
	assert_int_equal(run(&h, "iPhone10,3", NULL, &adv), 1);
	assert_string_not_equal(adv.rule, "same-failure-point");
	assert_string_equal(adv.rule, "update-failed");

	/* same percentage, different step: not the same point either */
	memset(&h, 0, sizeof(h));
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 37);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_VERIFY_FS, 37);
	assert_int_equal(run(&h, "iPhone10,3", NULL, &adv), 1);
	assert_string_equal(adv.rule, "update-failed");
}

static void
test_three_failures(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	lost(&h, "1-2.3", ACT_UPDATE, 4014, STEP_PREPARE, 0);
	lost(&h, "1-2.3", ACT_ERASE, 4013, STEP_VERIFY_FS, 80);
	assert_int_equal(run(&h, "iPhone9,3", NULL, &adv), 1);
	assert_string_equal(adv.rule, "three-failures");
	assert_true(adv.hardware);
	assert_true(adv.stop_restoring);
	assert_non_null(strstr(adv.text, "3 failed attempts"));
	assert_non_null(strstr(adv.text, "CPU reballing"));
	assert_non_null(strstr(adv.text, "$300-400"));
}

static void
test_hardware_code(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;
	static const struct { int code; const char *part; } cases[] = {
		{ 6, "NAND" }, { 53, "Face ID" }, { 1015, "baseband" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		memset(&h, 0, sizeof(h));
		add(&h, 7, "1-2.3", ACT_UPDATE, JOB_FAILED, EC_DEVICE_REPORTED, cases[i].code,
		    STEP_VERIFY_FS, 80);
		assert_int_equal(run(&h, "iPhone12,1", NULL, &adv), 1);
		assert_string_equal(adv.rule, "hardware-code");
		assert_non_null(strstr(adv.text, cases[i].part));
		assert_true(adv.hardware);
		assert_true(adv.stop_restoring);
	}
	/* a hardware code is more specific than three strikes */
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 50);
	assert_int_equal(run(&h, "iPhone12,1", NULL, &adv), 1);
	assert_string_equal(adv.rule, "hardware-code");

	/* a device-reported code that is not a hardware one (14) is not this rule */
	memset(&h, 0, sizeof(h));
	add(&h, 7, "1-2.3", ACT_UPDATE, JOB_FAILED, EC_DEVICE_REPORTED, 14, STEP_VERIFY_FS, 80);
	assert_int_equal(run(&h, "iPhone12,1", NULL, &adv), 1);
	assert_string_equal(adv.rule, "update-failed");
}

static void
test_device_not_port(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	lost(&h, "1-3.1", ACT_UPDATE, 4013, STEP_VERIFY_FS, 70);
	assert_int_equal(run(&h, "iPhone12,1", NULL, &adv), 1);
	assert_string_equal(adv.rule, "device-not-port");
	assert_true(adv.hardware);
	assert_non_null(strstr(adv.text, "2 different ports"));
	assert_non_null(strstr(adv.text, "third port"));
}

static void
test_suspect_port(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;
	struct triage_port p = { .port = "1-2.3", .attempts = 5, .failures = 4,
	    .devices_failed = 3, .devices_failed_ok_elsewhere = 3, .suspect = true };

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	assert_int_equal(run(&h, "iPhone12,1", &p, &adv), 1);
	assert_string_equal(adv.rule, "suspect-port");
	assert_non_null(strstr(adv.text, "1-2.3"));
	assert_non_null(strstr(adv.text, "Move the phone"));
	assert_false(adv.hardware);

	/* the same port, not suspect: the ladder's first step */
	p.suspect = false;
	assert_int_equal(run(&h, "iPhone12,1", &p, &adv), 1);
	assert_string_equal(adv.rule, "first-connection-loss");
	/* a suspect record for another port does not apply */
	p.suspect = true;
	snprintf(p.port, sizeof(p.port), "1-3.1");
	assert_int_equal(run(&h, "iPhone12,1", &p, &adv), 1);
	assert_string_equal(adv.rule, "first-connection-loss");
}

static void
test_signing(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	add(&h, 7, "1-2.3", ACT_UPDATE, JOB_FAILED, EC_SIGNING, 3194, STEP_PREPARE, 0);
	assert_int_equal(run(&h, "iPhone10,4", NULL, &adv), 1);
	assert_string_equal(adv.rule, "signing");
	assert_non_null(strstr(adv.text, "3194-class"));
	assert_non_null(strstr(adv.text, "Not a device problem"));
	assert_non_null(strstr(adv.text, "signed for iPhone10,4"));
	assert_false(adv.hardware);
	/* signing failures do not count as strikes against the device */
	add(&h, 7, "1-2.3", ACT_UPDATE, JOB_FAILED, EC_SIGNING, 3194, STEP_PREPARE, 0);
	add(&h, 7, "1-2.3", ACT_UPDATE, JOB_FAILED, EC_SIGNING, 3194, STEP_PREPARE, 0);
	assert_int_equal(run(&h, "iPhone10,4", NULL, &adv), 1);
	assert_string_equal(adv.rule, "signing");
	assert_false(adv.stop_restoring);
}

static void
test_host_side(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;
	static const struct { int cls; const char *word; } cases[] = {
		{ EC_NO_DEVICE, "no device" }, { EC_USBMUXD, "usbmuxd" },
		{ EC_IPSW, "IPSW" }, { EC_UNSUPPORTED, "does not support iPhone10,4" },
		{ EC_CRASHED, "crashed" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&h, 0, sizeof(h));
		add(&h, 7, "1-2.3", ACT_UPDATE, JOB_FAILED, cases[i].cls, ERR_NOCODE,
		    STEP_NONE, 0);
		assert_int_equal(run(&h, "iPhone10,4", NULL, &adv), 1);
		assert_string_equal(adv.rule, "host-side");
		assert_non_null(strstr(adv.text, cases[i].word));
		assert_false(adv.hardware);
	}
}

static void
test_nothing_to_say(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	assert_int_equal(triage_device(NULL, 0, "iPhone9,1", NULL, &adv), 0);
	add(&h, 7, "1-2.3", ACT_UPDATE, JOB_CANCELLED, EC_CANCELLED, ERR_NOCODE, STEP_PREPARE, 0);
	assert_int_equal(run(&h, "iPhone9,1", NULL, &adv), 0);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	add(&h, 7, "1-2.3", ACT_UPDATE, JOB_DONE, EC_NONE, ERR_NOCODE, STEP_NONE, 100);
	assert_int_equal(run(&h, "iPhone9,1", NULL, &adv), 0);
	assert_string_equal(adv.rule, "");
}

static void
test_success_resets_and_interrupt_ignored(void **state)
{
	struct hist h = { 0 };
	struct triage_advice adv;

	(void)state;
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 50);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 80);
	add(&h, 0x1a2b, "1-2.3", ACT_ERASE, JOB_DONE, EC_NONE, ERR_NOCODE, STEP_NONE, 100);
	add(&h, 0x1a2b, "1-2.3", ACT_UPDATE, JOB_FAILED, TRIAGE_CLS_INTERRUPTED, ERR_NOCODE,
	    STEP_UPLOAD_FS, 11);
	lost(&h, "1-2.3", ACT_UPDATE, 4013, STEP_UPLOAD_FS, 10);
	assert_int_equal(run(&h, "iPhone9,1", NULL, &adv), 1);
	/* one strike since the success; the interrupted row is the bench's fault */
	assert_string_equal(adv.rule, "first-connection-loss");
}

/* Device d fails on port fp, then succeeds on sp. */
static void
fail_then_ok(struct hist *h, uint64_t d, const char *fp, const char *sp)
{
	add(h, d, fp, ACT_UPDATE, JOB_FAILED, EC_CONNECTION_LOST, 4013, STEP_UPLOAD_FS, 30);
	if (sp != NULL)
		add(h, d, sp, ACT_UPDATE, JOB_DONE, EC_NONE, ERR_NOCODE, STEP_NONE, 100);
}

static void
test_port_assess(void **state)
{
	struct hist h = { 0 };
	struct triage_port p;

	(void)state;
	fail_then_ok(&h, 1, "1-2.5", "1-2.1");
	fail_then_ok(&h, 2, "1-2.5", "1-3.1");
	triage_port_assess("1-2.5", h.a, h.n, &p);
	assert_string_equal(p.port, "1-2.5");
	assert_int_equal(p.attempts, 2);
	assert_int_equal(p.failures, 2);
	assert_int_equal(p.devices_failed, 2);
	assert_int_equal(p.devices_failed_ok_elsewhere, 2);
	assert_false(p.suspect);

	/* a third device: the port is the common factor */
	fail_then_ok(&h, 3, "1-2.5", "1-2.1");
	add(&h, 3, "1-2.5", ACT_UPDATE, JOB_FAILED, EC_CONNECTION_LOST, 4013, STEP_VERIFY_FS, 5);
	triage_port_assess("1-2.5", h.a, h.n, &p);
	assert_int_equal(p.failures, 4);
	assert_int_equal(p.devices_failed, 3);
	assert_int_equal(p.devices_failed_ok_elsewhere, 3);
	assert_true(p.suspect);

	/* the other ports are fine */
	triage_port_assess("1-2.1", h.a, h.n, &p);
	assert_int_equal(p.attempts, 2);
	assert_int_equal(p.failures, 0);
	assert_false(p.suspect);
}

static void
test_port_not_suspect_when_devices_bad(void **state)
{
	struct hist h = { 0 };
	struct triage_port p;

	(void)state;
	/* three devices fail here and nowhere succeed: bad phones, not a bad port */
	fail_then_ok(&h, 1, "1-2.5", NULL);
	fail_then_ok(&h, 2, "1-2.5", NULL);
	fail_then_ok(&h, 3, "1-2.5", NULL);
	/* a success elsewhere BEFORE the failure here does not clear the device */
	memmove(&h.a[1], &h.a[0], h.n * sizeof(h.a[0]));
	memset(&h.a[0], 0, sizeof(h.a[0]));
	h.a[0].ecid = 3;
	snprintf(h.a[0].port, sizeof(h.a[0].port), "1-2.1");
	h.a[0].state = JOB_DONE;
	h.a[0].started = 1;	/* long ago */
	h.n++;
	triage_port_assess("1-2.5", h.a, h.n, &p);
	assert_int_equal(p.devices_failed, 3);
	assert_int_equal(p.devices_failed_ok_elsewhere, 0);
	assert_false(p.suspect);

	/* host-side failures are not the port's fault */
	memset(&h, 0, sizeof(h));
	add(&h, 1, "1-2.5", ACT_UPDATE, JOB_FAILED, EC_SIGNING, 3194, STEP_PREPARE, 0);
	triage_port_assess("1-2.5", h.a, h.n, &p);
	assert_int_equal(p.attempts, 1);
	assert_int_equal(p.failures, 0);
}

static void
test_rule_names(void **state)
{
	const char *const *n = triage_rule_names();
	size_t i;

	(void)state;
	for (i = 0; n[i] != NULL; i++)
		assert_true(strlen(n[i]) < sizeof(((struct triage_advice *)0)->rule));
	assert_int_equal(i, 10);
	assert_string_equal(n[0], "hardware-code");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings),
		cmocka_unit_test(test_first_connection_loss),
		cmocka_unit_test(test_update_failed_then_erase),
		cmocka_unit_test(test_erase_failed),
		cmocka_unit_test(test_same_failure_point),
		cmocka_unit_test(test_same_point_needs_close_percent),
		cmocka_unit_test(test_three_failures),
		cmocka_unit_test(test_hardware_code),
		cmocka_unit_test(test_device_not_port),
		cmocka_unit_test(test_suspect_port),
		cmocka_unit_test(test_signing),
		cmocka_unit_test(test_host_side),
		cmocka_unit_test(test_nothing_to_say),
		cmocka_unit_test(test_success_resets_and_interrupt_ignored),
		cmocka_unit_test(test_port_assess),
		cmocka_unit_test(test_port_not_suspect_when_devices_bad),
		cmocka_unit_test(test_rule_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
