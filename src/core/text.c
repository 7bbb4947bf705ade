/*
 * text.c: small string helpers shared by every layer (core, libc only).
 *
 * text_sanitize() is the single gate between untrusted bytes (USB serial
 * strings, idevicerestore output, command lines) and a terminal or a JSON
 * string, so it is strict: anything that could move the cursor, change the
 * terminal state or confuse a UTF-8 decoder becomes '?'.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* Copy at most dstlen-1 bytes of src, always NUL-terminate; returns strlen(src). */
size_t
text_copy(char *dst, const char *src, size_t dstlen)
{
	size_t	len, n;

	if (src == NULL)
		src = "";
	len = strlen(src);
	if (dst == NULL || dstlen == 0)
		return len;
	n = len < dstlen - 1 ? len : dstlen - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
	return len;
}

/*
 * Length of the valid UTF-8 sequence at s (at most avail bytes), or 0 when
 * it is invalid: a stray continuation byte, an overlong form, a surrogate,
 * a code point above U+10FFFF or a sequence cut short.
 */
static size_t
utf8_seqlen(const unsigned char *s, size_t avail)
{
	unsigned char	c = s[0], lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;	/* 0x80-0xc1 (continuation, overlong 2-byte) and 0xf5-0xff */
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

/*
 * Valid UTF-8 that a terminal still treats as control: the C1 controls
 * (U+0080-U+009F, CSI among them) and the bidi overrides/isolates, which
 * can make a line display as something other than what it says.
 */
static int
utf8_is_control(const unsigned char *s, size_t n)
{
	if (n == 2 && s[0] == 0xc2 && s[1] <= 0x9f)
		return 1;
	if (n == 3 && s[0] == 0xe2) {
		if (s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
			return 1;	/* U+202A-U+202E */
		if (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
			return 1;	/* U+2066-U+2069 */
	}
	return 0;
}

/*
 * Copy srclen bytes of untrusted text into dst with every control byte,
 * DEL and invalid UTF-8 byte replaced by '?' (tab -> space). A multibyte
 * character that does not fit whole is dropped rather than split.
 */
size_t
text_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n;

	if (dst == NULL || dstlen == 0)
		return 0;
	if (src == NULL)
		srclen = 0;
	while (i < srclen && o + 1 < dstlen) {
		if (s[i] == '\t') {
			dst[o++] = ' ';
			i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			dst[o++] = '?';
			i++;
		} else if (s[i] < 0x80) {
			dst[o++] = (char)s[i++];
		} else if ((n = utf8_seqlen(s + i, srclen - i)) == 0) {
			dst[o++] = '?';
			i++;
		} else if (utf8_is_control(s + i, n)) {
			dst[o++] = '?';
			i += n;
		} else {
			if (o + n >= dstlen)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
		}
	}
	dst[o] = '\0';
	return o;
}

/* Trim trailing whitespace (including the "\n" sysfs attributes end with) in place. */
char *
text_rtrim(char *s)
{
	size_t	len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == '\v' ||
	    s[len - 1] == '\f'))
		len--;
	s[len] = '\0';
	return s;
}

/* The error-buffer formatter every module uses. */
void
text_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
