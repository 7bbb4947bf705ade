/*
 * test_fwlib.c: the library scan (src/fwlib.c) on real generated IPSWs: what
 * it reads from the manifest, from dir/.meta/.scan and from the last scan,
 * counted by fwlib_scan()'s stats, and the .meta verdicts on top of them.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

#include "testutil.h"
#include "fwlib.h"

static char	 top[PATH_MAX];		/* a fresh library folder per run */

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

/* top/NAME from mkipsw.py OPTS, its mtime a minute ago (out of the 2 s "still changing" window). */
static void
mkipsw(const char *name, const char *opts)
{
	assert_int_equal(sh("python3 '%s' '%s/%s' %s >/dev/null && touch -d '-1 minute' '%s/%s'",
	    test_path("tests/data/mkipsw.py"), top, name, opts, top, name), 0);
}

static const struct fwlib_entry *
find(const struct fwlib_entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return (&e[i]);
	fail_msg("%s not listed", name);
	return (NULL);
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(top, sizeof(top), "%s/idb-fwlib.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	if (getenv("KEEP_TMP") == NULL && top[0] != '\0')
		sh("rm -rf '%s'", top);
	return (0);
}

/* Parsed once, then from the cache by a new process-like scan (no prev), then carried over. */
static void
test_counts(void **state)
{
	struct fwlib_entry	*a = NULL, *b = NULL, *c = NULL;
	struct fwlib_scan_stats	 st;
	size_t			 na, nb, nc;
	char			 err[256];
	const struct fwlib_entry *x;

	(void)state;
	mkipsw("one.ipsw", "--product iPhone10,6 --cpid 0x8015 --bdid 0x0e --version 16.7.10 --build 20H350 "
	    "--extra-identities 3");
	mkipsw("two.ipsw", "--product iPhone9,1 --cpid 0x8010 --bdid 0x08 --version 15.8.3 --build 19H386");
	assert_int_equal(sh("printf junk > '%s/three.ipsw' && touch -d '-1 minute' '%s/three.ipsw'", top, top), 0);

	assert_int_equal(fwlib_scan(top, NULL, 0, &a, &na, &st, err, sizeof(err)), 0);
	assert_int_equal(na, 3);
	assert_int_equal(st.parsed, 3);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.stored, 3);
	x = find(a, na, "one.ipsw");
	assert_true(x->b.usable);
	assert_string_equal(x->b.build, "20H350");
	assert_int_equal(x->b.nids, 4);		/* the real identity and 3 extra boards */

	/* no previous scan: everything from dir/.meta/.scan, nothing parsed */
	assert_int_equal(fwlib_scan(top, NULL, 0, &b, &nb, &st, err, sizeof(err)), 0);
	assert_int_equal(nb, 3);
	assert_int_equal(st.parsed, 0);
	assert_int_equal(st.cached, 3);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i].name, b[i].name);
		assert_string_equal(a[i].b.version, b[i].b.version);
		assert_string_equal(a[i].b.build, b[i].b.build);
		assert_string_equal(a[i].b.product_types, b[i].b.product_types);
		assert_string_equal(a[i].reason, b[i].reason);
		assert_int_equal(a[i].b.usable, b[i].b.usable);
		assert_int_equal(a[i].b.nids, b[i].b.nids);
		assert_memory_equal(a[i].b.ids, b[i].b.ids, a[i].b.nids * sizeof(a[i].b.ids[0]));
		assert_string_equal(a[i].b.path, b[i].b.path);
	}
	x = find(b, nb, "three.ipsw");
	assert_false(x->b.usable);
	assert_non_null(strstr(x->reason, "not a readable IPSW"));

	/* with the last scan: carried over, not even the cache is read */
	assert_int_equal(fwlib_scan(top, b, nb, &c, &nc, &st, err, sizeof(err)), 0);
	assert_int_equal(st.reused, 3);
	assert_int_equal(st.parsed + st.cached, 0);

	/* a new mtime: that one file is parsed again */
	free(a);
	assert_int_equal(sh("touch -d '-30 seconds' '%s/two.ipsw'", top), 0);
	assert_int_equal(fwlib_scan(top, c, nc, &a, &na, &st, err, sizeof(err)), 0);
	assert_int_equal(st.parsed, 1);
	assert_int_equal(st.reused, 2);
	free(a);
	free(b);
	free(c);
}

/* A .meta verdict (suspect) is not the manifest's: clearing it makes the build usable again. */
static void
test_meta_verdict_not_carried(void **state)
{
	struct fwlib_entry	*a = NULL, *b = NULL;
	size_t			 na, nb;
	char			 err[256];

	(void)state;
	mkipsw("s.ipsw", "--product iPhone10,6 --cpid 0x8015 --bdid 0x0e --version 16.7.10 --build 20H350");
	assert_int_equal(fwlib_meta_write(top, "s.ipsw", "suspect", false), 0);
	assert_int_equal(fwlib_scan(top, NULL, 0, &a, &na, NULL, err, sizeof(err)), 0);
	assert_false(find(a, na, "s.ipsw")->b.usable);
	assert_non_null(strstr(find(a, na, "s.ipsw")->reason, "suspect"));
	/* verified since: the verdict goes, the carried-over entry is usable again */
	assert_int_equal(fwlib_meta_write(top, "s.ipsw", "0123456789abcdef0123456789abcdef01234567", false), 0);
	assert_int_equal(fwlib_scan(top, a, na, &b, &nb, NULL, err, sizeof(err)), 0);
	assert_true(find(b, nb, "s.ipsw")->b.usable);
	assert_string_equal(find(b, nb, "s.ipsw")->reason, "");
	free(a);
	free(b);
}

/* Many files parsed on several threads give what one at a time gives. */
static void
test_threads_agree(void **state)
{
	struct fwlib_entry	*a = NULL, *b = NULL;
	struct fwlib_scan_stats	 st;
	size_t			 na, nb;
	char			 err[256], name[32], opts[256];

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "t%02d.ipsw", i);
		snprintf(opts, sizeof(opts), "--product iPhone10,6 --cpid 0x8015 --bdid 0x%02x --version 16.%d "
		    "--build 20H%d", 0x10 + i, i, 100 + i);
		mkipsw(name, opts);
	}
	assert_int_equal(sh("rm -rf '%s/.meta'", top), 0);
	assert_int_equal(fwlib_scan(top, NULL, 0, &a, &na, &st, err, sizeof(err)), 0);
	assert_true(st.parsed >= 12);
	for (int i = 0; i < 12; i++) {
		const struct fwlib_entry *x;

		snprintf(name, sizeof(name), "t%02d.ipsw", i);
		x = find(a, na, name);
		assert_true(x->b.usable);
		assert_int_equal(x->b.ids[0].bdid, 0x10 + i);
		snprintf(name, sizeof(name), "20H%d", 100 + i);
		assert_string_equal(x->b.build, name);
	}
	/* sorted by path, as before */
	for (size_t i = 1; i < na; i++)
		assert_true(strcmp(a[i - 1].b.path, a[i].b.path) < 0);
	assert_int_equal(fwlib_scan(top, NULL, 0, &b, &nb, &st, err, sizeof(err)), 0);
	assert_int_equal(st.parsed, 0);
	assert_int_equal(nb, na);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_verdict_not_carried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_agree, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
