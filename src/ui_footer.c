/*
 * ui_footer.c: the footer (message line and the keys the selected slot
 * offers), the flag menu, and the DFU guide screen with its countdown.
 */
#include <math.h>
#include <stdio.h>


#include "osutil.h"
#include "ui_int.h"

/* What the footer's key hints depend on (keymap.h KMW_*). */
static unsigned
footer_state(const struct slot *s)
{
	unsigned st;

	if (s == NULL)
		return 0;
	st = command_slot_state(s);
	if (s->job.log_path[0] != '\0')
		st |= KMW_LOG;
	return st;
}

void
ui_draw_footer(struct ui *u)
{
	char keys[256];

	if (u->prompt == PR_ERASE || u->prompt == PR_QUIT)
		ui_put(u, u->lay.msg_y, 0, COLS, A_BOLD, true, u->prompt_text);
	else
		ui_putf(u, u->lay.msg_y, 0, COLS, A_NORMAL, true, " %s", u->msg);
	if (u->ov == OV_PAGER)
		snprintf(keys, sizeof(keys), " Up/Down PgUp/PgDn g/G scroll   q back");
	else if (u->ov == OV_DFU)
		snprintf(keys, sizeof(keys), " d start again   q back (the bench keeps waiting)");
	else {
		keys[0] = ' ';
		keymap_footer(keys + 1, sizeof(keys) - 1, footer_state(ui_sel_slot(u)),
		    COLS > 1 ? (size_t)COLS - 1 : 0);
	}
	ui_put(u, u->lay.keys_y, 0, COLS, A_REVERSE, true, keys);
}

void
ui_draw_flag_menu(struct ui *u)
{
	const struct slot *s = ui_sel_slot(u);
	int w = COLS - 8 > 70 ? 70 : COLS - 8, h = (int)u->nsugg + 6, y0, x0, y;
	size_t k;

	if (w < 20 || s == NULL)
		return;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (y = 0; y < h; y++)
		ui_put(u, y0 + y, x0, w, A_REVERSE, true, "");
	if (u->nmarks > 0)
		ui_putf(u, y0, x0 + 1, w - 2, A_REVERSE | A_BOLD, true,
		    " Flag %zu marked slots for hardware repair", u->nmarks);
	else
		ui_putf(u, y0, x0 + 1, w - 2, A_REVERSE | A_BOLD, true,
		    " Flag %s %s for hardware repair", s->label, ui_model_name(s));
	for (k = 0; k < u->nsugg; k++)
		ui_putf(u, y0 + 2 + (int)k, x0 + 1, w - 2,
		    k == u->sugg_sel && u->reason[0] == '\0' ? A_NORMAL | A_BOLD : A_REVERSE, true,
		    " %s %s", k == u->sugg_sel ? ">" : " ", u->sugg[k]);
	ui_putf(u, y0 + 3 + (int)u->nsugg, x0 + 1, w - 2, u->reason[0] ? A_BOLD : A_REVERSE, true,
	    " or type a reason: %s_", u->reason);
	ui_put(u, y0 + 4 + (int)u->nsugg, x0 + 1, w - 2, A_REVERSE, true,
	    " Up/Down pick   Enter flag   Esc cancel");
}

void
ui_draw_dfu(struct ui *u)
{
	int i = bv_slot_find(u->v, u->dfu_port), y = 2, w = COLS - 4;
	const struct slot *s;
	const struct dfu_step *steps;
	enum button_family fam;
	bool fallback;
	size_t n, cur = 0, k;
	double left = 0, elapsed;
	int r = 0;
	attr_t a;
	char status[256];

	if (i < 0) {
		ui_putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true, " Guided DFU: %s", u->dfu_port);
		ui_put(u, 2, 2, w, A_NORMAL, true, "This slot is gone.");
		return;
	}
	s = bv_slot_at(u->v, (size_t)i);
	fam = ui_slot_buttons(s, &fallback);
	steps = dfuguide_steps(fam, &n);
	ui_putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true, " Guided DFU  %s  %s  %s%s%s%s  %s",
	    s->label, s->port, ui_model_name(s), s->dev.product_type[0] ? " (" : "",
	    s->dev.product_type, s->dev.product_type[0] ? ")" : "",
	    s->present ? slot_mode_name(s->mode) : "no device");
	ui_putf(u, y++, 2, w, A_NORMAL, true, "DFU buttons for %s%s", dfuguide_title(fam),
	    fallback ? " (model unknown: check it is the right one)" : "");
	y++;
	if (s->dfu == DFU_STEPS || s->dfu == DFU_WAIT) {
		elapsed = dfuguide_step_offset(fam, (size_t)(s->dfu_step > 0 ? s->dfu_step : 0)) +
		    (os_mono() - s->dfu_step_started);
		r = dfuguide_at(fam, elapsed, &cur, &left);
	}
	for (k = 0; k < n; k++, y++) {
		bool now = (s->dfu == DFU_STEPS || s->dfu == DFU_WAIT) && r == 0 && k == cur;
		bool past = s->dfu == DFU_DONE || ((s->dfu == DFU_STEPS || s->dfu == DFU_WAIT) &&
		    (r == 1 || k < cur));

		a = now ? (u->colour ? COLOR_PAIR(CAT_SEL) | A_BOLD | A_REVERSE : A_REVERSE | A_BOLD) :
		    past ? A_DIM : A_NORMAL;
		if (now)
			ui_putf(u, y, 2, w, a, true, "> %zu. %-44s %3d s left", k + 1, steps[k].text,
			    (int)ceil(left));
		else
			ui_putf(u, y, 2, w, a, true, "  %zu. %-44s %3s %d s", k + 1, steps[k].text,
			    past ? "ok" : "", steps[k].seconds);
	}
	y++;
	switch (s->dfu) {
	case DFU_TO_RECOVERY:
		snprintf(status, sizeof(status), "putting into recovery... (the steps start from recovery mode)");
		break;
	case DFU_STEPS:
	case DFU_WAIT:
		if (r == 1)
			snprintf(status, sizeof(status),
			    "keep holding; waiting for the DFU device on %s (screen stays black)", s->port);
		else
			snprintf(status, sizeof(status), "step %zu of %zu: %s", cur + 1, n, steps[cur].text);
		break;
	case DFU_DONE:
		snprintf(status, sizeof(status), "DFU device detected on %s: release the buttons", s->port);
		break;
	case DFU_TOO_LONG:
		snprintf(status, sizeof(status), "Apple logo: Side held too long, start again (d)");
		break;
	default:
		snprintf(status, sizeof(status), "The DFU guide is not running on %s (d starts it)", s->port);
		break;
	}
	a = s->dfu == DFU_DONE ? ui_cat_attr(u, CAT_DONE) | A_BOLD :
	    s->dfu == DFU_TOO_LONG ? ui_cat_attr(u, CAT_FAILED) : A_BOLD;
	ui_put(u, y, 2, w, a, true, status);
}

/* Start the one-shot timer that moves the DFU countdown to its next whole second. */
void
ui_dfu_tick_arm(struct ui *u)
{
	int i;
	const struct slot *s;
	bool fb;
	size_t cur;
	double left, frac;
	enum button_family fam;

	ev_timer_stop(u->loop, &u->tick);
	if (u->ov != OV_DFU || (i = bv_slot_find(u->v, u->dfu_port)) < 0)
		return;
	s = bv_slot_at(u->v, (size_t)i);
	if (s->dfu != DFU_STEPS && s->dfu != DFU_WAIT)
		return;
	fam = ui_slot_buttons(s, &fb);
	if (dfuguide_at(fam, dfuguide_step_offset(fam, (size_t)(s->dfu_step > 0 ? s->dfu_step : 0)) +
	    os_mono() - s->dfu_step_started, &cur, &left) != 0)
		left = 1;
	frac = left - floor(left);
	if (frac < 0.02)
		frac += 1.0;
	ev_timer_set(&u->tick, frac + 0.01, 0.);
	ev_timer_start(u->loop, &u->tick);
}
