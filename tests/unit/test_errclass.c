/* test_errclass.c: deciding a restore's outcome from parser summary and exit. */
#include "testutil.h"

#include <signal.h>

#include "errclass.h"
#include "restore_parse.h"

static struct rp_summary
summary(int step, double percent)
{
	struct rp_summary	s;

	memset(&s, 0, sizeof s);
	s.step = step;
	s.max_step = step;
	s.percent = percent;
	return s;
}

static struct err_input
exited(const struct rp_summary *s, int status)
{
	struct err_input	in;

	memset(&in, 0, sizeof in);
	in.parse = s;
	in.exited = true;
	in.exit_status = status;
	return in;
}

static void
decide(const struct err_input *in, struct err_result *r)
{
	memset(r, 0x5a, sizeof *r);	/* the result must not depend on what was there */
	errclass_decide(in, r);
}

/* Summary from real output text, through the parser. */
static struct rp_summary
parsed(const char *text)
{
	struct restore_parse	*rp;
	struct rp_summary	 s;

	rp = rp_new(NULL, NULL);
	assert_non_null(rp);
	rp_feed(rp, text, strlen(text));
	rp_finish(rp);
	s = *rp_summary(rp);
	rp_free(rp);
	return s;
}

static void
test_names(void **state)
{
	int	i;

	(void)state;
	for (i = 0; i < EC__COUNT; i++)
		assert_int_equal(errclass_from_name(errclass_name(i)), i);
	assert_string_equal(errclass_name(EC_NONE), "none");
	assert_string_equal(errclass_name(EC_CONNECTION_LOST), "connection-lost");
	assert_string_equal(errclass_name(EC_DEVICE_REPORTED), "device-reported");
	assert_string_equal(errclass_name(EC_NO_DEVICE), "no-device");
	assert_string_equal(errclass_name(EC_UNKNOWN), "unknown");
	assert_int_equal(errclass_from_name("bogus"), EC_UNKNOWN);
	assert_int_equal(errclass_from_name(NULL), EC_UNKNOWN);
	assert_true(errclass_code_is_hardware(6));
	assert_true(errclass_code_is_hardware(53));
	assert_true(errclass_code_is_hardware(1015));
	assert_false(errclass_code_is_hardware(14));
	assert_false(errclass_code_is_hardware(4013));
	assert_true(errclass_code_is_comm(9));
	assert_true(errclass_code_is_comm(4005));
	assert_true(errclass_code_is_comm(4013));
	assert_true(errclass_code_is_comm(4014));
	assert_false(errclass_code_is_comm(3194));
	assert_false(errclass_code_is_comm(53));
}

static void
test_precedence(void **state)
{
	struct rp_summary	s = summary(STEP_UPLOAD_FS, 42);
	struct err_input	in;
	struct err_result	r;

	(void)state;
	s.have_status = true;
	s.status = 53;
	s.tss_failed = true;
	s.flags = RPF_NO_DEVICE | RPF_LOST_RESTORE;

	in = exited(&s, 0);
	in.cancelled = in.stalled = in.device_lost = in.ipsw_missing = true;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CANCELLED);
	assert_false(r.ok);
	assert_int_equal(r.code, ERR_NOCODE);

	in.cancelled = false;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_IPSW);

	in.ipsw_missing = false;
	in.spawn_failed = true;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CRASHED);
	assert_non_null(strstr(r.message, "could not be started"));

	in.spawn_failed = false;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_STALLED);
	assert_string_equal(r.message,
	    "stalled: no output or progress for too long during upload_fs at 42%");

	in.stalled = false;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	assert_int_equal(r.code, 4013);

	/* exit 0 wins over everything the text says */
	in.device_lost = false;
	decide(&in, &r);
	assert_true(r.ok);
	assert_int_equal(r.cls, EC_NONE);

	in = exited(&s, 1);
	decide(&in, &r);
	assert_int_equal(r.cls, EC_DEVICE_REPORTED);
	assert_int_equal(r.code, 53);

	s.have_status = false;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_SIGNING);
	assert_int_equal(r.code, 3194);

	s.tss_failed = false;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_NO_DEVICE);

	s.flags = RPF_LOST_RESTORE;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	assert_int_equal(r.code, 4013);

	/* text beats a signal */
	in.exited = false;
	in.signal = SIGSEGV;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	s.flags = 0;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CRASHED);
}

static void
test_device_lost_codes(void **state)
{
	static const struct {
		int	step;
		double	percent;
		int	mode;
		int	code;
	} cases[] = {
		{ STEP_PREPARE, 25, 'n', 9 },
		{ STEP_PREPARE, 30, 'd', 4005 },
		{ STEP_PREPARE, 50, 'r', 4005 },
		{ STEP_PREPARE, 90, 'r', 4014 },
		{ STEP_DETECT, 20, 'r', 4014 },
		{ STEP_PREPARE, 100, 'R', 4013 },
		{ STEP_UPLOAD_FS, 42, 'R', 4013 },
		{ STEP_UPLOAD_FS, 42, 0, 4013 },
		{ STEP_FLASH_BB, 10, 'r', 4013 },
		{ STEP_PREPARE, 50, 0, 4005 },
		{ STEP_NONE, 0, 0, 4014 },
	};
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = summary(cases[i].step, cases[i].percent);
		in = exited(&s, 0);
		in.exited = false;
		in.signal = SIGKILL;
		in.device_lost = true;
		in.lost_mode = cases[i].mode;
		decide(&in, &r);
		assert_int_equal(r.cls, EC_CONNECTION_LOST);
		if (r.code != cases[i].code)
			fail_msg("case %zu: code %d, want %d", i, r.code, cases[i].code);
		assert_true(errclass_code_is_comm(r.code));
		assert_int_equal(r.step, cases[i].step);
	}

	s = summary(STEP_UPLOAD_FS, 42);
	in = exited(&s, 245);
	in.device_lost = true;
	decide(&in, &r);
	assert_string_equal(r.message,
	    "4013-class: lost the device during upload_fs at 42%");

	/* the furthest step counts: it got to the restore proper before */
	s = summary(STEP_PREPARE, 10);
	s.max_step = STEP_VERIFY_FS;
	in = exited(&s, 1);
	in.device_lost = true;
	in.lost_mode = 'r';
	decide(&in, &r);
	assert_int_equal(r.code, 4013);

	/* with no mode known, idevicerestore's words place it */
	s = summary(STEP_DETECT, 20);
	s.flags = RPF_LOST_NORMAL;
	in = exited(&s, 1);
	in.device_lost = true;
	decide(&in, &r);
	assert_int_equal(r.code, 9);
}

static void
test_success(void **state)
{
	struct rp_summary	s = summary(STEP_FUD, 100);
	struct err_input	in;
	struct err_result	r;

	(void)state;
	s.finished = true;
	in = exited(&s, 0);
	decide(&in, &r);
	assert_true(r.ok);
	assert_int_equal(r.code, ERR_NOCODE);

	/* text only: finished and nothing wrong */
	memset(&in, 0, sizeof in);
	in.parse = &s;
	decide(&in, &r);
	assert_true(r.ok);

	/* text only: finished but a failure text as well is not a success */
	s.flags = RPF_LOST_RESTORE;
	decide(&in, &r);
	assert_false(r.ok);

	/* finished text but a non-zero exit is not a success */
	s.flags = 0;
	in = exited(&s, 1);
	decide(&in, &r);
	assert_false(r.ok);
	assert_int_equal(r.cls, EC_UNKNOWN);

	/* no parse at all */
	memset(&in, 0, sizeof in);
	in.exited = true;
	decide(&in, &r);
	assert_true(r.ok);
	assert_int_equal(r.step, STEP_NONE);
	in.exit_status = 255;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_UNKNOWN);
	assert_false(r.ok);
}

static void
test_device_status(void **state)
{
	static const int	codes[] = { 6, 14, 27, 50, 51, 53, 1015, 1002 };
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;
	size_t			i;
	char			buf[32];

	(void)state;
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		s = summary(STEP_VERIFY_FS, 67);
		s.have_status = true;
		s.status = codes[i];
		in = exited(&s, 1);
		decide(&in, &r);
		assert_int_equal(r.cls, EC_DEVICE_REPORTED);
		assert_int_equal(r.code, codes[i]);
		snprintf(buf, sizeof buf, "status %d", codes[i]);
		assert_non_null(strstr(r.message, buf));
		if (errclass_code_is_hardware(codes[i]))
			assert_non_null(strstr(r.message, "hardware"));
		else
			assert_null(strstr(r.message, "hardware"));
	}
	/* Verification Error is -1: no number to show */
	s.status = -1;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_DEVICE_REPORTED);
	assert_int_equal(r.code, ERR_NOCODE);
	assert_non_null(strstr(r.message, "verification error"));
	errclass_short(&r, buf, sizeof buf);
	assert_string_equal(buf, "verify err");
}

static void
test_signing(void **state)
{
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;

	(void)state;
	s = parsed("progress: 1 0.200000\n"
	    "ERROR: TSS request failed (status=94, message=This device isn't "
	    "eligible for the requested build.)\n"
	    "ERROR: Unable to get SHSH blobs for this device\n");
	in = exited(&s, 255);
	decide(&in, &r);
	assert_int_equal(r.cls, EC_SIGNING);
	assert_int_equal(r.code, 3194);
	assert_non_null(strstr(r.message, "3194-class"));
	assert_non_null(strstr(r.message, "94"));
	assert_non_null(strstr(r.decisive, "status=94"));

	s = parsed("progress: 1 0.200000\nCould not resolve host: gs.apple.com\n"
	    "ERROR: TSS request failed: Could not resolve host: gs.apple.com "
	    "(status=-1)\nERROR: Unable to get SHSH blobs for this device\n");
	in = exited(&s, 255);
	decide(&in, &r);
	assert_int_equal(r.cls, EC_SIGNING);
	assert_non_null(strstr(r.message, "could not reach"));
}

static void
test_text_flags(void **state)
{
	static const struct {
		const char	*text;
		enum err_class	 cls;
		int		 code;
	} cases[] = {
		{ "ERROR: Unable to discover device mode. Please make sure a device is attached.\n", EC_NO_DEVICE, ERR_NOCODE },
		{ "Device failed to enter restore mode.\nMake sure that usbmuxd is running.\n", EC_USBMUXD, ERR_NOCODE },
		{ "ERROR: Firmware file /srv/x.ipsw does not exist.\n", EC_IPSW, ERR_NOCODE },
		{ "ERROR: Unable to discover device type\n", EC_UNSUPPORTED, ERR_NOCODE },
		{ "ERROR: Unable to place device into recovery mode from normal mode\n", EC_CONNECTION_LOST, 9 },
		{ "ERROR: Unable to send iBEC component: Unable to upload data to device\n", EC_CONNECTION_LOST, 4005 },
		{ "ERROR: Device failed to enter restore mode.\n", EC_CONNECTION_LOST, 4014 },
		{ "Device reconnected in Recovery mode, most likely image personalization failed.\n", EC_CONNECTION_LOST, 4014 },
		{ "ERROR: Unable to send data to ASR. Sent 0 of 10 bytes.\nERROR: Unable to restore device\n", EC_CONNECTION_LOST, 4013 },
	};
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = parsed(cases[i].text);
		in = exited(&s, 1);
		decide(&in, &r);
		if (r.cls != cases[i].cls || r.code != cases[i].code)
			fail_msg("case %zu: %s %d", i, errclass_name(r.cls), r.code);
		/* the same from the text alone */
		memset(&in, 0, sizeof in);
		in.parse = &s;
		decide(&in, &r);
		assert_int_equal(r.cls, cases[i].cls);
		assert_int_equal(r.code, cases[i].code);
	}
}

static void
test_signals(void **state)
{
	struct rp_summary	s = summary(STEP_DETECT, 0);
	struct err_input	in;
	struct err_result	r;

	(void)state;
	memset(&in, 0, sizeof in);
	in.parse = &s;
	in.signal = SIGSEGV;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CRASHED);
	assert_non_null(strstr(r.message, "irecv_open_with_ecid"));
	assert_non_null(strstr(r.message, "ce1d31f"));

	s = summary(STEP_UPLOAD_FS, 12);
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CRASHED);
	assert_null(strstr(r.message, "irecv_open_with_ecid"));
	assert_non_null(strstr(r.message, "SIGSEGV"));
	assert_non_null(strstr(r.message, "upload_fs"));

	in.signal = SIGABRT;
	decide(&in, &r);
	assert_non_null(strstr(r.message, "SIGABRT"));
}

static void
test_exit_codes(void **state)
{
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;

	(void)state;
	s = summary(STEP_PREPARE, 30);
	s.dialect = DIALECT_1_0_0;
	in = exited(&s, 251);
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	assert_int_equal(r.code, 9);

	in.exit_status = 254;
	decide(&in, &r);
	assert_int_equal(r.code, 4005);
	s.percent = 90;
	decide(&in, &r);
	assert_int_equal(r.code, 4014);

	s = summary(STEP_UPLOAD_FS, 42);
	in = exited(&s, 245);
	decide(&in, &r);
	assert_int_equal(r.code, 4013);

	/* -AMRError: 256 - (code & 0xff) */
	in.exit_status = 256 - 53;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_DEVICE_REPORTED);
	assert_int_equal(r.code, 53);

	/* 255 is generic; master's 1 says nothing either */
	in.exit_status = 255;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_UNKNOWN);
	s.dialect = DIALECT_MASTER;
	in.exit_status = 245;
	decide(&in, &r);
	assert_int_equal(r.cls, EC_UNKNOWN);
	assert_false(r.ok);
}

static void
test_short_labels(void **state)
{
	static const struct {
		enum err_class	 cls;
		int		 code;
		const char	*want;
	} cases[] = {
		{ EC_CONNECTION_LOST, 4013, "4013 lost" },
		{ EC_CONNECTION_LOST, 4005, "4005 lost" },
		{ EC_SIGNING, 3194, "3194 sign" },
		{ EC_DEVICE_REPORTED, 53, "53 FDR" },
		{ EC_NO_DEVICE, ERR_NOCODE, "no device" },
		{ EC_STALLED, ERR_NOCODE, "stalled" },
		{ EC_CRASHED, ERR_NOCODE, "crashed" },
		{ EC_CANCELLED, ERR_NOCODE, "cancelled" },
		{ EC_USBMUXD, ERR_NOCODE, "usbmuxd" },
		{ EC_IPSW, ERR_NOCODE, "ipsw" },
		{ EC_UNSUPPORTED, ERR_NOCODE, "unsupported" },
	};
	struct err_result	r;
	char			buf[32];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&r, 0, sizeof r);
		r.cls = cases[i].cls;
		r.code = cases[i].code;
		errclass_short(&r, buf, sizeof buf);
		assert_string_equal(buf, cases[i].want);
	}
	/* a tiny buffer is cut, not overrun */
	r.cls = EC_UNSUPPORTED;
	errclass_short(&r, buf, 4);
	assert_string_equal(buf, "uns");
}

static void
test_message_sanitized(void **state)
{
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;
	const char		*p;

	(void)state;
	s = parsed("ERROR: \x1b[2JSomething odd\x07 happened\x9b\n");
	in = exited(&s, 255);
	decide(&in, &r);
	assert_int_equal(r.cls, EC_UNKNOWN);
	assert_non_null(strstr(r.message, "Something odd"));
	for (p = r.message; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	for (p = r.decisive; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* Text alone: the earliest cause decides, the usbmuxd hint is weighed. */
static void
test_cause_decides(void **state)
{
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;

	(void)state;
	memset(&in, 0, sizeof in);
	in.parse = &s;

	s = parsed("Sending AppleLogo (12116 bytes)...\n"
	    "ERROR: Unable to send AppleLogo component: Unable to find device\n"
	    "ERROR: Unable to place device into restore mode\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	assert_int_equal(r.code, 4005);
	assert_int_equal(r.step, STEP_PREPARE);

	s = parsed("Extracting iBEC.n94ap.RELEASE.dfu...\n"
	    "ERROR: zip_name_locate: Firmware/dfu/iBEC.n94ap.RELEASE.dfu\n"
	    "ERROR: Unable to send iBEC\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_IPSW);
	assert_int_equal(r.code, ERR_NOCODE);

	/* came back in recovery: 4014, whatever the hint says */
	s = parsed("Waiting for device to enter restore mode...\n"
	    "irecv_event_cb: device 1 (udid: N/A) connected in Recovery mode\n"
	    "ERROR: Device failed to enter restore mode.\n"
	    "Please make sure that usbmuxd is running.\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	assert_int_equal(r.code, 4014);
	assert_true(r.percent > 89.9 && r.percent < 90.1);

	/* nothing says otherwise: the hint stands */
	s = parsed("Waiting for device to enter restore mode...\n"
	    "ERROR: Device failed to enter restore mode.\n"
	    "Please make sure that usbmuxd is running.\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_USBMUXD);

	/* usbmuxd could not be reached at all: a cause of its own */
	s = parsed("usbmuxd_get_device_list: error opening socket!\n"
	    "ERROR: Unable to discover device mode. Please make sure a device is attached\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_USBMUXD);

	/* the shell said it crashed */
	s = parsed("Found device in Restore mode\nSegmentation fault (core dumped)\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CRASHED);

	/* the device refused its baseband */
	s = parsed("Updating baseband (19)\nERROR: device didn't accept BasebandData\n"
	    "ERROR: Unable to successfully restore device\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_DEVICE_REPORTED);
	assert_int_equal(r.code, 1015);
	assert_int_equal(r.step, STEP_FLASH_BB);

	/* TSS never reached, the paste ends in the retries */
	s = parsed("Request URL set to https://gs.apple.com/TSS/controller?action=2\n"
	    "Could not resolve host: gs.apple.com\n"
	    "Sending TSS request attempt 1... Request URL set to https://17.171.36.30/TSS/controller?action=2\n"
	    "Could not resolve host: gs.apple.com\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_SIGNING);
	assert_int_equal(r.code, 3194);
}

/* Follow-on lines alone, or a log that stops: honest about not knowing. */
static void
test_unknown_stays_honest(void **state)
{
	struct rp_summary	s;
	struct err_input	in;
	struct err_result	r;

	(void)state;
	memset(&in, 0, sizeof in);
	in.parse = &s;

	s = parsed("ERROR: Unable to successfully restore device\n"
	    "FDR 0xd441260 timeout waiting for command\n"
	    "ERROR: Unable to restore device\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_UNKNOWN);
	assert_false(r.ok);

	/* the same words once the restore proper was under way: lost there */
	s = parsed("Sending filesystem now...\nERROR: Unable to restore device\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_CONNECTION_LOST);
	assert_int_equal(r.code, 4013);

	/* a log that simply stops: did not finish, with the last step */
	s = parsed("Found device in Normal mode\nGetting ApNonce in normal mode... 9a c0\n"
	    "Trying to fetch new SHSH blob\n");
	decide(&in, &r);
	assert_int_equal(r.cls, EC_UNKNOWN);
	assert_false(r.ok);
	assert_int_equal(r.step, STEP_PREPARE);
	assert_non_null(strstr(r.message, "did not finish"));
	assert_non_null(strstr(r.message, "prepare"));

	/* a wrapper's "Restoring done!" is not success */
	s = parsed("Sending iBEC (282844 bytes)...\n[Log] Restoring done!\n");
	decide(&in, &r);
	assert_false(r.ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cause_decides),
		cmocka_unit_test(test_unknown_stays_honest),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_device_lost_codes),
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_device_status),
		cmocka_unit_test(test_signing),
		cmocka_unit_test(test_text_flags),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_short_labels),
		cmocka_unit_test(test_message_sanitized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
