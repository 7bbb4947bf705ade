/* test_models.c: the model table, models.tsv and the button guess. */
#include "testutil.h"

#include <unistd.h>

#include "models.h"

static int
setup(void **state)
{
	(void)state;
	models_clear();
	return 0;
}

static struct model
mk(const char *pt, uint32_t cpid, uint32_t bdid, const char *hw, const char *name)
{
	struct model	m;

	memset(&m, 0, sizeof(m));
	snprintf(m.product_type, sizeof(m.product_type), "%s", pt);
	snprintf(m.hw_model, sizeof(m.hw_model), "%s", hw);
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.cpid = cpid;
	m.bdid = bdid;
	m.buttons = models_buttons_guess(pt);
	return m;
}

static void
test_add_find_replace(void **state)
{
	struct model		m;
	const struct model	*f;

	(void)state;
	assert_int_equal(models_count(), 0);
	assert_null(models_find_chip(0x8010, 0x08));
	m = mk("iPhone9,1", 0x8010, 0x08, "d10ap", "iPhone 7");
	assert_int_equal(models_add(&m), 0);
	m = mk("iPhone9,3", 0x8010, 0x0c, "d101ap", "iPhone 7 (GSM)");
	assert_int_equal(models_add(&m), 0);
	assert_int_equal(models_count(), 2);

	f = models_find_chip(0x8010, 0x0c);
	assert_non_null(f);
	assert_string_equal(f->product_type, "iPhone9,3");
	assert_string_equal(f->hw_model, "d101ap");
	assert_int_equal(f->buttons, BUTTONS_7);
	f = models_find_product("iPhone9,1");
	assert_non_null(f);
	assert_int_equal(f->bdid, 0x08);
	assert_null(models_find_product("iPhone9,2"));
	assert_null(models_find_product(NULL));
	assert_null(models_find_chip(0x8010, 0x0a));

	/* same product type and board: replaced, not added */
	m = mk("iPhone9,1", 0x8010, 0x08, "d10ap", "iPhone 7 renamed");
	assert_int_equal(models_add(&m), 0);
	assert_int_equal(models_count(), 2);
	assert_string_equal(models_find_chip(0x8010, 0x08)->name, "iPhone 7 renamed");

	/* A9 dual-sourced: same product type and board on two chips, both kept */
	m = mk("iPhone8,1", 0x8000, 0x04, "n71ap", "iPhone 6s");
	assert_int_equal(models_add(&m), 0);
	m = mk("iPhone8,1", 0x8003, 0x04, "n71map", "iPhone 6s");
	assert_int_equal(models_add(&m), 0);
	assert_int_equal(models_count(), 4);
	assert_string_equal(models_find_chip(0x8000, 0x04)->hw_model, "n71ap");
	assert_string_equal(models_find_chip(0x8003, 0x04)->hw_model, "n71map");

	/* unterminated caller buffers come back terminated */
	memset(&m, 'x', sizeof(m));
	m.cpid = 0x1;
	m.bdid = 0x2;
	m.product_type[5] = '\0';
	assert_int_equal(models_add(&m), 0);
	f = models_find_chip(1, 2);
	assert_non_null(f);
	assert_int_equal(strlen(f->hw_model), sizeof(f->hw_model) - 1);
	assert_int_equal(strlen(f->name), sizeof(f->name) - 1);

	assert_int_equal(models_add(NULL), -1);
	m = mk("", 1, 1, "x", "y");
	assert_int_equal(models_add(&m), -1);

	models_clear();
	assert_int_equal(models_count(), 0);
	assert_null(models_find_product("iPhone9,1"));
}

static void
test_capacity(void **state)
{
	struct model	m;
	char		pt[32];
	int		i, added = 0;

	(void)state;
	for (i = 0; i < 10000; i++) {
		snprintf(pt, sizeof(pt), "Test%d,1", i);
		m = mk(pt, 0x9000, (uint32_t)i, "t", "t");
		if (models_add(&m) != 0)
			break;
		added++;
	}
	assert_true(added >= 256);		/* room for libirecovery + models.tsv */
	assert_int_equal(models_count(), (size_t)added);
	/* full: a new row fails, a replacement still works */
	m = mk("Test0,1", 0x9000, 0, "t", "replaced");
	assert_int_equal(models_add(&m), 0);
	assert_string_equal(models_find_chip(0x9000, 0)->name, "replaced");
	assert_int_equal(models_count(), (size_t)added);
}

/* config/models.tsv: loads, has what the bench needs, agrees with the guess. */
static void
test_shipped_table(void **state)
{
	const struct model	*m;
	char			 err[256];
	int			 n;
	size_t			 i, j;
	static const struct {
		const char *pt, *hw;
		uint32_t cpid, bdid;
	} want[] = {
		{ "iPhone9,1", "d10ap", 0x8010, 0x08 },
		{ "iPhone9,3", "d101ap", 0x8010, 0x0c },
		{ "iPhone9,2", "d11ap", 0x8010, 0x0a },
		{ "iPhone9,4", "d111ap", 0x8010, 0x0e },
		{ "iPhone10,1", "d20ap", 0x8015, 0x02 },
		{ "iPhone10,4", "d201ap", 0x8015, 0x0a },
		{ "iPhone10,2", "d21ap", 0x8015, 0x04 },
		{ "iPhone10,5", "d211ap", 0x8015, 0x0c },
		{ "iPhone10,3", "d22ap", 0x8015, 0x06 },
		{ "iPhone10,6", "d221ap", 0x8015, 0x0e },
		{ "iPad7,11", "j171ap", 0x8010, 0x1c },
		{ "iPad7,12", "j172ap", 0x8010, 0x1e },
		{ "iPhone12,1", "n104ap", 0x8030, 0x04 },
		{ "iPhone13,2", "d53gap", 0x8101, 0x0c },
		{ "iPhone14,6", "d49ap", 0x8110, 0x10 },
		{ "iPhone17,1", "d93ap", 0x8140, 0x0c },
		{ "iPad13,18", "j271ap", 0x8101, 0x14 },
	};
	const char *newer[] = {
		"iPhone13,1", "iPhone13,3", "iPhone13,4", "iPhone14,2", "iPhone14,3",
		"iPhone14,4", "iPhone14,5", "iPhone14,7", "iPhone14,8", "iPhone15,2",
		"iPhone15,3", "iPhone15,4", "iPhone15,5", "iPhone16,1", "iPhone16,2",
		"iPhone17,2", "iPhone17,3", "iPhone17,4", "iPad13,19",
	};

	(void)state;
	n = models_load_file(test_path("config/models.tsv"), err, sizeof(err));
	if (n < 0)
		fail_msg("%s", err);
	assert_int_equal((size_t)n, models_count());
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		m = models_find_chip(want[i].cpid, want[i].bdid);
		if (m == NULL)
			fail_msg("no row for %s", want[i].pt);
		assert_string_equal(m->product_type, want[i].pt);
		assert_string_equal(m->hw_model, want[i].hw);
		assert_ptr_equal(models_find_product(want[i].pt), m);
	}
	for (i = 0; i < sizeof(newer) / sizeof(newer[0]); i++) {
		if (models_find_product(newer[i]) == NULL)
			fail_msg("no row for %s", newer[i]);
	}
	assert_string_equal(models_find_product("iPhone13,2")->name, "iPhone 12");
	assert_int_equal(models_find_product("iPhone9,1")->buttons, BUTTONS_7);
	assert_int_equal(models_find_product("iPhone10,3")->buttons, BUTTONS_8);
	assert_int_equal(models_find_product("iPad7,11")->buttons, BUTTONS_HOME);

	/*
	 * Read the file independently: every row is distinct by chip + board,
	 * found by both lookups, and its buttons agree with the guess.
	 */
	{
		FILE		*f = fopen(test_path("config/models.tsv"), "r");
		char		 line[512], pt[32], hw[16], bt[16];
		unsigned	 cpid[512], bdid[512];
		size_t		 rows = 0;

		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			if (line[0] == '#' || line[0] == '\n')
				continue;
			assert_true(rows < 512);
			assert_int_equal(sscanf(line, "%31s %x %x %15s %15s", pt,
			    &cpid[rows], &bdid[rows], hw, bt), 5);
			for (j = 0; j < rows; j++) {
				if (cpid[j] == cpid[rows] && bdid[j] == bdid[rows])
					fail_msg("%s: chip/board used twice", pt);
			}
			m = models_find_chip(cpid[rows], bdid[rows]);
			assert_non_null(m);
			assert_string_equal(m->product_type, pt);
			assert_string_equal(m->hw_model, hw);
			assert_non_null(models_find_product(pt));
			if (strcmp(bt, models_buttons_name(models_buttons_guess(pt))) != 0)
				fail_msg("%s: buttons %s, guess %s", pt, bt,
				    models_buttons_name(models_buttons_guess(pt)));
			rows++;
		}
		fclose(f);
		assert_int_equal(rows, (size_t)n);
		assert_true(rows >= 50);
	}

	/* loading again replaces every row: nothing doubles */
	assert_int_equal(models_load_file(test_path("config/models.tsv"), err, sizeof(err)), n);
	assert_int_equal(models_count(), (size_t)n);
}

/* Write text to a temporary file; returns its path (static buffer). */
static const char *
tmpfile_with(const char *text, size_t len)
{
	static char	path[64];
	int		fd;

	snprintf(path, sizeof(path), "/tmp/test_models.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_load_syntax(void **state)
{
	const char	*path;
	char		 err[256];
	const char	 text[] =
	    "# comment\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment\n"
	    "iPhone99,1\t0x9999\t0x02\tz1ap\t8\tFuture Phone (Global)\n"
	    "iPhone99,2 9999 04   z2ap home   Spaced   Name  \r\n"
	    "iPad99,1\t0X9998\t1A\tZ3AP\tunknown\tTab\tIn Name\n"
	    "iPhone99,3\t0x9999\t0x06\tz4ap\t7\tEsc \x1b[31mred";	/* no final newline */

	(void)state;
	path = tmpfile_with(text, sizeof(text) - 1);
	assert_int_equal(models_load_file(path, err, sizeof(err)), 4);
	assert_int_equal(models_count(), 4);
	assert_string_equal(models_find_chip(0x9999, 0x02)->name, "Future Phone (Global)");
	assert_string_equal(models_find_chip(0x9999, 0x04)->name, "Spaced   Name");
	assert_int_equal(models_find_chip(0x9999, 0x04)->buttons, BUTTONS_HOME);
	assert_string_equal(models_find_chip(0x9998, 0x1a)->hw_model, "Z3AP");
	assert_int_equal(models_find_chip(0x9998, 0x1a)->buttons, BUTTONS_UNKNOWN);
	assert_string_equal(models_find_chip(0x9998, 0x1a)->name, "Tab In Name");
	assert_string_equal(models_find_chip(0x9999, 0x06)->name, "Esc ?[31mred");
	assert_int_equal(models_find_chip(0x9999, 0x06)->buttons, BUTTONS_7);
	unlink(path);

	path = tmpfile_with("", 0);
	assert_int_equal(models_load_file(path, err, sizeof(err)), 0);
	unlink(path);
}

/* A malformed file: -1, "path:line: reason", and the table unchanged. */
static void
expect_bad(const char *text, size_t len, int line, const char *reason)
{
	const char	*path;
	char		 err[256], want[128];
	struct model	 m = mk("Keep1,1", 0x7777, 0x01, "k", "keep");

	models_clear();
	assert_int_equal(models_add(&m), 0);
	path = tmpfile_with(text, len);
	assert_int_equal(models_load_file(path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, reason) == NULL)
		fail_msg("got '%s', want '%s...%s'", err, want, reason);
	assert_null(strchr(err, '\n'));
	assert_int_equal(models_count(), 1);
	assert_null(models_find_product("iPhone99,1"));
	unlink(path);
}
#define BAD(lit, line, reason) expect_bad(lit, sizeof(lit) - 1, line, reason)

static void
test_load_errors(void **state)
{
	char	err[256];
	char	*big;
	size_t	n;

	(void)state;
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\t8\tOK\nbroken\n", 2, "missing cpid");
	BAD("# c\n\niPhone99,1\t0x99G9\t0x02\tz1ap\t8\tX\n", 3, "bad cpid");
	BAD("iPhone99,1\t0x123456789\t0x02\tz1ap\t8\tX\n", 1, "bad cpid");
	BAD("iPhone99,1\t0x9999\t-2\tz1ap\t8\tX\n", 1, "bad bdid");
	BAD("iPhone99,1\t0x9999\n", 1, "missing bdid");
	BAD("iPhone99,1\t0x9999\t0x02\n", 1, "missing hardware model");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\n", 1, "missing buttons");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\t9\tX\n", 1, "bad buttons");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\tHOME\tX\n", 1, "bad buttons");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\t8\n", 1, "missing name");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\t8\t   \n", 1, "missing name");
	BAD("iPhone;99\t0x9999\t0x02\tz1ap\t8\tX\n", 1, "bad product type");
	BAD("iPhone99,1\t0x9999\t0x02\tz1-ap\t8\tX\n", 1, "bad hardware model");
	BAD("iPhone99,1\t0x9999\t0x02\t0123456789abcdef\t8\tX\n", 1, "bad hardware model");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\t8\t"
	    "0123456789012345678901234567890123456789012345678901234567890123\n", 1,
	    "name too long");
	BAD("iPhone99,1\t0x9999\t0x02\tz1ap\t8\tA\0B\n", 1, "NUL");

	/* a line longer than the reader takes */
	n = 4096;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "\n\n", 2);
	expect_bad(big, n, 3, "too long");
	free(big);

	/* missing file: path and reason, no line number */
	assert_int_equal(models_load_file("/nonexistent/models.tsv", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/models.tsv: "));
	/* a tiny or absent err buffer is fine */
	assert_int_equal(models_load_file("/nonexistent/models.tsv", err, 4), -1);
	assert_int_equal(strlen(err), 3);
	assert_int_equal(models_load_file("/nonexistent/models.tsv", NULL, 0), -1);
}

static void
test_buttons_guess(void **state)
{
	static const struct {
		const char		*pt;
		enum button_family	 b;
	} cases[] = {
		{ "iPhone1,1", BUTTONS_HOME }, { "iPhone7,2", BUTTONS_HOME },
		{ "iPhone8,4", BUTTONS_HOME }, { "iPhone9,1", BUTTONS_7 },
		{ "iPhone9,4", BUTTONS_7 }, { "iPhone10,1", BUTTONS_8 },
		{ "iPhone10,6", BUTTONS_8 }, { "iPhone12,8", BUTTONS_8 },
		{ "iPhone14,6", BUTTONS_8 }, { "iPhone17,5", BUTTONS_8 },
		{ "iPhone18,3", BUTTONS_8 }, { "iPod9,1", BUTTONS_HOME },
		{ "iPad2,5", BUTTONS_HOME }, { "iPad6,11", BUTTONS_HOME },
		{ "iPad7,3", BUTTONS_HOME }, { "iPad7,11", BUTTONS_HOME },
		{ "iPad8,1", BUTTONS_8 }, { "iPad8,12", BUTTONS_8 },
		{ "iPad11,1", BUTTONS_HOME }, { "iPad11,6", BUTTONS_HOME },
		{ "iPad12,2", BUTTONS_HOME }, { "iPad13,1", BUTTONS_8 },
		{ "iPad13,18", BUTTONS_8 }, { "iPad14,1", BUTTONS_8 },
		{ "iPad16,6", BUTTONS_8 }, { "iPad9,1", BUTTONS_UNKNOWN },
		{ "AppleTV5,3", BUTTONS_UNKNOWN }, { "Watch6,18", BUTTONS_UNKNOWN },
		{ "", BUTTONS_UNKNOWN }, { "iPhone", BUTTONS_UNKNOWN },
		{ "iPhone10", BUTTONS_UNKNOWN }, { "iPhone10,", BUTTONS_UNKNOWN },
		{ "iPhone,1", BUTTONS_UNKNOWN }, { "iPhone0,1", BUTTONS_UNKNOWN },
		{ "iPhone10,1x", BUTTONS_UNKNOWN }, { "iPhone1000,1", BUTTONS_UNKNOWN },
		{ "iphone10,1", BUTTONS_UNKNOWN }, { " iPhone10,1", BUTTONS_UNKNOWN },
		{ "iPhone-1,1", BUTTONS_UNKNOWN },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (models_buttons_guess(cases[i].pt) != cases[i].b)
			fail_msg("%s: got %d want %d", cases[i].pt,
			    models_buttons_guess(cases[i].pt), cases[i].b);
	}
	assert_int_equal(models_buttons_guess(NULL), BUTTONS_UNKNOWN);
	assert_string_equal(models_buttons_name(BUTTONS_HOME), "home");
	assert_string_equal(models_buttons_name(BUTTONS_7), "7");
	assert_string_equal(models_buttons_name(BUTTONS_8), "8");
	assert_string_equal(models_buttons_name(BUTTONS_UNKNOWN), "unknown");
	assert_string_equal(models_buttons_name((enum button_family)42), "unknown");
}

/* The one product -> chip fallback the bench and the DFU screen share. */
static void
test_find_device(void **state)
{
	struct model	m;

	(void)state;
	m = mk("iPhone9,1", 0x8010, 0x08, "d10ap", "iPhone 7");
	assert_int_equal(models_add(&m), 0);
	m = mk("iPhone10,1", 0x8015, 0x02, "d20ap", "iPhone 8");
	assert_int_equal(models_add(&m), 0);
	assert_string_equal(models_find_device("iPhone9,1", 0, 0)->name, "iPhone 7");
	/* the product type wins over the chip */
	assert_string_equal(models_find_device("iPhone9,1", 0x8015, 0x02)->name, "iPhone 7");
	/* unknown or no product type: chip and board id */
	assert_string_equal(models_find_device("iPhone99,9", 0x8015, 0x02)->name, "iPhone 8");
	assert_string_equal(models_find_device("", 0x8015, 0x02)->name, "iPhone 8");
	assert_string_equal(models_find_device(NULL, 0x8010, 0x08)->name, "iPhone 7");
	/* a chip without its board id names no model */
	assert_null(models_find_device(NULL, 0x8010, 0));
	assert_null(models_find_device("iPhone99,9", 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_find_device, setup),
		cmocka_unit_test_setup(test_add_find_replace, setup),
		cmocka_unit_test_setup(test_capacity, setup),
		cmocka_unit_test_setup(test_shipped_table, setup),
		cmocka_unit_test_setup(test_load_syntax, setup),
		cmocka_unit_test_setup(test_load_errors, setup),
		cmocka_unit_test_setup(test_buttons_guess, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
