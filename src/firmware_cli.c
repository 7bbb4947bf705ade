/*
 * firmware_cli.c: idevicebench firmware [--json] | fetch MODEL [VERSION|BUILD]
 * | verify [PATH...] (DESIGN.md "Firmware library"; command lines stable).
 * The same library and download code as the bench, on a loop of its own
 * that runs until the work is done.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "fwdl.h"
#include "fwlib.h"
#include "fwsel.h"
#include "text.h"

struct fwcli {
	const struct config	*cfg;
	struct ev_loop		*loop;
	struct fwdl		*dl;
	bool			 json;
	bool			 tty;
	int			 rc;
	bool			 done;
	/* fetch */
	char			 want[64];
	char			 model[32];
	struct fwsel		*sel;		/* the keep budget, as the bench keeps it */
	/* verify */
	struct fw_index		 ix;
	bool			 ix_ok;
	char			 ix_err[512];
};

/*
 * True when a running restore uses the IPSW: the bench holds a shared
 * flock on it while the restore runs (runner_fw_launching), whichever
 * process the bench is; a lock we can take exclusively means nobody does.
 */
static bool
in_use(const char *path)
{
	int	 fd;
	bool	 busy;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return (false);
	busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);	/* drops our lock, if we got it */
	return (busy);
}

static void
fw_usage(FILE *f)
{
	fprintf(f, "usage: idevicebench [-c FILE] firmware [--json]\n"
	    "       idevicebench [-c FILE] firmware fetch [--json] MODEL [VERSION|BUILD]\n"
	    "       idevicebench [-c FILE] firmware verify [--json] [PATH...]\n");
}

static void
human(unsigned long long n, char *out, size_t len)
{
	const char	*u = "KMGT";
	double		 v = (double)n;
	int		 i = -1;

	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(out, len, "%llu", n);
	else
		snprintf(out, len, "%.1f%c", v, u[i]);
}

static void
print_json(json_t *o)
{
	char	*s = json_dumps(o, JSON_COMPACT);

	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
	json_decref(o);
	fflush(stdout);
}

static int
list_main(const struct config *cfg, bool json)
{
	struct fwlib_entry	*e = NULL;
	size_t			 n = 0, i, k;
	char			 err[512], sz[16], ids[64], kb[16], cb[16];
	struct stat		 st;
	unsigned long long	 cache, dl = 0, dlcache = 0;

	if (stat(cfg->fw_dir, &st) != 0 && errno == ENOENT) {
		if (!json)
			printf("library %s: empty (no such folder)\n", cfg->fw_dir);
		return (0);
	}
	if (fwlib_scan_dir(cfg->fw_dir, NULL, 0, &e, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "idevicebench: %s\n", err);
		return (1);
	}
	if (!json)
		printf("%-8s %-8s %-24s %8s %-9s %s\n", "VERSION", "BUILD", "MODELS", "SIZE", "CHECKSUM",
		    "FILE");
	for (i = 0; i < n; i++) {
		const struct fwlib_entry *x = &e[i];

		/* its extraction cache (outside the library): counts against keep with a download */
		cache = x->is_dir ? 0 : fwsel_cache_bytes(cfg, x->b.path);
		if (x->downloaded && !x->is_dir) {
			dl += x->size;
			dlcache += cache;
		}
		if (json) {
			json_t *o = json_object(), *models = json_array(), *ja = json_array();
			char *dup = strdup(x->b.product_types), *tok, *save = NULL;

			for (tok = dup ? strtok_r(dup, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save))
				json_array_append_new(models, json_string(tok));
			free(dup);
			for (k = 0; k < x->b.nids; k++) {
				char c[16], b[16];

				snprintf(c, sizeof(c), "0x%04x", x->b.ids[k].cpid);
				snprintf(b, sizeof(b), "0x%02x", x->b.ids[k].bdid);
				json_array_append_new(ja, json_pack("{s:s,s:s}", "cpid", c, "bdid", b));
			}
			json_object_set_new(o, "name", json_string(x->name));
			json_object_set_new(o, "path", json_string(x->b.usable ? x->b.path : x->name));
			json_object_set_new(o, "version", json_string(x->b.version));
			json_object_set_new(o, "build", json_string(x->b.build));
			json_object_set_new(o, "models", models);
			json_object_set_new(o, "ids", ja);
			json_object_set_new(o, "size", json_integer((json_int_t)x->size));
			json_object_set_new(o, "folder", json_boolean(x->is_dir));
			json_object_set_new(o, "usable", json_boolean(x->b.usable));
			json_object_set_new(o, "checksum", json_string(x->sha1[0] ? "verified" : "unchecked"));
			json_object_set_new(o, "sha1", x->sha1[0] ? json_string(x->sha1) : json_null());
			json_object_set_new(o, "downloaded", json_boolean(x->downloaded));
			json_object_set_new(o, "in_use", json_boolean(x->b.usable && in_use(x->b.path)));
			json_object_set_new(o, "cache", json_integer((json_int_t)cache));
			if (!x->b.usable)
				json_object_set_new(o, "reason", json_string(x->reason));
			print_json(o);
			continue;
		}
		human(x->size, sz, sizeof(sz));
		if (x->b.usable) {
			snprintf(ids, sizeof(ids), "%s", x->b.product_types);
			printf("%-8s %-8s %-24.24s %8s %-9s %s\n", x->b.version, x->b.build, ids,
			    x->is_dir ? "folder" : sz, x->sha1[0] ? "verified" : "unchecked", x->name);
		} else
			printf("%-8s %-8s %-24s %8s %-9s %s: unusable: %s\n", "-", "-", "-", sz, "-",
			    x->name, x->reason);
	}
	if (!json) {
		printf("%zu in %s\n", n, cfg->fw_dir);
		/* what keep counts: downloads and their extraction caches */
		human(dl + dlcache, sz, sizeof(sz));
		human(dlcache, cb, sizeof(cb));
		if (cfg->fw_keep)
			human(cfg->fw_keep, kb, sizeof(kb));
		printf("keep: %s of %s used by downloads, %s of it their extraction caches in %s\n", sz,
		    cfg->fw_keep ? kb : "no limit", cb, cfg->cache_dir[0] ? cfg->cache_dir : "-");
	}
	free(e);
	return (0);
}

/* ---- fetch ---------------------------------------------------------------- */

static void
status_cb(void *arg, const struct fwdl_status *st)
{
	struct fwcli	*c = arg;
	char		 a[16], b[16], r[16];

	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "event", json_string("firmware"));
		json_object_set_new(o, "time", json_real(ev_time()));
		json_object_set_new(o, "model", json_string(st->model));
		json_object_set_new(o, "version", json_string(st->version));
		json_object_set_new(o, "build", json_string(st->build));
		json_object_set_new(o, "state", json_string(fwdl_state_name(st->state)));
		json_object_set_new(o, "percent", json_real((double)(long)(st->percent * 10) / 10));
		json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
		json_object_set_new(o, "total", json_integer((json_int_t)st->total));
		if (st->state == FWDL_DOWNLOADING) {
			json_object_set_new(o, "rate", json_real((double)(long)st->rate));
			json_object_set_new(o, "eta", st->eta >= 0 ? json_real((double)(long)st->eta) : json_null());
		}
		if (st->state == FWDL_READY)
			json_object_set_new(o, "path", json_string(st->path));
		if (st->state == FWDL_FAILED)
			json_object_set_new(o, "message", json_string(st->message));
		print_json(o);
	} else {
		human(st->bytes, a, sizeof(a));
		human(st->total, b, sizeof(b));
		human((unsigned long long)st->rate, r, sizeof(r));
		if (st->state == FWDL_DOWNLOADING && st->eta >= 0)
			fprintf(stderr, "%s %s (%s): %5.1f%% %s/%s %s/s, %d:%02d left\n", st->model,
			    st->version, st->build, st->percent, a, b, r, (int)st->eta / 60,
			    (int)st->eta % 60);
		else if (st->state == FWDL_DOWNLOADING)
			fprintf(stderr, "%s %s (%s): %5.1f%% %s/%s\n", st->model, st->version, st->build,
			    st->percent, a, b);
		else if (st->state == FWDL_READY)
			printf("%s %s (%s): ready, SHA1 %s: %s\n", st->model, st->version, st->build,
			    st->sha1, st->path);
		else if (st->state == FWDL_FAILED)
			fprintf(stderr, "idevicebench: %s %s (%s): %s\n", st->model, st->version, st->build,
			    st->message);
		else
			fprintf(stderr, "%s %s (%s): %s\n", st->model, st->version, st->build,
			    fwdl_state_name(st->state));
	}
	if (st->state == FWDL_READY || st->state == FWDL_FAILED) {
		c->rc = st->state == FWDL_READY ? 0 : 1;
		c->done = true;
		ev_break(c->loop, EVBREAK_ALL);
	}
}

static void
fetch_index_cb(void *arg, const char *id, const struct fw_index *ix, const char *err)
{
	struct fwcli			*c = arg;
	const struct fw_index_fw	*fw;
	char				 e[512];

	if (ix == NULL) {
		fprintf(stderr, "idevicebench: %s: %s\n", id, err);
		goto fail;
	}
	fw = fwdl_index_pick(ix, c->want[0] ? c->want : NULL);
	if (fw == NULL) {
		fprintf(stderr, "idevicebench: the index has no %s firmware for %s\n",
		    c->want[0] ? c->want : "signed", id);
		goto fail;
	}
	if (c->sel != NULL && !fwdl_have(c->dl, fw) && fwsel_make_room_download(c->sel, fw->size) > 0) {
		fprintf(stderr, "idevicebench: %s (%s) would exceed keep = %.1f MB and nothing can "
		    "be evicted\n", fw->version, fw->build, c->cfg->fw_keep / 1048576.0);
		goto fail;
	}
	if (fwdl_fetch(c->dl, c->model, fw, e, sizeof(e)) != 0) {
		if (!c->done)
			fprintf(stderr, "idevicebench: %s\n", e);
		goto fail;
	}
	return;
fail:
	c->rc = 1;
	c->done = true;
	ev_break(c->loop, EVBREAK_ALL);
}

static void
sel_changed_cb(void *arg)
{
	struct fwcli	*c = arg;

	if (fwsel_ready(c->sel))
		ev_break(c->loop, EVBREAK_ALL);
}

static bool
sel_in_use_cb(void *arg, const char *path)
{
	(void)arg;
	return (in_use(path));
}

/*
 * With a keep budget, the library is read first (its scan cache makes it
 * quick) so that the download evicts as the bench's own would: least
 * recently used downloads and their extraction caches, never a pinned file
 * or one a running restore holds.
 */
static void
keep_open(struct fwcli *c, struct config *own)
{
	struct fwsel_cbs cbs;

	if (c->cfg->fw_keep == 0)
		return;
	*own = *c->cfg;
	own->fw_download = false;	/* the service only keeps; this command downloads */
	memset(&cbs, 0, sizeof(cbs));
	cbs.changed_cb = sel_changed_cb;
	cbs.in_use_cb = sel_in_use_cb;
	cbs.arg = c;
	if ((c->sel = fwsel_new(c->loop, own, c->cfg->ipsw, &cbs)) == NULL)
		return;
	while (!fwsel_ready(c->sel))
		ev_run(c->loop, 0);
}

static int
fetch_main(const struct config *cfg, bool json, const char *model, const char *want)
{
	struct fwcli	 c;
	struct fwdl_options o;
	struct config	*own;
	const char	*s;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	if ((s = getenv("IDB_FW_STALL")) != NULL)
		o.stall_secs = atof(s);
	c.json = json;
	c.cfg = cfg;
	text_copy(c.model, model, sizeof(c.model));
	if (want)
		text_copy(c.want, want, sizeof(c.want));
	if ((own = calloc(1, sizeof(*own))) == NULL) {
		fprintf(stderr, "idevicebench: out of memory\n");
		return (1);
	}
	c.loop = ev_loop_new(EVFLAG_AUTO);
	if ((c.dl = fwdl_new(c.loop, cfg->fw_dir, cfg->fw_index, &o, status_cb, &c)) != NULL)
		keep_open(&c, own);
	if (c.dl == NULL || fwdl_index_get(c.dl, model, fetch_index_cb, &c) != 0) {
		fprintf(stderr, "idevicebench: '%s' is not a model identifier like iPhone10,6\n", model);
		c.rc = 2;
		goto out;
	}
	while (!c.done)
		ev_run(c.loop, 0);
out:
	fwdl_free(c.dl);
	fwsel_free(c.sel);
	ev_loop_destroy(c.loop);
	free(own);
	return (c.rc);
}

/* ---- verify --------------------------------------------------------------- */

static void
verify_index_cb(void *arg, const char *id, const struct fw_index *ix, const char *err)
{
	struct fwcli	*c = arg;

	(void)id;
	if (ix != NULL) {
		c->ix = *ix;
		if (ix->n > 0 && (c->ix.fw = malloc(ix->n * sizeof(*ix->fw))) != NULL)
			memcpy(c->ix.fw, ix->fw, ix->n * sizeof(*ix->fw));
		else
			c->ix.n = 0;
		c->ix_ok = true;
	} else
		text_copy(c->ix_err, err, sizeof(c->ix_err));
	c->done = true;
	ev_break(c->loop, EVBREAK_ALL);
}

/* Remember a verdict when the file is in the library (a bad file is never chosen again). */
static void
in_library(const struct config *cfg, const char *path, const char *sha1)
{
	const char	*slash = strrchr(path, '/');
	char		 dir[PATH_MAX];

	if (slash == NULL)
		return;
	text_copy(dir, path, sizeof(dir));
	dir[slash - path] = '\0';
	if (strcmp(dir, cfg->fw_dir) == 0)
		fwlib_meta_write(cfg->fw_dir, slash + 1, sha1, false);
}

static int
verify_one(const struct config *cfg, struct fwcli *c, const char *path)
{
	struct fw_build			 b;
	const struct fw_index_fw	*fw = NULL;
	char				 err[512], sha1[41], sha256[65], first[32] = "";
	const char			*verdict, *why = "";
	struct stat			 st;
	int				 rc = 0;

	if (fwlib_read_ipsw(path, &b, err, sizeof(err)) != 0) {
		verdict = "unusable";
		why = err;
		rc = 1;
		goto out;
	}
	sscanf(b.product_types, "%31s", first);
	c->done = false;
	c->ix_ok = false;
	c->ix_err[0] = '\0';
	if (fwdl_index_get(c->dl, first, verify_index_cb, c) != 0) {
		verdict = "unknown";
		why = "no model identifier";
		goto out;
	}
	while (!c->done)
		ev_run(c->loop, 0);
	if (!c->ix_ok) {
		verdict = "unknown";
		why = c->ix_err;
		goto out;
	}
	fw = fwdl_index_pick(&c->ix, b.build);
	if (fw == NULL) {
		verdict = "unknown";
		why = "the index does not list this build";
		goto out;
	}
	if (stat(path, &st) != 0 || S_ISDIR(st.st_mode)) {
		verdict = "unknown";
		why = "an extracted folder has no checksum";
		goto out;
	}
	if (fwdl_hash_file(path, sha1, fw->sha256[0] ? sha256 : NULL, err, sizeof(err)) != 0) {
		verdict = "unreadable";
		why = err;
		rc = 1;
		goto out;
	}
	if ((unsigned long long)st.st_size != fw->size || strcmp(sha1, fw->sha1) != 0 ||
	    (fw->sha256[0] && strcmp(sha256, fw->sha256) != 0)) {
		verdict = "MISMATCH";
		why = (unsigned long long)st.st_size != fw->size ? "size differs from the index" :
		    "checksum differs from the index";
		rc = 1;
		in_library(cfg, path, "bad");
		goto out;
	}
	verdict = "ok";
	in_library(cfg, path, sha1);
out:
	fwdl_index_clear(&c->ix);
	{
		char clean[PATH_MAX], cwhy[512];

		text_sanitize(clean, sizeof(clean), path, strlen(path));
		text_sanitize(cwhy, sizeof(cwhy), why, strlen(why));
		if (c->json)
			print_json(json_pack("{s:s,s:s,s:s,s:s,s:s}", "path", clean, "result", verdict,
			    "version", b.version, "build", b.build, "message", cwhy));
		else
			printf("%-10s %s %s (%s)%s%s\n", verdict, clean, b.version, b.build,
			    why[0] ? ": " : "", cwhy);
	}
	return (rc);
}

static int
verify_main(const struct config *cfg, bool json, int argc, char **argv)
{
	struct fwcli		 c;
	struct fwlib_entry	*e = NULL;
	size_t			 n = 0, i;
	char			 err[512];
	int			 rc = 0;

	memset(&c, 0, sizeof(c));
	c.json = json;
	c.loop = ev_loop_new(EVFLAG_AUTO);
	if ((c.dl = fwdl_new(c.loop, cfg->fw_dir, cfg->fw_index, NULL, NULL, &c)) == NULL) {
		ev_loop_destroy(c.loop);
		return (1);
	}
	if (argc > 0) {
		for (int k = 0; k < argc; k++)
			rc |= verify_one(cfg, &c, argv[k]);
	} else if (fwlib_scan_dir(cfg->fw_dir, NULL, 0, &e, &n, err, sizeof(err)) == 0) {
		for (i = 0; i < n; i++)
			if (!e[i].is_dir)
				rc |= verify_one(cfg, &c, e[i].b.path);
		free(e);
	} else {
		fprintf(stderr, "idevicebench: %s\n", err);
		rc = 1;
	}
	fwdl_free(c.dl);
	ev_loop_destroy(c.loop);
	return (rc);
}

/* idevicebench [-c FILE] firmware ...: argv[sub] is "firmware". */
int
firmware_main(int argc, char **argv, int sub)
{
	struct config	*cfg;
	const char	*conf = NULL;
	char		 err[512];
	bool		 json = false;
	char		*args[8];
	int		 nargs = 0, rc, i;

	for (i = 1; i < sub; i++)
		if (strcmp(argv[i], "-c") == 0 && i + 1 < sub)
			conf = argv[++i];
	for (i = sub + 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fw_usage(stdout);
			return (0);
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fw_usage(stderr);
			return (2);
		} else if (nargs < (int)(sizeof(args) / sizeof(args[0])))
			args[nargs++] = argv[i];
		else {
			fw_usage(stderr);
			return (2);
		}
	}
	if ((cfg = malloc(sizeof(*cfg))) == NULL)
		return (1);
	config_defaults(cfg);
	if (config_load(cfg, conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "idevicebench: %s\n", err);
		free(cfg);
		return (2);
	}
	if (nargs == 0)
		rc = list_main(cfg, json);
	else if (strcmp(args[0], "fetch") == 0 && (nargs == 2 || nargs == 3))
		rc = fetch_main(cfg, json, args[1], nargs == 3 ? args[2] : NULL);
	else if (strcmp(args[0], "verify") == 0)
		rc = verify_main(cfg, json, nargs - 1, args + 1);
	else {
		fw_usage(stderr);
		rc = 2;
	}
	free(cfg);
	return (rc);
}
