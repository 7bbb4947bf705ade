/* test_array.c: the one grow-by-doubling. */
#include "testutil.h"

#include "array.h"

static void
test_grow(void **state)
{
	int	*a = NULL, *p;
	size_t	 cap = 0, n;

	(void)state;
	for (n = 0; n < 100; n++) {
		p = array_grow(a, n, &cap, 4, sizeof(*a));
		assert_non_null(p);
		a = p;
		a[n] = (int)n;
		assert_true(cap > n);
	}
	assert_int_equal(cap, 128);	/* 4, 8, ..., 128: doubling */
	for (n = 0; n < 100; n++)
		assert_int_equal(a[n], (int)n);
	/* room left: the same array back */
	assert_ptr_equal(array_grow(a, 100, &cap, 4, sizeof(*a)), a);
	/* a size that would overflow: NULL, and the array is still there */
	n = cap;
	assert_null(array_grow(a, cap, &cap, 4, (size_t)-1 / 8));
	assert_int_equal(cap, n);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
