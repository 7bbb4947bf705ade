/*
 * fwsel.c: the bench's firmware service (adapter glue: fwlib, fwdl, the
 * pure choice rules of core/fwchoose.c).
 *
 * A phone's job asks for its IPSW when it is queued and again each time
 * the scheduler looks at it. The answer is READY (restore with this file),
 * WAIT (the first scan, an index query or a download is under way: the job
 * stays queued) or NONE (nothing to wait for: the job fails at once). With
 * downloads on, a model with no firmware in the library sets off one index
 * query and one download, whatever the number of phones that wait for it.
 *
 * The keep budget counts each downloaded IPSW and its extraction cache,
 * <cache_dir>/<name without .ipsw>/ (what idevicerestore -C and the
 * pre-extraction write, outside the library folder by default): an evicted
 * IPSW takes its cache with it. A cache whose IPSW left the library (deleted
 * by hand) is deleted when the library changes, if the bench made it (it
 * carries IPSW_CACHE_MARK) and no job has that IPSW.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "config.h"
#include "fwdl.h"
#include "fwkeep.h"
#include "fwlib.h"
#include "fwsel.h"
#include "ipsw.h"
#include "log.h"
#include "text.h"

#define FWSEL_MAX_MODELS	128
#define FWSEL_INDEX_TTL		3600.0	/* an index answer is trusted this long */

enum mstate { M_IDLE, M_INDEX, M_INDEXED, M_DL, M_RESCAN, M_FAILED };

struct fwmodel {
	char			 id[32];
	enum mstate		 st;
	struct fw_index		 ix;
	bool			 have_ix;
	ev_tstamp		 ix_at;
	char			 path[1024];	/* M_DL/M_RESCAN: where the file lands */
	char			 msg[256];	/* M_FAILED */
	struct fwdl_status	 last;		/* last download report */
	bool			 have_last;
};

struct fwsel {
	struct ev_loop		*loop;
	const struct config	*cfg;
	struct fwsel_cbs	 cbs;
	struct fwlib		*lib;
	struct fwdl		*dl;
	struct fw_build		 global;
	bool			 have_global;
	struct fw_pin		*pins;
	size_t			 npins;
	struct fwmodel		 m[FWSEL_MAX_MODELS];
	size_t			 nm;
	struct fw_build		*builds;	/* scratch for fw_choose */
	size_t			 cap;
};

static void	orphans(struct fwsel *);

static struct fwmodel *
model_get(struct fwsel *f, const char *id, bool create)
{
	size_t	 i;

	for (i = 0; i < f->nm; i++)
		if (strcmp(f->m[i].id, id) == 0)
			return (&f->m[i]);
	if (!create || f->nm == FWSEL_MAX_MODELS)
		return (NULL);
	memset(&f->m[f->nm], 0, sizeof(f->m[0]));
	text_copy(f->m[f->nm].id, id, sizeof(f->m[0].id));
	return (&f->m[f->nm++]);
}

static void
notify(struct fwsel *f)
{
	if (f->cbs.changed_cb)
		f->cbs.changed_cb(f->cbs.arg);
}

static void
lib_changed_cb(void *arg)
{
	struct fwsel			*f = arg;
	const struct fwlib_entry	*e;
	size_t				 n, i, k;

	e = fwlib_entries(f->lib, &n);
	for (i = 0, k = 0; i < n; i++)
		k += e[i].b.usable;
	log_info("firmware library %s: %zu entries, %zu usable", f->cfg->fw_dir, n, k);
	orphans(f);
	for (k = 0; k < f->nm; k++) {
		if (f->m[k].st != M_RESCAN)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(e[i].b.path, f->m[k].path) == 0)
				f->m[k].st = M_IDLE;
	}
	notify(f);
}

static void
index_cb(void *arg, const char *id, const struct fw_index *ix, const char *err)
{
	struct fwsel	*f = arg;
	struct fwmodel	*m = model_get(f, id, false);

	if (m == NULL)
		return;
	if (ix == NULL) {
		m->st = M_FAILED;
		snprintf(m->msg, sizeof(m->msg), "%s", err);
	} else {
		fwdl_index_clear(&m->ix);
		m->ix = *ix;
		m->ix.fw = NULL;
		if (ix->n > 0 && (m->ix.fw = malloc(ix->n * sizeof(*ix->fw))) != NULL)
			memcpy(m->ix.fw, ix->fw, ix->n * sizeof(*ix->fw));
		else
			m->ix.n = 0;
		m->have_ix = true;
		m->ix_at = ev_now(f->loop);
		m->st = M_INDEXED;
	}
	notify(f);
}

static void
status_cb(void *arg, const struct fwdl_status *st)
{
	struct fwsel	*f = arg;
	size_t		 k;

	for (k = 0; k < f->nm; k++) {
		struct fwmodel *m = &f->m[k];

		if (m->st != M_DL || strcmp(m->last.build, st->build) != 0)
			continue;
		m->last = *st;
		m->have_last = true;
		if (st->state == FWDL_READY) {
			m->st = M_RESCAN;
			text_copy(m->path, st->path, sizeof(m->path));
		} else if (st->state == FWDL_FAILED) {
			m->st = M_FAILED;
			text_copy(m->msg, st->message, sizeof(m->msg));
		}
	}
	if (f->cbs.status_cb)
		f->cbs.status_cb(f->cbs.arg, st);
	if (st->state == FWDL_READY)
		fwlib_rescan(f->lib);
	if (st->state == FWDL_READY || st->state == FWDL_FAILED)
		notify(f);
}

/* The service. */
struct fwsel *
fwsel_new(struct ev_loop *loop, const struct config *cfg, const char *global_ipsw,
    const struct fwsel_cbs *cbs)
{
	struct fwsel	*f;
	char		 err[256];
	const char	*s;
	struct fwdl_options o;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	f->loop = loop;
	f->cfg = cfg;
	if (cbs)
		f->cbs = *cbs;
	f->pins = (struct fw_pin *)cfg->pins;	/* same layout */
	f->npins = cfg->npins;
	if (global_ipsw && global_ipsw[0] &&
	    fwlib_read_ipsw(global_ipsw, &f->global, err, sizeof(err)) == 0) {
		f->global.global_pin = true;
		f->have_global = true;
	}
	if (cfg->fw_download)
		mkdir(cfg->fw_dir, 0755);
	f->lib = fwlib_new(loop, cfg->fw_dir, lib_changed_cb, f);
	if (cfg->fw_download) {
		memset(&o, 0, sizeof(o));
		if ((s = getenv("IDB_FW_STALL")) != NULL)
			o.stall_secs = atof(s);
		f->dl = fwdl_new(loop, cfg->fw_dir, cfg->fw_index, &o, status_cb, f);
	}
	return (f);
}

/* True when the library decides. */
bool
fwsel_active(const struct fwsel *f)
{
	size_t	 n = 0;

	if (f == NULL)
		return (false);
	if (f->cfg->fw_download || f->cfg->npins > 0)
		return (true);
	if (!fwlib_ready(f->lib)) {
		struct stat st;

		/* a folder that exists is worth waiting for its first scan */
		return (stat(f->cfg->fw_dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink >= 2);
	}
	fwlib_entries(f->lib, &n);
	return (n > 0);
}

/* The library's builds (and the global pin) with the index's signed state. */
static size_t
gather(struct fwsel *f)
{
	const struct fwlib_entry	*e;
	size_t				 n, i, k, j, out = 0;

	e = fwlib_entries(f->lib, &n);
	if (n + 1 > f->cap) {
		struct fw_build *nb = realloc(f->builds, (n + 1) * sizeof(*nb));

		if (nb == NULL)
			return (0);
		f->builds = nb;
		f->cap = n + 1;
	}
	for (i = 0; i < n; i++) {
		f->builds[out] = e[i].b;
		/* the [bench] ipsw is one of the library's files: it stays a pin */
		if (f->have_global && strcmp(e[i].b.path, f->global.path) == 0)
			f->builds[out].global_pin = true;
		out++;
	}
	if (f->have_global) {
		for (i = 0; i < out; i++)
			if (strcmp(f->builds[i].path, f->global.path) == 0)
				break;
		if (i == out)
			f->builds[out++] = f->global;
	}
	/* "signed": false while the index answers */
	for (i = 0; i < out; i++) {
		for (k = 0; k < f->nm; k++) {
			const struct fwmodel *m = &f->m[k];

			if (!m->have_ix || ev_now(f->loop) - m->ix_at > FWSEL_INDEX_TTL)
				continue;
			for (j = 0; j < m->ix.n; j++) {
				if (strcmp(m->ix.fw[j].build, f->builds[i].build) != 0)
					continue;
				if (!m->ix.fw[j].is_signed)
					f->builds[i].signed_state = FW_SIGNED_NO;
				else if (f->builds[i].signed_state == FW_SIGNED_UNKNOWN)
					f->builds[i].signed_state = FW_SIGNED_YES;
			}
		}
	}
	return (out);
}

static void
fill(struct fwsel *f, const struct fw_build *b, struct fwsel_choice *out)
{
	const struct fwlib_entry	*e;
	size_t				 n, i;

	memset(out, 0, sizeof(*out));
	text_copy(out->path, b->path, sizeof(out->path));
	text_copy(out->version, b->version, sizeof(out->version));
	text_copy(out->build, b->build, sizeof(out->build));
	snprintf(out->desc, sizeof(out->desc), "%s (%s)", b->version, b->build);
	e = fwlib_entries(f->lib, &n);
	for (i = 0; i < n; i++)
		if (strcmp(e[i].b.path, b->path) == 0)
			text_copy(out->sha1, e[i].sha1, sizeof(out->sha1));
}

/* A file the configuration names ([bench] ipsw, a [pin] path, version or build) is never evicted. */
static bool
pinned(const struct fwsel *f, const struct fwlib_entry *e)
{
	size_t	 i;

	if (f->have_global && strcmp(f->global.path, e->b.path) == 0)
		return (true);
	for (i = 0; i < f->npins; i++) {
		const char *v = f->pins[i].value;

		if (fw_pin_is_path(v) ? strcmp(v, e->b.path) == 0 :
		    (strcmp(v, e->b.build) == 0 || fw_version_cmp(v, e->b.version) == 0))
			return (true);
	}
	return (false);
}

static bool
in_use(const struct fwsel *f, const char *path)
{
	return (f->cbs.in_use_cb != NULL && f->cbs.in_use_cb(f->cbs.arg, path));
}

/* a is b, or one holds the other */
static bool
nested(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b);

	if (na == 0 || nb == 0)
		return (false);
	if (na <= nb)
		return (strncmp(a, b, na) == 0 && (b[na] == '\0' || b[na] == '/' || a[na - 1] == '/'));
	return (strncmp(a, b, nb) == 0 && (a[nb] == '/' || b[nb - 1] == '/'));
}

static bool
nested_real(const char *folder, const char *path)
{
	char	 rf[PATH_MAX], rp[PATH_MAX];

	if (path[0] == '\0')
		return (false);
	if (nested(folder, path))
		return (true);
	if (realpath(folder, rf) == NULL)
		text_copy(rf, folder, sizeof(rf));
	if (realpath(path, rp) == NULL)
		return (false);
	return (nested(rf, rp));
}

/*
 * The extraction cache folder of a library IPSW, when the budget may count
 * and delete it: never the library folder, anything in it or around it,
 * nor where the [bench] ipsw, the logs or the history live.
 */
static bool
cache_folder_of(const struct config *cfg, const char *global, const char *ipsw, char *out,
    size_t outlen)
{
	if (ipsw_cache_folder(ipsw, cfg->cache_dir, out, outlen) != 0)
		return (false);
	if (nested_real(out, cfg->fw_dir) || nested_real(out, cfg->log_dir) ||
	    nested_real(out, cfg->db) || (global != NULL && nested_real(out, global)))
		return (false);
	return (true);
}

static bool
cache_folder(const struct fwsel *f, const char *ipsw, char *out, size_t outlen)
{
	return (cache_folder_of(f->cfg, f->have_global ? f->global.path : NULL, ipsw, out, outlen));
}

/* Bytes on disk of a library IPSW's extraction cache, as the keep budget counts it. */
unsigned long long
fwsel_cache_bytes(const struct config *cfg, const char *ipsw)
{
	char	 folder[PATH_MAX];

	if (!cache_folder_of(cfg, cfg->ipsw, ipsw, folder, sizeof(folder)))
		return (0);
	return (ipsw_cache_size(folder));
}

/*
 * Caches the bench made for library IPSWs that are no longer there (deleted
 * or renamed by hand): nothing will use them again. One readdir of
 * cache_dir and one small read per folder.
 */
static void
orphans(struct fwsel *f)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 folder[PATH_MAX], owner[PATH_MAX], mine[PATH_MAX], *slash;
	size_t		 n = strlen(f->cfg->fw_dir);

	if (f->cfg->cache_dir[0] == '\0' || n == 0 || !fwlib_ready(f->lib))
		return;
	/*
	 * An unmounted library disk leaves an empty folder where every file
	 * seems deleted: only a library that shows its .meta (written at the
	 * first download or restore) is believed.
	 */
	snprintf(folder, sizeof(folder), "%s/.meta", f->cfg->fw_dir);
	if (lstat(folder, &st) != 0 || !S_ISDIR(st.st_mode))
		return;
	if ((d = opendir(f->cfg->cache_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(folder, sizeof(folder), "%s/%s", f->cfg->cache_dir, de->d_name) >=
		    sizeof(folder) || lstat(folder, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (ipsw_cache_owner(folder, owner, sizeof(owner)) != 0)
			continue;
		/* only a cache of this library's files, named as this library names them */
		if ((slash = strrchr(owner, '/')) == NULL || (size_t)(slash - owner) != n ||
		    strncmp(owner, f->cfg->fw_dir, n) != 0 || lstat(owner, &st) == 0 || errno != ENOENT)
			continue;
		if (!cache_folder(f, owner, mine, sizeof(mine)) || strcmp(mine, folder) != 0 ||
		    in_use(f, owner))
			continue;
		if (ipsw_cache_remove(folder) == 0)
			log_info("firmware: removed the extraction cache %s: its IPSW %s is no longer in "
			    "the library", folder, slash + 1);
		else
			log_warn("firmware: cannot remove the extraction cache %s of the deleted %s: %s",
			    folder, slash + 1, strerror(errno));
	}
	closedir(d);
}

/* Does a library file that stays (not gone) have its cache in folder too? ("a.ipsw", "a.IPSW") */
static bool
shared_folder(const struct fwsel *f, const struct fwlib_entry *e, size_t n, const size_t *at,
    const bool *gone, size_t m, const char *folder)
{
	char	 other[PATH_MAX];
	size_t	 i, k;

	for (i = 0; i < n; i++) {
		if (e[i].is_dir)
			continue;
		for (k = 0; k < m; k++)
			if (at[k] == i && gone[k])
				break;
		if (k < m)
			continue;
		if (ipsw_cache_folder(e[i].b.path, f->cfg->cache_dir, other, sizeof(other)) == 0 &&
		    strcmp(other, folder) == 0)
			return (true);
	}
	return (false);
}

/*
 * The keep budget: downloaded files and their extraction caches beyond it
 * go, least recently used first, never one that is pinned or that a job
 * (or an extraction) has, nor self; need is the size of a download or an
 * extraction about to start. Returns how many bytes it could not free.
 */
static unsigned long long
evict(struct fwsel *f, unsigned long long need, const char *self)
{
	const struct fwlib_entry	*e;
	struct fw_keep_item		*it;
	unsigned long long		 over;
	size_t				*at, n, i, k, m = 0, removed = 0;
	bool				*gone;
	char				 folder[PATH_MAX], other[PATH_MAX];

	if (f->cfg->fw_keep == 0)
		return (0);
	e = fwlib_entries(f->lib, &n);
	it = calloc(n + 1, sizeof(*it));
	at = calloc(n + 1, sizeof(*at));
	gone = calloc(n + 1, sizeof(*gone));
	if (it == NULL || at == NULL || gone == NULL) {
		free(it);
		free(at);
		free(gone);
		return (0);
	}
	for (i = 0; i < n; i++) {
		if (!e[i].downloaded || e[i].is_dir)
			continue;
		it[m].size = e[i].size;
		if (cache_folder(f, e[i].b.path, folder, sizeof(folder)))
			it[m].cache = ipsw_cache_size(folder);
		it[m].used = e[i].used ? e[i].used : e[i].mtime;
		it[m].keep = pinned(f, &e[i]) || in_use(f, e[i].b.path) ||
		    (self != NULL && strcmp(self, e[i].b.path) == 0);
		at[m++] = i;
	}
	over = fw_keep_plan(it, m, f->cfg->fw_keep, need, gone);
	for (k = 0; k < m; k++) {
		const struct fwlib_entry *x = &e[at[k]];

		if (!gone[k])
			continue;
		if (unlink(x->b.path) != 0 && errno != ENOENT) {
			log_warn("firmware: cannot evict %s: %s", x->name, strerror(errno));
			gone[k] = false;
			continue;
		}
		removed++;
		snprintf(other, sizeof(other), "%s/.meta/%s", f->cfg->fw_dir, x->name);
		unlink(other);
		/* the cache goes with its IPSW, unless a file that stays has the same folder */
		if (cache_folder(f, x->b.path, folder, sizeof(folder)) &&
		    !shared_folder(f, e, n, at, gone, m, folder) && ipsw_cache_remove(folder) != 0)
			log_warn("firmware: cannot remove the extraction cache %s of %s: %s", folder,
			    x->name, strerror(errno));
		log_info("firmware: %s evicted with its extraction cache (%.1f MB and %.1f MB, "
		    "keep = %.1f MB)", x->name, x->size / 1048576.0, it[k].cache / 1048576.0,
		    f->cfg->fw_keep / 1048576.0);
	}
	if (removed > 0)
		fwlib_rescan(f->lib);
	free(it);
	free(at);
	free(gone);
	return (over);
}

/* An extraction for the library file path is about to start: make room for it. */
unsigned long long
fwsel_make_room(struct fwsel *f, const char *path, unsigned long long need)
{
	const struct fwlib_entry	*e;
	size_t				 n, i;
	char				 folder[PATH_MAX];
	unsigned long long		 have;

	if (f == NULL || f->cfg->fw_keep == 0 || !fwlib_ready(f->lib))
		return (0);
	e = fwlib_entries(f->lib, &n);
	for (i = 0; i < n; i++)
		if (strcmp(e[i].b.path, path) == 0)
			break;
	/* only what the bench downloaded counts against keep */
	if (i == n || !e[i].downloaded || e[i].is_dir || !cache_folder(f, path, folder, sizeof(folder)))
		return (0);
	have = ipsw_cache_size(folder);	/* already counted: a partial copy, say */
	return (evict(f, need > have ? need - have : 0, path));
}

/* A download is about to start outside the bench's choices. */
unsigned long long
fwsel_make_room_download(struct fwsel *f, unsigned long long need)
{
	if (f == NULL || f->cfg->fw_keep == 0 || !fwlib_ready(f->lib))
		return (0);
	return (evict(f, need, NULL));
}

bool
fwsel_ready(const struct fwsel *f)
{
	return (f != NULL && fwlib_ready(f->lib));
}

/* Start or follow what fetches firmware for a model; WAIT or NONE. */
static enum fwsel_answer
fetch_for(struct fwsel *f, const struct fw_phone *ph, bool retry, char *reason, size_t reasonlen)
{
	const char			*id = ph->product_type[0] ? ph->product_type : ph->model;
	const struct fw_pin		*pin;
	const struct fw_index_fw	*fw;
	struct fwmodel			*m;
	char				 name[96], err[256];

	fw_phone_name(ph, name, sizeof(name));
	if (f->dl == NULL || id[0] == '\0')
		return (FWSEL_NONE);
	if ((m = model_get(f, id, true)) == NULL)
		return (FWSEL_NONE);
	if (m->st == M_FAILED && retry)
		m->st = M_IDLE;
	if (m->st == M_INDEXED && ev_now(f->loop) - m->ix_at > FWSEL_INDEX_TTL)
		m->st = M_IDLE;
	switch (m->st) {
	case M_IDLE:
		if (m->have_ix && ev_now(f->loop) - m->ix_at <= FWSEL_INDEX_TTL) {
			m->st = M_INDEXED;
			break;
		}
		if (fwdl_index_get(f->dl, id, index_cb, f) != 0) {
			snprintf(reason, reasonlen, "no firmware for %s (cannot ask the index)", name);
			return (FWSEL_NONE);
		}
		m->st = M_INDEX;
		return (FWSEL_WAIT);
	case M_INDEX:
	case M_DL:
	case M_RESCAN:
		return (FWSEL_WAIT);
	case M_FAILED:
		snprintf(reason, reasonlen, "no firmware for %s: %s", name, m->msg);
		return (FWSEL_NONE);
	case M_INDEXED:
		break;
	}
	pin = fw_pin_find(f->pins, f->npins, ph);
	fw = fwdl_index_pick(&m->ix, pin && !fw_pin_is_path(pin->value) ? pin->value : NULL);
	if (fw == NULL || (pin == NULL && !fw->is_signed)) {
		snprintf(reason, reasonlen, "no firmware for %s (the index lists no %s build)", name,
		    pin ? pin->value : "signed");
		return (FWSEL_NONE);
	}
	if (fw_pin_is_path(pin ? pin->value : "x")) {
		snprintf(reason, reasonlen, "no firmware for %s (pinned to %s)", name, pin->value);
		return (FWSEL_NONE);
	}
	if (!fwdl_busy(f->dl, fw->build) && evict(f, fw->size, NULL) > 0) {
		snprintf(reason, reasonlen, "no firmware for %s: %s (%s) would exceed keep = %.1f MB "
		    "and nothing can be evicted", name, fw->version, fw->build, f->cfg->fw_keep / 1048576.0);
		return (FWSEL_NONE);
	}
	memset(&m->last, 0, sizeof(m->last));
	text_copy(m->last.build, fw->build, sizeof(m->last.build));
	m->st = M_DL;
	if (fwdl_fetch(f->dl, id, fw, err, sizeof(err)) != 0) {
		if (m->st == M_DL) {
			m->st = M_FAILED;
			text_copy(m->msg, err, sizeof(m->msg));
		}
		snprintf(reason, reasonlen, "no firmware for %s: %s", name, m->msg);
		return (FWSEL_NONE);
	}
	if (m->st == M_FAILED) {
		snprintf(reason, reasonlen, "no firmware for %s: %s", name, m->msg);
		return (FWSEL_NONE);
	}
	return (FWSEL_WAIT);
}

/* Choose for a phone. */
enum fwsel_answer
fwsel_choose(struct fwsel *f, const struct fw_phone *ph, bool retry, struct fwsel_choice *out,
    char *reason, size_t reasonlen)
{
	size_t		 n;
	int		 i;
	enum fwsel_answer a;

	if (reason && reasonlen)
		reason[0] = '\0';
	if (!fwlib_ready(f->lib)) {
		snprintf(reason, reasonlen, "reading the firmware library");
		return (FWSEL_WAIT);
	}
	/*
	 * With an index to ask, ask it first: a build it marks unsigned must
	 * not be chosen. An index that does not answer leaves the library's
	 * builds as they are (signing unknown).
	 */
	if (f->dl != NULL && (ph->product_type[0] || ph->model[0])) {
		struct fwmodel *m = model_get(f, ph->product_type[0] ? ph->product_type : ph->model, true);

		if (m != NULL && m->st == M_IDLE && (!m->have_ix ||
		    ev_now(f->loop) - m->ix_at > FWSEL_INDEX_TTL)) {
			if (fwdl_index_get(f->dl, m->id, index_cb, f) == 0) {
				m->st = M_INDEX;
				snprintf(reason, reasonlen, "asking the firmware index");
				return (FWSEL_WAIT);
			}
		} else if (m != NULL && m->st == M_INDEX) {
			snprintf(reason, reasonlen, "asking the firmware index");
			return (FWSEL_WAIT);
		}
	}
	n = gather(f);
	i = fw_choose(f->builds, n, ph, f->pins, f->npins, reason, reasonlen);
	if (i >= 0) {
		fill(f, &f->builds[i], out);
		return (FWSEL_READY);
	}
	{
		char why[256];

		text_copy(why, reason, sizeof(why));
		a = fetch_for(f, ph, retry, reason, reasonlen);
		if (a == FWSEL_NONE && reason[0] == '\0')
			text_copy(reason, why, reasonlen);
	}
	return (a);
}

/*
 * Without a library the [bench] ipsw serves every model it supports (and
 * only those): false, with the reason, when it is known not to fit the
 * phone. A phone that told nothing of itself yet, or an IPSW that cannot
 * be read, is left to the restore program.
 */
bool
fwsel_global_fits(const struct fwsel *f, const struct fw_phone *ph, char *reason, size_t reasonlen)
{
	char	name[96];

	/* a chip and board no model table knows: idevicerestore may know better */
	if (f == NULL || !f->have_global || (ph->product_type[0] == '\0' && ph->model[0] == '\0'))
		return (true);
	if (fw_build_fits(&f->global, ph))
		return (true);
	fw_phone_name(ph, name, sizeof(name));
	snprintf(reason, reasonlen, "no firmware for %s: the IPSW %s (%s, %s) is for %s only", name,
	    f->global.path, f->global.version, f->global.build,
	    f->global.product_types[0] ? f->global.product_types : "other models");
	return (false);
}

/* A phone arrived: fetch what it will need, when downloads are on. */
void
fwsel_prefetch(struct fwsel *f, const struct fw_phone *ph)
{
	struct fwsel_choice	 c;
	char			 why[256];

	if (f == NULL || f->dl == NULL || !fwlib_ready(f->lib))
		return;
	fwsel_choose(f, ph, false, &c, why, sizeof(why));
}

/* A restore starts with this IPSW. */
void
fwsel_used(struct fwsel *f, const char *path)
{
	size_t		 n = strlen(f->cfg->fw_dir);

	if (strncmp(path, f->cfg->fw_dir, n) == 0 && path[n] == '/' && strchr(path + n + 1, '/') == NULL)
		fwlib_meta_touch(f->cfg->fw_dir, path + n + 1);
}

/* A restore with this library file failed as if it did not fit. */
void
fwsel_suspect(struct fwsel *f, const char *path)
{
	size_t	 n = strlen(f->cfg->fw_dir);

	/* the [bench] ipsw is the technician's choice, and outside the library */
	if (f->have_global && strcmp(path, f->global.path) == 0)
		return;
	if (strncmp(path, f->cfg->fw_dir, n) == 0 && path[n] == '/' && strchr(path + n + 1, '/') == NULL) {
		log_warn("firmware: %s marked suspect: a restore with it failed as if it did not fit",
		    path + n + 1);
		fwlib_meta_write(f->cfg->fw_dir, path + n + 1, "suspect", false);
		fwlib_rescan(f->lib);
	}
}

/* Usable builds in the library. */
size_t
fwsel_usable(const struct fwsel *f)
{
	const struct fwlib_entry	*e;
	size_t				 n, i, u = 0;

	e = fwlib_entries(f->lib, &n);
	for (i = 0; i < n; i++)
		u += e[i].b.usable;
	return (u);
}

/* One line for the header while downloads run. */
void
fwsel_describe(const struct fwsel *f, char *out, size_t outlen)
{
	size_t	 k, used = 0;

	out[0] = '\0';
	if (f == NULL)
		return;
	for (k = 0; k < f->nm && used + 1 < outlen; k++) {
		const struct fwmodel *m = &f->m[k];
		const struct fwdl_status *s = &m->last;
		int w;

		if (m->st != M_DL || !m->have_last)
			continue;
		if (s->eta >= 0)
			w = snprintf(out + used, outlen - used, "%s%s %s %.0f%% %.1f MB/s %d:%02d left",
			    used ? ", " : "", s->model, s->version, s->percent, s->rate / 1e6,
			    (int)s->eta / 60, (int)s->eta % 60);
		else
			w = snprintf(out + used, outlen - used, "%s%s %s %s %.0f%%", used ? ", " : "",
			    s->model, s->version, fwdl_state_name(s->state), s->percent);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

void
fwsel_free(struct fwsel *f)
{
	size_t	 k;

	if (f == NULL)
		return;
	fwdl_free(f->dl);
	fwlib_free(f->lib);
	for (k = 0; k < f->nm; k++)
		fwdl_index_clear(&f->m[k].ix);
	free(f->builds);
	free(f);
}
