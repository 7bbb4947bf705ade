/*
 * ui_detail.c: the pane under the grid: the selected slot's summary, or
 * (Enter) its detail with the device's past attempts.
 */
#include <inttypes.h>
#include <stdio.h>


#include "ui_int.h"

static void
refresh_history(struct ui *u, const struct slot *s)
{
	uint64_t ecid = s->dev.ecid ? s->dev.ecid : s->job.ecid;

	if (u->hist_valid && u->hist_ecid == ecid && u->hist_attempts == s->attempts &&
	    u->hist_state == s->job.state)
		return;
	u->nhist = ecid ? bv_history(u->v, ecid, u->hist, HIST_MAX) : 0;
	u->hist_ecid = ecid;
	u->hist_attempts = s->attempts;
	u->hist_state = s->job.state;
	u->hist_valid = true;
}

/* The two-line summary under the grid, or the detail pane. */
void
ui_draw_info(struct ui *u)
{
	const struct slot *s = ui_sel_slot(u);
	static char lines[DETAIL_MAX][256];
	char t[32], e[48], ecid[32] = "";
	size_t n = 0, k, idx;
	int y, w = COLS - 2;

	for (y = u->lay.info_y; y < u->lay.info_y + u->lay.info_h; y++)
		ui_put(u, y, 0, COLS, A_NORMAL, true, "");
	if (s == NULL) {
		ui_put(u, u->lay.info_y, 1, w, A_NORMAL, true, "no slots yet: plug a hub or list [slots] in the configuration");
		return;
	}
	if (s->dev.ecid)
		snprintf(ecid, sizeof(ecid), "ECID 0x%" PRIX64 " ", s->dev.ecid);
	if (!u->detail) {
		snprintf(lines[n++], 256, "%s %s%s%s%s %s%s, %d tr%s", s->label, ui_model_name(s),
		    s->dev.product_type[0] ? " (" : "", s->dev.product_type,
		    s->dev.product_type[0] ? ")" : "", ecid,
		    s->present ? slot_mode_name(s->mode) : "empty", s->attempts,
		    s->attempts == 1 ? "y" : "ies");
		if (s->job.state == JOB_FAILED && s->job.result.message[0])
			n += ui_wrap(s->job.result.message, w, lines + n, DETAIL_MAX - n);
		if (s->advice[0])
			n += ui_wrap(s->advice, w, lines + n, DETAIL_MAX - n);
		if (s->flagged && n < DETAIL_MAX)
			snprintf(lines[n++], 256, "HW flag: %s%s%.150s", s->flag_reason,
			    s->flag_hint[0] ? " -- " : "", s->flag_hint);
		for (k = 0; k < n && (int)k < u->lay.info_h; k++)
			ui_put(u, u->lay.info_y + (int)k, 1, w, k == 0 ? A_BOLD : A_NORMAL, true, lines[k]);
		return;
	}

	/* detail pane */
	ui_fmt_time(s->since, t, sizeof(t));
	snprintf(lines[n++], 256, "%s  port %s%s%s%s  %s since %s", s->label, s->port,
	    s->hub[0] ? "  hub " : "", s->hub, s->configured ? "  (configured)" : "",
	    s->present ? slot_mode_name(s->mode) : "empty", t);
	if (s->present || s->dev.ecid)
		snprintf(lines[n++], 256, "%s%s  %s  CPID 0x%04x BDID 0x%02x%s%s%s%s", ecid,
		    ui_model_name(s), s->dev.product_type, s->dev.cpid, s->dev.bdid,
		    s->dev.version[0] ? "  iOS " : "", s->dev.version,
		    s->dev.srnm[0] ? "  SRNM " : "", s->dev.srnm);
	if (s->dev.serial_raw[0])
		snprintf(lines[n++], 256, "USB serial: %s", s->dev.serial_raw);
	if (s->job.state != JOB_NONE) {
		ui_fmt_time(s->job.started, t, sizeof(t));
		snprintf(lines[n++], 256, "Job: %s %s, step %s %.1f%%, started %s",
		    slot_action_name(s->job.action), slot_job_state_name(s->job.state),
		    s->job.step >= 0 ? rp_step_name(s->job.step) : "-", s->job.percent, t);
		if (s->job.firmware[0] || s->job.waiting_fw)
			snprintf(lines[n++], 256, "Firmware: %s", s->job.waiting_fw ?
			    "waiting for its download" : s->job.firmware);
	}
	if (s->job.state == JOB_FAILED) {
		errclass_short(&s->job.result, e, sizeof(e));
		snprintf(lines[n++], 256, "Result: %s (%s): %s", e, errclass_name(s->job.result.cls),
		    s->job.result.message);
	}
	if (s->job.log_path[0])
		snprintf(lines[n++], 256, "Log: %.240s  (l to view)", s->job.log_path);
	if (s->action_msg[0])
		snprintf(lines[n++], 256, "Last action: %s", s->action_msg);
	if (s->job.tail_count > 0 && n < DETAIL_MAX) {
		snprintf(lines[n++], 256, "Output:");
		for (k = 0; k < s->job.tail_count && n < DETAIL_MAX; k++) {
			idx = (s->job.tail_next + SLOT_TAIL_LINES - s->job.tail_count + k) % SLOT_TAIL_LINES;
			snprintf(lines[n++], 256, "  %.200s", s->job.tail[idx]);
		}
	}
	refresh_history(u, s);
	if (u->nhist > 0 && n < DETAIL_MAX) {
		snprintf(lines[n++], 256, "Attempts:");
		for (k = 0; k < u->nhist && n < DETAIL_MAX; k++) {
			const struct bench_attempt *a = &u->hist[k];
			char d[32];

			ui_fmt_date(a->started, d, sizeof(d));
			snprintf(lines[n++], 256, "  %s %s %s %s %s %s %.0f%% port %s", d,
			    slot_action_name(a->action), slot_job_state_name(a->state), a->cls,
			    a->code >= 0 ? (snprintf(e, sizeof(e), "%d", a->code), e) : "-",
			    a->step >= 0 ? rp_step_name(a->step) : "-", a->percent, a->port);
		}
	}
	if (s->advice[0] && n < DETAIL_MAX) {
		snprintf(lines[n++], 256, "Advice:");
		n += ui_wrap(s->advice, w - 2, lines + n, DETAIL_MAX - n);
	}
	if (s->flagged && n < DETAIL_MAX)
		snprintf(lines[n++], 256, "HW flag: %s%s%.150s", s->flag_reason,
		    s->flag_hint[0] ? " -- " : "", s->flag_hint);
	for (k = 0; k < n && (int)k < u->lay.info_h; k++)
		ui_put(u, u->lay.info_y + (int)k, 1, w, k == 0 ? A_BOLD : A_NORMAL, true, lines[k]);
}
