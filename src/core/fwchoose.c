/*
 * fwchoose.c: which IPSW a phone gets (core, pure).
 *
 * The phone's chip and board decide, never its name: a phone in recovery
 * or DFU tells only CPID and BDID, and an IPSW that lacks an identity for
 * them cannot restore it whatever its file name says. Among the builds
 * that fit, a [pin] for the model wins, then the [bench] ipsw file, then
 * the newest build. A build the index says Apple no longer signs is never
 * chosen: its restore would only fail at the signing request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwchoose.h"
#include "text.h"

/* Next number of a dotted version; *sp is left after the dot. -1 at the end. */
static long
next_part(const char **sp)
{
	const char	*s = *sp;
	long		 v = 0;

	if (*s == '\0')
		return (-1);
	while (*s >= '0' && *s <= '9') {
		if (v < 100000000)
			v = v * 10 + (*s - '0');
		s++;
	}
	/* a part with letters ("1b2") counts for its leading digits */
	while (*s != '\0' && *s != '.')
		s++;
	if (*s == '.')
		s++;
	*sp = s;
	return (v);
}

/* strcmp-like comparison of dotted versions: "16.7.10" > "16.7.9", "17" < "17.0.1". */
int
fw_version_cmp(const char *a, const char *b)
{
	long	 x, y;

	for (;;) {
		x = next_part(&a);
		y = next_part(&b);
		if (x == -1 && y == -1)
			return (0);
		/* a missing part is 0 but the longer version is newer ("17" < "17.0") */
		if (x != y) {
			if (x == -1)
				return (-1);
			if (y == -1)
				return (1);
			return (x < y ? -1 : 1);
		}
	}
}

struct buildid {
	long	 major;
	char	 train;
	long	 minor;
	const char *rest;
};

static void
build_split(const char *s, struct buildid *b)
{
	memset(b, 0, sizeof(*b));
	while (*s >= '0' && *s <= '9') {
		if (b->major < 100000000)
			b->major = b->major * 10 + (*s - '0');
		s++;
	}
	if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		b->train = *s++;
	while (*s >= '0' && *s <= '9') {
		if (b->minor < 100000000)
			b->minor = b->minor * 10 + (*s - '0');
		s++;
	}
	b->rest = s;
}

/* strcmp-like comparison of build ids: "20H350" > "20H343" > "20G75", "19H386" < "20A362". */
int
fw_build_cmp(const char *a, const char *b)
{
	struct buildid	 x, y;
	int		 c;

	build_split(a, &x);
	build_split(b, &y);
	if (x.major != y.major)
		return (x.major < y.major ? -1 : 1);
	if (x.train != y.train)
		return (x.train < y.train ? -1 : 1);
	if (x.minor != y.minor)
		return (x.minor < y.minor ? -1 : 1);
	c = strcmp(x.rest, y.rest);
	return (c < 0 ? -1 : c > 0);
}

/* Whole-word match in a space separated list. */
static bool
word_in(const char *list, const char *w)
{
	size_t	 n = strlen(w);
	const char *p = list;

	if (n == 0)
		return (false);
	while ((p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return (true);
		p += n;
	}
	return (false);
}

/* True when the build has an identity for this phone's chip and board (and product type if known). */
bool
fw_build_fits(const struct fw_build *b, const struct fw_phone *ph)
{
	size_t	 i;
	bool	 chip = false;

	/* a phone in normal mode may have told only its product type */
	if (ph->cpid == 0 && ph->bdid == 0)
		return (ph->product_type[0] != '\0' && word_in(b->product_types, ph->product_type));
	for (i = 0; i < b->nids && i < FW_MAX_IDS; i++) {
		if (b->ids[i].cpid == ph->cpid && b->ids[i].bdid == ph->bdid) {
			chip = true;
			break;
		}
	}
	if (!chip)
		return (false);
	if (ph->product_type[0] != '\0' && !word_in(b->product_types, ph->product_type))
		return (false);
	return (true);
}

/* True when a pin value names an IPSW path rather than a version or build. */
bool
fw_pin_is_path(const char *v)
{
	size_t	 n = strlen(v);

	return (strchr(v, '/') != NULL || (n > 5 && strcmp(v + n - 5, ".ipsw") == 0));
}

/* The [pin] entry for the phone's model, or NULL. */
const struct fw_pin *
fw_pin_find(const struct fw_pin *pins, size_t npins, const struct fw_phone *ph)
{
	size_t	 i;

	for (i = 0; i < npins; i++) {
		if (pins[i].model[0] == '\0')
			continue;
		if ((ph->product_type[0] && strcmp(pins[i].model, ph->product_type) == 0) ||
		    (ph->model[0] && strcmp(pins[i].model, ph->model) == 0))
			return (&pins[i]);
	}
	return (NULL);
}

/* "iPhone10,6 (CPID 0x8015 BDID 0x0a)", or "CPID 0x8015 BDID 0x0a" without a model. */
void
fw_phone_name(const struct fw_phone *ph, char *out, size_t outlen)
{
	const char	*m = ph->product_type[0] ? ph->product_type : ph->model;

	if (m[0] != '\0')
		snprintf(out, outlen, "%s (CPID 0x%04x BDID 0x%02x)", m, ph->cpid, ph->bdid);
	else
		snprintf(out, outlen, "CPID 0x%04x BDID 0x%02x", ph->cpid, ph->bdid);
}

static bool
newer(const struct fw_build *a, const struct fw_build *b)
{
	int	 c = fw_version_cmp(a->version, b->version);

	if (c != 0)
		return (c > 0);
	return (fw_build_cmp(a->build, b->build) > 0);
}

static bool
pin_matches(const struct fw_build *b, const struct fw_pin *pin)
{
	if (fw_pin_is_path(pin->value))
		return (strcmp(b->path, pin->value) == 0);
	return (strcmp(b->build, pin->value) == 0 || fw_version_cmp(b->version, pin->value) == 0);
}

/* Choose the IPSW for a phone among n builds: the index chosen, or -1 with a reason. */
int
fw_choose(const struct fw_build *bs, size_t n, const struct fw_phone *ph,
    const struct fw_pin *pins, size_t npins, char *reason, size_t reasonlen)
{
	const struct fw_pin	*pin;
	char			 name[96];
	size_t			 i;
	int			 best = -1, fits = 0, unsigned_n = 0, pass;

	if (reason != NULL && reasonlen > 0)
		reason[0] = '\0';
	fw_phone_name(ph, name, sizeof(name));
	pin = fw_pin_find(pins, npins, ph);

	/* pass 0: the model's [pin]; pass 1: the [bench] ipsw; pass 2: anything */
	for (pass = pin ? 0 : 1; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			const struct fw_build *b = &bs[i];

			if (!b->usable || !fw_build_fits(b, ph))
				continue;
			if (pass == 0 && !pin_matches(b, pin))
				continue;
			if (pass == 1 && !b->global_pin)
				continue;
			if (pass == 2)
				fits++;
			if (b->signed_state == FW_SIGNED_NO) {
				if (pass == 2)
					unsigned_n++;
				continue;
			}
			if (best == -1 || newer(b, &bs[best]))
				best = (int)i;
		}
		if (best != -1)
			return (best);
		if (pass == 0) {
			/* a pin that cannot be honoured is not silently replaced */
			if (reason != NULL)
				snprintf(reason, reasonlen, "%s is pinned to %s, which the library "
				    "lacks (or Apple no longer signs)", name, pin->value);
			return (-1);
		}
	}
	if (reason != NULL) {
		if (fits > 0 && unsigned_n == fits)
			snprintf(reason, reasonlen, "no signed firmware for %s (%d build%s no longer signed)",
			    name, fits, fits == 1 ? "" : "s");
		else
			snprintf(reason, reasonlen, "no firmware for %s", name);
	}
	return (-1);
}
