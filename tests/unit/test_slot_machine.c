/* test_slot_machine.c: what an arrival on a port means (slot_parse_arrival, slot_merge_arrival, DFU, lost mode). */
#include "testutil.h"
#include "restore_parse.h"
#include "slot.h"

#define REC_SERIAL "SDOM:01 CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 ECID:001A2B3C4D5E6F70 IBFL:3D SRNM:[F4GT2K1ZHG7F]"
#define DFU_SERIAL "CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:06 ECID:0000111122223333 IBFL:3C SRTG:[iBoot-3332.0.0.1.23]"
#define OLD_UDID "771f6f0a4de8bb4273c5f325363437b0efd42ede"
#define NEW_UDID "00008140-000115480AA2801C"

static void
test_parse_modes(void **st)
{
	struct device_info nd;
	enum dev_mode m;

	(void)st;
	assert_int_equal(slot_parse_arrival(0x1281, REC_SERIAL, sizeof(REC_SERIAL), &nd, &m), 0);
	assert_int_equal(m, MODE_RECOVERY);
	assert_true(nd.ecid == 0x1A2B3C4D5E6F70ULL);
	assert_int_equal(nd.cpid, 0x8010);
	assert_int_equal(nd.bdid, 0x08);
	assert_string_equal(nd.srnm, "F4GT2K1ZHG7F");

	assert_int_equal(slot_parse_arrival(0x1227, DFU_SERIAL, sizeof(DFU_SERIAL), &nd, &m), 0);
	assert_int_equal(m, MODE_DFU);
	assert_true(nd.ecid == 0x111122223333ULL);

	assert_int_equal(slot_parse_arrival(0x12a8, NEW_UDID, sizeof(NEW_UDID), &nd, &m), 0);
	assert_int_equal(m, MODE_NORMAL);
	assert_true(nd.ecid == 0x115480AA2801CULL);
	assert_int_equal(nd.cpid, 0x8140);
	assert_string_equal(nd.udid, NEW_UDID);

	assert_int_equal(slot_parse_arrival(0x12a8, OLD_UDID, sizeof(OLD_UDID), &nd, &m), 0);
	assert_true(nd.ecid == 0);
	assert_string_equal(nd.udid, OLD_UDID);

	/* not a phone id (an Apple keyboard, say) */
	assert_int_equal(slot_parse_arrival(0x0250, "x", 1, &nd, &m), 1);
	assert_int_equal(m, MODE_NONE);
}

static void
test_parse_hostile(void **st)
{
	struct device_info nd;
	enum dev_mode m;
	const char evil[] = "CPID:8010 \x1b[2J\x1b]0;pwned\x07 ECID:42";
	char junk[255];

	(void)st;
	assert_int_equal(slot_parse_arrival(0x1281, evil, sizeof(evil) - 1, &nd, &m), -1);
	assert_null(strchr(nd.serial_raw, '\x1b'));
	assert_null(strchr(nd.serial_raw, '\x07'));
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 1);
	assert_int_equal(slot_parse_arrival(0x1227, junk, sizeof(junk), &nd, &m), -1);
	assert_true(strlen(nd.serial_raw) < sizeof(nd.serial_raw));
	for (const char *p = nd.serial_raw; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	/* a UDID full of escapes is kept only sanitized */
	assert_int_equal(slot_parse_arrival(0x12a8, evil, sizeof(evil) - 1, &nd, &m), 0);
	assert_null(strchr(nd.udid, '\x1b'));
	assert_true(nd.ecid == 0);
}

static void
prev_phone(struct slot *s)
{
	memset(s, 0, sizeof(*s));
	s->dev.ecid = 0x1A2B3C4D5E6F70ULL;
	s->dev.cpid = 0x8010;
	s->dev.bdid = 0x08;
	strcpy(s->dev.product_type, "iPhone9,1");
	strcpy(s->dev.version, "15.8");
	strcpy(s->dev.srnm, "F4GT2K1ZHG7F");
}

static void
test_merge_restore_mode(void **st)
{
	struct slot s;
	struct device_info nd;
	enum dev_mode m;

	(void)st;
	/* mid-restore, the phone comes back with a normal-mode id and an old UDID: restore mode, same phone */
	prev_phone(&s);
	s.gone_at = 1000;
	slot_parse_arrival(0x12a8, OLD_UDID, sizeof(OLD_UDID), &nd, &m);
	assert_true(slot_merge_arrival(&s, &nd, &m, true, 1001, 120));
	assert_int_equal(m, MODE_RESTORE);
	assert_true(nd.ecid == s.dev.ecid);
	assert_int_equal(nd.cpid, 0x8010);
	assert_int_equal(nd.bdid, 0x08);
	assert_string_equal(nd.product_type, "iPhone9,1");
	assert_string_equal(nd.version, "15.8");
}

static void
test_merge_reboot_after_kick(void **st)
{
	struct slot s;
	struct device_info nd;
	enum dev_mode m;

	(void)st;
	/* no job, but the phone left a moment ago (kick, reboot): same phone in normal mode */
	prev_phone(&s);
	s.gone_at = 1000;
	slot_parse_arrival(0x12a8, OLD_UDID, sizeof(OLD_UDID), &nd, &m);
	assert_true(slot_merge_arrival(&s, &nd, &m, false, 1010, 120));
	assert_int_equal(m, MODE_NORMAL);
	assert_true(nd.ecid == s.dev.ecid);

	/* long after: an unknown phone, not assumed to be the old one */
	slot_parse_arrival(0x12a8, OLD_UDID, sizeof(OLD_UDID), &nd, &m);
	assert_false(slot_merge_arrival(&s, &nd, &m, false, 5000, 120));
	assert_true(nd.ecid == 0);
}

static void
test_merge_other_phone(void **st)
{
	struct slot s;
	struct device_info nd;
	enum dev_mode m;

	(void)st;
	prev_phone(&s);
	s.gone_at = 1000;
	/* another phone in DFU with its own ECID: not merged even within the window */
	slot_parse_arrival(0x1227, DFU_SERIAL, sizeof(DFU_SERIAL), &nd, &m);
	assert_false(slot_merge_arrival(&s, &nd, &m, false, 1001, 120));
	assert_true(nd.ecid == 0x111122223333ULL);
	assert_string_equal(nd.product_type, "");
	assert_string_equal(nd.version, "");
	/* a new-style UDID names its own ECID even mid-restore */
	slot_parse_arrival(0x12a8, NEW_UDID, sizeof(NEW_UDID), &nd, &m);
	assert_false(slot_merge_arrival(&s, &nd, &m, true, 1001, 120));
	assert_int_equal(m, MODE_RESTORE);
	assert_true(nd.ecid == 0x115480AA2801CULL);
}

static void
test_merge_unreadable_mid_restore(void **st)
{
	struct slot s;
	struct device_info nd;
	enum dev_mode m;

	(void)st;
	/* the serial of a phone switching modes fast could not be read: mid-restore it is still that phone */
	prev_phone(&s);
	s.gone_at = 1000;
	assert_int_equal(slot_parse_arrival(0x1281, "", 0, &nd, &m), -1);
	assert_true(slot_merge_arrival(&s, &nd, &m, true, 1001, 120));
	assert_int_equal(m, MODE_RECOVERY);
	assert_true(nd.ecid == s.dev.ecid);
	assert_string_equal(nd.product_type, "iPhone9,1");
	/* with no job and long after, an unreadable phone stays unknown */
	assert_int_equal(slot_parse_arrival(0x1281, "", 0, &nd, &m), -1);
	assert_false(slot_merge_arrival(&s, &nd, &m, false, 9000, 120));
	assert_true(nd.ecid == 0);
}

static void
test_dfu_guide(void **st)
{
	struct slot s;

	(void)st;
	memset(&s, 0, sizeof(s));
	s.dfu = DFU_TO_RECOVERY;
	s.mode = MODE_RECOVERY;
	slot_dfu_arrival(&s, 42.0);
	assert_int_equal(s.dfu, DFU_STEPS);
	assert_true(s.dfu_step_started == 42.0);
	s.mode = MODE_RECOVERY;		/* recovery again (a re-enumeration): still counting */
	slot_dfu_arrival(&s, 50.0);
	assert_int_equal(s.dfu, DFU_STEPS);
	assert_true(s.dfu_step_started == 42.0);
	s.mode = MODE_DFU;
	slot_dfu_arrival(&s, 60.0);
	assert_int_equal(s.dfu, DFU_DONE);
	/* the Apple logo: normal mode came back while the buttons were held */
	s.dfu = DFU_STEPS;
	s.mode = MODE_NORMAL;
	slot_dfu_arrival(&s, 61.0);
	assert_int_equal(s.dfu, DFU_TOO_LONG);
	/* not guiding: arrivals change nothing */
	s.dfu = DFU_OFF;
	s.mode = MODE_DFU;
	slot_dfu_arrival(&s, 62.0);
	assert_int_equal(s.dfu, DFU_OFF);
}

static void
test_lost_mode(void **st)
{
	(void)st;
	assert_int_equal(slot_lost_mode(MODE_NORMAL, STEP_DETECT), 'n');
	assert_int_equal(slot_lost_mode(MODE_RECOVERY, STEP_PREPARE), 'r');
	assert_int_equal(slot_lost_mode(MODE_DFU, STEP_DETECT), 'd');
	assert_int_equal(slot_lost_mode(MODE_RESTORE, STEP_UPLOAD_FS), 'R');
	assert_int_equal(slot_lost_mode(MODE_RESTORE, STEP_DETECT), 'n');
	assert_int_equal(slot_lost_mode(MODE_NONE, STEP_DETECT), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_modes),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_merge_restore_mode),
		cmocka_unit_test(test_merge_reboot_after_kick),
		cmocka_unit_test(test_merge_other_phone),
		cmocka_unit_test(test_merge_unreadable_mid_restore),
		cmocka_unit_test(test_dfu_guide),
		cmocka_unit_test(test_lost_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
