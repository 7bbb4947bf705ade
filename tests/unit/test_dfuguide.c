/* test_dfuguide.c: DFU button sequences and the countdown position. */
#include "testutil.h"
#include "dfuguide.h"

static void
test_sequences(void **state)
{
	const struct dfu_step *s;
	size_t n, i;
	enum button_family f;

	(void)state;
	s = dfuguide_steps(BUTTONS_8, &n);
	assert_int_equal(n, 5);
	assert_non_null(strstr(s[0].text, "Volume Up"));
	assert_non_null(strstr(s[1].text, "Volume Down"));
	assert_non_null(strstr(s[2].text, "Side"));
	assert_int_equal(s[2].seconds, 10);
	assert_int_equal(s[3].seconds, 5);
	assert_int_equal(s[4].seconds, 10);
	s = dfuguide_steps(BUTTONS_7, &n);
	assert_int_equal(n, 2);
	assert_non_null(strstr(s[0].text, "Side + Volume Down"));
	assert_non_null(strstr(s[1].text, "Release Side"));
	s = dfuguide_steps(BUTTONS_HOME, &n);
	assert_int_equal(n, 2);
	assert_non_null(strstr(s[0].text, "Home"));
	assert_non_null(strstr(s[1].text, "keep holding Home"));
	s = dfuguide_steps(BUTTONS_UNKNOWN, &n);
	assert_int_equal(n, 0);
	assert_null(s);
	for (f = BUTTONS_HOME; f <= BUTTONS_8; f++) {
		s = dfuguide_steps(f, &n);
		for (i = 0; i < n; i++) {
			assert_true(s[i].seconds > 0);
			assert_true(strlen(s[i].text) < 60);	/* fits the 80-column DFU screen */
		}
		assert_string_not_equal(dfuguide_title(f), dfuguide_title(BUTTONS_UNKNOWN));
	}
}

static void
test_offsets(void **state)
{
	(void)state;
	assert_true(dfuguide_step_offset(BUTTONS_8, 0) == 0);
	assert_true(dfuguide_step_offset(BUTTONS_8, 2) == 4);
	assert_true(dfuguide_step_offset(BUTTONS_8, 5) == 29);
	assert_true(dfuguide_step_offset(BUTTONS_8, 99) == 29);	/* clamps at the total */
	assert_true(dfuguide_step_offset(BUTTONS_7, 2) == 13);
	assert_true(dfuguide_step_offset(BUTTONS_UNKNOWN, 3) == 0);
}

static void
test_at(void **state)
{
	size_t i = 99;
	double left = -1;

	(void)state;
	assert_int_equal(dfuguide_at(BUTTONS_8, 0, &i, &left), 0);
	assert_int_equal(i, 0);
	assert_true(left == 2);
	assert_int_equal(dfuguide_at(BUTTONS_8, -5, &i, &left), 0);
	assert_int_equal(i, 0);
	assert_true(left == 2);
	assert_int_equal(dfuguide_at(BUTTONS_8, 1.5, &i, &left), 0);
	assert_int_equal(i, 0);
	assert_true(left == 0.5);
	/* a boundary belongs to the next step */
	assert_int_equal(dfuguide_at(BUTTONS_8, 2, &i, &left), 0);
	assert_int_equal(i, 1);
	assert_true(left == 2);
	assert_int_equal(dfuguide_at(BUTTONS_8, 7.25, &i, &left), 0);
	assert_int_equal(i, 2);
	assert_true(left == 6.75);
	assert_int_equal(dfuguide_at(BUTTONS_8, 28.5, &i, &left), 0);
	assert_int_equal(i, 4);
	assert_true(left == 0.5);
	assert_int_equal(dfuguide_at(BUTTONS_8, 29, &i, &left), 1);
	assert_int_equal(i, 5);
	assert_true(left == 0);
	assert_int_equal(dfuguide_at(BUTTONS_8, 1e9, &i, &left), 1);
	assert_int_equal(i, 5);
	assert_int_equal(dfuguide_at(BUTTONS_7, 9, &i, &left), 0);
	assert_int_equal(i, 1);
	assert_true(left == 4);
	assert_int_equal(dfuguide_at(BUTTONS_HOME, 3, &i, &left), 0);
	assert_int_equal(i, 0);
	assert_true(left == 5);
	assert_int_equal(dfuguide_at(BUTTONS_UNKNOWN, 3, &i, &left), -1);
	assert_int_equal(i, 0);
	assert_int_equal(dfuguide_at((enum button_family)42, 3, &i, &left), -1);
}

/* The offset of a step and dfuguide_at agree at every step start. */
static void
test_consistent(void **state)
{
	enum button_family f;
	size_t n, k, i;
	double left;
	const struct dfu_step *s;

	(void)state;
	for (f = BUTTONS_HOME; f <= BUTTONS_8; f++) {
		s = dfuguide_steps(f, &n);
		for (k = 0; k < n; k++) {
			assert_int_equal(dfuguide_at(f, dfuguide_step_offset(f, k), &i, &left), 0);
			assert_int_equal(i, k);
			assert_true(left == s[k].seconds);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_at),
		cmocka_unit_test(test_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
