/*
 * test_ipsw_xml.c: the plain XML manifest reader (src/ipsw_xml.c) against
 * libplist + manifest_parse() (src/ipsw.c) on the same bytes: manifests from
 * mkipsw.py with many options, hand-made variants (entities, comments,
 * duplicate keys, integer ids, odd types, deep nesting...) and thousands of
 * random damages. Whenever the reader answers, libplist must give exactly
 * the same version, build, product types, OS paths and (chip, board) pairs;
 * whenever it gives up, the result is libplist's by construction. The test
 * also checks that the reader does answer for the common manifests, or it
 * would prove nothing.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/wait.h>

#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

#include "testutil.h"
#include "ipsw.h"
#include "../../src/ipsw_int.h"

static char	 top[PATH_MAX];

struct ids {
	size_t		 n;
	uint32_t	 c[1024], d[1024];
};

struct result {
	int			 rc;
	struct ipsw_info	 info;
	struct ipsw_oslist	 l;
	struct ids		 ids;
	char			 err[512];
};

static void
id_cb(void *arg, uint32_t c, uint32_t d)
{
	struct ids *v = arg;

	if (v->n < 1024) {
		v->c[v->n] = c;
		v->d[v->n] = d;
	}
	v->n++;
}

static int
sh(const char *fmt, ...)
{
	char	 cmd[8192];
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return (WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return (buf);
}

static void
read_one(const char *buf, size_t len, bool fast, struct result *r)
{
	memset(r, 0, sizeof(*r));
	ipsw_xml_disabled = !fast;
	r->rc = ipsw_manifest_read(buf, len, &r->info, &r->l, id_cb, &r->ids, r->err, sizeof(r->err));
	ipsw_xml_disabled = false;
}

/* Both readers on buf: the same answer. True when the XML reader itself answered. */
static bool
agree(const char *buf, size_t len, const char *what)
{
	struct result	*a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct ipsw_info info;
	struct ipsw_oslist l;
	bool		 fast;

	char		*exact = malloc(len ? len : 1);

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(exact);
	/* exactly len bytes, as src_read() gives them: a read past the end is caught by ASan */
	memcpy(exact, buf, len);
	buf = exact;
	memset(&info, 0, sizeof(info));
	fast = ipsw_xml_read(buf, len, &info, &l, NULL, NULL) == 0;
	read_one(buf, len, true, a);
	read_one(buf, len, false, b);
	if (a->rc != b->rc) {
		char	 p[PATH_MAX + 32];
		FILE	*f;

		/* kept for a look (KEEP_TMP=1) */
		snprintf(p, sizeof(p), "%s/disagree.plist", top);
		if ((f = fopen(p, "wb")) != NULL) {
			fwrite(buf, 1, len, f);
			fclose(f);
		}
		fail_msg("%s: rc %d (xml reader %s) vs libplist %d (%s)", what, a->rc, fast ? "answered" : "gave up",
		    b->rc, b->err);
	}
	if (a->rc == 0) {
		if (strcmp(a->info.product_version, b->info.product_version) != 0 ||
		    strcmp(a->info.build, b->info.build) != 0 ||
		    strcmp(a->info.product_types, b->info.product_types) != 0 ||
		    strcmp(a->info.os_path, b->info.os_path) != 0)
			fail_msg("%s: [%s|%s|%s|%s] vs libplist [%s|%s|%s|%s]", what, a->info.product_version,
			    a->info.build, a->info.product_types, a->info.os_path, b->info.product_version,
			    b->info.build, b->info.product_types, b->info.os_path);
		assert_int_equal(a->l.n, b->l.n);
		for (int i = 0; i < a->l.n; i++)
			assert_string_equal(a->l.path[i], b->l.path[i]);
		if (a->ids.n != b->ids.n)
			fail_msg("%s: %zu identities with ids vs libplist %zu", what, a->ids.n, b->ids.n);
		for (size_t i = 0; i < a->ids.n && i < 1024; i++)
			if (a->ids.c[i] != b->ids.c[i] || a->ids.d[i] != b->ids.d[i])
				fail_msg("%s: id %zu 0x%x/0x%x vs libplist 0x%x/0x%x", what, i, a->ids.c[i],
				    a->ids.d[i], b->ids.c[i], b->ids.d[i]);
	} else
		assert_string_equal(a->err, b->err);
	free(a);
	free(b);
	free(exact);
	return (fast);
}

/* Variants written by a Python script into top/v/NAME.plist; the plain ones must be read fast. */
static const char variants_py[] =
"import plistlib, sys, zipfile, os, re, copy\n"
"src, out = sys.argv[1], sys.argv[2]\n"
"base = zipfile.ZipFile(src).read('BuildManifest.plist')\n"
"m0 = plistlib.loads(base)\n"
"def w(name, data, plain):\n"
"    open(os.path.join(out, ('P-' if plain else 'X-') + name + '.plist'), 'wb').write(data)\n"
"def d(name, f, plain=True):\n"
"    m = copy.deepcopy(m0); f(m); w(name, plistlib.dumps(m), plain)\n"
"def t(name, a, b, plain=False, count=1):\n"
"    assert a in base, name\n"
"    w(name, base.replace(a, b, count), plain)\n"
"w('base', base, True)\n"
"ids = m0['BuildIdentities']\n"
"d('int-ids', lambda m: [i.update(ApChipID=int(i['ApChipID'], 0), ApBoardID=int(i['ApBoardID'], 0)) for i in m['BuildIdentities']])\n"
"d('big-int-id', lambda m: m['BuildIdentities'][0].update(ApChipID=2**33))\n"
"d('no-ids', lambda m: [i.pop('ApChipID') for i in m['BuildIdentities']])\n"
"d('odd-id-strings', lambda m: [m['BuildIdentities'][0].update(ApChipID=' 0x10'), m['BuildIdentities'][-1].update(ApBoardID='010')])\n"
"d('id-as-true', lambda m: m['BuildIdentities'][0].update(ApChipID=True))\n"
"d('id-as-dict', lambda m: m['BuildIdentities'][0].update(ApBoardID={'a': 1}))\n"
"d('id-too-long', lambda m: m['BuildIdentities'][0].update(ApBoardID='0x' + '0' * 30 + '1'))\n"
"d('erase-second', lambda m: [m['BuildIdentities'][0]['Info'].update(RestoreBehavior='Update'), m['BuildIdentities'][0]['Manifest']['OS']['Info'].update(Path='a.dmg')])\n"
"d('erase-lower', lambda m: m['BuildIdentities'][0]['Info'].update(RestoreBehavior='eRaSe'))\n"
"d('beh-int', lambda m: m['BuildIdentities'][0]['Info'].update(RestoreBehavior=3))\n"
"d('info-array', lambda m: m['BuildIdentities'][0].update(Info=[1]))\n"
"d('manifest-array', lambda m: m['BuildIdentities'][0].update(Manifest=['x']))\n"
"d('os-string', lambda m: m['BuildIdentities'][0]['Manifest'].update(OS='x'))\n"
"d('no-os-path', lambda m: [i['Manifest']['OS']['Info'].pop('Path') for i in m['BuildIdentities']])\n"
"d('path-int', lambda m: m['BuildIdentities'][0]['Manifest']['OS']['Info'].update(Path=5), False)\n"
"d('path-dotdot', lambda m: m['BuildIdentities'][0]['Manifest']['OS']['Info'].update(Path='../x.dmg'), False)\n"
"d('many-os', lambda m: [i['Manifest']['OS']['Info'].update(Path='os%d.dmg' % k) for k, i in enumerate(m['BuildIdentities'])], False)\n"
"d('no-types', lambda m: m.pop('SupportedProductTypes'), False)\n"
"d('types-empty', lambda m: m.update(SupportedProductTypes=[]))\n"
"d('types-many', lambda m: m.update(SupportedProductTypes=['iPad13,%d' % n for n in range(1, 40)]))\n"
"d('types-many-then-int', lambda m: m.update(SupportedProductTypes=['iPad13,%d' % n for n in range(1, 40)] + [5]))\n"
"d('types-int', lambda m: m.update(SupportedProductTypes=['iPhone9,1', 5]), False)\n"
"d('types-long', lambda m: m.update(SupportedProductTypes=['x' * 70]), False)\n"
"d('version-int', lambda m: m.update(ProductVersion=15), False)\n"
"d('version-long', lambda m: m.update(ProductVersion='1' * 40), False)\n"
"d('version-empty', lambda m: m.update(ProductVersion=''), False)\n"
"d('version-utf8', lambda m: m.update(ProductVersion='15.\\u00e9'))\n"
"t('version-esc', b'<string>' + m0['ProductVersion'].encode(), b'<string>\\x1b[2J' + m0['ProductVersion'].encode())\n"
"d('ids-empty', lambda m: m.update(BuildIdentities=[]), False)\n"
"d('ids-dict', lambda m: m.update(BuildIdentities={}), False)\n"
"d('ids-with-int', lambda m: m['BuildIdentities'].append(5), False)\n"
"d('ids-empty-dict', lambda m: m['BuildIdentities'].append({}))\n"
"d('extra-types', lambda m: m.update(Extra=[1.5, b'xx', {'k': [True, False, -3]}]), False)\n"
"d('deep', lambda m: m.update(Deep=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]), False)\n"
"d('long-key', lambda m: m.update({'K' * 300: 1}))\n"
"t('amp-in-skipped', b'<key>Manifest</key>', b'<key>Manifest</key><!-- -->', False)\n"
"t('comment', b'<key>BuildIdentities</key>', b'<!-- c --><key>BuildIdentities</key>')\n"
"t('cdata', b'<string>' + m0['ProductVersion'].encode(), b'<string><![CDATA[' + m0['ProductVersion'].encode() + b']]>')\n"
"t('entity-version', b'<string>' + m0['ProductVersion'].encode(), b'<string>&amp;' + m0['ProductVersion'].encode())\n"
"t('charref-version', b'<string>' + m0['ProductVersion'].encode(), b'<string>&#49;' + m0['ProductVersion'].encode())\n"
"t('entity-elsewhere', b'<key>Manifest</key>', b'<key>X</key><string>a &lt; b &amp; c</string><key>Manifest</key>', True)\n"
"t('bad-entity-elsewhere', b'<key>Manifest</key>', b'<key>X</key><string>a &nbsp; b</string><key>Manifest</key>')\n"
"t('dup-version', b'<key>ProductVersion</key>', b'<key>ProductVersion</key><string>9.9</string><key>ProductVersion</key>')\n"
"t('dup-chip', b'<key>ApChipID</key>', b'<key>ApChipID</key><string>0x1</string><key>ApChipID</key>')\n"
"t('dup-other', b'<key>ApChipID</key>', b'<key>Zz</key><true/><key>Zz</key><false/><key>ApChipID</key>', True)\n"
"t('attr', b'<dict>', b'<dict a=\"1\">')\n"
"t('crlf', b'\\n', b'\\r\\n', True, -1)\n"
"t('no-doctype', base[base.index(b'<!DOCTYPE'):base.index(b'<plist')], b'', True)\n"
"t('doctype-subset', b'PropertyList-1.0.dtd\">', b'PropertyList-1.0.dtd\" [ <!ENTITY x \"y\"> ]>')\n"
"t('bom', b'<?xml', b'\\xef\\xbb\\xbf<?xml')\n"
"t('trailing', b'</plist>', b'</plist>\\njunk')\n"
"t('trailing-ws', b'</plist>', b'</plist>\\n\\n  \\t', True)\n"
"t('true-open', b'<true/>', b'<true></true>')\n"
"t('date', b'<key>Manifest</key>', b'<key>D</key><date>2020-01-01T00:00:00Z</date><key>Manifest</key>')\n"
"t('real', b'<key>Manifest</key>', b'<key>R</key><real>1.5</real><key>Manifest</key>')\n"
"t('empty-string-elem', b'<key>Manifest</key>', b'<key>E</key><string/><key>Manifest</key>', True)\n"
"t('empty-data', b'<key>Manifest</key>', b'<key>E</key><data/><key>Manifest</key>', True)\n"
"t('bad-data', b'<key>Manifest</key>', b'<key>E</key><data>!!</data><key>Manifest</key>')\n"
"t('hex-int', b'<key>Manifest</key>', b'<key>I</key><integer>0x10</integer><key>Manifest</key>')\n"
"t('neg-int', b'<key>Manifest</key>', b'<key>I</key><integer>-7</integer><key>Manifest</key>', True)\n"
"t('unclosed', b'</plist>', b'')\n"
"t('truncated', base[len(base) // 2:], b'')\n"
"t('binary', base, plistlib.dumps(m0, fmt=plistlib.FMT_BINARY))\n"
"t('root-array', base, plistlib.dumps([1, 2]))\n"
"t('key-no-value', b'<key>BuildIdentities</key>', b'<key>Lonely</key><key>BuildIdentities</key>')\n"
"t('nul', b'<key>Manifest</key>', b'<key>N</key><string>a\\x00b</string><key>Manifest</key>')\n"
"t('empty-key', b'<key>Manifest</key>', b'<key/><true/><key>Manifest</key>')\n"
"t('gt-in-text', b'<key>Manifest</key>', b'<key>N</key><string>a>b</string><key>Manifest</key>')\n";

static int
setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");
	char		 path[PATH_MAX];
	FILE		*f;

	(void)state;
	snprintf(top, sizeof(top), "%s/idb-ipswxml.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		return (-1);
	snprintf(path, sizeof(path), "%s/variants.py", top);
	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	fputs(variants_py, f);
	fclose(f);
	return (sh("mkdir -p '%s/v'", top));
}

static int
teardown(void **state)
{
	(void)state;
	if (getenv("KEEP_TMP") == NULL && top[0] != '\0')
		sh("rm -rf '%s'", top);
	return (0);
}

/* Every variant of a few mkipsw.py manifests: the same answer; the plain ones by the reader itself. */
static void
test_variants(void **state)
{
	static const char *opts[] = {
		"",
		"--extra-identities 36",
		"--also-product iPhone9,3 --also-id 0x8010:0x0a --update-os-path 038-00009-001.dmg",
		"--any-board --version 16.7.10 --build 20H350",
	};
	char		 cmd[PATH_MAX * 3], path[PATH_MAX + 300];
	size_t		 len, nplain = 0, nfast = 0, nall = 0;
	FILE		*ls;
	char		*buf;

	(void)state;
	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		assert_int_equal(sh("rm -f '%s'/v/* && python3 '%s' '%s/m.ipsw' %s >/dev/null && "
		    "python3 '%s/variants.py' '%s/m.ipsw' '%s/v'", top, test_path("tests/data/mkipsw.py"),
		    top, opts[k], top, top, top), 0);
		snprintf(cmd, sizeof(cmd), "ls '%s/v'", top);
		assert_non_null(ls = popen(cmd, "r"));
		while (fgets(path + 300, PATH_MAX, ls) != NULL) {
			char *name = path + 300;
			bool fast;

			name[strcspn(name, "\n")] = '\0';
			snprintf(cmd, sizeof(cmd), "%s/v/%s", top, name);
			assert_non_null(buf = slurp(cmd, &len));
			snprintf(cmd, sizeof(cmd), "[%s] %s", opts[k], name);
			fast = agree(buf, len, cmd);
			nall++;
			if (name[0] == 'P') {
				/* plain: what Apple (and plistlib) write; the reader must take it */
				if (!fast)
					fail_msg("%s: the XML reader gave up on a plain manifest", cmd);
				nplain++;
			}
			nfast += fast;
			free(buf);
		}
		pclose(ls);
	}
	assert_true(nplain >= 4 * 15);
	assert_true(nall > nfast);
}

static uint64_t rng;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

/* Is buf[i] text between elements (not inside a tag)? */
static bool
in_text(const char *buf, size_t i)
{
	while (i-- > 0)
		if (buf[i] == '<' || buf[i] == '>')
			return (buf[i] == '>');
	return (false);
}

/* Random damage to a real-size manifest: whenever the reader answers, libplist agrees. */
static void
test_random_damage(void **state)
{
	static const char junk[] = "<>/&;#x0a9 \n\"'!-[]?=ksdtrue";
	char		 path[PATH_MAX];
	char		*base, *buf;
	size_t		 blen, len, nfast = 0, iters;
	const char	*env = getenv("IDB_XML_ITERS");

	(void)state;
	iters = env ? (size_t)atol(env) : 1500;
	env = getenv("IDB_XML_SEED");
	rng = env ? (uint64_t)strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	assert_int_equal(sh("python3 '%s' '%s/r.ipsw' --extra-identities 3 --also-id 0x8010:0x0a >/dev/null && "
	    "cd '%s' && unzip -o -q r.ipsw BuildManifest.plist", test_path("tests/data/mkipsw.py"), top, top), 0);
	snprintf(path, sizeof(path), "%s/BuildManifest.plist", top);
	assert_non_null(base = slurp(path, &blen));
	assert_true(agree(base, blen, "undamaged"));
	assert_non_null(buf = malloc(blen * 2 + 64));
	for (size_t it = 0; it < iters; it++) {
		char what[64];
		int ops = 1 + (int)(next() % 3);

		memcpy(buf, base, blen);
		len = blen;
		for (int o = 0; o < ops; o++) {
			size_t at = next() % len, n;

			switch (next() % 7) {
			case 6:		/* cut short: every end of buffer the reader can meet */
				if (next() % 3 == 0)
					len = at;
				break;
			case 0:		/* a byte becomes markup or text */
				buf[at] = junk[next() % (sizeof(junk) - 1)];
				break;
			case 1:		/* a span goes */
				n = 1 + next() % 40;
				if (at + n > len)
					n = len - at;
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
				break;
			case 2:		/* a span is repeated elsewhere */
				n = 1 + next() % 80;
				if (at + n > len)
					n = len - at;
				if (len + n <= blen * 2) {
					size_t to = next() % len;
					char tmp[80];

					memcpy(tmp, buf + at, n);
					memmove(buf + to + n, buf + to, len - to);
					memcpy(buf + to, tmp, n);
					len += n;
				}
				break;
			default:	/* a digit or a letter changes: still well formed, other values */
				for (n = 0; n < 64 && at + n < len; n++) {
					char *c = &buf[at + n];

					if (*c >= '0' && *c <= '9') {
						*c = (char)('0' + next() % 10);
						break;
					}
					if (*c >= 'a' && *c <= 'z' && in_text(buf, at + n)) {
						*c = (char)(*c - 'a' + 'A');
						break;
					}
				}
				break;
			}
			if (len == 0)
				break;
		}
		snprintf(what, sizeof(what), "damage #%zu", it);
		nfast += agree(buf, len, what);
	}
	/* the test has teeth: a good share of the damaged manifests were still read by the reader */
	print_message("%zu of %zu damaged manifests read by the XML reader, all as libplist reads them\n", nfast, iters);
	assert_true(nfast * 5 >= iters);
	free(buf);
	free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_random_damage),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
