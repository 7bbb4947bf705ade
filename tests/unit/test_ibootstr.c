/* test_ibootstr.c: iBoot serial strings and UDIDs, real-looking and hostile. */
#include "testutil.h"

#include "ibootstr.h"

/* Parse s from a heap copy of exactly len bytes (no NUL: ASan sees overreads). */
static int
parse_exact(const char *s, size_t len, struct iboot_info *out)
{
	char	*copy = malloc(len ? len : 1);
	int	 r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	r = ibootstr_parse(copy, len, out);
	free(copy);
	return r;
}

static int
parse_str(const char *s, struct iboot_info *out)
{
	return parse_exact(s, strlen(s), out);
}

static void
test_recovery_string(void **state)
{
	struct iboot_info	i;

	(void)state;
	assert_int_equal(parse_str("SDOM:01 CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 "
	    "ECID:001A2B3C4D5E6F70 IBFL:3D SRNM:[F4GT2K1ZHG7F]", &i), 0);
	assert_int_equal(i.cpid, 0x8010);
	assert_int_equal(i.cprv, 0x11);
	assert_int_equal(i.cpfm, 0x03);
	assert_int_equal(i.scep, 0x01);
	assert_int_equal(i.bdid, 0x08);
	assert_true(i.ecid == 0x001A2B3C4D5E6F70ULL);
	assert_int_equal(i.ibfl, 0x3d);
	assert_int_equal(i.sdom, 0x01);
	assert_string_equal(i.srnm, "F4GT2K1ZHG7F");
	assert_int_equal(i.have, IBOOT_HAVE_SDOM | IBOOT_HAVE_CPID | IBOOT_HAVE_CPRV |
	    IBOOT_HAVE_CPFM | IBOOT_HAVE_SCEP | IBOOT_HAVE_BDID | IBOOT_HAVE_ECID |
	    IBOOT_HAVE_IBFL | IBOOT_HAVE_SRNM);
	assert_string_equal(i.srtg, "");
	assert_string_equal(i.imei, "");
}

static void
test_dfu_string(void **state)
{
	struct iboot_info	i;

	(void)state;
	assert_int_equal(parse_str("CPID:8960 CPRV:11 CPFM:03 SCEP:01 BDID:00 "
	    "ECID:000004B52983B430 IBFL:1C SRTG:[iBoot-1704.10]", &i), 0);
	assert_int_equal(i.cpid, 0x8960);
	assert_int_equal(i.bdid, 0);
	assert_true(i.have & IBOOT_HAVE_BDID);
	assert_true(i.ecid == 0x4B52983B430ULL);
	assert_string_equal(i.srtg, "iBoot-1704.10");
	assert_false(i.have & IBOOT_HAVE_SRNM);

	assert_int_equal(parse_str("CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0A "
	    "ECID:0000111122223333 IBFL:3C SRTG:[iBoot-3332.0.0.1.23] PWND:[checkm8]", &i), 0);
	assert_string_equal(i.pwnd, "checkm8");
	assert_true(i.have & IBOOT_HAVE_PWND);

	assert_int_equal(parse_str("CPID:8030 BDID:04 ECID:19A6E40C1402E "
	    "SRNM:[F2LZK0ABN72J] IMEI:[356512345678901]", &i), 0);
	assert_string_equal(i.imei, "356512345678901");
	/* lower-case hex digits, any order, 16 digits of ECID */
	assert_int_equal(parse_str("ECID:ffffffffffffffff cpfm:3 CPID:8010", &i), -1);
	assert_int_equal(parse_str("ECID:ffffffffffffffff CPID:8010 CPFM:3", &i), 0);
	assert_true(i.ecid == 0xffffffffffffffffULL);
	assert_int_equal(i.cpfm, 3);
}

static void
test_unknown_fields_and_spacing(void **state)
{
	struct iboot_info	i;

	(void)state;
	/* nonce string descriptor fields and future keys are skipped */
	assert_int_equal(parse_str(" NONC:00ff SNON:abcd CPID:8101 XTRA:[a b c] "
	    "ECID:42 NEW1:zz\n", &i), 0);
	assert_int_equal(i.cpid, 0x8101);
	assert_true(i.ecid == 0x42);
	assert_int_equal(i.have, IBOOT_HAVE_CPID | IBOOT_HAVE_ECID);
	/* tabs and runs of spaces separate fields too; trailing newline of sysfs */
	assert_int_equal(parse_str("CPID:8010\t\tECID:1   BDID:08\r\n", &i), 0);
	assert_int_equal(i.bdid, 8);
	/* a bracketed string may hold spaces */
	assert_int_equal(parse_str("CPID:8010 ECID:1 SRTG:[iBoot 1704.10 dev]", &i), 0);
	assert_string_equal(i.srtg, "iBoot 1704.10 dev");
}

static void
test_missing_fields(void **state)
{
	struct iboot_info	i;

	(void)state;
	assert_int_equal(parse_str("CPID:8010 BDID:08 SRNM:[ABC]", &i), -1);
	/* what was parsed is kept for the detail pane */
	assert_int_equal(i.cpid, 0x8010);
	assert_string_equal(i.srnm, "ABC");
	assert_int_equal(i.have, IBOOT_HAVE_CPID | IBOOT_HAVE_BDID | IBOOT_HAVE_SRNM);
	assert_int_equal(parse_str("ECID:001A2B3C4D5E6F70", &i), -1);
	assert_true(i.ecid == 0x001A2B3C4D5E6F70ULL);
	assert_int_equal(parse_str("", &i), -1);
	assert_int_equal(i.have, 0);
	assert_int_equal(parse_str("   \n", &i), -1);
	assert_int_equal(ibootstr_parse(NULL, 10, &i), -1);
	assert_int_equal(ibootstr_parse("CPID:1 ECID:1", 13, NULL), -1);
}

static void
test_malformed_values(void **state)
{
	struct iboot_info	i;

	(void)state;
	/* 16 hex digits of ECID are fine, 17 are not, even with leading zeros */
	assert_int_equal(parse_str("CPID:8010 ECID:0123456789ABCDEF", &i), 0);
	assert_int_equal(parse_str("CPID:8010 ECID:0123456789ABCDEF0", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:00123456789ABCDEF", &i), -1);
	assert_int_equal(parse_str("CPID:FFFFFFFF ECID:1", &i), 0);
	assert_int_equal(i.cpid, 0xffffffffU);
	assert_int_equal(parse_str("CPID:100000000 ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:1 BDID:1FFFFFFFF", &i), -1);
	assert_int_equal(parse_str("CPID:80G0 ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID:-8010 ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID:0x8010 ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID: ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:", &i), -1);
	/* bracket rules */
	assert_int_equal(parse_str("CPID:8010 ECID:1 SRNM:[ABC", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:1 SRNM:ABC", &i), -1);
	assert_int_equal(parse_str("CPID:[8010] ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:1 SRNM:[ABC]DEF", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:1 FOO:[never closed", &i), -1);
	/* string fields: sizeof-1 fits, one more does not */
	assert_int_equal(parse_str("CPID:8010 ECID:1 SRNM:[0123456789012345678901234567890]", &i), 0);
	assert_int_equal(strlen(i.srnm), 31);
	assert_int_equal(parse_str("CPID:8010 ECID:1 SRNM:[01234567890123456789012345678901]", &i), -1);
	/* a field seen twice: a spoofed second ECID must not win */
	assert_int_equal(parse_str("CPID:8010 ECID:1 ECID:2", &i), -1);
	assert_int_equal(parse_str("CPID:8010 CPID:8015 ECID:1", &i), -1);
	/* tokens that are not KEY:VALUE */
	assert_int_equal(parse_str("CPID:8010 ECID:1 garbage", &i), -1);
	assert_int_equal(parse_str("cpid:8010 ECID:1", &i), -1);
	assert_int_equal(parse_str(":8010 ECID:1", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:1 ABCDEFGHIJKLMNOP:1", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:1 ABCDEFGHIJKLMNO:1", &i), 0);
}

static void
test_hostile(void **state)
{
	struct iboot_info	i;
	char			junk[255], *big;
	size_t			n, k;
	unsigned		seed = 7;
	int			iter;

	(void)state;
	/* terminal escapes inside a string field: kept, defused */
	assert_int_equal(parse_str("CPID:8010 ECID:42 SRNM:[\x1b[2J\x1b[31mX\x07]", &i), 0);
	assert_string_equal(i.srnm, "?[2J?[31mX?");
	/* an OSC's ']' ends the bracket early: what follows is not a field */
	assert_int_equal(parse_str("CPID:8010 ECID:42 SRNM:[\x1b]0;x\x07]", &i), -1);
	/* escapes where a key should be */
	assert_int_equal(parse_str("\x1b[2JCPID:8010 ECID:42", &i), -1);
	assert_int_equal(parse_str("CPID:8010 ECID:42\x1b[2J", &i), -1);
	/* 255 bytes of junk, several kinds */
	memset(junk, 'A', sizeof(junk));
	assert_int_equal(parse_exact(junk, sizeof(junk), &i), -1);
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(parse_exact(junk, sizeof(junk), &i), -1);
	memset(junk, '[', sizeof(junk));
	assert_int_equal(parse_exact(junk, sizeof(junk), &i), -1);
	for (iter = 0; iter < 2000; iter++) {
		for (k = 0; k < sizeof(junk); k++)
			junk[k] = (char)(rand_r(&seed) & 0xff);
		n = (size_t)rand_r(&seed) % sizeof(junk);
		(void)parse_exact(junk, n, &i);
	}
	/* random mutations of a good string never read out of bounds */
	for (iter = 0; iter < 5000; iter++) {
		const char *good = "CPID:8010 CPRV:11 BDID:08 ECID:001A2B3C4D5E6F70 "
		    "SRNM:[F4GT2K1ZHG7F] SRTG:[iBoot-1704.10]";
		n = strlen(good);
		memcpy(junk, good, n);
		for (k = 0; k < 3; k++)
			junk[rand_r(&seed) % n] = (char)(rand_r(&seed) & 0xff);
		if (parse_exact(junk, n, &i) == 0) {
			assert_true(i.have & IBOOT_HAVE_CPID);
			assert_true(i.have & IBOOT_HAVE_ECID);
			assert_true(strlen(i.srnm) < sizeof(i.srnm));
		}
	}
	/* 64 KiB: a key that never ends, a bracket that never closes, noise */
	big = malloc(65536);
	assert_non_null(big);
	memset(big, 'A', 65536);
	assert_int_equal(parse_exact(big, 65536, &i), -1);
	memcpy(big, "CPID:8010 ECID:1 X:[", 20);
	assert_int_equal(parse_exact(big, 65536, &i), -1);
	memset(big, ' ', 65536);
	memcpy(big + 65536 - 16, "CPID:1 ECID:2   ", 16);
	assert_int_equal(parse_exact(big, 65536, &i), 0);
	for (k = 0; k < 65536; k++)
		big[k] = (char)(rand_r(&seed) & 0xff);
	assert_int_equal(parse_exact(big, 65536, &i), -1);
	free(big);
}

static void
test_length_and_nul(void **state)
{
	struct iboot_info	i;
	const char		s[] = "CPID:8010 ECID:42\0SRNM:[garbage";

	(void)state;
	/* stops at a NUL inside len */
	assert_int_equal(parse_exact(s, sizeof(s) - 1, &i), 0);
	assert_false(i.have & IBOOT_HAVE_SRNM);
	/* stops at len: what is cut off is not seen */
	assert_int_equal(parse_exact("CPID:8010 ECID:42 SRNM:[x", 17, &i), 0);
	assert_true(i.ecid == 0x42);
	assert_int_equal(parse_exact("CPID:8010 ECID:42", 9, &i), -1);
	assert_int_equal(parse_exact("CPID:8010 ECID:42", 0, &i), -1);
}

/* Every line of tests/data/iboot/good.txt parses to its expected values. */
static void
test_data_files(void **state)
{
	struct iboot_info	i;
	FILE			*f;
	char			 line[1024], *bar;
	unsigned long		 cpid, bdid;
	unsigned long long	 ecid;
	int			 n = 0;

	(void)state;
	f = fopen(test_path("tests/data/iboot/good.txt"), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		bar = strchr(line, '|');
		assert_non_null(bar);
		assert_int_equal(sscanf(line, "%lx %llx %lx", &cpid, &ecid, &bdid), 3);
		if (parse_str(bar + 1, &i) != 0)
			fail_msg("rejected: %s", bar + 1);
		assert_int_equal(i.cpid, cpid);
		assert_true(i.ecid == ecid);
		assert_int_equal(i.bdid, bdid);
		n++;
	}
	fclose(f);
	assert_true(n >= 10);

	f = fopen(test_path("tests/data/iboot/bad.txt"), "r");
	assert_non_null(f);
	n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (parse_str(line, &i) != -1)
			fail_msg("accepted: %s", line);
		n++;
	}
	fclose(f);
	assert_true(n >= 20);
}

static void
test_udid(void **state)
{
	uint32_t	cpid;
	uint64_t	ecid;

	(void)state;
	assert_int_equal(udid_parse("00008140-000115480AA2801C", 25, &cpid, &ecid), 1);
	assert_int_equal(cpid, 0x8140);
	assert_true(ecid == 0x000115480AA2801CULL);
	assert_int_equal(udid_parse("00008101001a2b3c4d5e6f70", 24, &cpid, &ecid), 1);
	assert_int_equal(cpid, 0x8101);
	assert_true(ecid == 0x001A2B3C4D5E6F70ULL);
	/* NUL-terminated inside a larger len; sysfs newline */
	assert_int_equal(udid_parse("00008140-000115480AA2801C\n", 100, &cpid, &ecid), 1);
	/* old style: valid, no ECID */
	cpid = 1;
	ecid = 1;
	assert_int_equal(udid_parse("2b6f0cc904d137be2e1730235f5664094b831186", 40, &cpid, &ecid), 0);
	assert_int_equal(cpid, 0);
	assert_true(ecid == 0);
	/* not UDIDs */
	assert_int_equal(udid_parse("2b6f0cc904d137be2e1730235f5664094b83118g", 40, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("00008140-000115480AA2801", 24, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("00008140-000115480AA2801CD", 26, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("0000814-0000115480AA2801C", 25, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("00008140_000115480AA2801C", 25, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("00008140-00011548 AA2801C", 25, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("0x008140-000115480AA2801C", 25, &cpid, &ecid), -1);
	assert_int_equal(udid_parse("", 0, &cpid, &ecid), -1);
	assert_int_equal(udid_parse(NULL, 25, &cpid, &ecid), -1);
	/* len cuts it short */
	assert_int_equal(udid_parse("00008140-000115480AA2801C", 24, &cpid, &ecid), -1);
	/* NULL outputs are allowed */
	assert_int_equal(udid_parse("00008140-000115480AA2801C", 25, NULL, NULL), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recovery_string),
		cmocka_unit_test(test_dfu_string),
		cmocka_unit_test(test_unknown_fields_and_spacing),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_malformed_values),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_length_and_nul),
		cmocka_unit_test(test_data_files),
		cmocka_unit_test(test_udid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
