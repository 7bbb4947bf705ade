/*
 * ipsw.c: IPSW inspection: BuildManifest.plist of a zip or an extracted
 * directory, the cache path idevicerestore 1.0.0 uses, and whether the
 * filesystem is there already (adapter: libzip and libplist). The one-time
 * pre-extraction is ipsw_prep.c's:
 *
 * idevicerestore 1.0.0 run with -C DIR extracts the build identity's "OS"
 * image into DIR/<ipsw name without extension>/<OS path> before every
 * restore unless a file of exactly the zip entry's size is already there
 * ("Using cached filesystem from ..."). Ten children started at once would
 * each extract gigabytes: the first takes <path>.extract under <path>.lock,
 * the others extract private copies into $TMPDIR. Extracting once here,
 * before the first job, turns all of them into cache hits.
 *
 * We follow 1.0.0's protocol: under an fcntl lock on <path>.lock, claim
 * <path>.extract (O_EXCL too, since fcntl locks do not exclude threads of one
 * process), drop the lock, write, fsync, rename onto <path>. When somebody else
 * holds a fresh .extract we wait for it to finish rather than extracting a
 * second copy; a .extract whose mtime has not moved for IPSW_STALE_SECS is a
 * leftover of a crash and is taken over.
 *
 * Every name that becomes part of a path is checked first: the OS path from
 * the manifest must be relative, without "." or ".." components or control
 * characters, so nothing is ever written outside the cache directory.
 */
#define _GNU_SOURCE

#include <sys/stat.h>
#include <sys/types.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <plist/plist.h>
#include <zip.h>

#include "ipsw.h"
#include "ipsw_int.h"
#include "text.h"

/*
 * An OS path from the manifest becomes part of a file name under the cache:
 * relative, no empty, "." or ".." component, no control characters.
 */
static int
path_check(const char *path)
{
	const char	*p, *c;
	size_t		 len, n;

	len = strlen(path);
	if (len == 0 || len >= sizeof(((struct ipsw_info *)0)->os_path))
		return (-1);
	if (path[0] == '/')
		return (-1);
	for (p = path; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return (-1);
	}
	for (c = path; ; c = p + 1) {
		p = strchr(c, '/');
		n = p ? (size_t)(p - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return (-1);
		if (p == NULL)
			break;
	}
	return (0);
}

/* Like libgen's POSIX basename() (what 1.0.0 uses), without modifying or overflowing. */
static int
last_component(const char *path, char *out, size_t outlen)
{
	size_t	 end, start;

	end = strlen(path);
	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (end - start >= outlen)
		return (-1);
	memcpy(out, path + start, end - start);
	out[end - start] = '\0';
	return (0);
}

/*
 * 1.0.0 strips an extension only when the IPSW is not a directory, and only
 * one of up to five characters after the last '.' of the last component.
 */
static void
strip_extension(char *s, size_t floor)
{
	size_t	 len, i;

	len = strlen(s);
	if (len <= floor)
		return;
	for (i = len; i > floor; i--) {
		char ch = s[i - 1];
		if (ch == '/' || ch == '\\')
			return;
		if (ch == '.') {
			if (len - i < 6)
				s[i - 1] = '\0';
			return;
		}
	}
}

/* Where idevicerestore 1.0.0 run with -C cache_dir looks for the extracted filesystem. */
int
ipsw_cache_path(const char *ipsw, const char *cache_dir, const char *os_path, char *out, size_t outlen)
{
	char		 dir[PATH_MAX], base[NAME_MAX + 1];
	struct stat	 st;
	bool		 is_dir;
	size_t		 floor;
	int		 n;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (ipsw == NULL || ipsw[0] == '\0' || os_path == NULL || out == NULL || outlen == 0)
		return (-1);
	if (path_check(os_path) != 0)
		return (-1);
	is_dir = stat(ipsw, &st) == 0 && S_ISDIR(st.st_mode);

	if (cache_dir != NULL && cache_dir[0] != '\0') {
		if (last_component(ipsw, base, sizeof(base)) != 0 || base[0] == '\0')
			return (-1);
		n = snprintf(dir, sizeof(dir), "%s/", cache_dir);
		if (n < 0 || (size_t)n >= sizeof(dir))
			return (-1);
		floor = (size_t)n;
		if ((size_t)n + strlen(base) >= sizeof(dir))
			return (-1);
		memcpy(dir + n, base, strlen(base) + 1);
	} else {
		if (strlen(ipsw) >= sizeof(dir))
			return (-1);
		text_copy(dir, ipsw, sizeof(dir));
		floor = 0;
	}
	if (!is_dir)
		strip_extension(dir, floor);

	/* what is left of the name must stay inside cache_dir */
	if (floor > 0 && (strcmp(dir + floor, ".") == 0 || strcmp(dir + floor, "..") == 0))
		return (-1);
	if (floor == 0 && dir[0] == '\0')
		return (-1);

	n = snprintf(out, outlen, "%s/%s", dir, os_path);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return (-1);
	}
	return (0);
}

int
ipsw_src_open(struct ipsw_src *s, const char *path, bool *is_dir, char *err, size_t errlen)
{
	struct stat	 st;
	zip_error_t	 ze;
	int		 zerr = 0;

	memset(s, 0, sizeof(*s));
	s->path = path;
	if (stat(path, &st) != 0) {
		text_errf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (S_ISDIR(st.st_mode)) {
		*is_dir = true;
		return (0);
	}
	*is_dir = false;
	if (!S_ISREG(st.st_mode)) {
		text_errf(err, errlen, "%s: not a file or a directory", path);
		return (-1);
	}
	s->zip = zip_open(path, ZIP_RDONLY, &zerr);
	if (s->zip == NULL) {
		zip_error_init_with_code(&ze, zerr);
		text_errf(err, errlen, "%s: not a readable IPSW (zip): %s", path,
		    zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return (-1);
	}
	return (0);
}

void
ipsw_src_close(struct ipsw_src *s)
{
	if (s->zip != NULL)
		zip_discard(s->zip);
	s->zip = NULL;
}

/* Open a regular file of an extracted IPSW without following it into a FIFO or device. */
int
ipsw_dir_open(const struct ipsw_src *s, const char *name, struct stat *st, char *err, size_t errlen)
{
	char	 full[PATH_MAX];
	int	 fd, n;

	n = snprintf(full, sizeof(full), "%s/%s", s->path, name);
	if (n < 0 || (size_t)n >= sizeof(full)) {
		text_errf(err, errlen, "%s: path too long", name);
		return (-1);
	}
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		text_errf(err, errlen, "%s: %s", full, strerror(errno));
		return (-1);
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		text_errf(err, errlen, "%s: not a regular file", full);
		close(fd);
		return (-1);
	}
	/* regular files ignore O_NONBLOCK, but keep reads plain */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return (fd);
}

int
ipsw_zip_entry(const struct ipsw_src *s, const char *name, zip_uint64_t *idx,
    unsigned long long *size, char *err, size_t errlen)
{
	zip_int64_t	 i;
	zip_stat_t	 zs;

	i = zip_name_locate(s->zip, name, 0);
	if (i < 0) {
		text_errf(err, errlen, "%s not found in the IPSW", name);
		return (-1);
	}
	zip_stat_init(&zs);
	if (zip_stat_index(s->zip, (zip_uint64_t)i, 0, &zs) != 0 ||
	    (zs.valid & ZIP_STAT_SIZE) == 0) {
		text_errf(err, errlen, "%s: unreadable zip entry: %s", name,
		    zip_strerror(s->zip));
		return (-1);
	}
	*idx = (zip_uint64_t)i;
	*size = zs.size;
	return (0);
}

/* The uncompressed size of one member, as 1.0.0's ipsw_get_file_size() sees it. */
static int
src_size(const struct ipsw_src *s, const char *name, unsigned long long *size,
    char *err, size_t errlen)
{
	struct stat	 st;
	zip_uint64_t	 idx;
	int		 fd;

	if (s->zip != NULL)
		return (ipsw_zip_entry(s, name, &idx, size, err, errlen));
	if ((fd = ipsw_dir_open(s, name, &st, err, errlen)) == -1)
		return (-1);
	close(fd);
	*size = (unsigned long long)st.st_size;
	return (0);
}

/* Read a small member whole; more than max bytes is refused before reading. */
static char *
src_read(const struct ipsw_src *s, const char *name, size_t max, size_t *lenp,
    char *err, size_t errlen)
{
	unsigned long long	 size;
	zip_uint64_t		 idx;
	zip_file_t		*zf = NULL;
	struct stat		 st;
	char			*buf, extra;
	size_t			 got = 0;
	zip_int64_t		 zr;
	ssize_t			 r;
	int			 fd = -1;

	if (s->zip != NULL) {
		if (ipsw_zip_entry(s, name, &idx, &size, err, errlen) != 0)
			return (NULL);
	} else {
		if ((fd = ipsw_dir_open(s, name, &st, err, errlen)) == -1)
			return (NULL);
		size = (unsigned long long)st.st_size;
	}
	if (size == 0 || size > max) {
		text_errf(err, errlen, "%s: implausible size %llu", name, size);
		goto fail0;
	}
	if ((buf = malloc((size_t)size)) == NULL) {
		text_errf(err, errlen, "%s: out of memory", name);
		goto fail0;
	}
	if (s->zip != NULL) {
		if ((zf = zip_fopen_index(s->zip, idx, 0)) == NULL) {
			text_errf(err, errlen, "%s: %s", name, zip_strerror(s->zip));
			goto fail;
		}
		while (got < size) {
			zr = zip_fread(zf, buf + got, size - got);
			if (zr <= 0)
				break;
			got += (size_t)zr;
		}
		/* reading past the end makes libzip check the CRC */
		if (got != size || zip_fread(zf, &extra, 1) != 0) {
			text_errf(err, errlen, "%s: corrupt zip entry: %s", name,
			    zip_file_strerror(zf));
			goto fail;
		}
		zip_fclose(zf);
	} else {
		while (got < size) {
			r = read(fd, buf + got, size - got);
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		close(fd);
		fd = -1;
		if (got != size) {
			text_errf(err, errlen, "%s: short read", name);
			goto fail;
		}
	}
	*lenp = got;
	return (buf);

fail:
	free(buf);
	if (zf != NULL)
		zip_fclose(zf);
fail0:
	if (fd != -1)
		close(fd);
	return (NULL);
}

/* A string value, checked for type, embedded NUL and length, then sanitized. */
static int
get_string(plist_t node, const char *what, char *dst, size_t dstlen, char *err, size_t errlen)
{
	const char	*p;
	uint64_t	 len = 0;

	if (node == NULL) {
		text_errf(err, errlen, "BuildManifest.plist: no %s", what);
		return (-1);
	}
	if (plist_get_node_type(node) != PLIST_STRING ||
	    (p = plist_get_string_ptr(node, &len)) == NULL) {
		text_errf(err, errlen, "BuildManifest.plist: %s is not a string", what);
		return (-1);
	}
	if (len == 0 || strlen(p) != len) {
		text_errf(err, errlen, "BuildManifest.plist: %s is empty or holds a NUL", what);
		return (-1);
	}
	if (len >= dstlen) {
		text_errf(err, errlen, "BuildManifest.plist: %s is too long", what);
		return (-1);
	}
	text_sanitize(dst, dstlen, p, (size_t)len);
	return (0);
}

static plist_t
dict_get(plist_t dict, const char *key, plist_type type)
{
	plist_t	 n;

	if (dict == NULL || plist_get_node_type(dict) != PLIST_DICT)
		return (NULL);
	n = plist_dict_get_item(dict, key);
	if (n == NULL || plist_get_node_type(n) != type)
		return (NULL);
	return (n);
}

/* Add an OS path p of len bytes (checked) unless present; put it first when primary. */
int
ipsw_oslist_add(struct ipsw_oslist *l, const char *p, size_t len, bool primary, char *err, size_t errlen)
{
	char		 tmp[256];
	int		 i;

	if (strlen(p) != len || path_check(p) != 0) {
		text_errf(err, errlen, "BuildManifest.plist: unsafe OS path (absolute, \"..\", NUL, control character or too long)");
		return (-1);
	}
	for (i = 0; i < l->n; i++) {
		if (strcmp(l->path[i], p) == 0)
			break;
	}
	if (i == l->n) {
		if (l->n == IPSW_MAX_OS_PATHS) {
			text_errf(err, errlen, "BuildManifest.plist: more than %d distinct OS images",
			    IPSW_MAX_OS_PATHS);
			return (-1);
		}
		text_copy(l->path[l->n++], p, sizeof(l->path[0]));
	}
	if (primary && i != 0) {
		text_copy(tmp, l->path[i], sizeof(tmp));
		memmove(l->path[1], l->path[0], (size_t)i * sizeof(l->path[0]));
		text_copy(l->path[0], tmp, sizeof(l->path[0]));
	}
	return (0);
}

static int
oslist_add(struct ipsw_oslist *l, plist_t node, bool primary, char *err, size_t errlen)
{
	const char	*p;
	uint64_t	 len = 0;

	if (plist_get_node_type(node) != PLIST_STRING ||
	    (p = plist_get_string_ptr(node, &len)) == NULL) {
		text_errf(err, errlen, "BuildManifest.plist: OS Path is not a string");
		return (-1);
	}
	return (ipsw_oslist_add(l, p, (size_t)len, primary, err, errlen));
}

/* An ApChipID/ApBoardID string ("0x8015", as strtoull base 0 reads it); > UINT32_MAX when malformed. */
unsigned long long
ipsw_id_string(const char *s, size_t len)
{
	char			*end;
	unsigned long long	 v;

	if (strlen(s) != len || len == 0 || len > 18)
		return (1ULL << 32);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > 0xffffffffULL)
		return (1ULL << 32);
	return (v);
}

/* A string or integer node; UINT32_MAX+1 when absent or malformed. */
static unsigned long long
id_value(plist_t n)
{
	const char	*s;
	uint64_t	 len = 0, u = 0;

	if (n == NULL)
		return (1ULL << 32);
	if (plist_get_node_type(n) == PLIST_UINT) {
		plist_get_uint_val(n, &u);
		return (u <= 0xffffffffULL ? u : (1ULL << 32));
	}
	if (plist_get_node_type(n) != PLIST_STRING || (s = plist_get_string_ptr(n, &len)) == NULL)
		return (1ULL << 32);
	return (ipsw_id_string(s, (size_t)len));
}

/* id(arg, chip, board) for each build identity that names both, in order. */
static void
manifest_ids(plist_t root, ipsw_id_cb id, void *arg)
{
	plist_t		 ids, one;
	uint32_t	 i, n;

	if (root == NULL || plist_get_node_type(root) != PLIST_DICT ||
	    (ids = plist_dict_get_item(root, "BuildIdentities")) == NULL ||
	    plist_get_node_type(ids) != PLIST_ARRAY)
		return;
	n = plist_array_get_size(ids);
	for (i = 0; i < n; i++) {
		unsigned long long c, d;

		one = plist_array_get_item(ids, i);
		if (one == NULL || plist_get_node_type(one) != PLIST_DICT)
			continue;
		c = id_value(plist_dict_get_item(one, "ApChipID"));
		d = id_value(plist_dict_get_item(one, "ApBoardID"));
		if (c <= 0xffffffffULL && d <= 0xffffffffULL)
			id(arg, (uint32_t)c, (uint32_t)d);
	}
}

static int
manifest_parse(plist_t root, struct ipsw_info *out, struct ipsw_oslist *l, char *err, size_t errlen)
{
	plist_t		 types, ids, id, info, beh, os;
	const char	*p;
	uint64_t	 len;
	uint32_t	 i, n;
	size_t		 used = 0;
	char		 one[64];
	bool		 have_erase = false, primary;

	if (root == NULL || plist_get_node_type(root) != PLIST_DICT) {
		text_errf(err, errlen, "BuildManifest.plist is not a property list dictionary");
		return (-1);
	}
	if (get_string(plist_dict_get_item(root, "ProductVersion"), "ProductVersion",
	    out->product_version, sizeof(out->product_version), err, errlen) != 0)
		return (-1);
	if (get_string(plist_dict_get_item(root, "ProductBuildVersion"), "ProductBuildVersion",
	    out->build, sizeof(out->build), err, errlen) != 0)
		return (-1);

	if ((types = plist_dict_get_item(root, "SupportedProductTypes")) == NULL) {
		text_errf(err, errlen, "BuildManifest.plist: no SupportedProductTypes");
		return (-1);
	}
	if (plist_get_node_type(types) != PLIST_ARRAY) {
		text_errf(err, errlen, "BuildManifest.plist: SupportedProductTypes is not an array");
		return (-1);
	}
	n = plist_array_get_size(types);
	for (i = 0; i < n; i++) {
		if (get_string(plist_array_get_item(types, i), "SupportedProductTypes item",
		    one, sizeof(one), err, errlen) != 0)
			return (-1);
		/* whole names only; a list too long for the field is cut between names */
		if (used + (used ? 1 : 0) + strlen(one) >= sizeof(out->product_types))
			break;
		if (used)
			out->product_types[used++] = ' ';
		memcpy(out->product_types + used, one, strlen(one) + 1);
		used += strlen(one);
	}

	ids = plist_dict_get_item(root, "BuildIdentities");
	if (ids == NULL || plist_get_node_type(ids) != PLIST_ARRAY ||
	    plist_array_get_size(ids) == 0) {
		text_errf(err, errlen, "BuildManifest.plist: no BuildIdentities");
		return (-1);
	}
	memset(l, 0, sizeof(*l));
	n = plist_array_get_size(ids);
	for (i = 0; i < n; i++) {
		id = plist_array_get_item(ids, i);
		if (id == NULL || plist_get_node_type(id) != PLIST_DICT) {
			text_errf(err, errlen, "BuildManifest.plist: build identity %u is not a dictionary", i);
			return (-1);
		}
		os = dict_get(dict_get(dict_get(dict_get(id, "Manifest", PLIST_DICT),
		    "OS", PLIST_DICT), "Info", PLIST_DICT), "Path", PLIST_STRING);
		if (os == NULL) {
			/* present but not a string is broken, absent is allowed */
			info = dict_get(dict_get(dict_get(id, "Manifest", PLIST_DICT),
			    "OS", PLIST_DICT), "Info", PLIST_DICT);
			if (info != NULL && plist_dict_get_item(info, "Path") != NULL) {
				text_errf(err, errlen, "BuildManifest.plist: OS Path is not a string");
				return (-1);
			}
			continue;
		}
		/* the first Erase identity is what erase, DFU and update fallback use */
		primary = false;
		beh = dict_get(dict_get(id, "Info", PLIST_DICT), "RestoreBehavior", PLIST_STRING);
		if (!have_erase && beh != NULL) {
			len = 0;
			p = plist_get_string_ptr(beh, &len);
			if (p != NULL && strcasecmp(p, "Erase") == 0)
				primary = have_erase = true;
		}
		if (oslist_add(l, os, primary, err, errlen) != 0)
			return (-1);
	}
	if (l->n > 0)
		text_copy(out->os_path, l->path[0], sizeof(out->os_path));
	return (0);
}

/* A manifest's bytes: version, build, product types, OS paths (no sizes), identities. 0, or -1 with err. */
int
ipsw_manifest_read(const char *buf, size_t len, struct ipsw_info *out, struct ipsw_oslist *l,
    ipsw_id_cb id, void *arg, char *err, size_t errlen)
{
	plist_t	 root = NULL;
	bool	 is_dir = out->is_dir;
	int	 rc = -1;

	/* the common XML manifest without libplist's tree; anything else, or any doubt: libplist */
	if (!ipsw_xml_disabled && ipsw_xml_read(buf, len, out, l, id, arg) == 0)
		return (0);
	memset(out, 0, sizeof(*out));
	out->is_dir = is_dir;
	memset(l, 0, sizeof(*l));
	if (len > UINT32_MAX)
		goto out;
	plist_from_memory(buf, (uint32_t)len, &root);
	if (root == NULL) {
		text_errf(err, errlen, "BuildManifest.plist is not a property list");
		goto out;
	}
	if (manifest_parse(root, out, l, err, errlen) != 0)
		goto out;
	if (id != NULL)
		manifest_ids(root, id, arg);
	rc = 0;
out:
	if (root != NULL)
		plist_free(root);
	return (rc);
}

static int read_all(const char *, struct ipsw_info *, struct ipsw_oslist *,
    ipsw_id_cb, void *, char *, size_t);

/* Open, read and parse; fills info and the OS list with sizes. */
int
ipsw_read_all(const char *path, struct ipsw_info *out, struct ipsw_oslist *l, char *err, size_t errlen)
{
	return (read_all(path, out, l, NULL, NULL, err, errlen));
}

/* As ipsw_read_info, and id(arg, chip, board) for each build identity, the manifest read once. */
int
ipsw_read_info_ids(const char *path, struct ipsw_info *out, ipsw_id_cb id, void *arg,
    char *err, size_t errlen)
{
	struct ipsw_oslist	 l;

	if (out == NULL)
		return (-1);
	return (read_all(path, out, &l, id, arg, err, errlen));
}

static int
read_all(const char *path, struct ipsw_info *out, struct ipsw_oslist *l,
    ipsw_id_cb id, void *arg, char *err, size_t errlen)
{
	struct ipsw_src	 s;
	char		*buf;
	size_t		 len;
	int		 i, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(l, 0, sizeof(*l));
	if (path == NULL || path[0] == '\0') {
		text_errf(err, errlen, "no IPSW given");
		return (-1);
	}
	if (ipsw_src_open(&s, path, &out->is_dir, err, errlen) != 0)
		return (-1);
	if ((buf = src_read(&s, IPSW_MANIFEST, IPSW_MAX_MANIFEST, &len, err, errlen)) == NULL)
		goto out;
	i = ipsw_manifest_read(buf, len, out, l, id, arg, err, errlen);
	free(buf);
	if (i != 0)
		goto out;
	for (i = 0; i < l->n; i++) {
		if (src_size(&s, l->path[i], &l->size[i], err, errlen) != 0)
			goto out;
		if (l->size[i] == 0 || l->size[i] > IPSW_MAX_OS_SIZE) {
			text_errf(err, errlen, "%s: implausible size %llu", l->path[i], l->size[i]);
			goto out;
		}
	}
	if (l->n > 0)
		out->os_size = l->size[0];
	rc = 0;
out:
	ipsw_src_close(&s);
	if (rc != 0) {
		bool d = out->is_dir;
		memset(out, 0, sizeof(*out));
		out->is_dir = d;
	}
	return (rc);
}

/* Read BuildManifest.plist of an IPSW (zip) or an extracted directory. 0, or -1 with a one-line err. */
int
ipsw_read_info(const char *path, struct ipsw_info *out, char *err, size_t errlen)
{
	struct ipsw_oslist	 l;

	if (out == NULL)
		return (-1);
	return (ipsw_read_all(path, out, &l, err, errlen));
}

bool
ipsw_cached_one(const char *ipsw, const char *cache_dir, const char *os_path, unsigned long long size)
{
	char		 path[PATH_MAX];
	struct stat	 st;

	if (ipsw_cache_path(ipsw, cache_dir, os_path, path, sizeof(path)) != 0)
		return (false);
	return (size > 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size == size);
}

/* True when that file exists with the right size (nothing to do). */
bool
ipsw_cached(const char *ipsw, const char *cache_dir, const struct ipsw_info *info)
{
	if (info == NULL)
		return (false);
	if (info->os_path[0] == '\0')
		return (true);
	return (ipsw_cached_one(ipsw, cache_dir, info->os_path, info->os_size));
}

/* --- the worker --------------------------------------------------------- */

/* --- the loop side ------------------------------------------------------ */
