/* config.c: read idevicebench.conf with inih; validate every value. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "text.h"

struct parse_ctx {
	struct config *cfg;
	char err[256];
};

static void
xdg_dir(const char *env, const char *fallback, const char *leaf, char *out, size_t len)
{
	const char *v = getenv(env), *home = getenv("HOME");

	if (v != NULL && v[0] == '/')
		snprintf(out, len, "%s/idevicebench%s%s", v, leaf[0] ? "/" : "", leaf);
	else
		snprintf(out, len, "%s/%s/idevicebench%s%s", home ? home : "/tmp", fallback,
		    leaf[0] ? "/" : "", leaf);
}

void
config_expand_home(const char *in, char *out, size_t outlen)
{
	const char *home = getenv("HOME");

	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0') && home != NULL)
		snprintf(out, outlen, "%s%s", home, in + 1);
	else
		text_copy(out, in, outlen);
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	if (gethostname(c->name, sizeof(c->name) - 1) != 0 || c->name[0] == '\0')
		text_copy(c->name, "bench", sizeof(c->name));
	text_copy(c->restore_cmd, "idevicerestore", sizeof(c->restore_cmd));
	xdg_dir("XDG_CACHE_HOME", ".cache", "", c->cache_dir, sizeof(c->cache_dir));
	xdg_dir("XDG_STATE_HOME", ".local/state", "logs", c->log_dir, sizeof(c->log_dir));
	xdg_dir("XDG_DATA_HOME", ".local/share", "history.db", c->db, sizeof(c->db));
	c->max_jobs = 10;
	c->max_jobs_per_root = 2;
	c->stall_timeout = 900;
	c->reconnect_window = 120;
	c->kill_grace = 5;
	config_firmware_defaults(c);
}

const char *
config_label_for(const struct config *c, const char *port)
{
	for (size_t i = 0; i < c->nslots; i++)
		if (strcmp(c->slots[i].port, port) == 0)
			return c->slots[i].label;
	return NULL;
}

static int
set_int(struct parse_ctx *p, const char *key, const char *v, int lo, int hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
		snprintf(p->err, sizeof(p->err), "%s must be a whole number from %d to %d, not '%.40s'",
		    key, lo, hi, v);
		return 0;
	}
	*out = (int)n;
	return 1;
}

static int
set_secs(struct parse_ctx *p, const char *key, const char *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(d >= lo && d <= hi)) {
		snprintf(p->err, sizeof(p->err), "%s must be a number of seconds from %g to %g, not '%.40s'",
		    key, lo, hi, v);
		return 0;
	}
	*out = d;
	return 1;
}

static int
set_path(struct parse_ctx *p, const char *key, const char *v, char *out, size_t len)
{
	char tmp[1024];

	config_expand_home(v, tmp, sizeof(tmp));
	if (strlen(tmp) >= len) {
		snprintf(p->err, sizeof(p->err), "%s is too long", key);
		return 0;
	}
	text_copy(out, tmp, len);
	return 1;
}

/* Names a technician types (bench, slot labels) use the command language's slot characters. */
static int
valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if (!command_slot_char(*s))
			return 0;
	return 1;
}

static int
valid_port(const char *s)
{
	/* bus-port[.port...]: digits, one '-', dots between digits */
	const char *q = s;
	int dash = 0;

	if (!command_slot_name_ok(s) || *q < '0' || *q > '9')
		return 0;
	for (; *q; q++) {
		if (*q == '-') {
			if (dash++ || q[1] < '0' || q[1] > '9')
				return 0;
		} else if (*q == '.') {
			if (!dash || q[1] < '0' || q[1] > '9')
				return 0;
		} else if (*q < '0' || *q > '9')
			return 0;
	}
	return dash == 1;
}

static int
handler(void *user, const char *section, const char *key, const char *v)
{
	struct parse_ctx *p = user;
	struct config *c = p->cfg;

	if (strcmp(section, "bench") == 0) {
		if (strcmp(key, "name") == 0) {
			if (!valid_name(v, sizeof(c->name))) {
				snprintf(p->err, sizeof(p->err), "name must be 1-63 of A-Z a-z 0-9 . - _");
				return 0;
			}
			text_copy(c->name, v, sizeof(c->name));
			return 1;
		}
		if (strcmp(key, "ipsw") == 0)
			return set_path(p, key, v, c->ipsw, sizeof(c->ipsw));
		if (strcmp(key, "restore_cmd") == 0) {
			if (v[0] == '\0') {
				snprintf(p->err, sizeof(p->err), "restore_cmd is empty");
				return 0;
			}
			c->restore_cmd_set = true;
			return set_path(p, key, v, c->restore_cmd, sizeof(c->restore_cmd));
		}
		if (strcmp(key, "cache_dir") == 0)
			return set_path(p, key, v, c->cache_dir, sizeof(c->cache_dir));
		if (strcmp(key, "group") == 0) {
			/* the group whose members may attach to the bench's control socket */
			if (v[0] != '\0' && !valid_name(v, sizeof(c->group))) {
				snprintf(p->err, sizeof(p->err), "group must be 1-63 of A-Z a-z 0-9 . - _");
				return 0;
			}
			text_copy(c->group, v, sizeof(c->group));
			return 1;
		}
		if (strcmp(key, "log_dir") == 0)
			return set_path(p, key, v, c->log_dir, sizeof(c->log_dir));
		if (strcmp(key, "models") == 0)
			return set_path(p, key, v, c->models_file, sizeof(c->models_file));
		if (strcmp(key, "max_jobs") == 0)
			return set_int(p, key, v, 1, 256, &c->max_jobs);
		if (strcmp(key, "max_jobs_per_root") == 0)
			return set_int(p, key, v, 1, 64, &c->max_jobs_per_root);
		if (strcmp(key, "stall_timeout") == 0)
			return set_secs(p, key, v, 0.1, 86400, &c->stall_timeout);
		if (strcmp(key, "reconnect_window") == 0)
			return set_secs(p, key, v, 0.1, 3600, &c->reconnect_window);
		if (strcmp(key, "kill_grace") == 0)
			return set_secs(p, key, v, 0.1, 300, &c->kill_grace);
		if (strcmp(key, "on_dfu") == 0) {
			if (strcmp(v, "none") == 0)
				c->on_dfu = ON_DFU_NONE;
			else if (strcmp(v, "erase") == 0)
				c->on_dfu = ON_DFU_ERASE;
			else {
				snprintf(p->err, sizeof(p->err), "on_dfu must be none or erase, not '%.40s'", v);
				return 0;
			}
			return 1;
		}
		if (strcmp(key, "on_recovery") == 0) {
			if (strcmp(v, "none") == 0)
				c->on_recovery = ON_RECOVERY_NONE;
			else if (strcmp(v, "update") == 0)
				c->on_recovery = ON_RECOVERY_UPDATE;
			else {
				snprintf(p->err, sizeof(p->err), "on_recovery must be none or update, not '%.40s'", v);
				return 0;
			}
			return 1;
		}
	} else if (strcmp(section, "firmware") == 0 || strcmp(section, "pin") == 0) {
		return config_firmware_key(c, section, key, v, p->err, sizeof(p->err));
	} else if (strcmp(section, "history") == 0) {
		if (strcmp(key, "url") == 0 || strcmp(key, "path") == 0) {
			if (v[0] == '\0') {
				snprintf(p->err, sizeof(p->err), "%s is empty", key);
				return 0;
			}
			return set_path(p, key, v, c->db, sizeof(c->db));
		}
	} else if (strcmp(section, "slots") == 0) {
		if (!command_slot_name_ok(key)) {
			snprintf(p->err, sizeof(p->err), "slot label '%.40s' must be 1-31 of A-Z a-z 0-9 . - _", key);
			return 0;
		}
		if (!valid_port(v)) {
			snprintf(p->err, sizeof(p->err), "slot %s: '%.40s' is not a port path like 1-2.3", key, v);
			return 0;
		}
		for (size_t i = 0; i < c->nslots; i++) {
			if (strcmp(c->slots[i].label, key) == 0 || strcmp(c->slots[i].port, v) == 0) {
				snprintf(p->err, sizeof(p->err), "slot %s = %s repeats a label or port", key, v);
				return 0;
			}
		}
		if (c->nslots >= CONFIG_MAX_SLOTS) {
			snprintf(p->err, sizeof(p->err), "more than %d slots", CONFIG_MAX_SLOTS);
			return 0;
		}
		text_copy(c->slots[c->nslots].label, key, sizeof(c->slots[0].label));
		text_copy(c->slots[c->nslots].port, v, sizeof(c->slots[0].port));
		c->nslots++;
		return 1;
	} else {
		snprintf(p->err, sizeof(p->err), "unknown section [%.40s]", section);
		return 0;
	}
	snprintf(p->err, sizeof(p->err), "unknown key '%.40s' in [%s]", key, section);
	return 0;
}

static int
finish(struct parse_ctx *p, int rc, const char *name, char *err, size_t errlen)
{
	if (rc == 0)
		return 0;
	if (rc < 0)
		snprintf(err, errlen, "%s: cannot read: %s", name, strerror(errno));
	else if (p->err[0]) {
		char clean[sizeof(p->err)];

		/* the message quotes the file's own bytes, which may hold escapes */
		text_sanitize(clean, sizeof(clean), p->err, strlen(p->err));
		snprintf(err, errlen, "%s:%d: %s", name, rc, clean);
	} else
		snprintf(err, errlen, "%s:%d: syntax error", name, rc);
	return -1;
}

int
config_load_string(struct config *c, const char *text, const char *name, char *err, size_t errlen)
{
	struct parse_ctx p = { .cfg = c };

	return finish(&p, ini_parse_string(text, handler, &p), name, err, errlen);
}

static int
load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	struct parse_ctx p = { .cfg = c };
	struct stat st;
	FILE *f;
	int rc;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * As root the configuration names the program to run (restore_cmd):
	 * a file that anyone but root can change would let them run anything
	 * as root. World-writable, or writable by a group other than root's,
	 * is refused.
	 */
	if (fstat(fileno(f), &st) == 0 && geteuid() == 0 && S_ISREG(st.st_mode) &&
	    ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0))) {
		fclose(f);
		snprintf(err, errlen, "%s: writable by others%s; refusing it when running as root",
		    path, (st.st_mode & S_IWOTH) ? "" : " (its group)");
		return -1;
	}
	rc = ini_parse_file(f, handler, &p);
	fclose(f);
	if (finish(&p, rc, path, err, errlen) != 0)
		return -1;
	text_copy(c->path, path, sizeof(c->path));
	return 0;
}

int
config_load(struct config *c, const char *explicit_path, char *err, size_t errlen)
{
	char path[1024];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (explicit_path != NULL)
		return load_file(c, explicit_path, err, errlen);
	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/idevicebench/idevicebench.conf", xdg);
	else
		snprintf(path, sizeof(path), "%s/.config/idevicebench/idevicebench.conf", home ? home : "/");
	if (access(path, F_OK) == 0)
		return load_file(c, path, err, errlen);
	if (access("/etc/idevicebench/idevicebench.conf", F_OK) == 0)
		return load_file(c, "/etc/idevicebench/idevicebench.conf", err, errlen);
	return 0;
}
