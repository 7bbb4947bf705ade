/*
 * fuzz_config.c: idevicebench.conf through config_load_string() (inih and
 * the value checks of src/config.c). Whatever the file says, a loaded
 * configuration must hold only values the checks allow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static int
name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	 c;	/* 40 KB: not on the stack */
	char			*text, err[200];
	size_t			 i;
	int			 rc;

	text = fuzz_strdup(data, size);
	config_defaults(&c);
	memset(err, 'x', sizeof(err));
	rc = config_load_string(&c, text, "fuzz.conf", err, sizeof(err));
	if (rc != 0 && rc != -1)
		fuzz_fail("config_load_string returned %d", rc);
	if (rc == -1)
		FUZZ_CLEAN("err", err);
	/* even a failed load may have set keys before the bad line: all in range */
	if (c.max_jobs < 1 || c.max_jobs > 256 || c.max_jobs_per_root < 1 ||
	    c.max_jobs_per_root > 64)
		fuzz_fail("job limits %d/%d", c.max_jobs, c.max_jobs_per_root);
	if (!(c.stall_timeout >= 0.1 && c.stall_timeout <= 86400) ||
	    !(c.reconnect_window >= 0.1 && c.reconnect_window <= 3600) ||
	    !(c.kill_grace >= 0.1 && c.kill_grace <= 300))
		fuzz_fail("timeouts %g %g %g", c.stall_timeout, c.reconnect_window,
		    c.kill_grace);
	if ((unsigned)c.on_dfu > ON_DFU_ERASE || (unsigned)c.on_recovery > ON_RECOVERY_UPDATE)
		fuzz_fail("policies %d %d", (int)c.on_dfu, (int)c.on_recovery);
	FUZZ_TERMINATED("path", c.path);
	FUZZ_TERMINATED("name", c.name);
	FUZZ_TERMINATED("ipsw", c.ipsw);
	FUZZ_TERMINATED("restore_cmd", c.restore_cmd);
	FUZZ_TERMINATED("cache_dir", c.cache_dir);
	FUZZ_TERMINATED("log_dir", c.log_dir);
	FUZZ_TERMINATED("db", c.db);
	FUZZ_TERMINATED("models_file", c.models_file);
	if (c.restore_cmd[0] == '\0')
		fuzz_fail("empty restore_cmd");
	if (c.nslots > CONFIG_MAX_SLOTS)
		fuzz_fail("%zu slots", c.nslots);
	for (i = 0; i < c.nslots; i++) {
		FUZZ_TERMINATED("slot label", c.slots[i].label);
		FUZZ_TERMINATED("slot port", c.slots[i].port);
		/* labels and ports reach the grid: only the allowed characters */
		if (!name_ok(c.slots[i].label) || !name_ok(c.slots[i].port))
			fuzz_fail("slot %zu '%s' = '%s'", i, c.slots[i].label, c.slots[i].port);
		if (config_label_for(&c, c.slots[i].port) != c.slots[i].label)
			fuzz_fail("slot %zu: port %s repeated", i, c.slots[i].port);
	}
	free(text);
	return 0;
}
