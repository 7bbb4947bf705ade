/*
 * fuzz_ibootstr.c: the USB serial string of a recovery/DFU device and a
 * normal-mode UDID, both straight from hostile hardware.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ibootstr.h"

static void
check_info(const char *what, int rc, const struct iboot_info *in)
{
	if (rc != 0 && rc != -1)
		fuzz_fail("%s: returned %d", what, rc);
	if (rc == 0 && (in->have & (IBOOT_HAVE_CPID | IBOOT_HAVE_ECID)) !=
	    (IBOOT_HAVE_CPID | IBOOT_HAVE_ECID))
		fuzz_fail("%s: success without CPID and ECID (have %#x)", what, in->have);
	FUZZ_CLEAN("srtg", in->srtg);
	FUZZ_CLEAN("srnm", in->srnm);
	FUZZ_CLEAN("imei", in->imei);
	FUZZ_CLEAN("pwnd", in->pwnd);
}

static int
same_info(const struct iboot_info *a, const struct iboot_info *b)
{
	return a->have == b->have && a->cpid == b->cpid && a->cprv == b->cprv &&
	    a->cpfm == b->cpfm && a->scep == b->scep && a->bdid == b->bdid &&
	    a->ibfl == b->ibfl && a->sdom == b->sdom && a->ecid == b->ecid &&
	    strcmp(a->srtg, b->srtg) == 0 && strcmp(a->srnm, b->srnm) == 0 &&
	    strcmp(a->imei, b->imei) == 0 && strcmp(a->pwnd, b->pwnd) == 0;
}

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* udid_parse() written again from its contract, as the oracle. */
static int
udid_expect(const uint8_t *s, size_t len, uint32_t *cpid, uint64_t *ecid)
{
	const uint8_t	*nul;
	size_t		 i, skip;

	if ((nul = memchr(s, '\0', len)) != NULL)
		len = (size_t)(nul - s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	for (i = 0; i < len; i++) {
		if (hex(s[i]) < 0 && !(len == 25 && i == 8 && s[i] == '-'))
			return -1;
	}
	if (len == 40)
		return 0;
	if (len != 24 && !(len == 25 && s[8] == '-'))
		return -1;
	skip = len == 25;
	*cpid = 0;
	*ecid = 0;
	for (i = 0; i < 8; i++)
		*cpid = *cpid << 4 | (uint32_t)hex(s[i]);
	for (i = 8 + skip; i < len; i++)
		*ecid = *ecid << 4 | (uint64_t)hex(s[i]);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data;
	const uint8_t		*nul;
	struct iboot_info	 a, b;
	char			 buf[32];
	uint32_t		 cpid, cpid2;
	uint64_t		 ecid, ecid2;
	int			 rc, rc2;

	/* garbage in out, so "zeroed except what was parsed" is tested */
	memset(&a, 0xa5, sizeof(a));
	rc = ibootstr_parse(s, size, &a);
	check_info("ibootstr_parse", rc, &a);

	/* it stops at a NUL: the bytes after one must not matter */
	if ((nul = memchr(data, '\0', size)) != NULL) {
		memset(&b, 0x5a, sizeof(b));
		rc2 = ibootstr_parse(s, (size_t)(nul - data), &b);
		check_info("ibootstr_parse (cut at NUL)", rc2, &b);
		if (rc != rc2 || !same_info(&a, &b))
			fuzz_fail("ibootstr_parse: bytes after the NUL changed the result");
	}

	cpid = 0xdeadbeef;
	ecid = 0xdeadbeef;
	rc = udid_parse(s, size, &cpid, &ecid);
	if (rc < -1 || rc > 1)
		fuzz_fail("udid_parse returned %d", rc);
	if (rc != udid_expect(data, size, &cpid2, &ecid2) ||
	    (rc == 1 && (cpid != cpid2 || ecid != ecid2)))
		fuzz_fail("udid_parse: %d (%x/%llx), the contract says otherwise", rc,
		    (unsigned)cpid, (unsigned long long)ecid);
	if (rc == 1) {
		/* what it read must be what the UDID says, both ways round */
		snprintf(buf, sizeof(buf), "%08" PRIX32 "-%016" PRIX64, cpid, ecid);
		if (udid_parse(buf, strlen(buf), &cpid2, &ecid2) != 1 || cpid2 != cpid ||
		    ecid2 != ecid)
			fuzz_fail("udid_parse: %s does not parse back", buf);
		if (size < 24)
			fuzz_fail("udid_parse: new-style UDID from %zu bytes", size);
	}
	return 0;
}
