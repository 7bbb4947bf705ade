/*
 * ipsw_xml.c: the few values the bench needs from an XML BuildManifest.plist,
 * read from its text without building a tree (adapter side of ipsw.c; libc
 * only).
 *
 * A real manifest is 1-4 MB of XML, some 50,000 elements, and libplist
 * spends about 20 ms building and freeing its tree for a handful of
 * strings. This reader walks the text once, keeps only ProductVersion,
 * ProductBuildVersion, SupportedProductTypes and, per build identity,
 * ApChipID, ApBoardID, Info.RestoreBehavior and Manifest.OS.Info.Path, and
 * gives the same results as libplist followed by manifest_parse(). It reads
 * only the plain form Apple writes: anything else (comments, CDATA,
 * character references, attributes, a duplicate key it cares about, a value
 * of an unexpected type, a date or real, a wanted string with an entity or a
 * control character, a manifest that manifest_parse() would refuse) makes it
 * give up, and the caller hands the same bytes to libplist, whose verdict and
 * error message then stand. So it never decides anything on its own about
 * an unusual file; tests/unit/test_ipsw.c compares the two on every manifest
 * it has, and on random damage to them.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ipsw.h"
#include "ipsw_int.h"
#include "text.h"

bool	ipsw_xml_disabled;

#define XML_DECL	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define XML_DOCTYPE	"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
			"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">"
#define XML_PLIST	"<plist version=\"1.0\">"
#define FX_DEPTH	48		/* deeper nesting: libplist's business */
#define FX_IDS		512		/* build identities kept before giving up */

enum fx_ctx { C_OTHER, C_ROOT, C_TYPES, C_IDS, C_ID, C_IDINFO, C_MANIFEST, C_OS, C_OSINFO };

struct fx {
	const char		*p, *end;
	struct ipsw_info	*out;
	struct ipsw_oslist	*l;
	bool			 have_ver, have_build, have_types, have_ids;
	size_t			 types_used;
	bool			 types_full;
	size_t			 nidentities;
	bool			 have_erase;
	/* the build identity being read */
	unsigned long long	 c, d;
	char			 os[256], beh[16];
	bool			 have_os, have_beh;
	struct { uint32_t c, d; } ids[FX_IDS];
	size_t			 nids;
};

/* A value as read: its element, and its text when it was asked for. */
enum fx_type { T_DICT, T_ARRAY, T_STRING, T_INTEGER, T_BOOL, T_DATA };

static int	value(struct fx *, const char *name, int kind, enum fx_ctx, int depth,
    enum fx_type *, char *buf, size_t buflen, size_t *lenp, bool *ent);

static void
ws(struct fx *x)
{
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r'))
		x->p++;
}

/* "<name>" (kind 0), "</name>" (1) or "<name/>" (2); lower-case names without attributes only. */
static int
tag(struct fx *x, char *name, size_t namelen, int *kind)
{
	size_t	 n = 0;

	ws(x);
	if (x->p >= x->end || *x->p != '<')
		return (-1);
	x->p++;
	*kind = 0;
	if (x->p < x->end && *x->p == '/') {
		*kind = 1;
		x->p++;
	}
	while (x->p < x->end && *x->p >= 'a' && *x->p <= 'z') {
		if (n + 1 >= namelen)
			return (-1);
		name[n++] = *x->p++;
	}
	name[n] = '\0';
	if (n == 0)
		return (-1);
	if (*kind == 0 && x->p < x->end && *x->p == '/') {
		*kind = 2;
		x->p++;
	}
	if (x->p >= x->end || *x->p != '>')
		return (-1);
	x->p++;
	return (0);
}

/* The closing tag of name must follow. */
static int
close_tag(struct fx *x, const char *name)
{
	char	 n[16];
	int	 kind;

	if (tag(x, n, sizeof(n), &kind) != 0 || kind != 1 || strcmp(n, name) != 0)
		return (-1);
	return (0);
}

/*
 * Text up to the next '<', the five named entities decoded, into buf when
 * given (1: it did not fit, read on). *ent: an entity was there.
 */
static int
text(struct fx *x, char *buf, size_t buflen, size_t *lenp, bool *ent)
{
	static const struct { const char *s; size_t n; char c; } e[] = {
		{ "&amp;", 5, '&' }, { "&lt;", 4, '<' }, { "&gt;", 4, '>' },
		{ "&quot;", 6, '"' }, { "&apos;", 6, '\'' },
	};
	size_t	 n = 0, i;
	int	 rc = 0;
	char	 ch;

	*ent = false;
	while (x->p < x->end && *x->p != '<') {
		ch = *x->p;
		if (ch == '&') {
			for (i = 0; i < sizeof(e) / sizeof(e[0]); i++)
				if ((size_t)(x->end - x->p) >= e[i].n && memcmp(x->p, e[i].s, e[i].n) == 0)
					break;
			if (i == sizeof(e) / sizeof(e[0]))
				return (-1);		/* &#...; and the rest: libplist's */
			ch = e[i].c;
			x->p += e[i].n;
			*ent = true;
		} else if (ch == '\0' || ch == '>')
			return (-1);
		else
			x->p++;
		if (buf != NULL) {
			if (n + 1 < buflen)
				buf[n++] = ch;
			else
				rc = 1;
		}
	}
	if (x->p >= x->end)
		return (-1);
	if (buf != NULL)
		buf[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return (rc);
}

/* Which bit of a dict's seen mask a key of interest takes (duplicates: give up). */
static unsigned
key_bit(enum fx_ctx ctx, const char *key)
{
	static const struct { enum fx_ctx ctx; const char *key; } k[] = {
		{ C_ROOT, "ProductVersion" }, { C_ROOT, "ProductBuildVersion" },
		{ C_ROOT, "SupportedProductTypes" }, { C_ROOT, "BuildIdentities" },
		{ C_ID, "ApChipID" }, { C_ID, "ApBoardID" }, { C_ID, "Info" }, { C_ID, "Manifest" },
		{ C_IDINFO, "RestoreBehavior" }, { C_MANIFEST, "OS" }, { C_OS, "Info" },
		{ C_OSINFO, "Path" },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i].ctx == ctx && strcmp(k[i].key, key) == 0)
			return (1U << i);
	return (0);
}

/* A wanted string: whole, no entity, nothing text_sanitize() would change. */
static bool
clean(const char *s, size_t len, size_t max, bool ent)
{
	char	 c[256];

	if (ent || len == 0 || len >= max || len >= sizeof(c))
		return (false);
	text_sanitize(c, sizeof(c), s, len);
	return (strcmp(c, s) == 0);
}

/* "<integer>" text as an ApChipID/ApBoardID: plain decimal; > UINT32_MAX when too big. */
static int
int_id(const char *s, size_t len, unsigned long long *v)
{
	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		return (-1);
	*v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		*v = *v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (*v > 0xffffffffULL)
		*v = 1ULL << 32;
	return (0);
}

/* One build identity read: its OS path and its pair. */
static int
identity_end(struct fx *x)
{
	bool	 primary = false;
	char	 err[8];

	if (x->have_os) {
		if (!x->have_erase && x->have_beh && strcasecmp(x->beh, "Erase") == 0)
			primary = x->have_erase = true;
		if (ipsw_oslist_add(x->l, x->os, strlen(x->os), primary, err, sizeof(err)) != 0)
			return (-1);
	}
	if (x->c <= 0xffffffffULL && x->d <= 0xffffffffULL) {
		if (x->nids == FX_IDS)
			return (-1);
		x->ids[x->nids].c = (uint32_t)x->c;
		x->ids[x->nids].d = (uint32_t)x->d;
		x->nids++;
	}
	return (0);
}

/* "<dict/>" as a build identity: one that names nothing. */
static int
dict_empty_id(struct fx *x)
{
	x->c = x->d = 1ULL << 32;
	x->have_os = x->have_beh = false;
	return (identity_end(x));
}

/* The value after "<key>key</key>" in a dict of ctx. */
static int
member(struct fx *x, enum fx_ctx ctx, const char *key, int depth)
{
	char		 name[16], buf[256];
	enum fx_ctx	 sub = C_OTHER;
	enum fx_type	 t;
	size_t		 len = 0;
	bool		 want = false, ent = false;
	int		 kind, rc;

	if (tag(x, name, sizeof(name), &kind) != 0 || kind == 1)
		return (-1);
	/* what this key is to us: where its dict or array leads, or a string to keep */
	if (ctx == C_ROOT && (strcmp(key, "ProductVersion") == 0 || strcmp(key, "ProductBuildVersion") == 0))
		want = true;
	else if (ctx == C_ROOT && strcmp(key, "SupportedProductTypes") == 0)
		sub = C_TYPES;
	else if (ctx == C_ROOT && strcmp(key, "BuildIdentities") == 0)
		sub = C_IDS;
	else if (ctx == C_ID && (strcmp(key, "ApChipID") == 0 || strcmp(key, "ApBoardID") == 0))
		want = true;
	else if (ctx == C_ID && strcmp(key, "Info") == 0)
		sub = C_IDINFO;
	else if (ctx == C_ID && strcmp(key, "Manifest") == 0)
		sub = C_MANIFEST;
	else if (ctx == C_IDINFO && strcmp(key, "RestoreBehavior") == 0)
		want = true;
	else if (ctx == C_MANIFEST && strcmp(key, "OS") == 0)
		sub = C_OS;
	else if (ctx == C_OS && strcmp(key, "Info") == 0)
		sub = C_OSINFO;
	else if (ctx == C_OSINFO && strcmp(key, "Path") == 0)
		want = true;
	/* the sub context only holds for a dict (or the arrays at the root) */
	if ((sub == C_TYPES || sub == C_IDS) && strcmp(name, "array") != 0)
		return (-1);		/* manifest_parse() refuses those */
	if (sub != C_OTHER && sub != C_TYPES && sub != C_IDS && strcmp(name, "dict") != 0)
		sub = C_OTHER;		/* dict_get() of the wrong type: as if absent */
	rc = value(x, name, kind, sub, depth + 1, &t, want ? buf : NULL, sizeof(buf), &len, &ent);
	if (rc < 0)
		return (-1);
	if (!want)
		return (0);
	if (ctx == C_ROOT) {
		/* get_string(): a string, not empty, fitting, kept as sanitized */
		bool ver = strcmp(key, "ProductVersion") == 0;
		char *dst = ver ? x->out->product_version : x->out->build;

		if (t != T_STRING || rc != 0 || !clean(buf, len, sizeof(x->out->build), ent))
			return (-1);
		memcpy(dst, buf, len + 1);
		if (ver)
			x->have_ver = true;
		else
			x->have_build = true;
	} else if (ctx == C_ID) {
		unsigned long long v = 1ULL << 32;

		if (t == T_STRING && (ent || rc != 0))
			return (-1);
		if (t == T_STRING)
			v = ipsw_id_string(buf, len);
		else if (t == T_INTEGER && int_id(buf, len, &v) != 0)
			return (-1);
		if (strcmp(key, "ApChipID") == 0)
			x->c = v;
		else
			x->d = v;
	} else if (ctx == C_IDINFO) {
		/* compared with strcasecmp(): anything unusual is libplist's */
		if (t == T_STRING) {
			if (ent || rc != 0 || len >= sizeof(x->beh) || memchr(buf, '\0', len) != NULL)
				return (-1);
			memcpy(x->beh, buf, len + 1);
			x->have_beh = true;
		}
	} else if (ctx == C_OSINFO) {
		/* present and not a string is an error: libplist says which */
		if (t != T_STRING || rc != 0 || !clean(buf, len, sizeof(x->os), ent))
			return (-1);
		memcpy(x->os, buf, len + 1);
		x->have_os = true;
	}
	return (0);
}

static int
dict(struct fx *x, enum fx_ctx ctx, int depth)
{
	char		 name[16], key[64];
	unsigned	 seen = 0, bit;
	bool		 ent;
	int		 kind, rc;

	if (ctx == C_ID) {
		x->c = x->d = 1ULL << 32;
		x->have_os = x->have_beh = false;
	}
	for (;;) {
		if (tag(x, name, sizeof(name), &kind) != 0)
			return (-1);
		if (kind == 1) {
			if (strcmp(name, "dict") != 0)
				return (-1);
			break;
		}
		if (strcmp(name, "key") != 0 || kind != 0)
			return (-1);		/* <key/> too: libplist's */
		/* a key too long for key[] is none we want: read on */
		if ((rc = text(x, key, sizeof(key), NULL, &ent)) < 0 || close_tag(x, "key") != 0)
			return (-1);
		if (rc == 1)
			key[0] = '\0';
		if ((bit = key_bit(ctx, key)) != 0) {
			if (seen & bit)
				return (-1);
			seen |= bit;
		}
		if (member(x, ctx, key, depth) != 0)
			return (-1);
	}
	if (ctx == C_ID)
		return (identity_end(x));
	return (0);
}

static int
array(struct fx *x, enum fx_ctx ctx, int depth, bool empty)
{
	char		 name[16], buf[64];
	enum fx_type	 t;
	size_t		 len;
	bool		 ent;
	int		 kind, rc;

	if (ctx == C_TYPES)
		x->have_types = true;
	if (ctx == C_IDS)
		x->have_ids = true;
	while (!empty) {
		if (tag(x, name, sizeof(name), &kind) != 0)
			return (-1);
		if (kind == 1) {
			if (strcmp(name, "array") != 0)
				return (-1);
			break;
		}
		if (ctx == C_IDS) {
			/* every build identity must be a dictionary */
			if (strcmp(name, "dict") != 0)
				return (-1);
			x->nidentities++;
			if (value(x, name, kind, C_ID, depth + 1, &t, NULL, 0, NULL, &ent) != 0)
				return (-1);
		} else if (ctx == C_TYPES && !x->types_full) {
			char *pt = x->out->product_types;

			rc = value(x, name, kind, C_OTHER, depth + 1, &t, buf, sizeof(buf), &len, &ent);
			/* get_string() into one[64], then whole names while they fit */
			if (rc != 0 || t != T_STRING || !clean(buf, len, sizeof(buf), ent))
				return (-1);
			if (x->types_used + (x->types_used ? 1 : 0) + len >= sizeof(x->out->product_types)) {
				x->types_full = true;
				continue;
			}
			if (x->types_used)
				pt[x->types_used++] = ' ';
			memcpy(pt + x->types_used, buf, len + 1);
			x->types_used += len;
		} else if (value(x, name, kind, C_OTHER, depth + 1, &t, NULL, 0, NULL, &ent) < 0)
			return (-1);
	}
	return (0);
}

/* Base64 and white space only. */
static int
data(struct fx *x)
{
	for (; x->p < x->end && *x->p != '<'; x->p++) {
		char c = *x->p;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\n' || c == '\r'))
			return (-1);
	}
	return (x->p < x->end ? 0 : -1);
}

/*
 * One value whose opening tag (name, kind) was read. Its text goes to buf
 * when given (return 1: it did not fit); *t says what it was.
 */
static int
value(struct fx *x, const char *name, int kind, enum fx_ctx ctx, int depth,
    enum fx_type *t, char *buf, size_t buflen, size_t *lenp, bool *ent)
{
	char	 num[24];
	size_t	 n;
	int	 rc = 0;

	if (depth > FX_DEPTH || kind == 1)
		return (-1);
	*ent = false;
	if (buf != NULL) {
		buf[0] = '\0';
		*lenp = 0;
	}
	if (strcmp(name, "dict") == 0) {
		*t = T_DICT;
		if (kind == 2)
			return (ctx == C_ID ? dict_empty_id(x) : 0);
		return (dict(x, ctx, depth));
	}
	if (strcmp(name, "array") == 0) {
		*t = T_ARRAY;
		return (array(x, ctx, depth, kind == 2));
	}
	if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
		*t = T_BOOL;
		return (kind == 2 ? 0 : -1);
	}
	if (strcmp(name, "string") == 0) {
		*t = T_STRING;
		if (kind == 2)
			return (0);
		if ((rc = text(x, buf, buflen, lenp, ent)) < 0 || close_tag(x, "string") != 0)
			return (-1);
		return (rc);
	}
	if (strcmp(name, "integer") == 0) {
		/* [-]digits; the text is kept for an id */
		*t = T_INTEGER;
		if (kind == 2 || text(x, num, sizeof(num), &n, ent) != 0 || *ent || close_tag(x, "integer") != 0)
			return (-1);
		if (n == 0 || (num[0] == '-' && n == 1))
			return (-1);
		for (size_t i = num[0] == '-' ? 1 : 0; i < n; i++)
			if (num[i] < '0' || num[i] > '9')
				return (-1);
		if (buf != NULL) {
			if (n >= buflen)
				return (-1);
			memcpy(buf, num, n + 1);
			*lenp = n;
		}
		return (0);
	}
	if (strcmp(name, "data") == 0) {
		*t = T_DATA;
		if (kind == 2)
			return (0);
		return (data(x) != 0 || close_tag(x, "data") != 0 ? -1 : 0);
	}
	return (-1);			/* date, real, anything else */
}

/* The manifest's values from its XML text, as libplist and manifest_parse() give them, or -1. */
int
ipsw_xml_read(const char *buf, size_t len, struct ipsw_info *out, struct ipsw_oslist *l,
    ipsw_id_cb id, void *arg)
{
	struct fx	 x;
	char		 name[16];
	int		 kind;
	bool		 is_dir = out->is_dir;

	memset(&x, 0, sizeof(x));
	memset(out, 0, sizeof(*out));
	out->is_dir = is_dir;
	memset(l, 0, sizeof(*l));
	x.p = buf;
	x.end = buf + len;
	x.out = out;
	x.l = l;
	/* the prolog exactly as Apple and plistlib write it (the DOCTYPE may be left out) */
	if (len < sizeof(XML_DECL) - 1 || memcmp(buf, XML_DECL, sizeof(XML_DECL) - 1) != 0)
		return (-1);
	x.p = buf + sizeof(XML_DECL) - 1;
	ws(&x);
	if ((size_t)(x.end - x.p) >= sizeof(XML_DOCTYPE) - 1 &&
	    memcmp(x.p, XML_DOCTYPE, sizeof(XML_DOCTYPE) - 1) == 0) {
		x.p += sizeof(XML_DOCTYPE) - 1;
		ws(&x);
	}
	if ((size_t)(x.end - x.p) < sizeof(XML_PLIST) - 1 || memcmp(x.p, XML_PLIST, sizeof(XML_PLIST) - 1) != 0)
		return (-1);
	x.p += sizeof(XML_PLIST) - 1;
	/* a dictionary at the root, then nothing but </plist> */
	if (tag(&x, name, sizeof(name), &kind) != 0 || kind != 0 || strcmp(name, "dict") != 0 ||
	    dict(&x, C_ROOT, 1) != 0 || close_tag(&x, "plist") != 0)
		return (-1);
	ws(&x);
	if (x.p != x.end)
		return (-1);
	/* what manifest_parse() requires, or libplist gives the reason */
	if (!x.have_ver || !x.have_build || !x.have_types || !x.have_ids || x.nidentities == 0)
		return (-1);
	if (l->n > 0)
		text_copy(out->os_path, l->path[0], sizeof(out->os_path));
	for (size_t i = 0; id != NULL && i < x.nids; i++)
		id(arg, x.ids[i].c, x.ids[i].d);
	return (0);
}
