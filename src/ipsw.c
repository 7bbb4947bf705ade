/*
 * ipsw.c: IPSW inspection and one-time pre-extraction of the root filesystem
 * (adapter: libzip; also libplist and libev).
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
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <plist/plist.h>
#include <zip.h>

#include "ipsw.h"
#include "text.h"

#define IPSW_MANIFEST		"BuildManifest.plist"
#define IPSW_CHUNK		(1024 * 1024)
#define IPSW_MAX_OS_PATHS	8
#define IPSW_STALE_SECS		120
#define IPSW_POLL_NS		200000000L	/* waiting for another extractor */
#define IPSW_PROGRESS_NS	250000000L	/* at most ~4 progress calls a second */

/* The distinct OS images a manifest names; [0] is the one ipsw_info reports. */
struct ipsw_oslist {
	int			 n;
	char			 path[IPSW_MAX_OS_PATHS][256];
	unsigned long long	 size[IPSW_MAX_OS_PATHS];
};

/* An open IPSW: a zip archive, or an extracted directory. */
struct ipsw_src {
	zip_t		*zip;		/* NULL for a directory */
	const char	*path;
};

struct ipsw_prep {
	struct ev_loop		*loop;
	ev_async		 async;
	pthread_t		 thread;
	bool			 running;	/* thread not yet joined */
	double			 delivered;	/* last percent given to progress_cb */

	char			 ipsw[PATH_MAX];
	char			 cache_dir[PATH_MAX];
	ipsw_progress_cb	 progress_cb;
	ipsw_done_cb		 done_cb;
	void			*arg;
	atomic_int		 cancel;

	pthread_mutex_t		 lock;		/* guards the fields below */
	double			 percent;
	bool			 progress_pending;
	bool			 finished;
	int			 result;
	char			 msg[1024];

	/* worker only */
	unsigned long long	 total;
	unsigned long long	 done_bytes;
	struct timespec		 last_send;
};

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

static int
src_open(struct ipsw_src *s, const char *path, bool *is_dir, char *err, size_t errlen)
{
	struct stat	 st;
	zip_error_t	 ze;
	int		 zerr = 0;

	memset(s, 0, sizeof(*s));
	s->path = path;
	if (stat(path, &st) != 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (S_ISDIR(st.st_mode)) {
		*is_dir = true;
		return (0);
	}
	*is_dir = false;
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a file or a directory", path);
		return (-1);
	}
	s->zip = zip_open(path, ZIP_RDONLY, &zerr);
	if (s->zip == NULL) {
		zip_error_init_with_code(&ze, zerr);
		seterr(err, errlen, "%s: not a readable IPSW (zip): %s", path,
		    zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return (-1);
	}
	return (0);
}

static void
src_close(struct ipsw_src *s)
{
	if (s->zip != NULL)
		zip_discard(s->zip);
	s->zip = NULL;
}

/* Open a regular file of an extracted IPSW without following it into a FIFO or device. */
static int
dir_open(const struct ipsw_src *s, const char *name, struct stat *st, char *err, size_t errlen)
{
	char	 full[PATH_MAX];
	int	 fd, n;

	n = snprintf(full, sizeof(full), "%s/%s", s->path, name);
	if (n < 0 || (size_t)n >= sizeof(full)) {
		seterr(err, errlen, "%s: path too long", name);
		return (-1);
	}
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		seterr(err, errlen, "%s: %s", full, strerror(errno));
		return (-1);
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		seterr(err, errlen, "%s: not a regular file", full);
		close(fd);
		return (-1);
	}
	/* regular files ignore O_NONBLOCK, but keep reads plain */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return (fd);
}

static int
zip_entry(const struct ipsw_src *s, const char *name, zip_uint64_t *idx,
    unsigned long long *size, char *err, size_t errlen)
{
	zip_int64_t	 i;
	zip_stat_t	 zs;

	i = zip_name_locate(s->zip, name, 0);
	if (i < 0) {
		seterr(err, errlen, "%s not found in the IPSW", name);
		return (-1);
	}
	zip_stat_init(&zs);
	if (zip_stat_index(s->zip, (zip_uint64_t)i, 0, &zs) != 0 ||
	    (zs.valid & ZIP_STAT_SIZE) == 0) {
		seterr(err, errlen, "%s: unreadable zip entry: %s", name,
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
		return (zip_entry(s, name, &idx, size, err, errlen));
	if ((fd = dir_open(s, name, &st, err, errlen)) == -1)
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
		if (zip_entry(s, name, &idx, &size, err, errlen) != 0)
			return (NULL);
	} else {
		if ((fd = dir_open(s, name, &st, err, errlen)) == -1)
			return (NULL);
		size = (unsigned long long)st.st_size;
	}
	if (size == 0 || size > max) {
		seterr(err, errlen, "%s: implausible size %llu", name, size);
		goto fail0;
	}
	if ((buf = malloc((size_t)size)) == NULL) {
		seterr(err, errlen, "%s: out of memory", name);
		goto fail0;
	}
	if (s->zip != NULL) {
		if ((zf = zip_fopen_index(s->zip, idx, 0)) == NULL) {
			seterr(err, errlen, "%s: %s", name, zip_strerror(s->zip));
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
			seterr(err, errlen, "%s: corrupt zip entry: %s", name,
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
			seterr(err, errlen, "%s: short read", name);
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
		seterr(err, errlen, "BuildManifest.plist: no %s", what);
		return (-1);
	}
	if (plist_get_node_type(node) != PLIST_STRING ||
	    (p = plist_get_string_ptr(node, &len)) == NULL) {
		seterr(err, errlen, "BuildManifest.plist: %s is not a string", what);
		return (-1);
	}
	if (len == 0 || strlen(p) != len) {
		seterr(err, errlen, "BuildManifest.plist: %s is empty or holds a NUL", what);
		return (-1);
	}
	if (len >= dstlen) {
		seterr(err, errlen, "BuildManifest.plist: %s is too long", what);
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

/* Add an OS path (checked) unless present; put it first when primary. */
static int
oslist_add(struct ipsw_oslist *l, plist_t node, bool primary, char *err, size_t errlen)
{
	const char	*p;
	uint64_t	 len = 0;
	char		 tmp[256];
	int		 i;

	if (plist_get_node_type(node) != PLIST_STRING ||
	    (p = plist_get_string_ptr(node, &len)) == NULL) {
		seterr(err, errlen, "BuildManifest.plist: OS Path is not a string");
		return (-1);
	}
	if (strlen(p) != len || path_check(p) != 0) {
		seterr(err, errlen, "BuildManifest.plist: unsafe OS path (absolute, \"..\", NUL, control character or too long)");
		return (-1);
	}
	for (i = 0; i < l->n; i++) {
		if (strcmp(l->path[i], p) == 0)
			break;
	}
	if (i == l->n) {
		if (l->n == IPSW_MAX_OS_PATHS) {
			seterr(err, errlen, "BuildManifest.plist: more than %d distinct OS images",
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
		seterr(err, errlen, "BuildManifest.plist is not a property list dictionary");
		return (-1);
	}
	if (get_string(plist_dict_get_item(root, "ProductVersion"), "ProductVersion",
	    out->product_version, sizeof(out->product_version), err, errlen) != 0)
		return (-1);
	if (get_string(plist_dict_get_item(root, "ProductBuildVersion"), "ProductBuildVersion",
	    out->build, sizeof(out->build), err, errlen) != 0)
		return (-1);

	if ((types = plist_dict_get_item(root, "SupportedProductTypes")) == NULL) {
		seterr(err, errlen, "BuildManifest.plist: no SupportedProductTypes");
		return (-1);
	}
	if (plist_get_node_type(types) != PLIST_ARRAY) {
		seterr(err, errlen, "BuildManifest.plist: SupportedProductTypes is not an array");
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
		seterr(err, errlen, "BuildManifest.plist: no BuildIdentities");
		return (-1);
	}
	memset(l, 0, sizeof(*l));
	n = plist_array_get_size(ids);
	for (i = 0; i < n; i++) {
		id = plist_array_get_item(ids, i);
		if (id == NULL || plist_get_node_type(id) != PLIST_DICT) {
			seterr(err, errlen, "BuildManifest.plist: build identity %u is not a dictionary", i);
			return (-1);
		}
		os = dict_get(dict_get(dict_get(dict_get(id, "Manifest", PLIST_DICT),
		    "OS", PLIST_DICT), "Info", PLIST_DICT), "Path", PLIST_STRING);
		if (os == NULL) {
			/* present but not a string is broken, absent is allowed */
			info = dict_get(dict_get(dict_get(id, "Manifest", PLIST_DICT),
			    "OS", PLIST_DICT), "Info", PLIST_DICT);
			if (info != NULL && plist_dict_get_item(info, "Path") != NULL) {
				seterr(err, errlen, "BuildManifest.plist: OS Path is not a string");
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

/* Open, read and parse; fills info and the OS list with sizes. */
static int
read_all(const char *path, struct ipsw_info *out, struct ipsw_oslist *l, char *err, size_t errlen)
{
	struct ipsw_src	 s;
	plist_t		 root = NULL;
	char		*buf;
	size_t		 len;
	int		 i, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(l, 0, sizeof(*l));
	if (path == NULL || path[0] == '\0') {
		seterr(err, errlen, "no IPSW given");
		return (-1);
	}
	if (src_open(&s, path, &out->is_dir, err, errlen) != 0)
		return (-1);
	if ((buf = src_read(&s, IPSW_MANIFEST, IPSW_MAX_MANIFEST, &len, err, errlen)) == NULL)
		goto out;
	plist_from_memory(buf, (uint32_t)len, &root);
	free(buf);
	if (root == NULL) {
		seterr(err, errlen, "BuildManifest.plist is not a property list");
		goto out;
	}
	if (manifest_parse(root, out, l, err, errlen) != 0)
		goto out;
	for (i = 0; i < l->n; i++) {
		if (src_size(&s, l->path[i], &l->size[i], err, errlen) != 0)
			goto out;
		if (l->size[i] == 0 || l->size[i] > IPSW_MAX_OS_SIZE) {
			seterr(err, errlen, "%s: implausible size %llu", l->path[i], l->size[i]);
			goto out;
		}
	}
	if (l->n > 0)
		out->os_size = l->size[0];
	rc = 0;
out:
	if (root != NULL)
		plist_free(root);
	src_close(&s);
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
	return (read_all(path, out, &l, err, errlen));
}

static bool
cached_one(const char *ipsw, const char *cache_dir, const char *os_path, unsigned long long size)
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
	return (cached_one(ipsw, cache_dir, info->os_path, info->os_size));
}

/* --- the worker --------------------------------------------------------- */

static bool
cancelled(struct ipsw_prep *p)
{
	return (atomic_load(&p->cancel) != 0);
}

static void
nap(long ns)
{
	struct timespec	 ts = { 0, ns };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return ((double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec));
}

/* Tell the loop about progress, throttled so the UI is not flooded. */
static void
report(struct ipsw_prep *p, unsigned long long cur)
{
	struct timespec	 now;
	double		 pct;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed_ns(&p->last_send, &now) < IPSW_PROGRESS_NS)
		return;
	p->last_send = now;
	pct = p->total ? 100.0 * (double)(p->done_bytes + cur) / (double)p->total : 0.0;
	if (pct > 100.0)
		pct = 100.0;
	pthread_mutex_lock(&p->lock);
	p->percent = pct;
	p->progress_pending = true;
	pthread_mutex_unlock(&p->lock);
	ev_async_send(p->loop, &p->async);
}

static int
mkdir_p(char *dir, char *err, size_t errlen)
{
	char		*s, c;
	struct stat	 st;

	for (s = dir + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			seterr(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			*s = c;
			return (errno ? errno : EIO);
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "%s is not a directory", dir);
		return (ENOTDIR);
	}
	return (0);
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return (errno ? errno : EIO);
		if (w == 0)
			return (ENOSPC);
		buf += w;
		len -= (size_t)w;
	}
	return (0);
}

/* Copy one member into fd; 0 or an errno value with msg set. */
static int
copy_member(struct ipsw_prep *p, const struct ipsw_src *s, const char *name,
    unsigned long long size, int out, const char *outpath, char *msg, size_t msglen)
{
	zip_uint64_t		 idx;
	unsigned long long	 zsize, got = 0;
	zip_file_t		*zf = NULL;
	struct stat		 st;
	char			*buf;
	zip_int64_t		 r;
	int			 in = -1, rc = 0;

	if ((buf = malloc(IPSW_CHUNK)) == NULL) {
		seterr(msg, msglen, "out of memory");
		return (ENOMEM);
	}
	if (s->zip != NULL) {
		if (zip_entry(s, name, &idx, &zsize, msg, msglen) != 0) {
			rc = EINVAL;
			goto out;
		}
		if (zsize != size) {
			seterr(msg, msglen, "%s changed size while preparing", name);
			rc = EINVAL;
			goto out;
		}
		if ((zf = zip_fopen_index(s->zip, idx, 0)) == NULL) {
			seterr(msg, msglen, "%s: %s", name, zip_strerror(s->zip));
			rc = EIO;
			goto out;
		}
	} else {
		if ((in = dir_open(s, name, &st, msg, msglen)) == -1) {
			rc = EIO;
			goto out;
		}
	}
	for (;;) {
		if (cancelled(p)) {
			seterr(msg, msglen, "cancelled");
			rc = ECANCELED;
			goto out;
		}
		if (zf != NULL)
			r = zip_fread(zf, buf, IPSW_CHUNK);
		else {
			r = read(in, buf, IPSW_CHUNK);
			if (r == -1 && errno == EINTR)
				continue;
		}
		if (r < 0) {
			seterr(msg, msglen, "%s: read error: %s", name,
			    zf ? zip_file_strerror(zf) : strerror(errno));
			rc = EIO;
			goto out;
		}
		if (r == 0)
			break;
		if (got + (unsigned long long)r > size) {
			seterr(msg, msglen, "%s: more data than its declared size", name);
			rc = EIO;
			goto out;
		}
		if ((rc = write_all(out, buf, (size_t)r)) != 0) {
			seterr(msg, msglen, "writing %s: %s", outpath, strerror(rc));
			goto out;
		}
		got += (unsigned long long)r;
		report(p, got);
	}
	if (got != size) {
		seterr(msg, msglen, "%s: truncated (%llu of %llu bytes)", name, got, size);
		rc = EIO;
	}
out:
	if (zf != NULL)
		zip_fclose(zf);
	if (in != -1)
		close(in);
	free(buf);
	return (rc);
}

/*
 * Claim <final>.extract under <final>.lock as idevicerestore 1.0.0 does.
 * Returns the open fd, -1 when somebody else is extracting (wait), or -2
 * with *rc set on a hard error.
 */
static int
claim_extract(struct ipsw_prep *p, const char *final, const char *extract, int *rc,
    char *msg, size_t msglen)
{
	char		 lockfn[PATH_MAX + 8];
	struct flock	 fl;
	struct stat	 st;
	int		 lfd, fd = -1;

	snprintf(lockfn, sizeof(lockfn), "%s.lock", final);
	if ((lfd = open(lockfn, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) == -1) {
		*rc = errno;
		seterr(msg, msglen, "cannot open %s: %s", lockfn, strerror(errno));
		return (-2);
	}
	/* F_SETLKW cannot be cancelled; 1.0.0 holds this lock for microseconds */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(lfd, F_SETLK, &fl) == -1) {
		if ((errno != EACCES && errno != EAGAIN && errno != EINTR) || cancelled(p)) {
			*rc = cancelled(p) ? ECANCELED : errno;
			seterr(msg, msglen, "cannot lock %s: %s", lockfn, strerror(*rc));
			close(lfd);
			return (-2);
		}
		nap(20000000L);
	}

	if (lstat(extract, &st) == 0) {
		if (time(NULL) - st.st_mtime >= IPSW_STALE_SECS)
			unlink(extract);	/* a crashed extractor's leftover */
		else
			goto unlock;		/* somebody is writing it now */
	}
	fd = open(extract, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		if (errno == EEXIST)
			goto unlock;
		*rc = errno;
		seterr(msg, msglen, "cannot create %s: %s", extract, strerror(errno));
		fd = -2;
	}
unlock:
	fl.l_type = F_UNLCK;
	fcntl(lfd, F_SETLK, &fl);
	close(lfd);
	unlink(lockfn);		/* 1.0.0 removes it too */
	return (fd);
}

/* Make one OS image present in the cache; 0, or an errno value with msg. */
static int
prepare_one(struct ipsw_prep *p, const struct ipsw_src *s, const char *name,
    unsigned long long size, bool *did, bool *other, char *msg, size_t msglen)
{
	char		 final[PATH_MAX], extract[PATH_MAX + 8], dir[PATH_MAX], *slash;
	struct statvfs	 vfs;
	struct stat	 st;
	unsigned long long avail;
	const char	*cache = p->cache_dir[0] ? p->cache_dir : NULL;
	int		 fd, rc = 0;
	bool		 waited = false;

	if (ipsw_cache_path(p->ipsw, cache, name, final, sizeof(final)) != 0) {
		seterr(msg, msglen, "%s: no safe cache path", name);
		return (EINVAL);
	}
	snprintf(extract, sizeof(extract), "%s.extract", final);
	text_copy(dir, final, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if ((rc = mkdir_p(dir, msg, msglen)) != 0)
		return (rc);

	for (;;) {
		if (cancelled(p)) {
			seterr(msg, msglen, "cancelled");
			return (ECANCELED);
		}
		if (cached_one(p->ipsw, cache, name, size)) {
			*other = waited;
			return (0);
		}
		fd = claim_extract(p, final, extract, &rc, msg, msglen);
		if (fd == -2)
			return (rc);
		if (fd >= 0)
			break;
		/* another extractor: show its progress, then use its result */
		waited = true;
		if (stat(extract, &st) == 0)
			report(p, (unsigned long long)st.st_size);
		nap(IPSW_POLL_NS);
	}

	if (fstatvfs(fd, &vfs) == 0) {
		avail = (unsigned long long)vfs.f_bavail * (unsigned long long)vfs.f_frsize;
		if (avail < size) {
			seterr(msg, msglen, "not enough space for %s in %s: %llu MB needed, %llu MB free",
			    name, dir, size >> 20, avail >> 20);
			rc = ENOSPC;
			goto fail;
		}
	}
	if ((rc = copy_member(p, s, name, size, fd, extract, msg, msglen)) != 0)
		goto fail;
	/* delayed allocation reports a full disk here, not at write() */
	if (fsync(fd) != 0) {
		rc = errno;
		seterr(msg, msglen, "writing %s: %s", extract, strerror(rc));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = errno;
		seterr(msg, msglen, "writing %s: %s", extract, strerror(rc));
		goto fail;
	}
	fd = -1;
	if (rename(extract, final) != 0) {
		rc = errno;
		seterr(msg, msglen, "cannot rename %s: %s", extract, strerror(rc));
		goto fail;
	}
	*did = true;
	return (0);

fail:
	if (fd >= 0)
		close(fd);
	unlink(extract);
	return (rc);
}

static void
finish(struct ipsw_prep *p, int rc, const char *msg)
{
	pthread_mutex_lock(&p->lock);
	p->finished = true;
	p->result = rc;
	text_copy(p->msg, msg, sizeof(p->msg));
	pthread_mutex_unlock(&p->lock);
	ev_async_send(p->loop, &p->async);
}

static void *
worker(void *arg)
{
	struct ipsw_prep	*p = arg;
	struct ipsw_info	 info;
	struct ipsw_oslist	 l;
	struct ipsw_src		 s;
	char			 msg[sizeof(p->msg)], where[PATH_MAX];
	const char		*cache = p->cache_dir[0] ? p->cache_dir : NULL;
	bool			 is_dir, did = false, other = false;
	int			 i, rc = 0;

	if (read_all(p->ipsw, &info, &l, msg, sizeof(msg)) != 0) {
		finish(p, EINVAL, msg);
		return (NULL);
	}
	if (l.n == 0) {
		finish(p, 0, "the IPSW names no OS image: nothing to extract");
		return (NULL);
	}
	for (i = 0; i < l.n; i++) {
		if (!cached_one(p->ipsw, cache, l.path[i], l.size[i]))
			p->total += l.size[i];
	}
	if (p->total == 0) {
		ipsw_cache_path(p->ipsw, cache, l.path[0], where, sizeof(where));
		snprintf(msg, sizeof(msg), "already cached: %s", where);
		finish(p, 0, msg);
		return (NULL);
	}
	if (src_open(&s, p->ipsw, &is_dir, msg, sizeof(msg)) != 0) {
		finish(p, EIO, msg);
		return (NULL);
	}
	for (i = 0; i < l.n && rc == 0; i++) {
		bool d = false, o = false;

		if (cached_one(p->ipsw, cache, l.path[i], l.size[i]))
			continue;
		rc = prepare_one(p, &s, l.path[i], l.size[i], &d, &o, msg, sizeof(msg));
		did |= d;
		other |= o;
		p->done_bytes += l.size[i];
	}
	src_close(&s);
	if (rc == 0) {
		ipsw_cache_path(p->ipsw, cache, l.path[0], where, sizeof(where));
		snprintf(msg, sizeof(msg), "%s %s (%.1f MB)%s",
		    did ? "extracted" : "extracted by another process:", where,
		    (double)l.size[0] / 1048576.0, l.n > 1 ? " and the other OS images" : "");
	}
	finish(p, rc, msg);
	return (NULL);
}

/* --- the loop side ------------------------------------------------------ */

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ipsw_prep	*p = (struct ipsw_prep *)((char *)w - offsetof(struct ipsw_prep, async));
	char			 msg[sizeof(p->msg)];
	bool			 pending, fin;
	double			 pct;
	int			 rc;

	(void)revents;
	pthread_mutex_lock(&p->lock);
	pending = p->progress_pending;
	p->progress_pending = false;
	pct = p->percent;
	fin = p->finished;
	rc = p->result;
	text_copy(msg, p->msg, sizeof(msg));
	pthread_mutex_unlock(&p->lock);

	if (!fin) {
		if (pending && p->progress_cb != NULL) {
			p->delivered = pct;
			p->progress_cb(p->arg, pct);
		}
		return;
	}
	ev_async_stop(loop, &p->async);
	pthread_join(p->thread, NULL);
	p->running = false;
	if (rc == 0 && p->progress_cb != NULL && p->delivered < 100.0)
		p->progress_cb(p->arg, 100.0);
	/* last: the callback may free p */
	if (p->done_cb != NULL)
		p->done_cb(p->arg, rc, msg);
}

/* Extract the filesystem into the cache on a worker thread; results arrive on the loop. */
struct ipsw_prep *
ipsw_prepare_start(struct ev_loop *loop, const char *ipsw, const char *cache_dir,
    const struct ipsw_info *info, ipsw_progress_cb progress_cb, ipsw_done_cb done_cb,
    void *arg, char *err, size_t errlen)
{
	struct ipsw_prep	*p;
	sigset_t		 all, old;
	char			 path[PATH_MAX];
	int			 e;

	if (loop == NULL || ipsw == NULL || ipsw[0] == '\0' || info == NULL) {
		seterr(err, errlen, "no IPSW to prepare");
		return (NULL);
	}
	if (strlen(ipsw) >= PATH_MAX || (cache_dir != NULL && strlen(cache_dir) >= PATH_MAX)) {
		seterr(err, errlen, "path too long");
		return (NULL);
	}
	if (info->os_path[0] != '\0' &&
	    ipsw_cache_path(ipsw, cache_dir, info->os_path, path, sizeof(path)) != 0) {
		seterr(err, errlen, "%s: no safe cache path for %s", ipsw, info->os_path);
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		seterr(err, errlen, "out of memory");
		return (NULL);
	}
	p->loop = loop;
	text_copy(p->ipsw, ipsw, sizeof(p->ipsw));
	if (cache_dir != NULL)
		text_copy(p->cache_dir, cache_dir, sizeof(p->cache_dir));
	p->progress_cb = progress_cb;
	p->done_cb = done_cb;
	p->arg = arg;
	atomic_init(&p->cancel, 0);
	pthread_mutex_init(&p->lock, NULL);
	ev_async_init(&p->async, async_cb);
	ev_async_start(loop, &p->async);

	/* signals belong to the loop thread (SIGXFSZ on a full file too) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&p->thread, NULL, worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		seterr(err, errlen, "cannot start a thread: %s", strerror(e));
		ev_async_stop(loop, &p->async);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return (NULL);
	}
	p->running = true;
	return (p);
}

/* Cancels (and cleans up the partial file) if still running. */
void
ipsw_prepare_free(struct ipsw_prep *p)
{
	if (p == NULL)
		return;
	if (p->running) {
		atomic_store(&p->cancel, 1);
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	ev_async_stop(p->loop, &p->async);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
