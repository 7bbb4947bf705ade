/* text.h: small string helpers shared by every layer (core, libc only). */
#ifndef IDB_TEXT_H
#define IDB_TEXT_H

#include <stddef.h>

/* Copy at most dstlen-1 bytes of src, always NUL-terminate; returns strlen(src). */
size_t text_copy(char *dst, const char *src, size_t dstlen);

/*
 * Copy srclen bytes of untrusted text (from a device or a child) into dst,
 * replacing every control character, DEL and invalid UTF-8 byte with '?'
 * (tabs become a space). Always NUL-terminates; returns bytes written.
 * Anything that reaches a terminal or a JSON string goes through this first.
 */
size_t text_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

/* Trim trailing whitespace (including the "\n" sysfs attributes end with) in place. */
char *text_rtrim(char *s);

/* Format a one-line error into err; nothing when err is NULL or errlen is 0. */
void text_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
