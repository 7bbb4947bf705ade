/*
 * runner_fw.c: which IPSW each restore gets (the runner's half of the
 * firmware library; DESIGN.md "Firmware library").
 *
 * Without a library (no files in [firmware] dir, no downloads, no pins) the
 * [bench] ipsw serves every phone it has a build identity for; a phone it
 * is known not to fit fails at once, naming its model. With a library,
 * fwsel chooses per phone; a job whose firmware is being fetched stays
 * queued with waiting_fw, one with nothing to wait for fails at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_int.h"
#include "config.h"
#include "errclass.h"
#include "fwdl.h"
#include "fwsel.h"
#include "ipsw.h"
#include "store.h"
#include "text.h"

/* A library IPSW's one-time filesystem extraction (as the runner does for the [bench] ipsw). */
struct fwprep {
	struct bench		*b;
	char			 path[1024];
	struct ipsw_info	 info;
	struct ipsw_prep	*prep;
	bool			 done;
};

static void
phone_of(const struct slot *s, struct fw_phone *ph)
{
	memset(ph, 0, sizeof(*ph));
	ph->cpid = s->dev.cpid;
	ph->bdid = s->dev.bdid;
	/* only a phone in normal mode says its product type; the table's guess is for names and pins */
	if (s->mode == MODE_NORMAL)
		text_copy(ph->product_type, s->dev.product_type, sizeof(ph->product_type));
	text_copy(ph->model, s->dev.product_type, sizeof(ph->model));
}

/* Choose the slot's IPSW: 1 chosen, 0 wait, -1 none (msg says why). */
int
runner_fw_resolve(struct bench *b, struct bslot *bs, bool retry, char *msg, size_t msglen)
{
	struct slot		*s = &bs->s;
	struct fwsel_choice	 c;
	struct fw_phone		 ph;
	struct stat		 st;

	if (!fwsel_active(b->fw)) {
		s->job.waiting_fw = false;
		if (b->ipsw[0] == '\0' || stat(b->ipsw, &st) != 0) {
			snprintf(msg, msglen, "%s", b->ipsw[0] ? "the IPSW cannot be read" :
			    "no IPSW configured (--ipsw or ipsw = in the config)");
			return (-1);
		}
		phone_of(s, &ph);
		if (!fwsel_global_fits(b->fw, &ph, msg, msglen)) {
			/* the job's own message names the model, not only the error event */
			text_copy(bs->fw_fail, msg, sizeof(bs->fw_fail));
			return (-1);
		}
		text_copy(bs->fw_path, b->ipsw, sizeof(bs->fw_path));
		bs->fw_sha1[0] = '\0';
		text_copy(bs->fw_version, b->ipsw_info_ok ? b->ipsw_info.product_version : "",
		    sizeof(bs->fw_version));
		text_copy(bs->fw_build, b->ipsw_info_ok ? b->ipsw_info.build : "", sizeof(bs->fw_build));
		if (b->ipsw_info_ok)
			snprintf(s->job.firmware, sizeof(s->job.firmware), "%s (%s)",
			    b->ipsw_info.product_version, b->ipsw_info.build);
		return (1);
	}
	phone_of(s, &ph);
	switch (fwsel_choose(b->fw, &ph, retry, &c, msg, msglen)) {
	case FWSEL_READY:
		text_copy(bs->fw_path, c.path, sizeof(bs->fw_path));
		text_copy(bs->fw_sha1, c.sha1, sizeof(bs->fw_sha1));
		text_copy(bs->fw_version, c.version, sizeof(bs->fw_version));
		text_copy(bs->fw_build, c.build, sizeof(bs->fw_build));
		text_copy(s->job.firmware, c.desc, sizeof(s->job.firmware));
		s->job.waiting_fw = false;
		return (1);
	case FWSEL_WAIT:
		s->job.waiting_fw = true;
		return (0);
	case FWSEL_NONE:
		break;
	}
	s->job.waiting_fw = false;
	text_copy(bs->fw_fail, msg, sizeof(bs->fw_fail));
	return (-1);
}

/* A restore starts: log header, LRU, history. */
void
runner_fw_launching(struct bench *b, struct bslot *bs, long attempt_id)
{
	const char	*ipsw = bs->fw_path[0] ? bs->fw_path : b->ipsw;
	char		 line[1400];
	int		 fd, n;

	if (b->fw && bs->fw_path[0])
		fwsel_used(b->fw, bs->fw_path);
	/*
	 * A shared flock on the IPSW while the restore runs says "in use" to
	 * other processes (`idevicebench firmware` tries LOCK_EX|LOCK_NB); the
	 * kernel drops it if the bench dies. Best effort: a restore never
	 * waits for it.
	 */
	if (bs->fw_lock != 0)
		close(bs->fw_lock - 1);
	bs->fw_lock = 0;
	if ((fd = open(ipsw, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) != -1) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			bs->fw_lock = fd + 1;
		else
			close(fd);
	}
	if (b->store && attempt_id != 0 && (bs->fw_version[0] || bs->fw_build[0]))
		store_attempt_firmware(b->store, attempt_id, bs->fw_version, bs->fw_build, bs->fw_sha1);
	/* the per-attempt log says which IPSW the restore got, before the child's own output */
	fd = open(bs->s.job.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	n = snprintf(line, sizeof(line), "# idevicebench: firmware %s ipsw %s sha1 %s\n",
	    bs->s.job.firmware[0] ? bs->s.job.firmware : "unknown", ipsw,
	    bs->fw_sha1[0] ? bs->fw_sha1 : "unverified");
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		bench_error(b, "%s: cannot write the log header: %s", bs->s.label, strerror(errno));
	close(fd);
}

/* A restore ended: an IPSW that did not fit its phone is marked suspect. */
void
runner_fw_ended(struct bench *b, struct bslot *bs, const struct err_result *r, bool never_ran)
{
	if (bs->fw_lock != 0) {
		close(bs->fw_lock - 1);
		bs->fw_lock = 0;
	}
	/* the IPSW said it fits this phone and the restore program says it does not */
	if (!r->ok && r->cls == EC_IPSW && !never_ran && b->fw && bs->fw_path[0] &&
	    fwsel_active(b->fw))
		fwsel_suspect(b->fw, bs->fw_path);
}

/* Jobs waiting for firmware: start, keep waiting, or fail now. */
static void
recheck(struct bench *b)
{
	char	 msg[256];

	for (size_t i = 0; i < b->nslots; i++) {
		struct bslot	*bs = b->slots[i];
		int		 rc;

		if (bs->s.job.state != JOB_QUEUED || !bs->s.job.waiting_fw)
			continue;
		rc = runner_fw_resolve(b, bs, false, msg, sizeof(msg));
		if (rc == 1) {
			NOTIFY(b, job_cb, i);
			bench_changed(b, bs);
		} else if (rc < 0)
			runner_fail_firmware(b, bs, msg);
	}
}

static void
changed_cb(void *arg)
{
	struct bench	*b = arg;
	struct fw_phone	 ph;

	/* phones that arrived before the library's first scan: fetch for them now */
	for (size_t i = 0; i < b->nslots; i++) {
		struct slot *s = &b->slots[i]->s;

		if (s->present && s->mode != MODE_RESTORE && !s->ignored && s->job.state != JOB_RUNNING) {
			phone_of(s, &ph);
			fwsel_prefetch(b->fw, &ph);
		}
	}
	recheck(b);
	/* without a [bench] ipsw the header names the library instead */
	if (b->ipsw[0] == '\0' && fwsel_active(b->fw))
		snprintf(b->st.ipsw_desc, sizeof(b->st.ipsw_desc), "library: %zu build%s",
		    fwsel_usable(b->fw), fwsel_usable(b->fw) == 1 ? "" : "s");
	runner_schedule(b);
	bench_changed(b, NULL);
}

static void
status_cb(void *arg, const struct fwdl_status *st)
{
	struct bench	*b = arg;

	fwsel_describe(b->fw, b->st.firmware, sizeof(b->st.firmware));
	NOTIFY(b, firmware_cb, (const void *)st);
	if (st->state == FWDL_FAILED)
		bench_error(b, "firmware %s %s (%s): %s", st->model, st->version, st->build, st->message);
	bench_changed(b, NULL);
}

static bool
in_use_cb(void *arg, const char *path)
{
	struct bench	*b = arg;

	for (size_t i = 0; i < b->nslots; i++) {
		const struct bslot *bs = b->slots[i];

		if ((bs->s.job.state == JOB_QUEUED || bs->s.job.state == JOB_RUNNING) &&
		    strcmp(bs->fw_path, path) == 0)
			return (true);
	}
	/* an extraction into its cache runs (its job may have been cancelled meanwhile) */
	for (size_t i = 0; i < b->nfwprep; i++)
		if (!b->fwprep[i]->done && strcmp(b->fwprep[i]->path, path) == 0)
			return (true);
	return (false);
}

/* A phone arrived: fetch its firmware now when downloads are on. */
void
runner_fw_arrived(struct bench *b, struct bslot *bs)
{
	struct fw_phone	 ph;

	if (b->fw == NULL || bs->s.mode == MODE_RESTORE || bs->s.ignored)
		return;
	phone_of(&bs->s, &ph);
	fwsel_prefetch(b->fw, &ph);
}

static void
prep_progress_cb(void *arg, double percent)
{
	(void)arg;
	(void)percent;
}

static void
prep_done_cb(void *arg, int err, const char *msg)
{
	struct fwprep	*p = arg;

	p->done = true;
	if (err)
		bench_error(p->b, "could not extract the filesystem of %s once for all restores (%s): each "
		    "restore will extract its own copy", p->path, msg ? msg : strerror(err));
	/* p->prep is freed with the bench, never inside its own callback */
	runner_schedule(p->b);
}

/*
 * idevicerestore 1.0.0 children each extract the IPSW's root filesystem
 * unless it is in the cache: extract each library IPSW once, off the loop,
 * and hold its jobs until then.
 */
bool
runner_fw_prepared(struct bench *b, const char *path)
{
	struct fwprep		*p;
	char			 err[256];
	unsigned long long	 over;

	if (b->dialect == DIALECT_MASTER || path[0] == '\0' || strcmp(path, b->ipsw) == 0)
		return (true);
	for (size_t i = 0; i < b->nfwprep; i++)
		if (strcmp(b->fwprep[i]->path, path) == 0)
			return (b->fwprep[i]->done);
	if (b->nfwprep == sizeof(b->fwprep) / sizeof(b->fwprep[0]) || (p = calloc(1, sizeof(*p))) == NULL)
		return (true);
	p->b = b;
	text_copy(p->path, path, sizeof(p->path));
	b->fwprep[b->nfwprep++] = p;
	if (ipsw_read_info(path, &p->info, err, sizeof(err)) != 0 || p->info.is_dir ||
	    p->info.os_path[0] == '\0' || ipsw_cached(path, b->cfg->cache_dir, &p->info)) {
		p->done = true;
		return (true);
	}
	/*
	 * The cache counts against keep: make room by evicting others. When
	 * nothing else may go the restore still runs, without the shared copy.
	 */
	if ((over = fwsel_make_room(b->fw, path, p->info.os_size)) > 0) {
		p->done = true;
		bench_error(b, "not extracting the filesystem of %s once for all restores: its %.1f MB "
		    "would exceed keep = %.1f MB by %.1f MB and nothing can be evicted; each restore "
		    "extracts it itself", path, p->info.os_size / 1048576.0, b->cfg->fw_keep / 1048576.0,
		    over / 1048576.0);
		return (true);
	}
	p->prep = ipsw_prepare_start(b->loop, path, b->cfg->cache_dir, &p->info, prep_progress_cb,
	    prep_done_cb, p, err, sizeof(err));
	if (p->prep == NULL) {
		p->done = true;
		bench_error(b, "cannot extract the filesystem of %s once for all restores: %s", path, err);
	}
	return (p->done);
}

/* Start the firmware service. */
void
runner_fw_init(struct bench *b)
{
	struct fwsel_cbs	 fc = { changed_cb, status_cb, in_use_cb, b };

	b->fw = fwsel_new(b->loop, b->cfg, b->ipsw, &fc);
}

void
runner_fw_free(struct bench *b)
{
	for (size_t i = 0; i < b->nfwprep; i++) {
		ipsw_prepare_free(b->fwprep[i]->prep);
		free(b->fwprep[i]);
	}
	b->nfwprep = 0;
	fwsel_free(b->fw);
	b->fw = NULL;
}
