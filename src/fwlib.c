/*
 * fwlib.c: the firmware library (adapter: libzip, libplist, libev).
 *
 * Every IPSW file and extracted IPSW folder in [firmware] dir is read for
 * its BuildManifest only (never unzipped whole): src/ipsw.c checks it as it
 * checks the [bench] ipsw, and here we add the (ApChipID, ApBoardID) pair of
 * every build identity, which is what decides which phones it can restore.
 *
 * A real manifest is 1-4 MB of XML: about 2 ms to read with ipsw_xml.c,
 * 20 ms when libplist has to (an unusual one), and a folder may hold
 * hundreds, each opened through libzip's central directory. So the bench
 * scans on a worker thread (which reads on up to FWLIB_SCAN_THREADS threads)
 * and hears about the result through ev_async; the folder is watched with
 * ev_stat.
 * What each manifest said is kept in dir/.meta/.scan/NAME under the file's
 * device, inode, size and mtime, so an unchanged file is never parsed again,
 * by the bench or by `idevicebench firmware`; entries of the last scan in
 * memory are carried over the same way.
 *
 * dir/.partial/ holds downloads in progress, dir/.meta/NAME what we know
 * about a file (its verified SHA1, whether we downloaded it, when it was
 * last used), dir/.meta/.scan/NAME the scan cache. Names starting with '.'
 * are never IPSWs.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <plist/plist.h>
#include <zip.h>

#include "fwlib.h"
#include "ipsw.h"
#include "log.h"
#include "owner.h"
#include "text.h"

static void
seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

/* A build identity's (ApChipID, ApBoardID): kept once each, up to FW_MAX_IDS. */
static void
ids_cb(void *arg, uint32_t c, uint32_t d)
{
	struct fw_build	*b = arg;
	size_t		 k;

	for (k = 0; k < b->nids; k++)
		if (b->ids[k].cpid == c && b->ids[k].bdid == d)
			return;
	if (b->nids < FW_MAX_IDS) {
		b->ids[b->nids].cpid = c;
		b->ids[b->nids].bdid = d;
		b->nids++;
	}
}

/*
 * Read an IPSW's version, build, product types and (ApChipID, ApBoardID)
 * pairs, the manifest read once (a real one is 1-4 MB of XML).
 */
int
fwlib_read_ipsw(const char *path, struct fw_build *b, char *err, size_t errlen)
{
	struct ipsw_info	 info;

	memset(b, 0, sizeof(*b));
	text_copy(b->path, path, sizeof(b->path));
	/* the same checks the bench always made of its one IPSW */
	if (ipsw_read_info_ids(path, &info, ids_cb, b, err, errlen) != 0) {
		b->nids = 0;
		return (-1);
	}
	text_copy(b->version, info.product_version, sizeof(b->version));
	text_copy(b->build, info.build, sizeof(b->build));
	text_copy(b->product_types, info.product_types, sizeof(b->product_types));
	if (b->nids == 0) {
		seterr(err, errlen, "BuildManifest.plist: no build identity names ApChipID and ApBoardID");
		return (-1);
	}
	b->usable = true;
	return (0);
}

/*
 * A .meta file, never through a link: the library may be writable by
 * people who are not root, and "downloaded 1" makes a file evictable.
 */
static FILE *
meta_open(const char *p)
{
	FILE	*f;
	int	 fd;

	if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) == -1)
		return (NULL);
	if ((f = fdopen(fd, "r")) == NULL)
		close(fd);
	return (f);
}

/* True when dir/.meta is a folder of its own (not a link to one elsewhere), made if missing. */
static bool
meta_dir(const char *dir)
{
	char		 p[PATH_MAX];
	struct stat	 st;

	snprintf(p, sizeof(p), "%s/.meta", dir);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return (false);
	return (lstat(p, &st) == 0 && S_ISDIR(st.st_mode));
}

/* dir/.meta/NAME: "sha1 HEX", "downloaded 1", "used SECS". */
static void
meta_read(const char *dir, struct fwlib_entry *e, const char *name)
{
	char	 p[PATH_MAX], line[256], v[128];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	if ((f = meta_open(p)) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "sha1 %40[0-9a-f]", v) == 1 && strlen(v) == 40)
			text_copy(e->sha1, v, sizeof(e->sha1));
		else if (strncmp(line, "downloaded 1", 12) == 0)
			e->downloaded = true;
		else if (strncmp(line, "suspect 1", 9) == 0 && e->b.usable) {
			e->b.usable = false;
			text_copy(e->reason, "suspect: a restore with it failed as if it did not fit "
			    "the phone its manifest names", sizeof(e->reason));
		} else if (strncmp(line, "bad 1", 5) == 0 && e->b.usable) {
			e->b.usable = false;
			text_copy(e->reason, "failed verification against the index (firmware verify)",
			    sizeof(e->reason));
		}
	}
	fclose(f);
	{
		struct stat st;

		if (lstat(p, &st) == 0)
			e->used = st.st_mtime;
	}
}

/* The metadata we keep beside a downloaded or verified file (dir/.meta/NAME). */
int
fwlib_meta_write(const char *dir, const char *name, const char *sha1, bool downloaded)
{
	char	 p[PATH_MAX], tmp[PATH_MAX + 8], line[256];
	FILE	*f;
	int	 fd;

	/* once downloaded by us, always counted against the budget */
	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	if (!downloaded && (f = meta_open(p)) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "downloaded 1", 12) == 0)
				downloaded = true;
		fclose(f);
	}
	if (!meta_dir(dir))
		return (-1);
	/* a fresh file (O_EXCL: never a link planted there), renamed over the old */
	snprintf(tmp, sizeof(tmp), "%s/.meta/.tmp.XXXXXX", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return (-1);
	if (fchmod(fd, 0644) != 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return (-1);
	}
	if (sha1 != NULL && strcmp(sha1, "bad") == 0)
		fprintf(f, "bad 1\n");
	else if (sha1 != NULL && strcmp(sha1, "suspect") == 0)
		fprintf(f, "suspect 1\n");
	else
		fprintf(f, "sha1 %s\n", sha1 ? sha1 : "");
	if (downloaded)
		fprintf(f, "downloaded 1\n");
	if (fclose(f) != 0 || rename(tmp, p) != 0) {
		unlink(tmp);
		return (-1);
	}
	return (0);
}

bool
fwlib_meta_sha1(const char *dir, const char *name, unsigned long long size, char sha1[41])
{
	struct fwlib_entry	*e;
	struct stat		 st;
	char			 p[PATH_MAX];
	bool			 ok;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size != size ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return (false);
	e->b.usable = true;		/* meta_read clears it for a file marked bad or suspect */
	meta_read(dir, e, name);
	/* e->used is the record's mtime: a file changed since is not what it recorded */
	ok = e->sha1[0] != '\0' && e->b.usable && st.st_mtime <= e->used;
	if (ok)
		text_copy(sha1, e->sha1, 41);
	free(e);
	return (ok);
}

/* Mark a file as used now (LRU for the keep budget). */
void
fwlib_meta_touch(const char *dir, const char *name)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	if (utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
		fwlib_meta_write(dir, name, "", false);
}

static int
entry_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct fwlib_entry *)a)->b.path, ((const struct fwlib_entry *)b)->b.path));
}

/* ---- the scan cache: dir/.meta/.scan/NAME -------------------------------- */

/*
 * One small text file per library file says what its manifest said (or
 * why it is unusable) and what the file was then: device, inode, size and
 * mtime to the nanosecond (for an extracted folder, its BuildManifest.plist's
 * too). A file that changed, was replaced or is still being copied has
 * another key and is read again. A record that is not exactly what we write
 * (truncated, too big, an unknown line, a value that does not fit or holds
 * a control character) is ignored and rewritten. Records live one folder
 * below .meta so that writing them does not touch .meta's own mtime, which
 * the bench watches.
 */
#define FWLIB_SCAN_NICE	10		/* the bench's scan threads: below the loop */
#define CACHE_MAGIC	"idevicebench scan 1"
#define CACHE_MAX	16384		/* a record is 1-3 kB */
#define CACHE_RACY	2		/* seconds: a file this fresh may change within its mtime tick */

/* What the file is now, as a string. -1 when an extracted folder has no manifest. */
static int
make_key(const char *full, const struct stat *st, char *key, size_t keylen, time_t *newest)
{
	struct stat	 m;
	char		 mp[PATH_MAX + 32];

	*newest = st->st_mtim.tv_sec;
	if (!S_ISDIR(st->st_mode)) {
		snprintf(key, keylen, "f %llu %llu %llu %lld.%09ld", (unsigned long long)st->st_dev,
		    (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
		    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		return (0);
	}
	if ((size_t)snprintf(mp, sizeof(mp), "%s/BuildManifest.plist", full) >= sizeof(mp) ||
	    stat(mp, &m) != 0)
		return (-1);
	if (m.st_mtim.tv_sec > *newest)
		*newest = m.st_mtim.tv_sec;
	snprintf(key, keylen, "d %llu %llu %lld.%09ld %llu %llu %lld.%09ld",
	    (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
	    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (unsigned long long)m.st_ino,
	    (unsigned long long)m.st_size, (long long)m.st_mtim.tv_sec, m.st_mtim.tv_nsec);
	return (0);
}

/* A value of a record: it must fit and be what text_sanitize would leave. */
static bool
cache_str(char *dst, size_t dstlen, const char *src)
{
	char	 clean[512];
	size_t	 len = strlen(src);

	if (len >= dstlen || len >= sizeof(clean))
		return (false);
	text_sanitize(clean, sizeof(clean), src, len);
	if (strcmp(clean, src) != 0)
		return (false);
	memcpy(dst, src, len + 1);
	return (true);
}

/* "0x8015": a 32-bit hexadecimal id. */
static bool
cache_hex(const char *s, uint32_t *v)
{
	char			*end;
	unsigned long long	 u;

	if (s[0] != '0' || s[1] != 'x' || s[2] == '\0' || strlen(s) > 10)
		return (false);
	errno = 0;
	u = strtoull(s + 2, &end, 16);
	if (errno != 0 || *end != '\0' || u > 0xffffffffULL)
		return (false);
	*v = (uint32_t)u;
	return (true);
}

/* Parse one record; true and e filled when it is well formed and its key is e->key. */
static bool
cache_parse(char *buf, struct fwlib_entry *e)
{
	struct fw_build	 b;
	char		 reason[sizeof(e->reason)] = "", *line, *next, *sp;
	enum { S_KEY = 1, S_OK = 2, S_BAD = 4, S_VER = 8, S_BUILD = 16, S_TYPES = 32, S_END = 64 };
	unsigned	 seen = 0, bit;
	bool		 good;

	memset(&b, 0, sizeof(b));
	for (line = buf; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			return (false);
		*next++ = '\0';
		if (seen & S_END)
			return (false);		/* nothing after "end" */
		if (line == buf) {
			if (strcmp(line, CACHE_MAGIC) != 0)
				return (false);
			continue;
		}
		if (strcmp(line, "ok") == 0) {
			bit = S_OK;
			good = true;
		} else if (strcmp(line, "end") == 0) {
			bit = S_END;
			good = true;
		} else if (strncmp(line, "key ", 4) == 0) {
			bit = S_KEY;
			good = strcmp(line + 4, e->key) == 0;
		} else if (strncmp(line, "bad ", 4) == 0) {
			bit = S_BAD;
			good = line[4] != '\0' && cache_str(reason, sizeof(reason), line + 4);
		} else if (strncmp(line, "version ", 8) == 0) {
			bit = S_VER;
			good = line[8] != '\0' && cache_str(b.version, sizeof(b.version), line + 8);
		} else if (strncmp(line, "build ", 6) == 0) {
			bit = S_BUILD;
			good = line[6] != '\0' && cache_str(b.build, sizeof(b.build), line + 6);
		} else if (strncmp(line, "types ", 6) == 0) {
			bit = S_TYPES;
			good = cache_str(b.product_types, sizeof(b.product_types), line + 6);
		} else if (strncmp(line, "id ", 3) == 0 && (sp = strchr(line + 3, ' ')) != NULL) {
			size_t k;

			*sp = '\0';
			bit = 0;
			good = b.nids < FW_MAX_IDS && cache_hex(line + 3, &b.ids[b.nids].cpid) &&
			    cache_hex(sp + 1, &b.ids[b.nids].bdid);
			for (k = 0; good && k < b.nids; k++)
				if (b.ids[k].cpid == b.ids[b.nids].cpid && b.ids[k].bdid == b.ids[b.nids].bdid)
					good = false;
			if (good)
				b.nids++;
		} else
			return (false);
		if (!good || (seen & bit) != 0)
			return (false);
		seen |= bit;
	}
	if ((seen & (S_KEY | S_END)) != (S_KEY | S_END))
		return (false);
	if (seen & S_OK) {
		/* what fwlib_read_ipsw() requires of a usable build */
		if ((seen & S_BAD) || (seen & (S_VER | S_BUILD | S_TYPES)) != (S_VER | S_BUILD | S_TYPES) ||
		    b.nids == 0)
			return (false);
		text_copy(b.path, e->b.path, sizeof(b.path));
		b.usable = true;
		e->b = b;
		e->reason[0] = '\0';
		e->read_ok = true;
	} else {
		if (!(seen & S_BAD) || (seen & (S_VER | S_BUILD | S_TYPES)) || b.nids > 0)
			return (false);
		memset(&b, 0, sizeof(b));
		text_copy(b.path, e->b.path, sizeof(b.path));
		e->b = b;
		text_copy(e->reason, reason, sizeof(e->reason));
		e->read_ok = false;
	}
	return (true);
}

/*
 * dir/.meta/.scan, opened step by step without following a symbolic link,
 * so that records are only ever read, written and removed in that very
 * folder (a library others can write to cannot point them elsewhere).
 * create: make the folders when missing. The fd, or -1 with errno.
 */
static int
cache_dir_open(const char *dir, bool create)
{
	const int	 fl = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	const char	*sub[] = { ".meta", ".scan" };
	int		 d, next, saved;

	if ((d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	for (size_t i = 0; i < 2; i++) {
		next = openat(d, sub[i], fl);
		if (next == -1 && errno == ENOENT && create &&
		    (mkdirat(d, sub[i], 0755) == 0 || errno == EEXIST))
			next = openat(d, sub[i], fl);
		saved = errno;
		close(d);
		if ((d = next) == -1) {
			errno = saved;
			return (-1);
		}
	}
	return (d);
}

/* What .scan/NAME says about e (whose key is set), if it says it of this very file. */
static bool
cache_load(int sfd, const char *name, struct fwlib_entry *e)
{
	char		 buf[CACHE_MAX + 2];
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd;

	if (sfd == -1 ||
	    (fd = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)) == -1)
		return (false);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CACHE_MAX) {
		close(fd);
		return (false);
	}
	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len == 0 || len > CACHE_MAX || buf[len - 1] != '\n' || memchr(buf, '\0', len) != NULL)
		return (false);
	buf[len] = '\0';
	return (cache_parse(buf, e));
}

/* Write e's record into .scan/NAME (a temp file, then rename). 0, or -1 with errno. */
static int
cache_store(int sfd, const char *name, const struct fwlib_entry *e)
{
	static atomic_uint	 seq;
	char			 tmp[64];
	FILE			*f;
	size_t			 k;
	int			 fd, saved;

	snprintf(tmp, sizeof(tmp), ".tmp.%ld.%u", (long)getpid(), atomic_fetch_add(&seq, 1));
	if ((fd = openat(sfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		return (-1);
	if ((f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		unlinkat(sfd, tmp, 0);
		errno = saved;
		return (-1);
	}
	fprintf(f, "%s\nkey %s\n", CACHE_MAGIC, e->key);
	if (e->read_ok) {
		fprintf(f, "ok\nversion %s\nbuild %s\ntypes %s\n", e->b.version, e->b.build,
		    e->b.product_types);
		for (k = 0; k < e->b.nids; k++)
			fprintf(f, "id 0x%x 0x%x\n", e->b.ids[k].cpid, e->b.ids[k].bdid);
	} else
		fprintf(f, "bad %s\n", e->reason);
	fprintf(f, "end\n");
	errno = 0;
	/* an empty folder where the record goes is not ours to keep */
	if (ferror(f) | (fclose(f) != 0) ||
	    (renameat(sfd, tmp, sfd, name) != 0 && (errno != EISDIR ||
	    unlinkat(sfd, name, AT_REMOVEDIR) != 0 || renameat(sfd, tmp, sfd, name) != 0))) {
		saved = errno ? errno : EIO;
		unlinkat(sfd, tmp, 0);
		errno = saved;
		return (-1);
	}
	return (0);
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Remove the records of files that are gone, and temp files a crash left. */
static void
cache_prune(int sfd, char (*raw)[256], size_t n)
{
	char		**names;
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	const char	*key;
	size_t		 i;
	int		 fd;

	if (sfd == -1 || (fd = dup(sfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	if ((names = calloc(n + 1, sizeof(*names))) == NULL) {
		closedir(d);
		return;
	}
	for (i = 0; i < n; i++)
		names[i] = raw[i];
	qsort(names, n, sizeof(*names), name_cmp);
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, ".tmp", 4) == 0) {
			if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    time(NULL) - st.st_mtime > 600)
				unlinkat(sfd, de->d_name, 0);
			continue;
		}
		key = de->d_name;
		if (bsearch(&key, names, n, sizeof(*names), name_cmp) == NULL)
			unlinkat(sfd, de->d_name, 0);
	}
	free(names);
	closedir(d);
}

/* ---- the scan -------------------------------------------------------------- */

/* The manifests one scan still has to read, shared by its threads. */
struct scan_job {
	const char		*dir;
	struct fwlib_entry	*v;
	char			(*raw)[256];	/* the names as they are on disk */
	const bool		*racy;
	const size_t		*todo;
	size_t			 ntodo;
	atomic_size_t		 next;
	atomic_size_t		 stored;
	atomic_bool		 nowrite;	/* the cache cannot be written: stop trying */
	pthread_mutex_t		 lock;		/* guards sfd's creation */
	int			 sfd;		/* dir/.meta/.scan, -1 until there is one */
};

/* Store e's record unless the folder refused an earlier one. */
static void
scan_store(struct scan_job *j, size_t i)
{
	struct fwlib_entry	*e = &j->v[i];
	int			 sfd;

	if (atomic_load(&j->nowrite) || j->racy[i] || e->key[0] == '\0')
		return;
	pthread_mutex_lock(&j->lock);
	if (j->sfd == -1 && (j->sfd = cache_dir_open(j->dir, true)) == -1)
		atomic_store(&j->nowrite, true);
	sfd = j->sfd;
	pthread_mutex_unlock(&j->lock);
	if (sfd == -1)
		return;
	if (cache_store(sfd, j->raw[i], e) == 0) {
		e->cached = true;
		atomic_fetch_add(&j->stored, 1);
	} else if (errno == EROFS || errno == EACCES || errno == EPERM || errno == ENOSPC ||
	    errno == EDQUOT || errno == ENOTDIR || errno == ENOENT)
		atomic_store(&j->nowrite, true);	/* read-only, full, not ours: scan without */
}

static void
scan_one(struct scan_job *j, size_t i)
{
	struct fwlib_entry	*e = &j->v[i];
	char			 full[sizeof(e->b.path)], key[sizeof(e->key)];
	struct stat		 st;
	time_t			 newest;

	text_copy(full, e->b.path, sizeof(full));
	if (fwlib_read_ipsw(full, &e->b, e->reason, sizeof(e->reason)) != 0) {
		char clean[sizeof(e->reason)];

		text_sanitize(clean, sizeof(clean), e->reason, strlen(e->reason));
		text_copy(e->reason, clean, sizeof(e->reason));
		e->b.usable = false;
		text_copy(e->b.path, full, sizeof(e->b.path));
		e->read_ok = false;
	} else {
		e->reason[0] = '\0';
		e->read_ok = true;
	}
	/* changed while we read it: good for this scan, not for the next */
	if (stat(full, &st) != 0 || make_key(full, &st, key, sizeof(key), &newest) != 0 ||
	    strcmp(key, e->key) != 0) {
		e->key[0] = '\0';
		return;
	}
	scan_store(j, i);
}

static void *
scan_thread(void *arg)
{
	struct scan_job	*j = arg;
	size_t		 k;

	while ((k = atomic_fetch_add(&j->next, 1)) < j->ntodo)
		scan_one(j, j->todo[k]);
	return (NULL);
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Scan dir once (blocking). */
int
fwlib_scan(const char *dir, const struct fwlib_entry *prev, size_t nprev,
    struct fwlib_entry **out, size_t *np, struct fwlib_scan_stats *stats, char *err, size_t errlen)
{
	DIR			*d;
	struct dirent		*de;
	struct fwlib_entry	*v = NULL, *e;
	char			(*raw)[256] = NULL, full[PATH_MAX];
	bool			*racy = NULL, truncated = false;
	size_t			*todo = NULL, n = 0, cap = 0, ntodo = 0, i, k, nl, nthr;
	struct stat		 st;
	struct fwlib_scan_stats	 sst;
	struct scan_job		 j;
	pthread_t		 thr[FWLIB_SCAN_THREADS];
	time_t			 now = time(NULL), newest;
	double			 t0 = mono();
	long			 cpus;

	memset(&sst, 0, sizeof(sst));
	*out = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		char key[sizeof(v->key)];

		if (de->d_name[0] == '.')
			continue;
		nl = strlen(de->d_name);
		if (nl >= sizeof(raw[0]) ||
		    (size_t)snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >= sizeof(v->b.path))
			continue;
		if (stat(full, &st) != 0)
			continue;
		/* files must say .ipsw; folders must hold a BuildManifest.plist */
		if (S_ISREG(st.st_mode)) {
			if (nl < 6 || strcasecmp(de->d_name + nl - 5, ".ipsw") != 0)
				continue;
		} else if (!S_ISDIR(st.st_mode))
			continue;
		if (make_key(full, &st, key, sizeof(key), &newest) != 0)
			continue;
		if (n == FWLIB_MAX) {
			truncated = true;
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct fwlib_entry *nv = realloc(v, nc * sizeof(*v));
			char (*nr)[256] = realloc(raw, nc * sizeof(*raw));
			bool *nrc = realloc(racy, nc * sizeof(*racy));

			if (nv != NULL)
				v = nv;
			if (nr != NULL)
				raw = nr;
			if (nrc != NULL)
				racy = nrc;
			if (nv == NULL || nr == NULL || nrc == NULL) {
				truncated = true;
				break;
			}
			cap = nc;
		}
		e = &v[n];
		memset(e, 0, sizeof(*e));
		memcpy(raw[n], de->d_name, nl + 1);
		text_copy(e->b.path, full, sizeof(e->b.path));
		text_copy(e->key, key, sizeof(e->key));
		e->is_dir = S_ISDIR(st.st_mode);
		e->size = (unsigned long long)st.st_size;
		e->mtime = st.st_mtime;
		racy[n] = now - newest < CACHE_RACY && newest - now < CACHE_RACY;
		n++;
	}
	closedir(d);
	if (n > 0 && (todo = calloc(n, sizeof(*todo))) == NULL) {
		seterr(err, errlen, "out of memory");
		free(v);
		free(raw);
		free(racy);
		return (-1);
	}
	memset(&j, 0, sizeof(j));
	j.dir = dir;
	pthread_mutex_init(&j.lock, NULL);
	j.sfd = cache_dir_open(dir, false);
	j.v = v;
	j.raw = raw;
	j.racy = racy;
	for (i = 0; i < n; i++) {
		e = &v[i];
		/* unchanged since the last scan: no need to open it again */
		for (k = 0; k < nprev; k++)
			if (prev[k].key[0] != '\0' && strcmp(prev[k].key, e->key) == 0 &&
			    strcmp(prev[k].b.path, e->b.path) == 0)
				break;
		if (k < nprev) {
			e->b = prev[k].b;
			e->b.usable = prev[k].read_ok;
			e->read_ok = prev[k].read_ok;
			text_copy(e->reason, prev[k].read_ok ? "" : prev[k].reason, sizeof(e->reason));
			e->cached = prev[k].cached;
			if (!e->cached)
				scan_store(&j, i);	/* was too fresh to keep when read */
			sst.reused++;
		} else if (cache_load(j.sfd, raw[i], e)) {
			e->cached = true;
			sst.cached++;
		} else
			todo[ntodo++] = i;
	}
	/* the manifests left to read: most of a cold scan */
	j.todo = todo;
	j.ntodo = ntodo;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	nthr = cpus > 1 ? (size_t)cpus : 1;
	if (nthr > FWLIB_SCAN_THREADS)
		nthr = FWLIB_SCAN_THREADS;
	if (nthr > ntodo)
		nthr = ntodo;
	for (k = 0; k + 1 < nthr; k++)
		if (pthread_create(&thr[k], NULL, scan_thread, &j) != 0)
			break;
	scan_thread(&j);
	while (k-- > 0)
		pthread_join(thr[k], NULL);
	sst.parsed = ntodo;
	sst.stored = atomic_load(&j.stored);
	if (!truncated && !atomic_load(&j.nowrite))
		cache_prune(j.sfd, raw, n);
	if (j.sfd != -1)
		close(j.sfd);
	pthread_mutex_destroy(&j.lock);

	for (i = 0; i < n; i++) {
		e = &v[i];
		nl = strlen(raw[i]);
		text_sanitize(e->name, sizeof(e->name), raw[i], nl);
		e->sha1[0] = '\0';
		e->downloaded = false;
		e->used = 0;
		meta_read(dir, e, raw[i]);
		/* a name that cannot be shown or passed on as it is stays out of restores */
		if (strcmp(e->name, raw[i]) != 0 && e->b.usable) {
			e->b.usable = false;
			text_copy(e->reason, "control characters in the file name", sizeof(e->reason));
		}
	}
	free(todo);
	free(raw);
	free(racy);
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	sst.secs = mono() - t0;
	if (stats != NULL)
		*stats = sst;
	*out = v;
	*np = n;
	return (0);
}

/* fwlib_scan() without stats. */
int
fwlib_scan_dir(const char *dir, const struct fwlib_entry *prev, size_t nprev,
    struct fwlib_entry **out, size_t *np, char *err, size_t errlen)
{
	return (fwlib_scan(dir, prev, nprev, out, np, NULL, err, errlen));
}

/* ---- the watched library (bench) ----------------------------------------- */

struct fwlib {
	struct ev_loop		*loop;
	char			 dir[PATH_MAX];
	fwlib_changed_cb	 cb;
	void			*arg;
	ev_async		 async;
	ev_stat			 stat_w;
	ev_stat			 meta_w;
	ev_timer		 settle;	/* a file still being written: look again */

	pthread_t		 thread;
	bool			 thread_live;
	bool			 again;		/* a rescan was asked for while one ran */
	bool			 ready;

	struct fwlib_entry	*e;		/* loop thread's view */
	size_t			 n;

	pthread_mutex_t		 lock;		/* guards the result */
	struct fwlib_entry	*res;
	size_t			 nres;
	bool			 done;
	char			 err[256];
	struct fwlib_scan_stats	 st;		/* of the result (under lock), then of e */
	struct fwlib_scan_stats	 last;
};

static void *
scan_worker(void *arg)
{
	struct fwlib		*l = arg;
	struct fwlib_entry	*v = NULL;
	size_t			 n = 0;
	char			 err[256] = "";
	struct fwlib_scan_stats	 st;
	int			 prio;

	memset(&st, 0, sizeof(st));
	/*
	 * Background work: niced (this thread and the parsing threads it
	 * starts), the loop thread wins the CPU whenever it wakes. Without it,
	 * two parsing threads on a busy 2-core machine delayed answers on the
	 * control socket by up to 32 ms; with it, at most 4 ms (fwbench.sh).
	 */
	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)gettid());
	if (errno == 0)
		setpriority(PRIO_PROCESS, (id_t)gettid(),
		    prio + FWLIB_SCAN_NICE < 19 ? prio + FWLIB_SCAN_NICE : 19);
	fwlib_scan(l->dir, l->e, l->n, &v, &n, &st, err, sizeof(err));
	pthread_mutex_lock(&l->lock);
	l->res = v;
	l->nres = n;
	l->st = st;
	l->done = true;
	text_copy(l->err, err, sizeof(l->err));
	pthread_mutex_unlock(&l->lock);
	ev_async_send(l->loop, &l->async);
	return (NULL);
}

static void
scan_start(struct fwlib *l)
{
	if (l->thread_live) {
		l->again = true;
		return;
	}
	l->again = false;
	l->done = false;
	/* the worker reads l->e / l->n (unchanged until it is joined) */
	if (pthread_create(&l->thread, NULL, scan_worker, l) == 0)
		l->thread_live = true;
}

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct fwlib	*l = OWNER_OF(w, struct fwlib, async);
	bool		 done;
	double		 t0 = mono();

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&l->lock);
	done = l->done;
	pthread_mutex_unlock(&l->lock);
	if (!done || !l->thread_live)
		return;
	pthread_join(l->thread, NULL);
	l->thread_live = false;
	free(l->e);
	l->e = l->res;
	l->n = l->nres;
	l->res = NULL;
	l->ready = true;
	l->last = l->st;
	if (l->again)
		scan_start(l);
	else {
		/* a file copied in is seen at its first bytes: look again once it settles */
		time_t now = time(NULL);

		for (size_t i = 0; i < l->n; i++) {
			if (!l->e[i].b.usable && now - l->e[i].mtime < 10) {
				if (!ev_is_active(&l->settle)) {
					ev_timer_set(&l->settle, 2.0, 0);
					ev_timer_start(l->loop, &l->settle);
					ev_unref(l->loop);
				}
				break;
			}
		}
	}
	if (l->cb)
		l->cb(l->arg);
	/* what the loop thread spent on the result: joining, swapping, the bench's callback */
	if (l->last.parsed > 0 || l->last.cached > 0)
		log_info("firmware scan of %s: %zu entries, %zu manifests read, %zu from the scan cache, "
		    "%zu unchanged, %zu cached now, %.3f s; handed to the bench in %.2f ms", l->dir, l->n,
		    l->last.parsed, l->last.cached, l->last.reused, l->last.stored, l->last.secs,
		    (mono() - t0) * 1e3);
}

/* the folder, and its .meta file: one callback each, so each finds its library */
static void
stat_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	(void)loop;
	(void)revents;
	scan_start(OWNER_OF(w, struct fwlib, stat_w));
}

static void
meta_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	(void)loop;
	(void)revents;
	scan_start(OWNER_OF(w, struct fwlib, meta_w));
}

static void
settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fwlib	*l = OWNER_OF(w, struct fwlib, settle);

	(void)revents;
	ev_ref(loop);		/* balance the unref made when it was started */
	scan_start(l);
}

/* A library watched from the loop. */
struct fwlib *
fwlib_new(struct ev_loop *loop, const char *dir, fwlib_changed_cb cb, void *arg)
{
	struct fwlib	*l;
	char		 meta[PATH_MAX + 8];

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	l->loop = loop;
	text_copy(l->dir, dir, sizeof(l->dir));
	l->cb = cb;
	l->arg = arg;
	pthread_mutex_init(&l->lock, NULL);
	ev_timer_init(&l->settle, settle_cb, 2.0, 0);
	ev_async_init(&l->async, async_cb);
	ev_async_start(loop, &l->async);
	/* the folder's mtime moves when a file is added, removed or renamed */
	ev_stat_init(&l->stat_w, stat_cb, l->dir, 1.0);
	ev_stat_start(loop, &l->stat_w);
	snprintf(meta, sizeof(meta), "%s/.meta", l->dir);
	ev_stat_init(&l->meta_w, meta_cb, strdup(meta), 1.0);
	ev_unref(loop);			/* watching never keeps a loop alive */
	ev_unref(loop);
	if (l->meta_w.path != NULL) {
		ev_stat_start(loop, &l->meta_w);
		ev_unref(loop);
	}
	scan_start(l);
	return (l);
}

/* Ask for a rescan (coalesced with one that is running). */
void
fwlib_rescan(struct fwlib *l)
{
	if (l != NULL)
		scan_start(l);
}

/* What the last finished scan did. */
const struct fwlib_scan_stats *
fwlib_stats(const struct fwlib *l)
{
	return (&l->last);
}

bool
fwlib_ready(const struct fwlib *l)
{
	return (l != NULL && l->ready);
}

/* The entries of the last scan. */
const struct fwlib_entry *
fwlib_entries(const struct fwlib *l, size_t *n)
{
	*n = l ? l->n : 0;
	return (l ? l->e : NULL);
}

const char *
fwlib_dir(const struct fwlib *l)
{
	return (l->dir);
}

void
fwlib_free(struct fwlib *l)
{
	if (l == NULL)
		return;
	if (l->thread_live)
		pthread_join(l->thread, NULL);
	ev_ref(l->loop);
	ev_ref(l->loop);
	ev_ref(l->loop);
	if (ev_is_active(&l->settle)) {
		ev_ref(l->loop);
		ev_timer_stop(l->loop, &l->settle);
	}
	ev_async_stop(l->loop, &l->async);
	ev_stat_stop(l->loop, &l->stat_w);
	if (l->meta_w.path != NULL) {
		ev_ref(l->loop);
		ev_stat_stop(l->loop, &l->meta_w);
		free((char *)l->meta_w.path);
	}
	free(l->e);
	free(l->res);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
