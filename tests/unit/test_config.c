/* test_config.c: the configuration file parser and its checks. */
#include "testutil.h"
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"

static struct config cfg;
static char err[512];

static int
load(const char *text)
{
	config_defaults(&cfg);
	err[0] = '\0';
	return config_load_string(&cfg, text, "test.conf", err, sizeof(err));
}

static void
test_defaults(void **st)
{
	(void)st;
	setenv("HOME", "/home/tech", 1);
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_STATE_HOME");
	config_defaults(&cfg);
	assert_int_equal(cfg.max_jobs, 10);
	assert_int_equal(cfg.max_jobs_per_root, 2);
	assert_true(cfg.stall_timeout == 900);
	assert_true(cfg.reconnect_window == 120);
	assert_int_equal(cfg.on_dfu, ON_DFU_NONE);
	assert_int_equal(cfg.on_recovery, ON_RECOVERY_NONE);
	assert_string_equal(cfg.restore_cmd, "idevicerestore");
	assert_false(cfg.restore_cmd_set);
	assert_string_equal(cfg.db, "/home/tech/.local/share/idevicebench/history.db");
	assert_string_equal(cfg.log_dir, "/home/tech/.local/state/idevicebench/logs");
}

static void
test_full_file(void **st)
{
	(void)st;
	setenv("HOME", "/home/tech", 1);
	assert_int_equal(load(
	    "[bench]\n"
	    "ipsw = ~/ipsw/iPhone.ipsw\n"
	    "restore_cmd = /opt/idevicerestore/bin/idevicerestore\n"
	    "cache_dir = /var/cache/bench\n"
	    "max_jobs = 12      ; comment\n"
	    "max_jobs_per_root = 3\n"
	    "stall_timeout = 600\n"
	    "reconnect_window = 90.5\n"
	    "on_dfu = erase\n"
	    "on_recovery = update\n"
	    "name = bench-3\n"
	    "[slots]\n"
	    "A1 = 1-2.1\n"
	    "A2 = 1-2.2\n"
	    "B1 = 2-1.4.3\n"), 0);
	assert_string_equal(cfg.ipsw, "/home/tech/ipsw/iPhone.ipsw");
	assert_true(cfg.restore_cmd_set);
	assert_int_equal(cfg.max_jobs, 12);
	assert_int_equal(cfg.max_jobs_per_root, 3);
	assert_true(cfg.reconnect_window == 90.5);
	assert_int_equal(cfg.on_dfu, ON_DFU_ERASE);
	assert_int_equal(cfg.on_recovery, ON_RECOVERY_UPDATE);
	assert_string_equal(cfg.name, "bench-3");
	assert_int_equal(cfg.nslots, 3);
	assert_string_equal(config_label_for(&cfg, "2-1.4.3"), "B1");
	assert_null(config_label_for(&cfg, "1-2.3"));
}

/* [bench] group: who besides root and the bench's user may attach to its socket */
static void
test_group(void **st)
{
	(void)st;
	assert_int_equal(load(""), 0);
	assert_string_equal(cfg.group, "");
	assert_int_equal(load("[bench]\ngroup = bench-techs\n"), 0);
	assert_string_equal(cfg.group, "bench-techs");
	assert_int_equal(load("[bench]\ngroup = a b\n"), -1);
	assert_non_null(strstr(err, "group"));
	assert_int_equal(load("[bench]\ngroup = ../etc\n"), -1);
}

static void
test_errors_name_line(void **st)
{
	(void)st;
	assert_int_equal(load("[bench]\nmax_jobs = ten\n"), -1);
	assert_non_null(strstr(err, "test.conf:2:"));
	assert_non_null(strstr(err, "max_jobs"));

	assert_int_equal(load("[bench]\nmax_jobs = 0\n"), -1);
	assert_int_equal(load("[bench]\nmax_jobs = 99999999999999999999\n"), -1);
	assert_int_equal(load("[bench]\non_dfu = always\n"), -1);
	assert_non_null(strstr(err, "on_dfu"));
	assert_int_equal(load("[bench]\nstall_timeout = -5\n"), -1);
	assert_int_equal(load("[bench]\nstall_timeout = nan\n"), -1);
	assert_int_equal(load("[bench]\nfrobnicate = 1\n"), -1);
	assert_non_null(strstr(err, "unknown key"));
	assert_int_equal(load("[nosuch]\nx = 1\n"), -1);
	assert_non_null(strstr(err, "unknown section"));
	assert_int_equal(load("[slots]\nA1 = 1-2.1\nA2 = 1-2.1\n"), -1);
	assert_non_null(strstr(err, "test.conf:3:"));
	assert_int_equal(load("[slots]\nA1 = usb1\n"), -1);
	assert_int_equal(load("[slots]\nA1 = 1-2..3\n"), -1);
	assert_int_equal(load("[slots]\nA\x1b[2J = 1-2.3\n"), -1);
	assert_int_equal(load("[bench]\nrestore_cmd =\n"), -1);
	assert_int_equal(load("this is not ini\n"), -1);
	assert_non_null(strstr(err, "test.conf:1:"));
}

static void
test_hostile_lengths(void **st)
{
	char *big = malloc(200000);

	(void)st;
	strcpy(big, "[bench]\nipsw = ");
	memset(big + strlen(big), 'x', 150000);
	big[150000 + 15] = '\0';
	/* inih truncates long lines; whatever it does, no crash and a bounded value */
	(void)load(big);
	assert_true(strlen(cfg.ipsw) < sizeof(cfg.ipsw));
	free(big);
}

static void
test_file_permissions(void **st)
{
	char path[] = "/tmp/idb-conf-XXXXXX";
	int fd = mkstemp(path);

	(void)st;
	assert_true(fd >= 0);
	assert_true(write(fd, "[bench]\nmax_jobs = 4\n", 21) == 21);
	close(fd);
	chmod(path, 0644);
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_jobs, 4);
	assert_string_equal(cfg.path, path);
	chmod(path, 0666);
	config_defaults(&cfg);
	if (geteuid() == 0) {
		assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "writable by others"));
		/* group-writable: refused when the group is not root's */
		chmod(path, 0664);
		assert_int_equal(chown(path, 0, 0), 0);
		config_defaults(&cfg);
		assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
		assert_int_equal(chown(path, 0, 65534), 0);
		config_defaults(&cfg);
		assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "writable by others (its group)"));
	}
	unlink(path);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void
test_lookup_order(void **st)
{
	char dir[] = "/tmp/idb-xdg-XXXXXX", sub[256], file[300];
	FILE *f;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/idevicebench", dir);
	mkdir(sub, 0700);
	snprintf(file, sizeof(file), "%s/idevicebench.conf", sub);
	f = fopen(file, "w");
	fputs("[bench]\nmax_jobs = 7\n", f);
	fclose(f);
	setenv("XDG_CONFIG_HOME", dir, 1);
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_jobs, 7);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
	config_defaults(&cfg);
	assert_int_equal(config_load(&cfg, NULL, err, sizeof(err)), 0);
	unsetenv("XDG_CONFIG_HOME");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_errors_name_line),
		cmocka_unit_test(test_hostile_lengths),
		cmocka_unit_test(test_file_permissions),
		cmocka_unit_test(test_lookup_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
