/* test_ipsw_cache.c: an IPSW's cache folder: where, how big, deleted safely, whose (src/ipsw_prep.c). */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

#include "testutil.h"
#include "ipsw.h"

static char	 top[PATH_MAX];

static void
put(const char *path, size_t n)
{
	char	 buf[4096];
	int	 fd;

	memset(buf, 'x', sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		assert_int_equal(write(fd, buf, k), (ssize_t)k);
		n -= k;
	}
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "%s/idb-ipswcache.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return (mkdtemp(top) == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return (system(cmd) == 0 ? 0 : -1);
}

static void
test_folder(void **state)
{
	char	 out[PATH_MAX], want[PATH_MAX], dir[PATH_MAX];

	(void)state;
	assert_int_equal(ipsw_cache_folder("/lib/iPhone10,6_16.7.10_20H350_Restore.ipsw", "/c", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/c/iPhone10,6_16.7.10_20H350_Restore");
	/* no cache_dir: beside the IPSW, no folder of its own */
	assert_int_equal(ipsw_cache_folder("/lib/a.ipsw", "", out, sizeof(out)), -1);
	assert_int_equal(ipsw_cache_folder("/lib/a.ipsw", NULL, out, sizeof(out)), -1);
	/* a name that would leave the cache */
	assert_int_equal(ipsw_cache_folder("/lib/...", "/c", out, sizeof(out)), -1);
	snprintf(want, sizeof(want), "%s/c/a", top);
	snprintf(dir, sizeof(dir), "%s/c", top);
	assert_int_equal(ipsw_cache_folder("/lib/a.ipsw", dir, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_size_and_remove(void **state)
{
	char		 f[PATH_MAX], p[PATH_MAX + 64], outside[PATH_MAX];
	struct stat	 st;
	unsigned long long sz;

	(void)state;
	snprintf(f, sizeof(f), "%s/cache/a", top);
	snprintf(p, sizeof(p), "%s/cache", top);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(f, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub", f);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/os.dmg", f);
	put(p, 100000);
	snprintf(p, sizeof(p), "%s/sub/other.dmg", f);
	put(p, 50000);
	/* a link to a big file elsewhere: neither counted nor followed when deleting */
	snprintf(outside, sizeof(outside), "%s/precious", top);
	put(outside, 400000);
	snprintf(p, sizeof(p), "%s/link", f);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/dirlink", f);
	assert_int_equal(symlink(top, p), 0);

	sz = ipsw_cache_size(f);
	assert_true(sz >= 150000 && sz < 150000 + 3 * 65536);
	assert_int_equal(ipsw_cache_size("/nonexistent/idb"), 0);
	/* the folder itself a link: not ours */
	snprintf(p, sizeof(p), "%s/cache/b", top);
	assert_int_equal(symlink(f, p), 0);
	assert_int_equal(ipsw_cache_size(p), 0);
	assert_int_equal(ipsw_cache_remove(p), -1);
	assert_int_equal(lstat(f, &st), 0);

	assert_int_equal(ipsw_cache_remove(f), 0);
	assert_int_equal(lstat(f, &st), -1);
	assert_int_equal(stat(outside, &st), 0);
	assert_int_equal(st.st_size, 400000);
	/* gone already: nothing to do */
	assert_int_equal(ipsw_cache_remove(f), 0);
}

static void
test_owner(void **state)
{
	char	 f[PATH_MAX], p[PATH_MAX + 64], out[PATH_MAX];
	FILE	*fp;

	(void)state;
	snprintf(f, sizeof(f), "%s/own", top);
	assert_int_equal(mkdir(f, 0755), 0);
	assert_int_equal(ipsw_cache_owner(f, out, sizeof(out)), -1);
	snprintf(p, sizeof(p), "%s/%s", f, IPSW_CACHE_MARK);
	assert_non_null(fp = fopen(p, "w"));
	fprintf(fp, "ipsw /srv/ipsw/a b.ipsw\n");
	fclose(fp);
	assert_int_equal(ipsw_cache_owner(f, out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/ipsw/a b.ipsw");
	/* a relative path, control characters or garbage are no owner */
	assert_non_null(fp = fopen(p, "w"));
	fprintf(fp, "ipsw srv/a.ipsw\n");
	fclose(fp);
	assert_int_equal(ipsw_cache_owner(f, out, sizeof(out)), -1);
	assert_non_null(fp = fopen(p, "w"));
	fprintf(fp, "ipsw /srv/\033[2Ja.ipsw\n");
	fclose(fp);
	assert_int_equal(ipsw_cache_owner(f, out, sizeof(out)), -1);
	assert_non_null(fp = fopen(p, "w"));
	fprintf(fp, "hello");
	fclose(fp);
	assert_int_equal(ipsw_cache_owner(f, out, sizeof(out)), -1);
	/* too long for the caller */
	assert_non_null(fp = fopen(p, "w"));
	fprintf(fp, "ipsw /srv/ipsw/a.ipsw\n");
	fclose(fp);
	assert_int_equal(ipsw_cache_owner(f, out, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folder),
		cmocka_unit_test(test_size_and_remove),
		cmocka_unit_test(test_owner),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
