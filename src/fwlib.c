/*
 * fwlib.c: the firmware library (adapter: libzip, libplist, libev).
 *
 * Every IPSW file and extracted IPSW folder in [firmware] dir is read for
 * its BuildManifest only (never unzipped whole): src/ipsw.c checks it as it
 * checks the [bench] ipsw, and here we add the (ApChipID, ApBoardID) pair of
 * every build identity, which is what decides which phones it can restore.
 *
 * A folder of fifty 6 GB IPSWs takes a while to open even for the manifests
 * alone (libzip reads each central directory), so the bench scans on a
 * worker thread and hears about the result through ev_async; the folder is
 * watched with ev_stat. Entries whose name, size and mtime did not change
 * are carried over without reading the file again.
 *
 * dir/.partial/ holds downloads in progress, dir/.meta/NAME what we know
 * about a file (its verified SHA1, whether we downloaded it, when it was
 * last used). Names starting with '.' are never IPSWs.
 */
#define _GNU_SOURCE
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

/* "0x8010" or an integer node; UINT32_MAX+1 when absent or malformed. */
static unsigned long long
id_value(plist_t n)
{
	const char		*s;
	char			*end;
	uint64_t		 len = 0, u = 0;
	unsigned long long	 v;

	if (n == NULL)
		return (1ULL << 32);
	if (plist_get_node_type(n) == PLIST_UINT) {
		plist_get_uint_val(n, &u);
		return (u <= 0xffffffffULL ? u : (1ULL << 32));
	}
	if (plist_get_node_type(n) != PLIST_STRING || (s = plist_get_string_ptr(n, &len)) == NULL ||
	    strlen(s) != len || len == 0 || len > 18)
		return (1ULL << 32);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > 0xffffffffULL)
		return (1ULL << 32);
	return (v);
}

/* The (ApChipID, ApBoardID) pairs of a parsed manifest's build identities. */
static void
ids_cb(void *arg, void *rootp)
{
	struct fw_build	*b = arg;
	plist_t		 root = rootp, ids, id;
	uint32_t	 i, n;

	if (root == NULL || plist_get_node_type(root) != PLIST_DICT ||
	    (ids = plist_dict_get_item(root, "BuildIdentities")) == NULL ||
	    plist_get_node_type(ids) != PLIST_ARRAY)
		return;
	n = plist_array_get_size(ids);
	for (i = 0; i < n; i++) {
		unsigned long long c, d;
		size_t k;

		id = plist_array_get_item(ids, i);
		if (id == NULL || plist_get_node_type(id) != PLIST_DICT)
			continue;
		c = id_value(plist_dict_get_item(id, "ApChipID"));
		d = id_value(plist_dict_get_item(id, "ApBoardID"));
		if (c > 0xffffffffULL || d > 0xffffffffULL)
			continue;
		for (k = 0; k < b->nids; k++)
			if (b->ids[k].cpid == c && b->ids[k].bdid == d)
				break;
		if (k == b->nids && b->nids < FW_MAX_IDS) {
			b->ids[b->nids].cpid = (uint32_t)c;
			b->ids[b->nids].bdid = (uint32_t)d;
			b->nids++;
		}
	}
}

/*
 * Read an IPSW's version, build, product types and (ApChipID, ApBoardID)
 * pairs. The manifest is parsed once: a real one is 1-4 MB of XML, and
 * libplist's parser is most of a library scan's time.
 */
int
fwlib_read_ipsw(const char *path, struct fw_build *b, char *err, size_t errlen)
{
	struct ipsw_info	 info;

	memset(b, 0, sizeof(*b));
	text_copy(b->path, path, sizeof(b->path));
	/* the same checks the bench always made of its one IPSW */
	if (ipsw_read_info_with(path, &info, ids_cb, b, err, errlen) != 0) {
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

/* dir/.meta/NAME: "sha1 HEX", "downloaded 1", "used SECS". */
static void
meta_read(const char *dir, struct fwlib_entry *e, const char *name)
{
	char	 p[PATH_MAX], line[256], v[128];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	if ((f = fopen(p, "re")) == NULL)
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

		if (stat(p, &st) == 0)
			e->used = st.st_mtime;
	}
}

/* The metadata we keep beside a downloaded or verified file (dir/.meta/NAME). */
int
fwlib_meta_write(const char *dir, const char *name, const char *sha1, bool downloaded)
{
	char	 p[PATH_MAX], tmp[PATH_MAX + 8], line[256];
	FILE	*f;

	/* once downloaded by us, always counted against the budget */
	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	if (!downloaded && (f = fopen(p, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "downloaded 1", 12) == 0)
				downloaded = true;
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/.meta", dir);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return (-1);
	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	if ((f = fopen(tmp, "we")) == NULL)
		return (-1);
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

/* Mark a file as used now (LRU for the keep budget). */
void
fwlib_meta_touch(const char *dir, const char *name)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/.meta/%s", dir, name);
	if (utimes(p, NULL) != 0 && errno == ENOENT)
		fwlib_meta_write(dir, name, "", false);
}

static int
entry_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct fwlib_entry *)a)->b.path, ((const struct fwlib_entry *)b)->b.path));
}

/* Scan dir once (blocking). */
int
fwlib_scan_dir(const char *dir, const struct fwlib_entry *prev, size_t nprev,
    struct fwlib_entry **out, size_t *np, char *err, size_t errlen)
{
	DIR			*d;
	struct dirent		*de;
	struct fwlib_entry	*v = NULL, *e;
	struct stat		 st;
	char			 full[PATH_MAX];
	size_t			 n = 0, cap = 0, i, nl;

	*out = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		nl = strlen(de->d_name);
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >= sizeof(full))
			continue;
		if (stat(full, &st) != 0)
			continue;
		/* files must say .ipsw; folders must hold a BuildManifest.plist */
		if (S_ISREG(st.st_mode)) {
			if (nl < 6 || strcasecmp(de->d_name + nl - 5, ".ipsw") != 0)
				continue;
		} else if (S_ISDIR(st.st_mode)) {
			char m[PATH_MAX + 32];

			snprintf(m, sizeof(m), "%s/BuildManifest.plist", full);
			if (access(m, F_OK) != 0)
				continue;
		} else
			continue;
		if (n == FWLIB_MAX)
			break;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct fwlib_entry *nv = realloc(v, nc * sizeof(*v));

			if (nv == NULL)
				break;
			v = nv;
			cap = nc;
		}
		e = &v[n];
		/* unchanged since the last scan: no need to open it again */
		for (i = 0; i < nprev; i++) {
			if (strcmp(prev[i].b.path, full) == 0 &&
			    prev[i].size == (unsigned long long)st.st_size &&
			    prev[i].mtime == st.st_mtime && prev[i].is_dir == (bool)S_ISDIR(st.st_mode))
				break;
		}
		if (i < nprev) {
			*e = prev[i];
		} else {
			memset(e, 0, sizeof(*e));
			if (fwlib_read_ipsw(full, &e->b, e->reason, sizeof(e->reason)) != 0) {
				char clean[sizeof(e->reason)];

				text_sanitize(clean, sizeof(clean), e->reason, strlen(e->reason));
				text_copy(e->reason, clean, sizeof(e->reason));
				e->b.usable = false;
				text_copy(e->b.path, full, sizeof(e->b.path));
			}
			e->is_dir = S_ISDIR(st.st_mode);
			e->size = (unsigned long long)st.st_size;
			e->mtime = st.st_mtime;
		}
		text_sanitize(e->name, sizeof(e->name), de->d_name, nl);
		e->sha1[0] = '\0';
		e->downloaded = false;
		e->used = 0;
		meta_read(dir, e, de->d_name);
		/* a name that cannot be shown or passed on as it is stays out of restores */
		if (strcmp(e->name, de->d_name) != 0 && e->b.usable) {
			e->b.usable = false;
			text_copy(e->reason, "control characters in the file name", sizeof(e->reason));
		}
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	*np = n;
	return (0);
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
};

static void *
scan_worker(void *arg)
{
	struct fwlib		*l = arg;
	struct fwlib_entry	*v = NULL;
	size_t			 n = 0;
	char			 err[256] = "";

	fwlib_scan_dir(l->dir, l->e, l->n, &v, &n, err, sizeof(err));
	pthread_mutex_lock(&l->lock);
	l->res = v;
	l->nres = n;
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
