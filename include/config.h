/*
 * config.h: the configuration file (idevicebench.conf, INI read with inih).
 * Every key has a default, so no file is needed. See idevicebench.conf(5).
 */
#ifndef IDB_CONFIG_H
#define IDB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum on_dfu_policy { ON_DFU_NONE = 0, ON_DFU_ERASE };
enum on_recovery_policy { ON_RECOVERY_NONE = 0, ON_RECOVERY_UPDATE };

struct config_slot {
	char label[32];
	char port[32];
};

#define CONFIG_MAX_SLOTS 512
#define CONFIG_MAX_PINS 128

/* [pin] model = version, build or IPSW path (same layout as struct fw_pin). */
struct config_pin {
	char model[32];
	char value[512];
};

struct config {
	char path[512];			/* the file read, "" when none was found */
	char name[64];			/* [bench] name, default the host name */
	char group[64];			/* [bench] group: may attach to the control socket, "" none */
	char ipsw[512];
	char restore_cmd[256];
	bool restore_cmd_set;		/* given in the file or on the command line */
	char cache_dir[512];
	char log_dir[512];		/* per-attempt logs: <log_dir>/<ECID>/ */
	char db[512];			/* history database path or URL */
	char models_file[512];		/* extra model table (config/models.tsv) */
	int max_jobs;
	int max_jobs_per_root;
	double stall_timeout;
	double reconnect_window;
	double kill_grace;
	enum on_dfu_policy on_dfu;
	enum on_recovery_policy on_recovery;
	struct config_slot slots[CONFIG_MAX_SLOTS];
	size_t nslots;
	/* [firmware] and [pin] (src/fwconfig.c) */
	char fw_dir[512];		/* the IPSW library */
	bool fw_download;		/* fetch what a phone needs from fw_index */
	char fw_index[512];		/* ipsw.me v4 shaped index */
	unsigned long long fw_keep;	/* disk budget for downloaded files, bytes; 0 = none */
	struct config_pin pins[CONFIG_MAX_PINS];
	size_t npins;
};

/* Fill every key with its default (paths under the XDG directories). */
void config_defaults(struct config *);
/*
 * Find and read the configuration: `explicit_path` if given (must exist),
 * else $XDG_CONFIG_HOME/idevicebench/idevicebench.conf, else
 * /etc/idevicebench/idevicebench.conf. Returns 0, or -1 with
 * "file:line: reason" in err. A file writable by others is refused when
 * running as root.
 */
int config_load(struct config *, const char *explicit_path, char *err, size_t errlen);
/* Read configuration text (for tests and fuzzing); name is used in messages. */
int config_load_string(struct config *, const char *text, const char *name, char *err, size_t errlen);
/* Expand a leading "~/" with $HOME into out. */
void config_expand_home(const char *in, char *out, size_t outlen);
/* Defaults of [firmware] (called by config_defaults). */
void config_firmware_defaults(struct config *);
/* One key of [firmware] or [pin]: 1 accepted, 0 refused with a reason in err. */
int config_firmware_key(struct config *, const char *section, const char *key, const char *v,
    char *err, size_t errlen);
/* Label configured for a port path, or NULL. */
const char *config_label_for(const struct config *, const char *port);

#endif
