/* test_fwkeep.c: the keep budget: what leaves the library, caches included. */
#include "testutil.h"
#include "fwkeep.h"

static void
test_fits(void **state)
{
	struct fw_keep_item	 it[2] = { { 300, 100, 1, false }, { 300, 0, 2, false } };
	bool			 ev[2];

	(void)state;
	assert_int_equal(fw_keep_total(it, 2), 700);
	assert_int_equal(fw_keep_plan(it, 2, 700, 0, ev), 0);
	assert_false(ev[0]);
	assert_false(ev[1]);
	/* keep 0: no budget at all */
	assert_int_equal(fw_keep_plan(it, 2, 0, 1000000, ev), 0);
	assert_false(ev[0] || ev[1]);
}

static void
test_cache_counts(void **state)
{
	/* the files alone fit (600 <= 650); with the older one's cache they do not */
	struct fw_keep_item	 it[2] = { { 300, 0, 5, false }, { 300, 100, 9, false } };
	bool			 ev[2];

	(void)state;
	assert_int_equal(fw_keep_plan(it, 2, 650, 0, ev), 0);
	assert_true(ev[0]);		/* least recently used, although it has no cache */
	assert_false(ev[1]);
}

static void
test_lru_skips_kept(void **state)
{
	struct fw_keep_item	 it[4] = {
		{ 300, 200, 1, true },		/* oldest, but pinned or in use */
		{ 300, 0, 2, false },
		{ 300, 50, 3, false },
		{ 300, 0, 4, false },
	};
	bool			 ev[4];

	(void)state;
	/* 1450 + 300 needed, keep 1200: 2 then 3 go (1750 - 300 - 350 = 1100) */
	assert_int_equal(fw_keep_plan(it, 4, 1200, 300, ev), 0);
	assert_false(ev[0]);
	assert_true(ev[1]);
	assert_true(ev[2]);
	assert_false(ev[3]);
}

static void
test_cannot_free(void **state)
{
	struct fw_keep_item	 it[2] = { { 300, 400, 1, true }, { 300, 0, 2, false } };
	bool			 ev[2];

	(void)state;
	/* 1000 + 100 with keep 500: 300 over even without the free one, so it stays */
	assert_int_equal(fw_keep_plan(it, 2, 500, 100, ev), 300);
	assert_false(ev[0]);
	assert_false(ev[1]);
	/* nothing to add: the library is trimmed as far as it can be */
	assert_int_equal(fw_keep_plan(it, 2, 500, 0, ev), 200);
	assert_false(ev[0]);
	assert_true(ev[1]);
	/* nothing at all */
	assert_int_equal(fw_keep_plan(NULL, 0, 500, 600, ev), 100);
}

static void
test_ties(void **state)
{
	struct fw_keep_item	 it[3] = { { 100, 0, 7, false }, { 100, 0, 7, false }, { 100, 0, 7, false } };
	bool			 ev[3];

	(void)state;
	assert_int_equal(fw_keep_plan(it, 3, 200, 0, ev), 0);
	assert_true(ev[0]);
	assert_false(ev[1]);
	assert_false(ev[2]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_cache_counts),
		cmocka_unit_test(test_lru_skips_kept),
		cmocka_unit_test(test_cannot_free),
		cmocka_unit_test(test_ties),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
