/*
 * fuzz_text.c: text_sanitize(), the one gate between device or child bytes
 * and a terminal. Whatever goes in, what comes out must be valid UTF-8
 * without controls, NUL-terminated inside dst, and never longer than the
 * input; text_copy() and text_rtrim() are checked alongside.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 caps[] = { 1, 2, 3, 4, 5, 7, 16, 64, 4096 };
	const char		*src = (const char *)data;
	char			*dst, *s, *t, small[8];
	size_t			 i, n, len;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		/* exactly cap bytes, so a write past dst is caught */
		if ((dst = malloc(caps[i])) == NULL)
			abort();
		n = text_sanitize(dst, caps[i], src, size);
		if (n >= caps[i])
			fuzz_fail("text_sanitize returned %zu for a %zu-byte dst", n, caps[i]);
		if (n > size)
			fuzz_fail("text_sanitize grew %zu bytes into %zu", size, n);
		if (strlen(dst) != n)
			fuzz_fail("text_sanitize returned %zu but wrote %zu", n, strlen(dst));
		fuzz_check_clean("text_sanitize", dst, caps[i]);
		/* with room for everything nothing is dropped but C1/bidi sequences */
		if (caps[i] > size && size > 0 && n == 0)
			fuzz_fail("text_sanitize dropped all of %zu bytes", size);
		free(dst);
	}
	if (text_sanitize(small, 0, src, size) != 0)
		fuzz_fail("text_sanitize wrote into a 0-byte dst");

	/* text_copy and text_rtrim on the input as a C string */
	s = fuzz_strdup(data, size);
	len = strlen(s);
	if (text_copy(small, s, sizeof(small)) != len)
		fuzz_fail("text_copy did not return strlen(src)");
	if (strlen(small) >= sizeof(small) || strncmp(small, s, strlen(small)) != 0)
		fuzz_fail("text_copy is not a prefix of src");
	if ((t = strdup(s)) == NULL)
		abort();
	text_rtrim(t);
	n = strlen(t);
	if (n > len || strncmp(t, s, n) != 0)
		fuzz_fail("text_rtrim changed more than the tail");
	if (n > 0 && strchr(" \t\n\r\v\f", t[n - 1]) != NULL)
		fuzz_fail("text_rtrim left trailing space");
	for (i = n; i < len; i++) {
		if (strchr(" \t\n\r\v\f", s[i]) == NULL)
			fuzz_fail("text_rtrim removed a non-space");
	}
	free(t);
	free(s);
	return 0;
}
