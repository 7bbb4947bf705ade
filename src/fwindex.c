/*
 * fwindex.c: a firmware index's answer (the ipsw.me v4 shape), parsed with
 * jansson into checked, sanitized records, and the choice of one of them.
 * Everything that comes from the network is distrusted here: wrong types,
 * hostile strings and another model's answer are refused, never passed on.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fwdl.h"
#include "fwdl_int.h"
#include "text.h"

static bool
str_ok(const char *s, size_t max, const char *allowed_extra)
{
	size_t	 n = strlen(s);

	if (n == 0 || n >= max)
		return (false);
	for (; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
			continue;
		if (strchr(allowed_extra, *s) == NULL)
			return (false);
	}
	return (true);
}

static bool
hex_ok(const char *s, size_t want)
{
	if (strlen(s) != want)
		return (false);
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
			return (false);
	return (true);
}

static bool
url_ok(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return (false);
	if (strlen(s) >= sizeof(((struct fw_index_fw *)0)->url))
		return (false);
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '"' || *s == '\\')
			return (false);
	return (true);
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return (NULL);
	return (json_string_value(v));
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

/* Parse an index answer for the identifier asked. */
int
fwdl_index_parse(const char *json, size_t len, const char *want, struct fw_index *ix,
    char *err, size_t errlen)
{
	json_t		*root, *fws, *f, *v;
	json_error_t	 je;
	const char	*s;
	size_t		 i, n;

	memset(ix, 0, sizeof(*ix));
	if (len > FWDL_MAX_INDEX) {
		snprintf(err, errlen, "index answer too large (%zu bytes)", len);
		return (-1);
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "index answer is not JSON (line %d)", je.line);
		return (-1);
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "index answer is not a JSON object");
		goto fail;
	}
	if ((s = jstr(root, "identifier")) == NULL || !str_ok(s, sizeof(ix->identifier), ",")) {
		snprintf(err, errlen, "index answer has no valid identifier");
		goto fail;
	}
	if (want != NULL && strcmp(s, want) != 0) {
		char clean[64];

		text_sanitize(clean, sizeof(clean), s, strlen(s));
		snprintf(err, errlen, "index answered for %s, not %s", clean, want);
		goto fail;
	}
	text_copy(ix->identifier, s, sizeof(ix->identifier));
	if ((s = jstr(root, "name")) != NULL)
		text_sanitize(ix->name, sizeof(ix->name), s, strlen(s));
	if (json_is_integer(v = json_object_get(root, "cpid")) && json_integer_value(v) >= 0)
		ix->cpid = (uint32_t)json_integer_value(v);
	if (json_is_integer(v = json_object_get(root, "bdid")) && json_integer_value(v) >= 0)
		ix->bdid = (uint32_t)json_integer_value(v);
	fws = json_object_get(root, "firmwares");
	if (!json_is_array(fws)) {
		snprintf(err, errlen, "index answer has no firmwares list");
		goto fail;
	}
	n = json_array_size(fws);
	if (n > FWDL_MAX_FW)
		n = FWDL_MAX_FW;
	if (n > 0 && (ix->fw = calloc(n, sizeof(*ix->fw))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* an entry with a wrong type or a hostile string is skipped, not trusted */
	for (i = 0; i < n; i++) {
		struct fw_index_fw *w = &ix->fw[ix->n];
		const char *id, *ver, *bld, *sha1, *sha256, *url;

		f = json_array_get(fws, i);
		if (!json_is_object(f))
			continue;
		id = jstr(f, "identifier");
		ver = jstr(f, "version");
		bld = jstr(f, "buildid");
		sha1 = jstr(f, "sha1sum");
		sha256 = jstr(f, "sha256sum");
		url = jstr(f, "url");
		v = json_object_get(f, "filesize");
		if (id == NULL || strcmp(id, ix->identifier) != 0 || ver == NULL ||
		    !str_ok(ver, sizeof(w->version), ".") || bld == NULL ||
		    !str_ok(bld, sizeof(w->build), "") || sha1 == NULL || !hex_ok(sha1, 40) ||
		    url == NULL || !url_ok(url) || !json_is_integer(v) || json_integer_value(v) <= 0 ||
		    !json_is_boolean(json_object_get(f, "signed")))
			continue;
		if (json_object_get(f, "sha256sum") != NULL && !json_is_null(json_object_get(f, "sha256sum")) &&
		    (sha256 == NULL || !hex_ok(sha256, 64)))
			continue;
		text_copy(w->identifier, id, sizeof(w->identifier));
		text_copy(w->version, ver, sizeof(w->version));
		text_copy(w->build, bld, sizeof(w->build));
		text_copy(w->sha1, sha1, sizeof(w->sha1));
		lower(w->sha1);
		if (sha256 != NULL) {
			text_copy(w->sha256, sha256, sizeof(w->sha256));
			lower(w->sha256);
		}
		text_copy(w->url, url, sizeof(w->url));
		w->size = (unsigned long long)json_integer_value(v);
		w->is_signed = json_is_true(json_object_get(f, "signed"));
		ix->n++;
	}
	json_decref(root);
	return (0);
fail:
	json_decref(root);
	fwdl_index_clear(ix);
	return (-1);
}

void
fwdl_index_clear(struct fw_index *ix)
{
	free(ix->fw);
	ix->fw = NULL;
	ix->n = 0;
}

/* The newest signed firmware of an index (or the one with that version or build), or NULL. */
const struct fw_index_fw *
fwdl_index_pick(const struct fw_index *ix, const char *want)
{
	size_t	 i;

	for (i = 0; i < ix->n; i++) {
		if (want != NULL && want[0] != '\0') {
			if (strcmp(ix->fw[i].version, want) == 0 || strcmp(ix->fw[i].build, want) == 0)
				return (&ix->fw[i]);
		} else if (ix->fw[i].is_signed)
			return (&ix->fw[i]);
	}
	return (NULL);
}

/* A model identifier as the index and a URL may carry it ("iPhone10,6"). */
bool
fwdl_id_ok(const char *identifier)
{
	return (str_ok(identifier, 32, ","));
}
