/* test_fwchoose.c: the firmware choice rules (DESIGN.md "Firmware library"). */
#include "testutil.h"
#include "fwchoose.h"
#include "text.h"

static struct fw_build
B(const char *ver, const char *build, const char *path, const char *types, uint32_t cpid, uint32_t bdid)
{
	struct fw_build	 b;

	memset(&b, 0, sizeof(b));
	text_copy(b.version, ver, sizeof(b.version));
	text_copy(b.build, build, sizeof(b.build));
	text_copy(b.path, path, sizeof(b.path));
	text_copy(b.product_types, types, sizeof(b.product_types));
	b.ids[0].cpid = cpid;
	b.ids[0].bdid = bdid;
	b.nids = 1;
	b.usable = true;
	return (b);
}

static struct fw_phone
P(uint32_t cpid, uint32_t bdid, const char *pt, const char *model)
{
	struct fw_phone	 p;

	memset(&p, 0, sizeof(p));
	p.cpid = cpid;
	p.bdid = bdid;
	text_copy(p.product_type, pt, sizeof(p.product_type));
	text_copy(p.model, model, sizeof(p.model));
	return (p);
}

static void
test_version_cmp(void **state)
{
	(void)state;
	assert_true(fw_version_cmp("16.7.10", "16.7.9") > 0);
	assert_true(fw_version_cmp("16.7.9", "16.7.10") < 0);
	assert_int_equal(fw_version_cmp("16.7.10", "16.7.10"), 0);
	assert_true(fw_version_cmp("17", "16.7.10") > 0);
	assert_true(fw_version_cmp("17", "17.0.1") < 0);
	assert_true(fw_version_cmp("9.3.5", "10.0") < 0);
	assert_true(fw_version_cmp("15.8.3", "15.8") > 0);
	assert_int_equal(fw_version_cmp("", ""), 0);
	assert_true(fw_version_cmp("1", "") > 0);
	/* absurd input neither overflows nor crashes */
	assert_true(fw_version_cmp("99999999999999999999.1", "1") > 0);
}

static void
test_build_cmp(void **state)
{
	(void)state;
	assert_true(fw_build_cmp("20H350", "20H343") > 0);
	assert_true(fw_build_cmp("20H343", "20G75") > 0);
	assert_true(fw_build_cmp("19H386", "20A362") < 0);
	assert_true(fw_build_cmp("20H9", "20H10") < 0);
	assert_int_equal(fw_build_cmp("19H370", "19H370"), 0);
	assert_true(fw_build_cmp("21A5326a", "21A5326") > 0);
}

static void
test_chip_and_board_decide(void **state)
{
	struct fw_build	 bs[3];
	struct fw_phone	 ph;
	char		 why[160];

	(void)state;
	bs[0] = B("16.7.10", "20H350", "/l/x.ipsw", "iPhone10,3 iPhone10,6", 0x8015, 0x06);
	bs[1] = B("15.8.3", "19H386", "/l/7.ipsw", "iPhone9,1 iPhone9,3", 0x8010, 0x08);
	bs[2] = B("16.7.10", "20H350", "/l/8.ipsw", "iPhone10,1 iPhone10,4", 0x8015, 0x02);
	bs[0].ids[1].cpid = 0x8015;
	bs[0].ids[1].bdid = 0x0e;
	bs[0].nids = 2;

	ph = P(0x8015, 0x0e, "", "iPhone10,6");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), 0);
	ph = P(0x8010, 0x08, "", "");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), 1);
	ph = P(0x8015, 0x02, "", "iPhone10,1");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), 2);

	/* the name never substitutes for the chip: iPhone10,6's board is 0x0a here */
	ph = P(0x8015, 0x0a, "", "iPhone10,6");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), -1);
	assert_string_equal(why, "no firmware for iPhone10,6 (CPID 0x8015 BDID 0x0a)");
	ph = P(0x8030, 0x0a, "", "");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), -1);
	assert_string_equal(why, "no firmware for CPID 0x8030 BDID 0x0a");

	/* in normal mode the product type must also be supported */
	ph = P(0x8010, 0x08, "iPhone9,3", "iPhone9,3");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), 1);
	ph = P(0x8010, 0x08, "iPhone9", "iPhone9");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), -1);
	/* normal mode without chip and board (lockdownd told only the product type) */
	ph = P(0, 0, "iPhone10,4", "iPhone10,4");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), 2);
	ph = P(0, 0, "", "");
	assert_int_equal(fw_choose(bs, 3, &ph, NULL, 0, why, sizeof(why)), -1);
}

static void
test_newest_and_signed(void **state)
{
	struct fw_build	 bs[4];
	struct fw_phone	 ph = P(0x8010, 0x08, "", "iPhone9,1");
	char		 why[160];

	(void)state;
	bs[0] = B("15.8.2", "19H384", "/l/a.ipsw", "iPhone9,1", 0x8010, 0x08);
	bs[1] = B("15.8.3", "19H386", "/l/b.ipsw", "iPhone9,1", 0x8010, 0x08);
	bs[2] = B("15.8.10", "19H999", "/l/c.ipsw", "iPhone9,1", 0x8010, 0x08);
	bs[3] = B("15.8", "19H370", "/l/d.ipsw", "iPhone9,1", 0x8010, 0x08);
	assert_int_equal(fw_choose(bs, 4, &ph, NULL, 0, why, sizeof(why)), 2);

	/* unsigned builds are skipped, unknown ones are not */
	bs[2].signed_state = FW_SIGNED_NO;
	bs[1].signed_state = FW_SIGNED_UNKNOWN;
	assert_int_equal(fw_choose(bs, 4, &ph, NULL, 0, why, sizeof(why)), 1);
	/* a broken file is never chosen */
	bs[1].usable = false;
	assert_int_equal(fw_choose(bs, 4, &ph, NULL, 0, why, sizeof(why)), 0);

	for (int i = 0; i < 4; i++)
		bs[i].signed_state = FW_SIGNED_NO;
	assert_int_equal(fw_choose(bs, 4, &ph, NULL, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no signed firmware for iPhone9,1"));

	/* same version: the later build wins */
	bs[0] = B("16.7.10", "20H343", "/l/a.ipsw", "iPhone9,1", 0x8010, 0x08);
	bs[1] = B("16.7.10", "20H350", "/l/b.ipsw", "iPhone9,1", 0x8010, 0x08);
	assert_int_equal(fw_choose(bs, 2, &ph, NULL, 0, why, sizeof(why)), 1);
}

static void
test_pins(void **state)
{
	struct fw_build	 bs[4];
	struct fw_phone	 ph = P(0x8015, 0x0e, "", "iPhone10,6");
	struct fw_pin	 pins[2];
	char		 why[200];

	(void)state;
	memset(pins, 0, sizeof(pins));
	bs[0] = B("16.7.9", "20H343", "/l/a.ipsw", "iPhone10,6", 0x8015, 0x0e);
	bs[1] = B("16.7.10", "20H350", "/l/b.ipsw", "iPhone10,6", 0x8015, 0x0e);
	bs[2] = B("15.8.3", "19H386", "/l/c.ipsw", "iPhone10,6", 0x8015, 0x0e);
	bs[3] = B("16.0", "20A362", "/l/d.ipsw", "iPhone9,1", 0x8010, 0x08);

	text_copy(pins[0].model, "iPhone9,1", sizeof(pins[0].model));
	text_copy(pins[0].value, "15.8.3", sizeof(pins[0].value));
	text_copy(pins[1].model, "iPhone10,6", sizeof(pins[1].model));

	text_copy(pins[1].value, "16.7.9", sizeof(pins[1].value));
	assert_int_equal(fw_choose(bs, 4, &ph, pins, 2, why, sizeof(why)), 0);
	text_copy(pins[1].value, "19H386", sizeof(pins[1].value));
	assert_int_equal(fw_choose(bs, 4, &ph, pins, 2, why, sizeof(why)), 2);
	text_copy(pins[1].value, "/l/b.ipsw", sizeof(pins[1].value));
	assert_true(fw_pin_is_path(pins[1].value));
	assert_int_equal(fw_choose(bs, 4, &ph, pins, 2, why, sizeof(why)), 1);
	/* a pin the library cannot honour is said, not replaced by another build */
	text_copy(pins[1].value, "17.0", sizeof(pins[1].value));
	assert_int_equal(fw_choose(bs, 4, &ph, pins, 2, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "pinned to 17.0"));
	/* a pin for another model changes nothing */
	assert_int_equal(fw_choose(bs, 4, &ph, pins, 1, why, sizeof(why)), 1);
	/* the [bench] ipsw serves the models it supports, others get the newest */
	bs[2].global_pin = true;
	assert_int_equal(fw_choose(bs, 4, &ph, pins, 1, why, sizeof(why)), 2);
	ph = P(0x8010, 0x08, "", "");
	bs[3].global_pin = false;
	assert_int_equal(fw_choose(bs, 4, &ph, NULL, 0, why, sizeof(why)), 3);
	/* an unsigned global pin is not chosen */
	ph = P(0x8015, 0x0e, "", "iPhone10,6");
	bs[2].signed_state = FW_SIGNED_NO;
	assert_int_equal(fw_choose(bs, 4, &ph, NULL, 0, why, sizeof(why)), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_build_cmp),
		cmocka_unit_test(test_chip_and_board_decide),
		cmocka_unit_test(test_newest_and_signed),
		cmocka_unit_test(test_pins),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
