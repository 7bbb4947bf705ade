/* test_text.c: text_copy, text_sanitize, text_rtrim. */
#include "testutil.h"

#include <locale.h>
#include <wchar.h>

#include "text.h"

static void
test_copy(void **state)
{
	char	buf[8];

	(void)state;
	assert_int_equal(text_copy(buf, "abc", sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	/* truncated, terminated, and the return value says it was */
	assert_int_equal(text_copy(buf, "0123456789", sizeof(buf)), 10);
	assert_string_equal(buf, "0123456");
	assert_int_equal(text_copy(buf, "x", 1), 1);
	assert_string_equal(buf, "");
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(text_copy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(text_copy(buf, NULL, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/* Sanitize a C string literal of known length into a big buffer. */
static const char *
san(const char *s, size_t n)
{
	static char	out[256];

	text_sanitize(out, sizeof(out), s, n);
	return out;
}
#define SAN(lit) san(lit, sizeof(lit) - 1)

static void
test_sanitize_controls(void **state)
{
	(void)state;
	assert_string_equal(SAN("iPhone 7"), "iPhone 7");
	assert_string_equal(SAN("\x1b[2J\x1b]0;pwned\x07"), "?[2J?]0;pwned?");
	assert_string_equal(SAN("a\tb"), "a b");
	assert_string_equal(SAN("line\r\n"), "line??");
	assert_string_equal(SAN("del\x7f"), "del?");
	assert_string_equal(SAN("nul\0inside"), "nul?inside");
	assert_string_equal(SAN("\x01\x08\x0b\x0c\x1f"), "?????");
	/* C1 controls: CSI (U+009B) as UTF-8 is one character, one '?' */
	assert_string_equal(SAN("x\xc2\x9b" "2Jy"), "x?2Jy");
	assert_string_equal(SAN("\xc2\x80\xc2\x9f"), "??");
	/* a raw 8-bit CSI byte is not valid UTF-8 either */
	assert_string_equal(SAN("\x9b" "2J"), "?2J");
	/* bidi overrides could make a line read backwards */
	assert_string_equal(SAN("a\xe2\x80\xae" "b\xe2\x81\xa6" "c"), "a?b?c");
}

static void
test_sanitize_utf8(void **state)
{
	(void)state;
	/* valid multibyte kept: 2, 3 and 4 bytes, and U+00A0 just past C1 */
	assert_string_equal(SAN("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0"),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0");
	assert_string_equal(SAN("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	/* overlong forms */
	assert_string_equal(SAN("\xc0\xaf"), "??");
	assert_string_equal(SAN("\xc1\xbf"), "??");
	assert_string_equal(SAN("\xe0\x80\xaf"), "???");
	assert_string_equal(SAN("\xf0\x80\x80\xaf"), "????");
	/* surrogates, beyond U+10FFFF, never-valid bytes */
	assert_string_equal(SAN("\xed\xa0\x80"), "???");
	assert_string_equal(SAN("\xf4\x90\x80\x80"), "????");
	assert_string_equal(SAN("\xf5\xff\xfe"), "???");
	/* stray continuation bytes, cut-short sequences */
	assert_string_equal(SAN("\x80\xbf"), "??");
	assert_string_equal(SAN("a\xe2\x82"), "a??");
	assert_string_equal(SAN("\xe2\x82z"), "??z");
	assert_string_equal(SAN("\xf0\x9f\x98"), "???");
}

static void
test_sanitize_bounds(void **state)
{
	char	buf[8];
	char	src[4] = { 'a', 'b', 'c', 'd' };	/* no NUL: srclen is the limit */

	(void)state;
	assert_int_equal(text_sanitize(buf, sizeof(buf), src, sizeof(src)), 4);
	assert_string_equal(buf, "abcd");
	assert_int_equal(text_sanitize(buf, sizeof(buf), src, 2), 2);
	assert_string_equal(buf, "ab");
	/* truncation at dstlen-1 */
	assert_int_equal(text_sanitize(buf, 3, "hello", 5), 2);
	assert_string_equal(buf, "he");
	/* a character that does not fit whole is dropped, not split */
	assert_int_equal(text_sanitize(buf, 3, "a\xe2\x82\xac", 4), 1);
	assert_string_equal(buf, "a");
	assert_int_equal(text_sanitize(buf, 4, "\xc3\xa9\xc3\xa9", 4), 2);
	assert_string_equal(buf, "\xc3\xa9");
	assert_int_equal(text_sanitize(buf, 5, "a\xe2\x82\xac", 4), 4);
	assert_string_equal(buf, "a\xe2\x82\xac");
	/* dstlen 0 writes nothing; NULL src gives "" */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(text_sanitize(buf, 0, "abc", 3), 0);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(text_sanitize(buf, sizeof(buf), NULL, 10), 0);
	assert_string_equal(buf, "");
	assert_int_equal(text_sanitize(buf, 1, "abc", 3), 0);
	assert_string_equal(buf, "");
}

/*
 * Random bytes: the output must decode as UTF-8 (checked with the C
 * library's own decoder) and hold no control character of any kind.
 */
static void
test_sanitize_fuzz(void **state)
{
	unsigned char	src[64];
	char		dst[sizeof(src) + 1];
	wchar_t		wc[sizeof(dst)];
	size_t		n, o, i, k;
	unsigned	seed = 12345;
	int		iter;

	(void)state;
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		skip();
	for (iter = 0; iter < 20000; iter++) {
		n = (size_t)(rand_r(&seed) % sizeof(src));
		for (i = 0; i < n; i++) {
			/* bias towards bytes that matter for UTF-8 */
			k = (size_t)rand_r(&seed);
			src[i] = (k & 1) ? (unsigned char)(0x80 + (k >> 1) % 0x80) :
			    (unsigned char)((k >> 1) % 256);
		}
		o = text_sanitize(dst, sizeof(dst), (const char *)src, n);
		assert_true(o <= n);
		assert_int_equal(strlen(dst), o);
		k = mbstowcs(wc, dst, sizeof(wc) / sizeof(wc[0]));
		assert_true(k != (size_t)-1);
		for (i = 0; i < k; i++) {
			assert_true(wc[i] >= 0x20);
			assert_true(wc[i] != 0x7f);
			assert_true(wc[i] < 0x80 || wc[i] > 0x9f);
			assert_true(wc[i] < 0xd800 || wc[i] > 0xdfff);
			assert_true(wc[i] <= 0x10ffff);
		}
	}
	setlocale(LC_CTYPE, "C");
}

static void
test_rtrim(void **state)
{
	char	a[] = "serial\n", b[] = "  x \t\r\n\v\f ", c[] = "   ", d[] = "";
	char	e[] = "no-trailing";

	(void)state;
	assert_string_equal(text_rtrim(a), "serial");
	assert_string_equal(text_rtrim(b), "  x");
	assert_string_equal(text_rtrim(c), "");
	assert_string_equal(text_rtrim(d), "");
	assert_ptr_equal(text_rtrim(e), e);
	assert_string_equal(e, "no-trailing");
	assert_null(text_rtrim(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_sanitize_controls),
		cmocka_unit_test(test_sanitize_utf8),
		cmocka_unit_test(test_sanitize_bounds),
		cmocka_unit_test(test_sanitize_fuzz),
		cmocka_unit_test(test_rtrim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
