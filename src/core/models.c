/*
 * models.c: Apple model table lookups (core).
 *
 * One fixed-capacity table, filled at start-up from libirecovery (idev.c)
 * and then from config/models.tsv, so the file can add models Debian's
 * libirecovery does not know and correct the ones it does.
 *
 * A row is keyed by product type + board id + chip id: the A9 phones and
 * iPads (iPhone8,1 n71ap/n71map, ...) exist with the same product type and
 * board id on two chips (Samsung 0x8000, TSMC 0x8003), and a lookup by chip
 * must find both. Adding a row with the same three replaces it.
 *
 * models_load_file() is the one place in this file that does I/O: it reads
 * the whole file first and only then adds the rows, so a malformed line
 * leaves the table as it was.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "text.h"

#define MODELS_MAX	512
#define MODELS_LINE_MAX	512		/* bytes of a models.tsv line */

static struct model	models[MODELS_MAX];
static size_t		nmodels;

/* Add or replace (by product type + bdid, and cpid: see above) one model. */
int
models_add(const struct model *m)
{
	struct model	*dst = NULL;
	size_t		 i;

	if (m == NULL || memchr(m->product_type, '\0', sizeof(m->product_type)) == NULL ||
	    m->product_type[0] == '\0')
		return -1;
	for (i = 0; i < nmodels; i++) {
		if (models[i].bdid == m->bdid && models[i].cpid == m->cpid &&
		    strcmp(models[i].product_type, m->product_type) == 0) {
			dst = &models[i];
			break;
		}
	}
	if (dst == NULL) {
		if (nmodels == MODELS_MAX)
			return -1;
		dst = &models[nmodels++];
	}
	*dst = *m;
	/* the caller's buffers may not be terminated; ours always are */
	dst->product_type[sizeof(dst->product_type) - 1] = '\0';
	dst->hw_model[sizeof(dst->hw_model) - 1] = '\0';
	dst->name[sizeof(dst->name) - 1] = '\0';
	return 0;
}

/* The model with this chip and board id, NULL if unknown. */
const struct model *
models_find_chip(uint32_t cpid, uint32_t bdid)
{
	size_t	i;

	for (i = 0; i < nmodels; i++) {
		if (models[i].cpid == cpid && models[i].bdid == bdid)
			return &models[i];
	}
	return NULL;
}

/* The first model with this product type ("iPhone9,1"), NULL if unknown. */
const struct model *
models_find_product(const char *product_type)
{
	size_t	i;

	if (product_type == NULL)
		return NULL;
	for (i = 0; i < nmodels; i++) {
		if (strcmp(models[i].product_type, product_type) == 0)
			return &models[i];
	}
	return NULL;
}

/* Product type first, then chip and board id: the one fallback for every caller. */
const struct model *
models_find_device(const char *product_type, uint32_t cpid, uint32_t bdid)
{
	const struct model	*m = NULL;

	if (product_type != NULL && product_type[0] != '\0')
		m = models_find_product(product_type);
	if (m == NULL && cpid != 0 && bdid != 0)
		m = models_find_chip(cpid, bdid);
	return m;
}

/* Parse "<prefix><major>,<minor>" strictly (1-3 digits each); returns major or -1. */
static int
product_major(const char *pt, const char *prefix)
{
	size_t		 plen = strlen(prefix);
	const char	*p;
	int		 major = 0, nd;

	if (strncmp(pt, prefix, plen) != 0)
		return -1;
	p = pt + plen;
	for (nd = 0; *p >= '0' && *p <= '9'; p++, nd++) {
		if (nd == 3)
			return -1;
		major = major * 10 + (*p - '0');
	}
	if (nd == 0 || *p++ != ',')
		return -1;
	for (nd = 0; *p >= '0' && *p <= '9'; p++, nd++) {
		if (nd == 3)
			return -1;
	}
	if (nd == 0 || *p != '\0')
		return -1;
	return major;
}

/*
 * Button family for a model without a table entry, from the product type.
 * iPhone: 8,x and earlier (6s, SE 1st gen) have a Home button; 9,x is the
 * iPhone 7 with its own Side + Volume Down; 10,x (8/X) and later use
 * Volume Up, Volume Down, Side (the SE 2nd/3rd gen too: a Home button, but
 * the iPhone 8 sequence). iPod touch: Home. iPad: 1-7 and 11-12 (iPad 5-9,
 * mini 5, Air 3, Pro 10.5/2nd gen 12.9) have a Home button; 8,x (Pro 3rd
 * gen, Face ID) and 13,x and later (Face ID or Touch ID in the top button)
 * use the iPhone 8 sequence with the top button. Anything else: unknown.
 */
enum button_family
models_buttons_guess(const char *product_type)
{
	int	major;

	if (product_type == NULL)
		return BUTTONS_UNKNOWN;
	if ((major = product_major(product_type, "iPhone")) >= 0) {
		if (major == 0)
			return BUTTONS_UNKNOWN;
		if (major <= 8)
			return BUTTONS_HOME;
		if (major == 9)
			return BUTTONS_7;
		return BUTTONS_8;
	}
	if ((major = product_major(product_type, "iPod")) >= 1)
		return BUTTONS_HOME;
	if ((major = product_major(product_type, "iPad")) >= 1) {
		if (major <= 7 || major == 11 || major == 12)
			return BUTTONS_HOME;
		if (major == 8 || major >= 13)
			return BUTTONS_8;
	}
	return BUTTONS_UNKNOWN;
}

/* The word for a button family, as in models.tsv: home, 7, 8, unknown. */
const char *
models_buttons_name(enum button_family b)
{
	switch (b) {
	case BUTTONS_HOME:
		return "home";
	case BUTTONS_7:
		return "7";
	case BUTTONS_8:
		return "8";
	case BUTTONS_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Number of models in the table. */
size_t
models_count(void)
{
	return nmodels;
}

/* Empty the table. */
void
models_clear(void)
{
	memset(models, 0, sizeof(models));
	nmodels = 0;
}

/* Next word of a line (split on spaces and tabs), NUL-terminated in place. */
static char *
next_word(char **pp)
{
	char	*p = *pp, *w;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	w = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return w;
}

/* Hex with an optional 0x, 1-8 digits. */
static int
parse_hex32(const char *s, uint32_t *out)
{
	uint32_t	v = 0;
	size_t		n = 0;
	int		d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s != '\0'; s++, n++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (n == 8)
			return -1;
		v = (v << 4) | (uint32_t)d;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

static int
word_ok(const char *w, size_t max, const char *extra)
{
	size_t	n = strlen(w), i;

	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++) {
		if ((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
		    (w[i] >= '0' && w[i] <= '9') || strchr(extra, w[i]) != NULL)
			continue;
		return 0;
	}
	return 1;
}

/* One data line into *m; NULL or the reason it is malformed. */
static const char *
parse_line(char *line, struct model *m)
{
	char		*p = line, *w;
	size_t		 i;
	static const struct {
		const char		*name;
		enum button_family	 b;
	} buttons[] = {
		{ "home", BUTTONS_HOME }, { "7", BUTTONS_7 }, { "8", BUTTONS_8 },
		{ "unknown", BUTTONS_UNKNOWN }
	};

	memset(m, 0, sizeof(*m));
	if ((w = next_word(&p)) == NULL)
		return "missing product type";
	if (!word_ok(w, sizeof(m->product_type), ","))
		return "bad product type";
	text_copy(m->product_type, w, sizeof(m->product_type));
	if ((w = next_word(&p)) == NULL)
		return "missing cpid";
	if (parse_hex32(w, &m->cpid) != 0)
		return "bad cpid";
	if ((w = next_word(&p)) == NULL)
		return "missing bdid";
	if (parse_hex32(w, &m->bdid) != 0)
		return "bad bdid";
	if ((w = next_word(&p)) == NULL)
		return "missing hardware model";
	if (!word_ok(w, sizeof(m->hw_model), ""))
		return "bad hardware model";
	text_copy(m->hw_model, w, sizeof(m->hw_model));
	if ((w = next_word(&p)) == NULL)
		return "missing buttons";
	for (i = 0; i < sizeof(buttons) / sizeof(buttons[0]); i++) {
		if (strcmp(w, buttons[i].name) == 0)
			break;
	}
	if (i == sizeof(buttons) / sizeof(buttons[0]))
		return "bad buttons (home, 7, 8 or unknown)";
	m->buttons = buttons[i].b;
	while (*p == ' ' || *p == '\t')
		p++;
	text_rtrim(p);
	if (*p == '\0')
		return "missing name";
	if (strlen(p) >= sizeof(m->name))
		return "name too long";
	text_sanitize(m->name, sizeof(m->name), p, strlen(p));
	return NULL;
}

/*
 * Read one line into buf (without the newline). 1 for a line, 0 at end of
 * file; -1 with *why set for a line that is too long or holds a NUL. The
 * rest of a bad line is not read: the caller stops at the first error.
 */
static int
read_line(FILE *f, char *buf, size_t size, const char **why)
{
	size_t	n = 0;
	int	c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0') {
			*why = "NUL byte";
			return -1;
		}
		if (n + 1 >= size) {
			*why = "line too long";
			return -1;
		}
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	if (c == EOF && n == 0)
		return 0;
	return 1;
}

/* How many of rows[0..n) would be new rows of the table (not replacements). */
static size_t
count_new(const struct model *rows, size_t n)
{
	size_t	i, j, fresh = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nmodels; j++) {
			if (models[j].cpid == rows[i].cpid && models[j].bdid == rows[i].bdid &&
			    strcmp(models[j].product_type, rows[i].product_type) == 0)
				break;
		}
		if (j < nmodels)
			continue;
		for (j = 0; j < i; j++) {
			if (rows[j].cpid == rows[i].cpid && rows[j].bdid == rows[i].bdid &&
			    strcmp(rows[j].product_type, rows[i].product_type) == 0)
				break;
		}
		if (j == i)
			fresh++;
	}
	return fresh;
}

/*
 * Load a TSV file: product_type cpid bdid hw_model buttons name...
 * ('#' comments, blank lines). Returns the number of rows added, or -1
 * with "path:line: reason" in err; the table is untouched on error.
 */
int
models_load_file(const char *path, char *err, size_t errlen)
{
	FILE		*f;
	struct model	*rows;
	char		 line[MODELS_LINE_MAX + 1], *p;
	const char	*why = NULL;
	size_t		 nrows = 0, lineno = 0, i;
	int		 ret = -1, r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL)
		return -1;
	if ((f = fopen(path, "r")) == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((rows = calloc(MODELS_MAX, sizeof(*rows))) == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return -1;
	}

	while ((r = read_line(f, line, sizeof(line), &why)) != 0) {
		lineno++;
		if (r < 0)
			goto bad;
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		text_rtrim(p);
		if (*p == '\0' || *p == '#')
			continue;
		if (nrows == MODELS_MAX) {
			why = "too many models";
			goto bad;
		}
		if ((why = parse_line(p, &rows[nrows])) != NULL)
			goto bad;
		nrows++;
	}
	if (ferror(f)) {
		if (err != NULL)
			snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (nmodels + count_new(rows, nrows) > MODELS_MAX) {
		if (err != NULL)
			snprintf(err, errlen, "%s: model table full", path);
		goto out;
	}
	for (i = 0; i < nrows; i++)
		models_add(&rows[i]);
	ret = (int)nrows;
	goto out;

bad:
	if (err != NULL)
		snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
out:
	free(rows);
	fclose(f);
	return ret;
}
