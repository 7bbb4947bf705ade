/*
 * ipsw_prep.c: the one-time pre-extraction of an IPSW's root filesystem
 * into idevicerestore 1.0.0's cache, on a worker thread; progress and the
 * end reach the loop through ev_async. The protocol it follows with the
 * children is described at the top of ipsw.c.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "ipsw.h"
#include "ipsw_int.h"
#include "osutil.h"
#include "owner.h"
#include "text.h"

#define IPSW_CHUNK		(1024 * 1024)
#define IPSW_STALE_SECS		120
#define IPSW_POLL_NS		200000000L	/* waiting for another extractor */
#define IPSW_PROGRESS_NS	250000000L	/* at most ~4 progress calls a second */
#define IPSW_CACHE_DEPTH	16		/* deeper subfolders of a cache are not ours */

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
	double			 last_send;	/* os_mono() of the last progress call */
};

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

/* Tell the loop about progress, throttled so the UI is not flooded. */
static void
report(struct ipsw_prep *p, unsigned long long cur)
{
	double	 now = os_mono(), pct;

	if ((now - p->last_send) * 1e9 < IPSW_PROGRESS_NS)
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

/* mkdir -p for the cache, saying which directory could not be made. */
static int
mkdir_p(char *dir, char *err, size_t errlen)
{
	struct stat	 st;
	int		 e;

	if (os_mkdirs(dir, 0755) != 0) {
		e = errno ? errno : EIO;
		text_errf(err, errlen, "cannot create %s: %s", dir, strerror(e));
		return (e);
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		text_errf(err, errlen, "%s is not a directory", dir);
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
		text_errf(msg, msglen, "out of memory");
		return (ENOMEM);
	}
	if (s->zip != NULL) {
		if (ipsw_zip_entry(s, name, &idx, &zsize, msg, msglen) != 0) {
			rc = EINVAL;
			goto out;
		}
		if (zsize != size) {
			text_errf(msg, msglen, "%s changed size while preparing", name);
			rc = EINVAL;
			goto out;
		}
		if ((zf = zip_fopen_index(s->zip, idx, 0)) == NULL) {
			text_errf(msg, msglen, "%s: %s", name, zip_strerror(s->zip));
			rc = EIO;
			goto out;
		}
	} else {
		if ((in = ipsw_dir_open(s, name, &st, msg, msglen)) == -1) {
			rc = EIO;
			goto out;
		}
	}
	for (;;) {
		if (cancelled(p)) {
			text_errf(msg, msglen, "cancelled");
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
			text_errf(msg, msglen, "%s: read error: %s", name,
			    zf ? zip_file_strerror(zf) : strerror(errno));
			rc = EIO;
			goto out;
		}
		if (r == 0)
			break;
		if (got + (unsigned long long)r > size) {
			text_errf(msg, msglen, "%s: more data than its declared size", name);
			rc = EIO;
			goto out;
		}
		if ((rc = write_all(out, buf, (size_t)r)) != 0) {
			text_errf(msg, msglen, "writing %s: %s", outpath, strerror(rc));
			goto out;
		}
		got += (unsigned long long)r;
		report(p, got);
	}
	if (got != size) {
		text_errf(msg, msglen, "%s: truncated (%llu of %llu bytes)", name, got, size);
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
		text_errf(msg, msglen, "cannot open %s: %s", lockfn, strerror(errno));
		return (-2);
	}
	/* F_SETLKW cannot be cancelled; 1.0.0 holds this lock for microseconds */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(lfd, F_SETLK, &fl) == -1) {
		if ((errno != EACCES && errno != EAGAIN && errno != EINTR) || cancelled(p)) {
			*rc = cancelled(p) ? ECANCELED : errno;
			text_errf(msg, msglen, "cannot lock %s: %s", lockfn, strerror(*rc));
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
		text_errf(msg, msglen, "cannot create %s: %s", extract, strerror(errno));
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
		text_errf(msg, msglen, "%s: no safe cache path", name);
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
			text_errf(msg, msglen, "cancelled");
			return (ECANCELED);
		}
		if (ipsw_cached_one(p->ipsw, cache, name, size)) {
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
			text_errf(msg, msglen, "not enough space for %s in %s: %llu MB needed, %llu MB free",
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
		text_errf(msg, msglen, "writing %s: %s", extract, strerror(rc));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = errno;
		text_errf(msg, msglen, "writing %s: %s", extract, strerror(rc));
		goto fail;
	}
	fd = -1;
	if (rename(extract, final) != 0) {
		rc = errno;
		text_errf(msg, msglen, "cannot rename %s: %s", extract, strerror(rc));
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

/* An IPSW's own folder under cache_dir; -1 without a cache_dir. */
int
ipsw_cache_folder(const char *ipsw, const char *cache_dir, char *out, size_t outlen)
{
	char	*slash;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (cache_dir == NULL || cache_dir[0] == '\0' || out == NULL)
		return (-1);
	/* the folder is what the cache path of any member sits in */
	if (ipsw_cache_path(ipsw, cache_dir, "x", out, outlen) != 0)
		return (-1);
	if ((slash = strrchr(out, '/')) == NULL || slash == out) {
		out[0] = '\0';
		return (-1);
	}
	*slash = '\0';
	return (0);
}

/* Bytes on disk under an open folder (closes dfd); same file system only. */
static unsigned long long
tree_size(int dfd, dev_t dev, int depth)
{
	DIR			*d;
	struct dirent		*de;
	struct stat		 st;
	unsigned long long	 t = 0;
	int			 fd;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return (0);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev)
			continue;
		if (S_ISREG(st.st_mode))
			t += (unsigned long long)st.st_blocks * 512ULL;
		else if (S_ISDIR(st.st_mode) && depth < IPSW_CACHE_DEPTH && (fd = openat(dirfd(d),
		    de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) != -1)
			t += tree_size(fd, dev, depth + 1);
	}
	closedir(d);
	return (t);
}

/* Bytes on disk of the files in a cache folder. */
unsigned long long
ipsw_cache_size(const char *folder)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (0);
	if (fstat(fd, &st) != 0) {
		close(fd);
		return (0);
	}
	return (tree_size(fd, st.st_dev, 0));
}

/* Empty an open folder (closes dfd); 0, or an errno value. */
static int
tree_remove(int dfd, dev_t dev, int depth)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	int		 fd, rc = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		rc = errno;
		close(dfd);
		return (rc);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			/* another file system mounted inside, or too deep: not ours to empty */
			if (st.st_dev != dev || depth >= IPSW_CACHE_DEPTH) {
				rc = EBUSY;
				continue;
			}
			fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || tree_remove(fd, dev, depth + 1) != 0 ||
			    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0)
				rc = errno ? errno : EIO;
		} else if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
			rc = errno;
	}
	closedir(d);
	return (rc);
}

/* Delete a cache folder and what it holds. */
int
ipsw_cache_remove(const char *folder)
{
	struct stat	 st;
	int		 fd, rc;

	if ((fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (fstat(fd, &st) != 0) {
		rc = errno;
		close(fd);
		errno = rc;
		return (-1);
	}
	if ((rc = tree_remove(fd, st.st_dev, 0)) != 0) {
		errno = rc;
		return (-1);
	}
	if (rmdir(folder) != 0 && errno != ENOENT)
		return (-1);
	return (0);
}

/* The IPSW the bench extracted a cache folder for. */
int
ipsw_cache_owner(const char *folder, char *out, size_t outlen)
{
	char	 path[PATH_MAX + 32], buf[PATH_MAX + 16], *nl;
	ssize_t	 r;
	int	 fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", folder, IPSW_CACHE_MARK);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return (-1);
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 5)
		return (-1);
	buf[r] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	if (strncmp(buf, "ipsw /", 6) != 0 || strlen(buf + 5) >= outlen)
		return (-1);
	for (nl = buf + 5; *nl != '\0'; nl++)
		if ((unsigned char)*nl < 0x20 || *nl == 0x7f)
			return (-1);
	text_copy(out, buf + 5, outlen);
	return (0);
}

/* Say whose cache folder this is, so that it can go with its IPSW, even when the IPSW went first. */
static void
write_mark(struct ipsw_prep *p)
{
	char	 folder[PATH_MAX], path[PATH_MAX + 32], tmp[PATH_MAX + 48], line[PATH_MAX + 16];
	int	 fd, n, rc;

	if (p->ipsw[0] != '/' || ipsw_cache_folder(p->ipsw, p->cache_dir, folder, sizeof(folder)) != 0)
		return;
	if (os_mkdirs(folder, 0755) != 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", folder, IPSW_CACHE_MARK);
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	n = snprintf(line, sizeof(line), "ipsw %s\n", p->ipsw);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) == -1)
		return;
	rc = write_all(fd, line, (size_t)n);
	if (close(fd) != 0 && rc == 0)
		rc = errno;
	if (rc != 0 || rename(tmp, path) != 0)
		unlink(tmp);
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

	if (ipsw_read_all(p->ipsw, &info, &l, msg, sizeof(msg)) != 0) {
		finish(p, EINVAL, msg);
		return (NULL);
	}
	if (l.n == 0) {
		finish(p, 0, "the IPSW names no OS image: nothing to extract");
		return (NULL);
	}
	for (i = 0; i < l.n; i++) {
		if (!ipsw_cached_one(p->ipsw, cache, l.path[i], l.size[i]))
			p->total += l.size[i];
	}
	if (p->total == 0) {
		ipsw_cache_path(p->ipsw, cache, l.path[0], where, sizeof(where));
		snprintf(msg, sizeof(msg), "already cached: %s", where);
		finish(p, 0, msg);
		return (NULL);
	}
	if (ipsw_src_open(&s, p->ipsw, &is_dir, msg, sizeof(msg)) != 0) {
		finish(p, EIO, msg);
		return (NULL);
	}
	for (i = 0; i < l.n && rc == 0; i++) {
		bool d = false, o = false;

		if (ipsw_cached_one(p->ipsw, cache, l.path[i], l.size[i]))
			continue;
		rc = prepare_one(p, &s, l.path[i], l.size[i], &d, &o, msg, sizeof(msg));
		did |= d;
		other |= o;
		p->done_bytes += l.size[i];
	}
	ipsw_src_close(&s);
	/* a failed extraction leaves nothing behind, not even the mark */
	if (rc == 0 && !is_dir)
		write_mark(p);
	if (rc == 0) {
		ipsw_cache_path(p->ipsw, cache, l.path[0], where, sizeof(where));
		snprintf(msg, sizeof(msg), "%s %s (%.1f MB)%s",
		    did ? "extracted" : "extracted by another process:", where,
		    (double)l.size[0] / 1048576.0, l.n > 1 ? " and the other OS images" : "");
	}
	finish(p, rc, msg);
	return (NULL);
}

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct ipsw_prep	*p = OWNER_OF(w, struct ipsw_prep, async);
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
		text_errf(err, errlen, "no IPSW to prepare");
		return (NULL);
	}
	if (strlen(ipsw) >= PATH_MAX || (cache_dir != NULL && strlen(cache_dir) >= PATH_MAX)) {
		text_errf(err, errlen, "path too long");
		return (NULL);
	}
	if (info->os_path[0] != '\0' &&
	    ipsw_cache_path(ipsw, cache_dir, info->os_path, path, sizeof(path)) != 0) {
		text_errf(err, errlen, "%s: no safe cache path for %s", ipsw, info->os_path);
		return (NULL);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		text_errf(err, errlen, "out of memory");
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
		text_errf(err, errlen, "cannot start a thread: %s", strerror(e));
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
