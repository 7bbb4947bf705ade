/*
 * slot.c: a slot is one physical USB port on the bench and what is plugged
 * into it (core). This part holds the small helpers: names for modes, job
 * states and actions, the USB product id -> mode table, the output tail and
 * the display order of port paths.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ibootstr.h"
#include "restore_parse.h"
#include "slot.h"
#include "text.h"

#define PORT_DEPTH_MAX	16	/* bus + USB's 7 tiers, with room to spare */

static const char *const mode_names[MODE__COUNT] = {
	[MODE_NONE] = "none",
	[MODE_NORMAL] = "normal",
	[MODE_RECOVERY] = "recovery",
	[MODE_DFU] = "dfu",
	[MODE_RESTORE] = "restore",
	[MODE_PORTDFU] = "portdfu",
	[MODE_WTF] = "wtf",
};

static const char *const mode_tags[MODE__COUNT] = {
	[MODE_NONE] = "",
	[MODE_NORMAL] = "NRM",
	[MODE_RECOVERY] = "REC",
	[MODE_DFU] = "DFU",
	[MODE_RESTORE] = "RST",
	[MODE_PORTDFU] = "PDF",
	[MODE_WTF] = "WTF",
};

static const char *const job_state_names[JOB__COUNT] = {
	[JOB_NONE] = "",
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_CANCELLED] = "cancelled",
};

/* "normal", "recovery", ... (JSON names of DESIGN.md); "none" for MODE_NONE. */
const char *
slot_mode_name(enum dev_mode m)
{
	if ((unsigned)m >= MODE__COUNT)
		return "none";
	return mode_names[m];
}

/* Three-letter grid tag: NRM REC DFU RST PDF WTF, "" for none. */
const char *
slot_mode_tag(enum dev_mode m)
{
	if ((unsigned)m >= MODE__COUNT)
		return "";
	return mode_tags[m];
}

/* "queued", "running", "done", "failed", "cancelled"; "" for none. */
const char *
slot_job_state_name(enum job_state s)
{
	if ((unsigned)s >= JOB__COUNT)
		return "";
	return job_state_names[s];
}

/* "update" or "erase" (JSON "action"). */
const char *
slot_action_name(enum job_action a)
{
	switch (a) {
	case ACT_UPDATE:
		return "update";
	case ACT_ERASE:
		return "erase";
	}
	return "";
}

/*
 * Append a (sanitized) output line to the job's tail, truncated to the
 * tail's width. The line ending is dropped first (a '\r' would otherwise
 * show as '?'); blank lines are not kept, as idevicerestore prints many
 * and the tail is short.
 */
void
slot_tail_push(struct slot_job *job, const char *line, size_t len)
{
	char	*dst;

	if (job == NULL)
		return;
	if (line == NULL)
		len = 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return;
	job->tail_next %= SLOT_TAIL_LINES;
	dst = job->tail[job->tail_next];
	text_sanitize(dst, SLOT_TAIL_WIDTH, line, len);
	job->tail_next = (job->tail_next + 1) % SLOT_TAIL_LINES;
	if (job->tail_count < SLOT_TAIL_LINES)
		job->tail_count++;
}

/*
 * Split "bus-p1.p2..." into numbers. Returns how many, or -1 when the path
 * is not of that form (empty parts, other characters, numbers too long).
 */
static int
port_split(const char *s, unsigned long *v)
{
	int	n = 0, nd;

	if (s == NULL)
		return -1;
	for (;;) {
		if (n == PORT_DEPTH_MAX)
			return -1;
		v[n] = 0;
		for (nd = 0; *s >= '0' && *s <= '9'; s++, nd++) {
			if (nd == 9)
				return -1;
			v[n] = v[n] * 10 + (unsigned long)(*s - '0');
		}
		if (nd == 0)
			return -1;
		n++;
		if (*s == '\0')
			break;
		if (*s != (n == 1 ? '-' : '.'))
			return -1;
		s++;
	}
	return n < 2 ? -1 : n;
}

/*
 * Compare two port paths for display order: bus, then hub chain, then port,
 * each numerically ("1-2.9" < "1-2.10"); a hub's own port comes before the
 * ports below it ("1-2" < "1-2.1"). Anything that is not a port path sorts
 * after all port paths, by strcmp, so the order stays total for qsort.
 */
int
slot_port_cmp(const char *a, const char *b)
{
	unsigned long	va[PORT_DEPTH_MAX], vb[PORT_DEPTH_MAX];
	int		na, nb, i;

	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	na = port_split(a, va);
	nb = port_split(b, vb);
	if (na < 0 || nb < 0) {
		if (na >= 0)
			return -1;
		if (nb >= 0)
			return 1;
		return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
	}
	for (i = 0; i < na && i < nb; i++) {
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	/* "1-02" and "1-2": equal numbers, still different strings */
	i = strcmp(a, b);
	return (i > 0) - (i < 0);
}

int
slot_parse_arrival(uint16_t pid, const char *serial, size_t len, struct device_info *nd,
    enum dev_mode *mode)
{
	struct iboot_info ib;
	uint32_t cpid = 0;
	uint64_t ecid = 0;

	memset(nd, 0, sizeof(*nd));
	nd->product_id = pid;
	len = strnlen(serial, len);
	text_sanitize(nd->serial_raw, sizeof(nd->serial_raw), serial, len);
	*mode = slot_mode_from_pid(pid);
	if (*mode == MODE_NONE)
		return 1;
	if (*mode == MODE_NORMAL) {
		/* normal and restore mode: the serial is the UDID */
		text_sanitize(nd->udid, sizeof(nd->udid), serial, len);
		if (udid_parse(serial, len, &cpid, &ecid) == 1) {
			nd->ecid = ecid;
			nd->cpid = cpid;
		}
		return 0;
	}
	if (ibootstr_parse(serial, len, &ib) != 0)
		return -1;
	nd->ecid = ib.ecid;
	nd->cpid = ib.cpid;
	nd->bdid = ib.bdid;
	text_sanitize(nd->srnm, sizeof(nd->srnm), ib.srnm, strnlen(ib.srnm, sizeof(ib.srnm)));
	return 0;
}

bool
slot_merge_arrival(const struct slot *s, struct device_info *nd, enum dev_mode *mode,
    bool job_active, time_t now, double reconnect_window)
{
	uint64_t prev = s->dev.ecid;
	bool recent = prev != 0 && s->gone_at != 0 && (double)(now - s->gone_at) <= reconnect_window;
	bool same;

	if (*mode == MODE_NORMAL) {
		/* a restore in progress: restore mode first, then the reboot to normal */
		if (job_active)
			*mode = MODE_RESTORE;
	}
	/*
	 * An old-style UDID carries no ECID, and a serial read while the phone
	 * was already switching modes may be unreadable: a phone appearing
	 * where the same slot's phone just left (mid-restore, after a kick,
	 * during the DFU guide) is that phone changing mode.
	 */
	if (nd->ecid == 0 && prev != 0 && (job_active || s->dfu != DFU_OFF || recent))
		nd->ecid = prev;
	same = nd->ecid != 0 && nd->ecid == prev;
	if (same) {
		/* keep what the other modes and lockdownd told us */
		if (nd->cpid == 0) {
			nd->cpid = s->dev.cpid;
			nd->bdid = s->dev.bdid;
		}
		if (nd->bdid == 0 && nd->cpid == s->dev.cpid)
			nd->bdid = s->dev.bdid;
		if (nd->product_type[0] == '\0')
			text_copy(nd->product_type, s->dev.product_type, sizeof(nd->product_type));
		if (nd->version[0] == '\0')
			text_copy(nd->version, s->dev.version, sizeof(nd->version));
		if (nd->udid[0] == '\0')
			text_copy(nd->udid, s->dev.udid, sizeof(nd->udid));
		if (nd->srnm[0] == '\0')
			text_copy(nd->srnm, s->dev.srnm, sizeof(nd->srnm));
	}
	return same;
}

void
slot_dfu_arrival(struct slot *s, double now_mono)
{
	switch (s->dfu) {
	case DFU_TO_RECOVERY:
		if (s->mode == MODE_RECOVERY) {
			s->dfu = DFU_STEPS;
			s->dfu_step = 0;
			s->dfu_step_started = now_mono;
		} else if (s->mode == MODE_DFU || s->mode == MODE_PORTDFU)
			s->dfu = DFU_DONE;
		break;
	case DFU_STEPS:
	case DFU_WAIT:
		if (s->mode == MODE_DFU || s->mode == MODE_PORTDFU)
			s->dfu = DFU_DONE;
		else if (s->mode == MODE_NORMAL)
			s->dfu = DFU_TOO_LONG;	/* the Apple logo: Side was held too long */
		break;
	default:
		break;
	}
}

int
slot_lost_mode(enum dev_mode prev, int last_step)
{
	switch (prev) {
	case MODE_NORMAL:
		return 'n';
	case MODE_RECOVERY:
		return 'r';
	case MODE_DFU:
	case MODE_PORTDFU:
	case MODE_WTF:
		return 'd';
	case MODE_RESTORE:
		/* a normal-mode id before the restore got going: it was being put into recovery */
		return last_step <= STEP_DETECT ? 'n' : 'R';
	default:
		return 0;
	}
}

/* Count one slot into the header's figures. */
void
slot_tally_add(struct slot_tally *t, const struct slot *s)
{
	t->slots++;
	t->present += s->present;
	t->running += s->job.state == JOB_RUNNING;
	t->queued += s->job.state == JOB_QUEUED;
	t->done += s->job.state == JOB_DONE;
	t->failed += s->job.state == JOB_FAILED;
	t->flagged += s->flagged;
	t->suspect += s->port_suspect;
}
