/* test_ipsw.c: IPSW inspection, cache paths and pre-extraction (src/ipsw.c, src/ipsw_prep.c). */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include <ev.h>

#include "testutil.h"
#include "ipsw.h"

#define OS_NAME		"038-00002-001.dmg"

static char	 top[PATH_MAX];		/* a fresh temporary directory per run */
static char	 good[PATH_MAX];	/* the default IPSW from mkipsw.py */
static char	 payload[512];		/* its OS image's contents */
static size_t	 payload_len;

/* Mutations of the default manifest/zip that mkipsw.py has no option for. */
static const char helper_py[] =
"import plistlib, sys, zipfile\n"
"src, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]\n"
"zin = zipfile.ZipFile(src)\n"
"items = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]\n"
"m = plistlib.loads(dict(items)['BuildManifest.plist'])\n"
"raw, fmt = None, plistlib.FMT_XML\n"
"def os_path(p):\n"
"    for i in m['BuildIdentities']:\n"
"        i['Manifest']['OS']['Info']['Path'] = p\n"
"if mode == 'nomanifest': items = [x for x in items if x[0] != 'BuildManifest.plist']\n"
"elif mode == 'garbage': raw = b'hello, not a plist'\n"
"elif mode == 'arrayroot': raw = plistlib.dumps([1, 2, 3])\n"
"elif mode == 'noversion': del m['ProductVersion']\n"
"elif mode == 'intversion': m['ProductVersion'] = 15\n"
"elif mode == 'noids': del m['BuildIdentities']\n"
"elif mode == 'emptyids': m['BuildIdentities'] = []\n"
"elif mode == 'nulpath': os_path('038\\x00evil.dmg'); fmt = plistlib.FMT_BINARY\n"
"elif mode == 'escpath': os_path('038\\x1b[2J.dmg'); fmt = plistlib.FMT_BINARY\n"
"elif mode == 'longpath': os_path('a' * 300 + '.dmg')\n"
"elif mode == 'dotdot': os_path('x/../../evil.dmg')\n"
"elif mode == 'abspath': os_path('/tmp/evil.dmg')\n"
"elif mode == 'intpath': os_path(7)\n"
"elif mode == 'missingos': os_path('038-99999-001.dmg')\n"
"elif mode == 'zeroos': items = [(n, b'' if n == '038-00002-001.dmg' else d) for n, d in items]\n"
"elif mode == 'longproduct': m['SupportedProductTypes'] = ['iPhone' * 40]\n"
"elif mode == 'noos':\n"
"    for i in m['BuildIdentities']: del i['Manifest']['OS']\n"
"elif mode == 'manyproducts': m['SupportedProductTypes'] = ['iPad13,%d' % n for n in range(1, 30)]\n"
"elif mode == 'corrupt': pass\n"
"else: sys.exit('unknown mode ' + mode)\n"
"if raw is None: raw = plistlib.dumps(m, fmt=fmt)\n"
"with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n"
"    for n, d in items:\n"
"        z.writestr(n, raw if n == 'BuildManifest.plist' else d)\n"
"if mode == 'corrupt':\n"
"    z = zipfile.ZipFile(out)\n"
"    i = z.getinfo('038-00002-001.dmg')\n"
"    b = bytearray(open(out, 'rb').read())\n"
"    nlen, xlen = int.from_bytes(b[i.header_offset+26:i.header_offset+28], 'little'), int.from_bytes(b[i.header_offset+28:i.header_offset+30], 'little')\n"
"    start = i.header_offset + 30 + nlen + xlen\n"
"    for k in range(start + 10, start + i.compress_size - 4): b[k] ^= 0x55\n"
"    open(out, 'wb').write(b)\n";

static void
pathf(char *buf, const char *fmt, const char *name)
{
	snprintf(buf, PATH_MAX, fmt, top, name);
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

/* Build an IPSW with mkipsw.py OPTS into top/NAME; returns its path. */
static const char *
mkipsw(const char *name, const char *opts)
{
	static char	 path[PATH_MAX];

	pathf(path, "%s/%s", name);
	assert_int_equal(sh("python3 '%s' '%s' %s >/dev/null",
	    test_path("tests/data/mkipsw.py"), path, opts), 0);
	return (path);
}

/* The default IPSW with one mutation applied (helper_py above). */
static const char *
mutant(const char *mode)
{
	static char	 path[PATH_MAX];

	pathf(path, "%s/mutant-%s.ipsw", mode);
	assert_int_equal(sh("python3 '%s/helper.py' '%s' '%s' '%s'", top, good, path, mode), 0);
	return (path);
}

static bool
exists(const char *path)
{
	struct stat	 st;

	return (lstat(path, &st) == 0);
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
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return (buf);
}

/* --- driving a preparation on a private loop ----------------------------- */

struct result {
	struct ev_loop	*loop;
	int		 done;
	int		 err;
	char		 msg[1024];
	int		 nprogress;
	double		 last;
	bool		 monotonic;
};

static void
progress_cb(void *arg, double pct)
{
	struct result	*r = arg;

	if (r->nprogress > 0 && pct < r->last)
		r->monotonic = false;
	r->nprogress++;
	r->last = pct;
}

static void
done_cb(void *arg, int err, const char *msg)
{
	struct result	*r = arg;

	r->done++;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	ev_break(r->loop, EVBREAK_ALL);
}

static void
safety_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* A hook run on the loop shortly after the start (used to play another extractor). */
static void (*hook_fn)(void);

static void
hook_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (hook_fn != NULL)
		hook_fn();
}

/* Run one preparation to its end; returns start's success. */
static bool
prepare(const char *ipsw, const char *cache, const struct ipsw_info *info, struct result *r)
{
	struct ipsw_prep	*p;
	ev_timer		 safety, hook;
	char			 err[256] = "";

	memset(r, 0, sizeof(*r));
	r->monotonic = true;
	r->loop = ev_loop_new(EVFLAG_AUTO);
	p = ipsw_prepare_start(r->loop, ipsw, cache, info, progress_cb, done_cb, r, err, sizeof(err));
	if (p == NULL) {
		snprintf(r->msg, sizeof(r->msg), "%s", err);
		ev_loop_destroy(r->loop);
		return (false);
	}
	ev_timer_init(&safety, safety_cb, 120.0, 0.0);
	ev_timer_start(r->loop, &safety);
	ev_timer_init(&hook, hook_cb, 0.5, 0.0);
	if (hook_fn != NULL)
		ev_timer_start(r->loop, &hook);
	ev_run(r->loop, 0);
	ev_timer_stop(r->loop, &safety);
	ev_timer_stop(r->loop, &hook);
	ipsw_prepare_free(p);
	ev_loop_destroy(r->loop);
	return (true);
}

/* --- fixtures ----------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");
	char		 path[PATH_MAX];
	FILE		*f;
	size_t		 i;

	(void)state;
	snprintf(top, sizeof(top), "%s/idb-ipsw.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		return (-1);
	pathf(path, "%s/%s", "helper.py");
	if ((f = fopen(path, "w")) == NULL)
		return (-1);
	fputs(helper_py, f);
	fclose(f);
	pathf(good, "%s/%s", "iPhone9,1_15.8.3_19H386_Restore.ipsw");
	if (sh("python3 '%s' '%s' >/dev/null", test_path("tests/data/mkipsw.py"), good) != 0)
		return (-1);
	/* mkipsw.py's dummy payload: the line repeated 8 times */
	payload_len = 0;
	for (i = 0; i < 8; i++)
		payload_len += (size_t)snprintf(payload + payload_len, sizeof(payload) - payload_len,
		    "dummy payload for %s\n", OS_NAME);
	return (0);
}

static int
group_teardown(void **state)
{
	(void)state;
	if (getenv("KEEP_TMP") == NULL && top[0] != '\0')
		sh("rm -rf '%s'", top);
	return (0);
}

/* --- ipsw_read_info ----------------------------------------------------- */

static void
test_info_zip(void **state)
{
	struct ipsw_info	 info;
	char			 err[256] = "";

	(void)state;
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	assert_false(info.is_dir);
	assert_string_equal(info.product_version, "15.8.3");
	assert_string_equal(info.build, "19H386");
	assert_string_equal(info.product_types, "iPhone9,1");
	assert_string_equal(info.os_path, OS_NAME);
	assert_int_equal(info.os_size, payload_len);
}

static void
test_info_binary_products(void **state)
{
	struct ipsw_info	 info;
	char			 err[256] = "";
	const char		*p;

	(void)state;
	p = mkipsw("bin.ipsw", "--binary --also-product iPhone9,3 --version 16.7.10 --build 20H350");
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), 0);
	assert_string_equal(info.product_version, "16.7.10");
	assert_string_equal(info.build, "20H350");
	assert_string_equal(info.product_types, "iPhone9,1 iPhone9,3");
	assert_string_equal(info.os_path, OS_NAME);
}

static void
test_info_many_products_cut_between_names(void **state)
{
	struct ipsw_info	 info;
	char			 err[256] = "";
	size_t			 n;

	(void)state;
	assert_int_equal(ipsw_read_info(mutant("manyproducts"), &info, err, sizeof(err)), 0);
	n = strlen(info.product_types);
	assert_true(n > 0 && n < sizeof(info.product_types));
	assert_true(strncmp(info.product_types, "iPad13,1 iPad13,2 ", 18) == 0);
	/* the last name is whole: it is one the manifest holds */
	const char *last = strrchr(info.product_types, ' ') + 1;
	assert_true(strncmp(last, "iPad13,", 7) == 0 && atoi(last + 7) >= 1 && atoi(last + 7) < 30);
	assert_true(info.product_types[n - 1] != ' ');
}

static void
test_info_directory(void **state)
{
	struct ipsw_info	 info;
	char			 dir[PATH_MAX], err[256] = "";

	(void)state;
	pathf(dir, "%s/%s", "extracted-ipsw");
	assert_int_equal(sh("python3 -m zipfile -e '%s' '%s'", good, dir), 0);
	assert_int_equal(ipsw_read_info(dir, &info, err, sizeof(err)), 0);
	assert_true(info.is_dir);
	assert_string_equal(info.build, "19H386");
	assert_string_equal(info.os_path, OS_NAME);
	assert_int_equal(info.os_size, payload_len);
}

static void
test_info_no_os(void **state)
{
	struct ipsw_info	 info;
	char			 err[256] = "";
	struct result		 r;
	char			 cache[PATH_MAX];

	(void)state;
	assert_int_equal(ipsw_read_info(mutant("noos"), &info, err, sizeof(err)), 0);
	assert_string_equal(info.os_path, "");
	assert_int_equal(info.os_size, 0);
	pathf(cache, "%s/%s", "cache-noos");
	assert_true(ipsw_cached(mutant("noos"), cache, &info));
	assert_true(prepare(mutant("noos"), cache, &info, &r));
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, 0);
	assert_non_null(strstr(r.msg, "nothing to extract"));
}

/* Every hostile input: read_info fails with a recognisable message, prepare writes nothing. */
static void
test_info_hostile(void **state)
{
	static const struct {
		const char	*mode;
		const char	*want;
	} cases[] = {
		{ "nomanifest",	"BuildManifest.plist not found" },
		{ "garbage",	"not a property list" },
		{ "arrayroot",	"dictionary" },
		{ "noversion",	"no ProductVersion" },
		{ "intversion",	"ProductVersion is not a string" },
		{ "noids",	"no BuildIdentities" },
		{ "emptyids",	"no BuildIdentities" },
		/* libplist ends the string at the NUL: "038", not in the zip */
		{ "nulpath",	"not found in the IPSW" },
		{ "escpath",	"unsafe OS path" },
		{ "longpath",	"unsafe OS path" },
		{ "dotdot",	"unsafe OS path" },
		{ "abspath",	"unsafe OS path" },
		{ "intpath",	"OS Path is not a string" },
		{ "missingos",	"not found in the IPSW" },
		{ "zeroos",	"implausible size 0" },
		{ "longproduct", "too long" },
	};
	struct ipsw_info	 info;
	struct result		 r;
	char			 err[256], cache[PATH_MAX], evil[PATH_MAX];
	const char		*p;
	size_t			 i;

	(void)state;
	pathf(cache, "%s/%s", "cache-hostile/c");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = mutant(cases[i].mode);
		err[0] = '\0';
		memset(&info, 0x5a, sizeof(info));
		assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].mode, err, cases[i].want);
		assert_null(strchr(err, '\n'));
		assert_string_equal(info.os_path, "");
		/* the worker re-reads the manifest and refuses as well */
		assert_true(prepare(p, cache, &info, &r));
		assert_int_equal(r.done, 1);
		assert_int_equal(r.err, EINVAL);
		assert_non_null(strstr(r.msg, cases[i].want));
	}
	pathf(evil, "%s/%s", "evil.dmg");
	assert_false(exists(evil));
	pathf(evil, "%s/%s", "cache-hostile/evil.dmg");
	assert_false(exists(evil));
}

static void
test_info_bad_files(void **state)
{
	struct ipsw_info	 info;
	char			 path[PATH_MAX], err[256];

	(void)state;
	pathf(path, "%s/%s", "does-not-exist.ipsw");
	err[0] = '\0';
	assert_int_equal(ipsw_read_info(path, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));

	pathf(path, "%s/%s", "text.ipsw");
	assert_int_equal(sh("echo 'not a zip at all' > '%s'", path), 0);
	err[0] = '\0';
	assert_int_equal(ipsw_read_info(path, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a readable IPSW"));

	pathf(path, "%s/%s", "empty.ipsw");
	assert_int_equal(sh(": > '%s'", path), 0);
	assert_int_equal(ipsw_read_info(path, &info, err, sizeof(err)), -1);

	/* a truncated zip: the central directory is gone */
	pathf(path, "%s/%s", "trunc.ipsw");
	assert_int_equal(sh("head -c 600 '%s' > '%s'", good, path), 0);
	err[0] = '\0';
	assert_int_equal(ipsw_read_info(path, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "zip"));

	/* a directory whose manifest is a FIFO must not hang the reader */
	pathf(path, "%s/%s", "fifo-dir");
	assert_int_equal(sh("mkdir -p '%s' && mkfifo '%s/BuildManifest.plist'", path, path), 0);
	err[0] = '\0';
	assert_int_equal(ipsw_read_info(path, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	assert_int_equal(ipsw_read_info(NULL, &info, err, sizeof(err)), -1);
	assert_int_equal(ipsw_read_info("", &info, err, sizeof(err)), -1);
	assert_int_equal(ipsw_read_info(good, NULL, err, sizeof(err)), -1);
	/* a NULL error buffer is allowed */
	assert_int_equal(ipsw_read_info(path, &info, NULL, 0), -1);
}

static void
test_info_absurd_size(void **state)
{
	struct ipsw_info	 info;
	char			 err[256] = "";
	const char		*p;

	(void)state;
	p = mkipsw("huge.ipsw", "--claim-os-size 1125899906842624");
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "implausible size"));
}

/* --- ipsw_cache_path ---------------------------------------------------- */

static void
test_cache_path(void **state)
{
	char	 out[PATH_MAX], dir[PATH_MAX], want[PATH_MAX];

	(void)state;
	assert_int_equal(ipsw_cache_path("/srv/ipsw/iPhone_4.7_P3_15.8_19H370_Restore.ipsw",
	    "/var/cache/idb", OS_NAME, out, sizeof(out)), 0);
	assert_string_equal(out, "/var/cache/idb/iPhone_4.7_P3_15.8_19H370_Restore/" OS_NAME);
	/* relative names and a cache dir with a trailing slash, as 1.0.0 concatenates */
	assert_int_equal(ipsw_cache_path("x.ipsw", "cache/", "a/b.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "cache//x/a/b.dmg");
	/* only extensions of up to five characters are stripped */
	assert_int_equal(ipsw_cache_path("/a/fw.zip", "/c", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/c/fw/o.dmg");
	assert_int_equal(ipsw_cache_path("/a/fw.longext", "/c", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/c/fw.longext/o.dmg");
	assert_int_equal(ipsw_cache_path("/a.b/fw", "/c", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/c/fw/o.dmg");
	assert_int_equal(ipsw_cache_path("/a/v15.8.3.ipsw", "/c", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/c/v15.8.3/o.dmg");
	/* without a cache dir: beside the IPSW */
	assert_int_equal(ipsw_cache_path("/srv/x.ipsw", NULL, "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/x/o.dmg");
	assert_int_equal(ipsw_cache_path("/srv/x.ipsw", "", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/x/o.dmg");
	/* an extracted directory keeps its whole name, trailing slashes dropped */
	pathf(dir, "%s/%s", "dir.v2.ipsw");
	assert_int_equal(mkdir(dir, 0755), 0);
	strcat(dir, "/");
	assert_int_equal(ipsw_cache_path(dir, "/c", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/c/dir.v2.ipsw/o.dmg");
	snprintf(want, sizeof(want), "%s/o.dmg", dir);
	assert_int_equal(ipsw_cache_path(dir, NULL, "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, want);

	/* refused: anything that could leave the cache dir, or does not fit */
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "../o.dmg", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "a/../../o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "/etc/o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "a//o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "./o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "o.dmg/", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "o\033.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", NULL, out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("..", "/c", "o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/..", "/c", "o.dmg", out, sizeof(out)), -1);
	pathf(dir, "%s/%s", ".");
	assert_int_equal(ipsw_cache_path(dir, "/c", "o.dmg", out, sizeof(out)), -1);
	/* a bare extension strips to nothing: 1.0.0 then uses the cache dir itself */
	assert_int_equal(ipsw_cache_path("/a/.ipsw", "/c", "o.dmg", out, sizeof(out)), 0);
	assert_string_equal(out, "/c//o.dmg");
	assert_int_equal(ipsw_cache_path("/nonexistent/...", "/c", "o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/", "/c", "o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("", "/c", "o.dmg", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_path("/a/x.ipsw", "/c", "o.dmg", out, 8), -1);
	assert_string_equal(out, "");
	char longname[600];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ipsw_cache_path(longname, "/c", "o.dmg", out, sizeof(out)), -1);
}

/* --- ipsw_prepare ------------------------------------------------------- */

static void
assert_extracted(const char *ipsw, const char *cache, const char *os, const char *want, size_t wantlen)
{
	char	 path[PATH_MAX], aux[PATH_MAX + 16];
	char	*buf;
	size_t	 len;

	assert_int_equal(ipsw_cache_path(ipsw, cache, os, path, sizeof(path)), 0);
	buf = slurp(path, &len);
	assert_non_null(buf);
	assert_int_equal(len, wantlen);
	assert_memory_equal(buf, want, wantlen);
	free(buf);
	snprintf(aux, sizeof(aux), "%s.extract", path);
	assert_false(exists(aux));
	snprintf(aux, sizeof(aux), "%s.lock", path);
	assert_false(exists(aux));
}

static void
test_prepare_extracts_once(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	struct stat		 st1, st2;
	struct timeval		 tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char			 cache[PATH_MAX], path[PATH_MAX], err[256];

	(void)state;
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-once/nested/dir");
	assert_false(ipsw_cached(good, cache, &info));

	assert_true(prepare(good, cache, &info, &r));
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, 0);
	assert_non_null(strstr(r.msg, "extracted"));
	assert_null(strstr(r.msg, "another process"));
	assert_true(r.nprogress >= 1);
	assert_true(r.monotonic);
	assert_true(r.last == 100.0);
	assert_true(ipsw_cached(good, cache, &info));
	assert_extracted(good, cache, OS_NAME, payload, payload_len);
	assert_int_equal(ipsw_cache_path(good, cache, OS_NAME, path, sizeof(path)), 0);
	assert_non_null(strstr(path, "/cache-once/nested/dir/iPhone9,1_15.8.3_19H386_Restore/" OS_NAME));
	assert_int_equal(stat(path, &st1), 0);
	assert_true((st1.st_mode & 0777) == 0644 || (st1.st_mode & 0777) == 0600);

	/* again: nothing is rewritten */
	assert_int_equal(utimes(path, tv), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_true(prepare(good, cache, &info, &r));
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, 0);
	assert_non_null(strstr(r.msg, "already cached"));
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtime, st2.st_mtime);
	assert_int_equal(st2.st_mtime, 1000000000);
}

static void
test_prepare_replaces_wrong_size(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	char			 cache[PATH_MAX], path[PATH_MAX], err[256];

	(void)state;
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-wrong");
	assert_int_equal(ipsw_cache_path(good, cache, OS_NAME, path, sizeof(path)), 0);
	assert_int_equal(sh("mkdir -p \"$(dirname '%s')\" && echo half > '%s'", path, path), 0);
	assert_false(ipsw_cached(good, cache, &info));
	assert_true(prepare(good, cache, &info, &r));
	assert_int_equal(r.err, 0);
	assert_true(ipsw_cached(good, cache, &info));
	assert_extracted(good, cache, OS_NAME, payload, payload_len);
}

static void
test_prepare_directory_ipsw(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	char			 dir[PATH_MAX], cache[PATH_MAX], err[256];

	(void)state;
	pathf(dir, "%s/%s", "dir-ipsw");
	assert_int_equal(sh("python3 -m zipfile -e '%s' '%s'", good, dir), 0);
	assert_int_equal(ipsw_read_info(dir, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-dir");
	assert_false(ipsw_cached(dir, cache, &info));
	assert_true(prepare(dir, cache, &info, &r));
	assert_int_equal(r.err, 0);
	assert_true(ipsw_cached(dir, cache, &info));
	assert_extracted(dir, cache, OS_NAME, payload, payload_len);
	/* without a cache dir the image inside the directory is already "the cache" */
	assert_true(ipsw_cached(dir, NULL, &info));
}

static void
test_prepare_every_os_image(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	char			 cache[PATH_MAX], err[256], upd[PATH_MAX];
	const char		*p;
	size_t			 len;
	char			*want;

	(void)state;
	p = mkipsw("two-os.ipsw", "--update-os-path 038-00009-001.dmg --os-bytes 3000000 --stored");
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), 0);
	/* the Erase identity's image is the one reported */
	assert_string_equal(info.os_path, OS_NAME);
	assert_int_equal(info.os_size, 3000000);
	pathf(cache, "%s/%s", "cache-two");
	assert_true(prepare(p, cache, &info, &r));
	assert_int_equal(r.err, 0);
	assert_true(ipsw_cached(p, cache, &info));
	/* compare both with what python reads from the zip */
	pathf(upd, "%s/%s", "two-os-expected");
	assert_int_equal(sh("python3 -m zipfile -e '%s' '%s'", p, upd), 0);
	strcat(upd, "/" OS_NAME);
	want = slurp(upd, &len);
	assert_extracted(p, cache, OS_NAME, want, len);
	free(want);
	pathf(upd, "%s/%s", "two-os-expected/038-00009-001.dmg");
	want = slurp(upd, &len);
	assert_int_equal(len, 3000000);
	assert_extracted(p, cache, "038-00009-001.dmg", want, len);
	free(want);
}

static char	 other_final[PATH_MAX];
static char	 other_extract[PATH_MAX + 16];

/* Another process finishes its extraction: the final file appears, .extract goes. */
static void
other_finishes(void)
{
	FILE	*f;
	size_t	 i;

	f = fopen(other_final, "wb");
	for (i = 0; i < payload_len; i++)
		fputc('X', f);
	fclose(f);
	unlink(other_extract);
}

static void
test_prepare_waits_for_other_extractor(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	char			 cache[PATH_MAX], err[256], *buf, want[512];
	size_t			 len;

	(void)state;
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-other");
	assert_int_equal(ipsw_cache_path(good, cache, OS_NAME, other_final, sizeof(other_final)), 0);
	snprintf(other_extract, sizeof(other_extract), "%s.extract", other_final);
	assert_int_equal(sh("mkdir -p \"$(dirname '%s')\" && echo partial > '%s'", other_final,
	    other_extract), 0);

	hook_fn = other_finishes;
	assert_true(prepare(good, cache, &info, &r));
	hook_fn = NULL;
	assert_int_equal(r.done, 1);
	assert_int_equal(r.err, 0);
	assert_non_null(strstr(r.msg, "another process"));
	/* its file, not ours: we did not extract a second copy */
	buf = slurp(other_final, &len);
	memset(want, 'X', payload_len);
	assert_int_equal(len, payload_len);
	assert_memory_equal(buf, want, payload_len);
	free(buf);
}

static void
test_prepare_takes_over_stale_extract(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	struct timeval		 tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char			 cache[PATH_MAX], final[PATH_MAX], extract[PATH_MAX + 16], err[256];

	(void)state;
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-stale");
	assert_int_equal(ipsw_cache_path(good, cache, OS_NAME, final, sizeof(final)), 0);
	snprintf(extract, sizeof(extract), "%s.extract", final);
	assert_int_equal(sh("mkdir -p \"$(dirname '%s')\" && echo crashed > '%s'", final, extract), 0);
	assert_int_equal(utimes(extract, tv), 0);
	assert_true(prepare(good, cache, &info, &r));
	assert_int_equal(r.err, 0);
	assert_null(strstr(r.msg, "another process"));
	assert_extracted(good, cache, OS_NAME, payload, payload_len);
}

static void
test_prepare_corrupt_member(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	char			 cache[PATH_MAX], final[PATH_MAX], aux[PATH_MAX + 16], err[256];
	const char		*p;

	(void)state;
	p = mutant("corrupt");
	/* the central directory is intact: inspection cannot tell */
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-corrupt");
	assert_true(prepare(p, cache, &info, &r));
	assert_int_equal(r.done, 1);
	assert_int_not_equal(r.err, 0);
	assert_false(ipsw_cached(p, cache, &info));
	assert_int_equal(ipsw_cache_path(p, cache, OS_NAME, final, sizeof(final)), 0);
	assert_false(exists(final));
	snprintf(aux, sizeof(aux), "%s.extract", final);
	assert_false(exists(aux));
}

static void
test_prepare_lying_size(void **state)
{
	struct ipsw_info	 info;
	struct result		 r;
	char			 cache[PATH_MAX], final[PATH_MAX], aux[PATH_MAX + 16], err[256];
	const char		*p;

	(void)state;
	/* the entry claims fewer bytes than it holds */
	p = mkipsw("lying.ipsw", "--claim-os-size 100");
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), 0);
	assert_int_equal(info.os_size, 100);
	pathf(cache, "%s/%s", "cache-lying");
	assert_true(prepare(p, cache, &info, &r));
	assert_int_not_equal(r.err, 0);
	assert_int_equal(ipsw_cache_path(p, cache, OS_NAME, final, sizeof(final)), 0);
	assert_false(exists(final));
	snprintf(aux, sizeof(aux), "%s.extract", final);
	assert_false(exists(aux));
}

/* A full disk (a file size limit: write() fails with EFBIG) leaves no partial file. */
static void
test_prepare_disk_full(void **state)
{
	struct ipsw_info	 info;
	char			 cache[PATH_MAX], final[PATH_MAX], aux[PATH_MAX + 16], err[256];
	const char		*p;
	pid_t			 pid;
	int			 status;

	(void)state;
	p = mkipsw("big.ipsw", "--os-bytes 2000000");
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-full");
	assert_int_equal(ipsw_cache_path(p, cache, OS_NAME, final, sizeof(final)), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct rlimit	 rl = { 262144, 262144 };
		struct result	 r;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(10);
		if (!prepare(p, cache, &info, &r))
			_exit(11);
		if (r.done != 1 || r.err == 0)
			_exit(12);
		if (strstr(r.msg, "writing") == NULL)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(exists(final));
	snprintf(aux, sizeof(aux), "%s.extract", final);
	assert_false(exists(aux));
	assert_false(ipsw_cached(p, cache, &info));
}

static void
never_cb(void *arg, int err, const char *msg)
{
	(void)err;
	(void)msg;
	(*(int *)arg)++;
}

/* Freeing a running preparation cancels it and removes the partial file. */
static void
test_prepare_free_cancels(void **state)
{
	struct ipsw_info	 info;
	struct ipsw_prep	*prep;
	struct ev_loop		*loop;
	char			 cache[PATH_MAX], final[PATH_MAX], aux[PATH_MAX + 16], err[256];
	const char		*p;
	struct stat		 st;
	int			 called = 0;

	(void)state;
	p = mkipsw("cancel.ipsw", "--os-bytes 60000000 --stored");
	assert_int_equal(ipsw_read_info(p, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-cancel");
	assert_int_equal(ipsw_cache_path(p, cache, OS_NAME, final, sizeof(final)), 0);
	snprintf(aux, sizeof(aux), "%s.extract", final);
	loop = ev_loop_new(EVFLAG_AUTO);
	prep = ipsw_prepare_start(loop, p, cache, &info, NULL, never_cb, &called, err, sizeof(err));
	assert_non_null(prep);
	/* let it get going, without running the loop (no callbacks yet) */
	for (int i = 0; i < 200 && !exists(aux) && !exists(final); i++)
		usleep(10000);
	ipsw_prepare_free(prep);
	ev_run(loop, EVRUN_NOWAIT);
	ev_loop_destroy(loop);
	assert_int_equal(called, 0);
	assert_false(exists(aux));
	/* either it finished first (complete) or it is gone */
	if (stat(final, &st) == 0)
		assert_int_equal((unsigned long long)st.st_size, info.os_size);
}

struct selfree {
	struct ipsw_prep	*prep;
	struct ev_loop		*loop;
	int			 err;
	bool			 done;
};

static void
free_in_done_cb(void *arg, int err, const char *msg)
{
	struct selfree	*s = arg;

	(void)msg;
	s->err = err;
	s->done = true;
	ipsw_prepare_free(s->prep);
	ev_break(s->loop, EVBREAK_ALL);
}

/* Not the house style, but it must not crash: done is the last thing the module does. */
static void
test_prepare_free_inside_done(void **state)
{
	struct ipsw_info	 info;
	struct selfree		 s;
	char			 cache[PATH_MAX], err[256];

	(void)state;
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	pathf(cache, "%s/%s", "cache-selffree");
	memset(&s, 0, sizeof(s));
	s.loop = ev_loop_new(EVFLAG_AUTO);
	s.prep = ipsw_prepare_start(s.loop, good, cache, &info, NULL, free_in_done_cb, &s,
	    err, sizeof(err));
	assert_non_null(s.prep);
	ev_run(s.loop, 0);
	ev_loop_destroy(s.loop);
	assert_true(s.done);
	assert_int_equal(s.err, 0);
	assert_true(ipsw_cached(good, cache, &info));
}

static void
test_prepare_start_refuses(void **state)
{
	struct ipsw_info	 info;
	struct ev_loop		*loop;
	char			 err[256];

	(void)state;
	loop = ev_loop_new(EVFLAG_AUTO);
	assert_int_equal(ipsw_read_info(good, &info, err, sizeof(err)), 0);
	err[0] = '\0';
	assert_null(ipsw_prepare_start(loop, NULL, "/c", &info, NULL, NULL, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(ipsw_prepare_start(loop, good, "/c", NULL, NULL, NULL, NULL, err, sizeof(err)));
	/* an info whose OS path was tampered with after reading */
	snprintf(info.os_path, sizeof(info.os_path), "../../etc/passwd");
	err[0] = '\0';
	assert_null(ipsw_prepare_start(loop, good, "/c", &info, NULL, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "no safe cache path"));
	ipsw_prepare_free(NULL);
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_zip),
		cmocka_unit_test(test_info_binary_products),
		cmocka_unit_test(test_info_many_products_cut_between_names),
		cmocka_unit_test(test_info_directory),
		cmocka_unit_test(test_info_no_os),
		cmocka_unit_test(test_info_hostile),
		cmocka_unit_test(test_info_bad_files),
		cmocka_unit_test(test_info_absurd_size),
		cmocka_unit_test(test_cache_path),
		cmocka_unit_test(test_prepare_extracts_once),
		cmocka_unit_test(test_prepare_replaces_wrong_size),
		cmocka_unit_test(test_prepare_directory_ipsw),
		cmocka_unit_test(test_prepare_every_os_image),
		cmocka_unit_test(test_prepare_waits_for_other_extractor),
		cmocka_unit_test(test_prepare_takes_over_stale_extract),
		cmocka_unit_test(test_prepare_corrupt_member),
		cmocka_unit_test(test_prepare_lying_size),
		cmocka_unit_test(test_prepare_disk_full),
		cmocka_unit_test(test_prepare_free_cancels),
		cmocka_unit_test(test_prepare_free_inside_done),
		cmocka_unit_test(test_prepare_start_refuses),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
