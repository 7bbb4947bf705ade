/* test_fwdl.c: the firmware index parser (ipsw.me v4 shape) against hostile answers. */
#include "testutil.h"
#include "fwdl.h"

#define SHA1	"0123456789abcdef0123456789abcdef01234567"
#define FW(id, ver, build, signed_) "{\"identifier\":\"" id "\",\"version\":\"" ver "\",\"buildid\":\"" \
	build "\",\"sha1sum\":\"" SHA1 "\",\"md5sum\":\"x\",\"filesize\":1234,\"url\":" \
	"\"https://updates.example.com/" id "_" ver "_" build "_Restore.ipsw\",\"releasedate\":null," \
	"\"uploaddate\":null,\"signed\":" signed_ "}"

static int
parse(const char *json, const char *want, struct fw_index *ix, char *err)
{
	return (fwdl_index_parse(json, strlen(json), want, ix, err, 256));
}

static void
test_good(void **state)
{
	struct fw_index			 ix;
	const struct fw_index_fw	*f;
	char				 err[256];
	const char *j = "{\"name\":\"iPhone X\",\"identifier\":\"iPhone10,6\",\"boardconfig\":\"D221AP\","
	    "\"platform\":\"t8015\",\"cpid\":32789,\"bdid\":14,\"firmwares\":["
	    FW("iPhone10,6", "17.0", "21A329", "false") ","
	    FW("iPhone10,6", "16.7.10", "20H350", "true") ","
	    FW("iPhone10,6", "16.7.9", "20H343", "true") "]}";

	(void)state;
	assert_int_equal(parse(j, "iPhone10,6", &ix, err), 0);
	assert_int_equal(ix.n, 3);
	assert_int_equal(ix.cpid, 0x8015);
	assert_int_equal(ix.bdid, 0x0e);
	assert_string_equal(ix.fw[1].sha1, SHA1);
	assert_int_equal(ix.fw[1].size, 1234);
	assert_true(ix.fw[1].is_signed);
	assert_false(ix.fw[0].is_signed);
	f = fwdl_index_pick(&ix, NULL);
	assert_non_null(f);
	assert_string_equal(f->build, "20H350");
	assert_string_equal(fwdl_index_pick(&ix, "16.7.9")->build, "20H343");
	assert_string_equal(fwdl_index_pick(&ix, "21A329")->version, "17.0");
	assert_null(fwdl_index_pick(&ix, "15.0"));
	fwdl_index_clear(&ix);
}

static void
test_rejected(void **state)
{
	struct fw_index	 ix;
	char		 err[256];

	(void)state;
	assert_int_equal(parse("", "iPhone10,6", &ix, err), -1);
	assert_int_equal(parse("{\"identifier\":", "iPhone10,6", &ix, err), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(parse("[1,2]", "iPhone10,6", &ix, err), -1);
	assert_int_equal(parse("{\"identifier\":5,\"firmwares\":[]}", "iPhone10,6", &ix, err), -1);
	assert_int_equal(parse("{\"identifier\":\"iPhone10,6\"}", "iPhone10,6", &ix, err), -1);
	assert_non_null(strstr(err, "firmwares"));
	assert_int_equal(parse("{\"identifier\":\"iPhone10,6\",\"firmwares\":{}}", "iPhone10,6", &ix, err), -1);
	/* not the device asked about */
	assert_int_equal(parse("{\"identifier\":\"iPhone1,1\",\"firmwares\":[]}", "iPhone10,6", &ix, err), -1);
	assert_non_null(strstr(err, "answered for iPhone1,1, not iPhone10,6"));
	/* an identifier with escapes never reaches a message raw */
	assert_int_equal(parse("{\"identifier\":\"iPhone\\u001b[2J\",\"firmwares\":[]}", "iPhone10,6", &ix, err), -1);
	assert_null(strchr(err, 0x1b));
	/* duplicate keys are a hostile document */
	assert_int_equal(parse("{\"identifier\":\"iPhone10,6\",\"identifier\":\"iPhone10,6\",\"firmwares\":[]}",
	    "iPhone10,6", &ix, err), -1);
}

static void
test_hostile_entries_skipped(void **state)
{
	struct fw_index	 ix;
	char		 err[256];
	const char *j = "{\"identifier\":\"iPhone10,6\",\"firmwares\":["
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":\"1234\",\"url\":\"https://x/a.ipsw\",\"signed\":true},"		/* size as string */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":1234,\"url\":\"https://x/a.ipsw\",\"signed\":\"yes\"},"		/* signed as string */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"../../etc\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":1234,\"url\":\"https://x/a.ipsw\",\"signed\":true},"		/* path in version */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H\\u001b350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":1234,\"url\":\"https://x/a.ipsw\",\"signed\":true},"		/* escape in build */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":1234,\"url\":\"file:///etc/passwd\",\"signed\":true},"		/* not http(s) */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":1234,\"url\":\"https://x/a b\\n.ipsw\",\"signed\":true},"	/* space, newline */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"xyz\","
	    "\"filesize\":1234,\"url\":\"https://x/a.ipsw\",\"signed\":true},"		/* bad sha1 */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"sha256sum\":\"short\",\"filesize\":1234,\"url\":\"https://x/a.ipsw\",\"signed\":true},"	/* bad sha256 */
	    "{\"identifier\":\"iPhone10,6\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":-5,\"url\":\"https://x/a.ipsw\",\"signed\":true},"		/* negative size */
	    "{\"identifier\":\"iPhone1,1\",\"version\":\"16.7.10\",\"buildid\":\"20H350\",\"sha1sum\":\"" SHA1 "\","
	    "\"filesize\":1234,\"url\":\"https://x/a.ipsw\",\"signed\":true},"		/* another device */
	    "42, null, \"x\", [],"
	    FW("iPhone10,6", "16.7.9", "20H343", "true") "]}";

	(void)state;
	assert_int_equal(parse(j, "iPhone10,6", &ix, err), 0);
	assert_int_equal(ix.n, 1);
	assert_string_equal(ix.fw[0].build, "20H343");
	fwdl_index_clear(&ix);
}

static void
test_huge(void **state)
{
	struct fw_index	 ix;
	char		 err[256];
	size_t		 n = FWDL_MAX_INDEX + 10;
	char		*j = malloc(n + 1);

	(void)state;
	assert_non_null(j);
	memset(j, ' ', n);
	j[n] = '\0';
	assert_int_equal(fwdl_index_parse(j, n, "iPhone10,6", &ix, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_hostile_entries_skipped),
		cmocka_unit_test(test_huge),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
