/*
 * fwconfig.c: the [firmware] and [pin] sections of idevicebench.conf
 * (DESIGN.md "Firmware library"; keys are stable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "text.h"

/* Defaults of [firmware] (called by config_defaults). */
void
config_firmware_defaults(struct config *c)
{
	const char	*v = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (v != NULL && v[0] == '/')
		snprintf(c->fw_dir, sizeof(c->fw_dir), "%s/idevicebench/firmware", v);
	else
		snprintf(c->fw_dir, sizeof(c->fw_dir), "%s/.cache/idevicebench/firmware",
		    home ? home : "/tmp");
	c->fw_download = false;
	text_copy(c->fw_index, "https://api.ipsw.me/v4", sizeof(c->fw_index));
	c->fw_keep = 200ULL << 30;
	c->npins = 0;
}

/* "200G", "512M", "1T", "0" (no budget), plain bytes. */
static int
parse_size(const char *v, unsigned long long *out)
{
	char			*end;
	unsigned long long	 n, mul = 1;

	errno = 0;
	if (v[0] < '0' || v[0] > '9')
		return (-1);
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return (-1);
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1ULL << 10; end++;
		break;
	case 'm': case 'M':
		mul = 1ULL << 20; end++;
		break;
	case 'g': case 'G':
		mul = 1ULL << 30; end++;
		break;
	case 't': case 'T':
		mul = 1ULL << 40; end++;
		break;
	default:
		return (-1);
	}
	if (*end == 'B' || *end == 'b' )
		end++;
	if (*end != '\0' || n > (~0ULL) / mul)
		return (-1);
	*out = n * mul;
	return (0);
}

/* A model name a pin may use: "iPhone10,6", "iPad7,11" (letters, digits, comma). */
static int
model_ok(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n >= sizeof(((struct config_pin *)0)->model))
		return (0);
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == ','))
			return (0);
	return (1);
}

/* One key of [firmware] or [pin]: 1 accepted, 0 refused with a reason in err. */
int
config_firmware_key(struct config *c, const char *section, const char *key, const char *v,
    char *err, size_t errlen)
{
	char	 tmp[1024];

	if (strcmp(section, "pin") == 0) {
		if (!model_ok(key)) {
			snprintf(err, errlen, "[pin] '%.40s' is not a model like iPhone10,6", key);
			return (0);
		}
		config_expand_home(v, tmp, sizeof(tmp));
		if (tmp[0] == '\0' || strlen(tmp) >= sizeof(c->pins[0].value)) {
			snprintf(err, errlen, "[pin] %s: empty or too long", key);
			return (0);
		}
		for (const char *q = tmp; *q; q++) {
			if ((unsigned char)*q < 0x20 || *q == 0x7f) {
				snprintf(err, errlen, "[pin] %s: control character in the value", key);
				return (0);
			}
		}
		for (size_t i = 0; i < c->npins; i++) {
			if (strcmp(c->pins[i].model, key) == 0) {
				snprintf(err, errlen, "[pin] %s is given twice", key);
				return (0);
			}
		}
		if (c->npins >= CONFIG_MAX_PINS) {
			snprintf(err, errlen, "more than %d pins", CONFIG_MAX_PINS);
			return (0);
		}
		text_copy(c->pins[c->npins].model, key, sizeof(c->pins[0].model));
		text_copy(c->pins[c->npins].value, tmp, sizeof(c->pins[0].value));
		c->npins++;
		return (1);
	}
	if (strcmp(key, "dir") == 0) {
		config_expand_home(v, tmp, sizeof(tmp));
		if (tmp[0] == '\0' || strlen(tmp) >= sizeof(c->fw_dir)) {
			snprintf(err, errlen, "dir is empty or too long");
			return (0);
		}
		/* children run elsewhere: the IPSW paths given to them must be absolute */
		if (tmp[0] != '/') {
			char cwd[512], abs[1100];

			if (getcwd(cwd, sizeof(cwd)) == NULL ||
			    (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, tmp) >= sizeof(c->fw_dir)) {
				snprintf(err, errlen, "dir: cannot make %.40s absolute", tmp);
				return (0);
			}
			text_copy(tmp, abs, sizeof(tmp));
		}
		text_copy(c->fw_dir, tmp, sizeof(c->fw_dir));
		return (1);
	}
	if (strcmp(key, "download") == 0) {
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			c->fw_download = true;
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			c->fw_download = false;
		else {
			snprintf(err, errlen, "download must be yes or no, not '%.40s'", v);
			return (0);
		}
		return (1);
	}
	if (strcmp(key, "index") == 0) {
		if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
		    strlen(v) >= sizeof(c->fw_index) || strpbrk(v, " \t\"'\\") != NULL) {
			snprintf(err, errlen, "index must be an http:// or https:// URL");
			return (0);
		}
		text_copy(c->fw_index, v, sizeof(c->fw_index));
		/* "{index}/device/..." : no trailing slash */
		while (strlen(c->fw_index) > 8 && c->fw_index[strlen(c->fw_index) - 1] == '/')
			c->fw_index[strlen(c->fw_index) - 1] = '\0';
		return (1);
	}
	if (strcmp(key, "keep") == 0) {
		if (parse_size(v, &c->fw_keep) != 0) {
			snprintf(err, errlen, "keep must be a size like 200G, 512M or 0, not '%.40s'", v);
			return (0);
		}
		return (1);
	}
	snprintf(err, errlen, "unknown key '%.40s' in [firmware]", key);
	return (0);
}
