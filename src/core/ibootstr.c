/*
 * ibootstr.c: parse what an Apple device says about itself over USB (core).
 *
 * The serial string is "KEY:VALUE" fields separated by spaces; VALUE is hex
 * digits or a [bracketed] string. It comes from whatever is plugged into the
 * bench, so the parser is strict: a field it knows must be exactly right, a
 * field seen twice is rejected (a spoofed second ECID must not win), and a
 * token that is not KEY:VALUE at all makes the whole string malformed.
 * Unknown keys (NONC, SNON, future ones) are skipped. One pass, no
 * allocation, never past len or the first NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ibootstr.h"
#include "text.h"

#define IBOOT_KEY_MAX	15

enum field_kind {
	F_HEX32,
	F_HEX64,
	F_STR
};

struct field {
	const char	*key;
	unsigned	 have;
	enum field_kind	 kind;
	size_t		 off;		/* offset of the value in struct iboot_info */
	size_t		 size;		/* its size (string buffer size for F_STR) */
};

#define FLD(k, h, kind, m) \
	{ k, h, kind, offsetof(struct iboot_info, m), sizeof(((struct iboot_info *)0)->m) }

static const struct field fields[] = {
	FLD("CPID", IBOOT_HAVE_CPID, F_HEX32, cpid),
	FLD("CPRV", IBOOT_HAVE_CPRV, F_HEX32, cprv),
	FLD("CPFM", IBOOT_HAVE_CPFM, F_HEX32, cpfm),
	FLD("SCEP", IBOOT_HAVE_SCEP, F_HEX32, scep),
	FLD("BDID", IBOOT_HAVE_BDID, F_HEX32, bdid),
	FLD("ECID", IBOOT_HAVE_ECID, F_HEX64, ecid),
	FLD("IBFL", IBOOT_HAVE_IBFL, F_HEX32, ibfl),
	FLD("SDOM", IBOOT_HAVE_SDOM, F_HEX32, sdom),
	FLD("SRTG", IBOOT_HAVE_SRTG, F_STR, srtg),
	FLD("SRNM", IBOOT_HAVE_SRNM, F_STR, srnm),
	FLD("IMEI", IBOOT_HAVE_IMEI, F_STR, imei),
	FLD("PWND", IBOOT_HAVE_PWND, F_STR, pwnd),
};

static int
is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Exactly n hex digits, at most maxdigits of them (leading zeros count:
 * a 17-digit ECID is not something a device sends).
 */
static int
parse_hex(const char *s, size_t n, size_t maxdigits, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;
	int		d;

	if (n == 0 || n > maxdigits)
		return -1;
	for (i = 0; i < n; i++) {
		if ((d = hexval(s[i])) < 0)
			return -1;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return 0;
}

static const struct field *
field_find(const char *key, size_t n)
{
	size_t	i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].key) == n && memcmp(fields[i].key, key, n) == 0)
			return &fields[i];
	}
	return NULL;
}

/* Store one value; the field's syntax has already been checked. */
static int
field_store(const struct field *f, struct iboot_info *out, const char *v, size_t n)
{
	char		*p = (char *)out + f->off;
	uint64_t	 x;
	uint32_t	 x32;

	switch (f->kind) {
	case F_HEX32:
		if (parse_hex(v, n, 8, &x) != 0)
			return -1;
		x32 = (uint32_t)x;
		memcpy(p, &x32, sizeof(x32));
		break;
	case F_HEX64:
		if (parse_hex(v, n, 16, &x) != 0)
			return -1;
		memcpy(p, &x, sizeof(x));
		break;
	case F_STR:
		if (n >= f->size)
			return -1;
		text_sanitize(p, f->size, v, n);
		break;
	}
	out->have |= f->have;
	return 0;
}

/*
 * Parse an iBoot serial string of at most len bytes (stops at a NUL).
 * 0 when CPID and ECID were found and everything present is well-formed.
 */
int
ibootstr_parse(const char *s, size_t len, struct iboot_info *out)
{
	const struct field	*f;
	const char		*key, *val, *end;
	size_t			 i = 0, klen, vlen;
	int			 bad = 0;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	end = memchr(s, '\0', len);
	if (end != NULL)
		len = (size_t)(end - s);

	while (!bad) {
		while (i < len && is_sep(s[i]))
			i++;
		if (i == len)
			break;

		/* KEY: upper-case letters and digits, then ':' */
		key = s + i;
		klen = 0;
		while (i < len && klen <= IBOOT_KEY_MAX &&
		    ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) {
			i++;
			klen++;
		}
		if (klen == 0 || klen > IBOOT_KEY_MAX || i == len || s[i] != ':') {
			bad = 1;
			break;
		}
		i++;
		f = field_find(key, klen);

		/* VALUE: [anything but ']'] or a run up to the next separator */
		if (i < len && s[i] == '[') {
			val = s + ++i;
			end = memchr(val, ']', len - i);
			if (end == NULL) {
				bad = 1;
				break;
			}
			vlen = (size_t)(end - val);
			i += vlen + 1;
			if (i < len && !is_sep(s[i])) {
				bad = 1;
				break;
			}
			if (f != NULL && f->kind != F_STR)
				bad = 1;
		} else {
			val = s + i;
			while (i < len && !is_sep(s[i]))
				i++;
			vlen = (size_t)(s + i - val);
			if (f != NULL && f->kind == F_STR)
				bad = 1;
		}
		if (bad || f == NULL)
			continue;
		if ((out->have & f->have) || field_store(f, out, val, vlen) != 0)
			bad = 1;
	}

	if (bad)
		return -1;
	if ((out->have & (IBOOT_HAVE_CPID | IBOOT_HAVE_ECID)) !=
	    (IBOOT_HAVE_CPID | IBOOT_HAVE_ECID))
		return -1;
	return 0;
}

/*
 * Parse a normal-mode UDID: "<CPID 8 hex>-<ECID 16 hex>" or the same 24 hex
 * without the dash -> 1; an old 40-hex UDID -> 0; else -1. Trailing
 * whitespace (the newline of a sysfs attribute) is ignored.
 */
int
udid_parse(const char *s, size_t len, uint32_t *cpid, uint64_t *ecid)
{
	const char	*end;
	uint64_t	 c, e;
	size_t		 i;

	if (cpid != NULL)
		*cpid = 0;
	if (ecid != NULL)
		*ecid = 0;
	if (s == NULL)
		return -1;
	end = memchr(s, '\0', len);
	if (end != NULL)
		len = (size_t)(end - s);
	while (len > 0 && is_sep(s[len - 1]))
		len--;

	if (len == 25 && s[8] == '-') {
		if (parse_hex(s, 8, 8, &c) != 0 || parse_hex(s + 9, 16, 16, &e) != 0)
			return -1;
	} else if (len == 24) {
		if (parse_hex(s, 8, 8, &c) != 0 || parse_hex(s + 8, 16, 16, &e) != 0)
			return -1;
	} else if (len == 40) {
		for (i = 0; i < len; i++) {
			if (hexval(s[i]) < 0)
				return -1;
		}
		return 0;
	} else
		return -1;
	if (cpid != NULL)
		*cpid = (uint32_t)c;
	if (ecid != NULL)
		*ecid = e;
	return 1;
}
