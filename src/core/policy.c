/*
 * policy.c: the decisions the bench takes without a key press: automatic
 * restores of arriving phones (on_dfu, on_recovery), held back when the
 * history says stop; and the reasons the flag menu suggests.
 */
#include <stdio.h>
#include <string.h>

#include "errclass.h"
#include "policy.h"
#include "restore_parse.h"
#include "slot.h"
#include "triage.h"

/* Restore a phone on its own? */
enum policy_action
policy_auto_action(const struct slot *s, bool done, const struct policy_auto *p)
{
	bool	due_erase, due_update;

	if (done || s->ignored || s->flagged || s->dev.ecid == 0 || s->dfu != DFU_OFF ||
	    s->job.state == JOB_QUEUED || s->job.state == JOB_RUNNING)
		return POLICY_NONE;
	due_erase = s->mode == MODE_DFU && p->erase_dfu;
	due_update = s->mode == MODE_RECOVERY && p->update_recovery;
	/* the history says more restores are wasted on this phone (triage: hardware) */
	if (s->advice_stop && (due_erase || due_update))
		return POLICY_HOLD;
	if (due_erase)
		return POLICY_ERASE;
	if (due_update)
		return POLICY_UPDATE;
	return POLICY_NONE;
}

/* Flag reasons for the slot, best first. */
size_t
policy_flag_suggestions(const struct slot *s, const struct triage_attempt *mine, size_t nmine,
    char out[][128], size_t max)
{
	const struct hw_finding	*f;
	size_t			 n = 0, k;
	int			 failed = 0;

	if (s == NULL || max == 0)
		return 0;
	if ((f = triage_finding(s->dev.product_type)) != NULL && n < max)
		snprintf(out[n++], 128, "%s (%s, %s)", f->finding, f->repair, f->price);
	if (s->job.state == JOB_FAILED && n < max) {
		char sh[32];

		errclass_short(&s->job.result, sh, sizeof(sh));
		snprintf(out[n++], 128, "restore fails: %s at %s %.0f%%", sh,
		    rp_step_name(s->job.result.step), s->job.result.percent);
	}
	/* failures only: a phone restored fine once and failing now is not "3 failures" */
	for (k = 0; s->dev.ecid != 0 && k < nmine; k++)
		failed += mine[k].state == JOB_FAILED && mine[k].cls != EC_SIGNING;
	if (failed >= POLICY_FLAG_FAILURES && n < max)
		snprintf(out[n++], 128, "%d failed restores: needs board-level diagnosis", failed);
	if (n < max)
		snprintf(out[n++], 128, "USB port / Tristar (charging port, USB controller)");
	if (n < max)
		snprintf(out[n++], 128, "NAND (disk failure)");
	return n;
}
