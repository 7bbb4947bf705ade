/*
 * fuzz.h: what every harness shares (libFuzzer entry point, the standalone
 * driver's contract, and independent checks of what reaches a terminal).
 *
 * The checks are written here again rather than calling text.c, so that a
 * bug in text_sanitize() cannot hide itself from its own oracle.
 */
#ifndef IDB_FUZZ_H
#define IDB_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A broken invariant: say which and abort, so libFuzzer keeps the input. */
static inline void __attribute__((noreturn, format(printf, 1, 2)))
fuzz_fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("fuzz invariant: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/*
 * Decode one UTF-8 character at s (avail bytes); returns its length and
 * the code point, or 0 when it is not well-formed (overlong, surrogate,
 * above U+10FFFF, cut short, stray continuation).
 */
static inline size_t
fuzz_utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
	static const uint32_t	min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t			n, i;
	uint32_t		c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* True for what a terminal would act on rather than show. */
static inline int
fuzz_is_control(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/*
 * s is a char array of cap bytes that is meant to hold sanitized text:
 * it must be NUL-terminated inside the array, valid UTF-8 and free of
 * control characters.
 */
static inline void
fuzz_check_clean(const char *what, const char *s, size_t cap)
{
	const unsigned char	*p = (const unsigned char *)s, *end;
	size_t			 n;
	uint32_t		 c;

	if ((end = memchr(s, '\0', cap)) == NULL)
		fuzz_fail("%s: not NUL-terminated within %zu bytes", what, cap);
	while (p < end) {
		if ((n = fuzz_utf8_decode(p, (size_t)(end - p), &c)) == 0)
			fuzz_fail("%s: invalid UTF-8 at byte %zu", what,
			    (size_t)(p - (const unsigned char *)s));
		if (fuzz_is_control(c))
			fuzz_fail("%s: control character U+%04X at byte %zu", what,
			    (unsigned)c, (size_t)(p - (const unsigned char *)s));
		p += n;
	}
}

/* s is a char array of cap bytes that must at least be a C string. */
static inline void
fuzz_check_terminated(const char *what, const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		fuzz_fail("%s: not NUL-terminated within %zu bytes", what, cap);
}

#define FUZZ_CLEAN(what, arr)		fuzz_check_clean((what), (arr), sizeof(arr))
#define FUZZ_TERMINATED(what, arr)	fuzz_check_terminated((what), (arr), sizeof(arr))

/* A NUL-terminated heap copy of the input (callers free it). */
static inline char *
fuzz_strdup(const uint8_t *data, size_t size)
{
	char	*s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
