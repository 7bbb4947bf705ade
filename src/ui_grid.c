/*
 * ui_grid.c: the grid of slots (or the table view), its header line, the
 * page layout and the selection and marks, kept by port so they survive
 * slots appearing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "array.h"
#include "text.h"
#include "ui_int.h"

const struct slot *
ui_sel_slot(struct ui *u)
{
	size_t n = bv_slot_count(u->v);

	if (n == 0)
		return NULL;
	return bv_slot_at(u->v, u->sel < n ? u->sel : n - 1);
}

bool
ui_mark_has(const struct ui *u, const char *port)
{
	size_t i;

	for (i = 0; i < u->nmarks; i++)
		if (strcmp(u->marks[i], port) == 0)
			return true;
	return false;
}

void
ui_mark_toggle(struct ui *u, const char *port)
{
	size_t i;
	void *p;

	for (i = 0; i < u->nmarks; i++) {
		if (strcmp(u->marks[i], port) == 0) {
			memmove(u->marks[i], u->marks[i + 1], (u->nmarks - i - 1) * sizeof(u->marks[0]));
			u->nmarks--;
			return;
		}
	}
	if ((p = array_grow(u->marks, u->nmarks, &u->capmarks, 16, sizeof(u->marks[0]))) == NULL)
		return;
	u->marks = p;
	text_copy(u->marks[u->nmarks++], port, sizeof(u->marks[0]));
}

/* The selection follows its port when slots appear or go. */
void
ui_fix_selection(struct ui *u)
{
	size_t n = bv_slot_count(u->v), i;
	const struct slot *s;

	if (n == 0) {
		u->sel = 0;
		return;
	}
	if (u->sel_port[0] != '\0') {
		if (u->sel < n && strcmp(bv_slot_at(u->v, u->sel)->port, u->sel_port) == 0)
			return;
		for (i = 0; i < n; i++)
			if (strcmp(bv_slot_at(u->v, i)->port, u->sel_port) == 0) {
				u->sel = i;
				return;
			}
	}
	if (u->sel >= n)
		u->sel = n - 1;
	s = bv_slot_at(u->v, u->sel);
	text_copy(u->sel_port, s->port, sizeof(u->sel_port));
}

void
ui_set_sel(struct ui *u, size_t i)
{
	size_t n = bv_slot_count(u->v);

	if (n == 0)
		return;
	if (i >= n)
		i = n - 1;
	if (i != u->sel && !u->sel_moved) {
		u->prev_sel = (int)u->sel;
		u->sel_moved = true;
	}
	u->sel = i;
	text_copy(u->sel_port, bv_slot_at(u->v, i)->port, sizeof(u->sel_port));
}

void
ui_layout(struct ui *u, struct layout *l)
{
	int avail, n = (int)bv_slot_count(u->v);

	memset(l, 0, sizeof(*l));
	l->cols = COLS;
	l->lines = LINES;
	l->msg_y = LINES - 2;
	l->keys_y = LINES - 1;
	l->grid_y = HEADER_H;
	avail = LINES - HEADER_H - FOOTER_H;
	if (u->table) {
		/* a heading line, then one row a slot */
		l->ncol = 1;
		l->cellw = COLS;
		l->grid_h = u->detail ? avail / 3 : avail - 3;
		if (l->grid_h < 3)
			l->grid_h = 3;
		l->nrow = l->grid_h - 1;
		l->per_page = l->nrow > 0 ? l->nrow : 1;
	} else {
		l->ncol = COLS / CELL_MIN_W;
		if (l->ncol < 1)
			l->ncol = 1;
		l->cellw = COLS / l->ncol;
		if (l->cellw > CELL_MAX_W)
			l->cellw = CELL_MAX_W;
		/* keep two lines for the selected slot's summary; the detail pane takes more */
		l->nrow = u->detail ? 1 : (avail - 2) / CELL_H;
		if (u->detail && avail - CELL_H >= 18)
			l->nrow = (avail - 16) / CELL_H;
		if (l->nrow < 1)
			l->nrow = 1;
		/* no need for more rows than slots */
		if (n > 0 && l->nrow > (n + l->ncol - 1) / l->ncol)
			l->nrow = (n + l->ncol - 1) / l->ncol;
		l->grid_h = l->nrow * CELL_H;
		l->per_page = l->nrow * l->ncol;
	}
	l->info_y = l->grid_y + l->grid_h;
	l->info_h = l->msg_y - l->info_y;
	if (l->info_h < 0)
		l->info_h = 0;
}

void
ui_draw_header(struct ui *u)
{
	const struct bench_status *st = bv_status(u->v);
	size_t n = bv_slot_count(u->v), pages;
	char marks[32] = "", page[64], store[160], consoles[32] = "";
	int nc;

	if (u->nmarks > 0)
		snprintf(marks, sizeof(marks), "  %zu marked", u->nmarks);
	pages = u->lay.per_page > 0 ? (n + (size_t)u->lay.per_page - 1) / (size_t)u->lay.per_page : 1;
	snprintf(page, sizeof(page), "%s%s", marks, "");
	if (pages > 1)
		snprintf(page, sizeof(page), "%s  page %zu/%zu", marks, u->page + 1, pages);
	nc = bv_consoles(u->v);
	if (nc > 1)
		snprintf(consoles, sizeof(consoles), "  %d consoles", nc);
	ui_putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true,
	    " idevicebench %s | %d slots %d run %d queued %d done %d failed %d HW %d port?",
	    st->name, st->count.slots, st->count.running, st->count.queued, st->count.done, st->count.failed, st->count.flagged,
	    st->count.suspect);
	/* the history store is named only when something is wrong with it: room is short at 80 columns */
	if (st->store_ok)
		store[0] = '\0';
	else
		snprintf(store, sizeof(store), "  store: %s", st->store_msg[0] ? st->store_msg : "off");
	/* the page number keeps its place at the right edge */
	ui_putf(u, 1, 0, COLS - (int)strlen(page), A_NORMAL, true, " IPSW %s%s%s  %s  usbmuxd %s%s%s",
	    st->ipsw_desc[0] ? st->ipsw_desc : st->ipsw[0] ? st->ipsw : "none (--ipsw)",
	    st->firmware[0] ? "  fetching " : "", st->firmware,
	    st->restore_version[0] ? st->restore_version : st->restore_prog,
	    st->usbmuxd_ok ? "ok" : "DOWN", consoles, store);
	ui_put(u, 1, COLS - (int)strlen(page), (int)strlen(page), A_BOLD, false, page);
	if (!st->usbmuxd_ok)
		mvwchgat(stdscr, 1, 0, COLS, A_BOLD, u->colour ? CAT_FAILED : 0, NULL);
}

/* Box characters: UTF-8 box drawing in a UTF-8 locale, else ASCII. */
struct box { const char *tl, *tr, *bl, *br, *h, *v; };
static const struct box box_utf8 = { "┌", "┐", "└", "┘", "─", "│" };
static const struct box box_ascii = { "+", "+", "+", "+", "-", "|" };

static void
draw_cell(struct ui *u, size_t i, int y, int x, int w)
{
	const struct slot *s = bv_slot_at(u->v, i);
	const struct box *bx = u->utf8 ? &box_utf8 : &box_ascii;
	bool sel = i == u->sel, marked = s->marked || ui_mark_has(u, s->port);
	enum cat c = ui_slot_cat(s);
	attr_t ba = sel ? ui_cat_attr(u, CAT_SEL) : ui_cat_attr(u, c), ta = ui_cat_attr(u, c);
	char line[512], st[256], bar[128], mk[64];
	const char *tag;
	int col, j, inner = w - 2, barw, used;

	/* top border: selection marker, label, mark, port */
	wattrset(stdscr, ba);
	mvwaddstr(stdscr, y, x, bx->tl);
	wattrset(stdscr, A_NORMAL);
	col = 1;
	col += ui_put(u, y, x + col, 1, ba, false, sel ? ">" : bx->h);
	col += ui_put(u, y, x + col, inner - 1, sel ? ba | A_REVERSE : ba, false, s->label);
	snprintf(line, sizeof(line), "%s %s ", marked ? "*" : " ", s->port);
	col += ui_put(u, y, x + col, inner + 1 - col, ba, false, line);
	for (; col < w - 1; col++)
		ui_put(u, y, x + col, 1, ba, false, bx->h);
	ui_put(u, y, x + w - 1, 1, ba, false, bx->tr);
	for (j = 1; j < CELL_H - 1; j++) {
		ui_put(u, y + j, x, 1, ba, false, bx->v);
		ui_put(u, y + j, x + w - 1, 1, ba, false, bx->v);
	}
	ui_put(u, y + CELL_H - 1, x, 1, ba, false, bx->bl);
	for (col = 1; col < w - 1; col++)
		ui_put(u, y + CELL_H - 1, x + col, 1, ba, false, bx->h);
	ui_put(u, y + CELL_H - 1, x + w - 1, 1, ba, false, bx->br);

	/* line 1: model and mode */
	tag = s->present ? slot_mode_tag(s->mode) : "";
	used = ui_put(u, y + 1, x + 1, 1, A_NORMAL, true, " ");
	/* a phone switching modes mid-restore is briefly off the bus: say so, it has not left */
	if (!s->present && s->job.state == JOB_RUNNING)
		tag = "...";
	ui_put(u, y + 1, x + 1 + used, inner - 5 - used, A_BOLD, true,
	    s->present || s->job.state == JOB_RUNNING ? ui_model_name(s) : (u->utf8 ? "·" : "."));
	ui_putf(u, y + 1, x + inner - 4, 4, ta, true, "%4s", tag);

	/* line 2: step, bar and percent, or the state */
	ui_slot_state_text(s, st, sizeof(st));
	if (s->job.state == JOB_RUNNING && s->dfu == DFU_OFF) {
		barw = inner - 2 - 9 - 1 - 5;
		if (barw > 12)
			barw = 12;
		if (barw < 3)
			barw = 3;
		ui_progress_bar(u, bar, sizeof(bar), barw, s->job.percent);
		used = ui_putf(u, y + 2, x + 1, inner - barw - 6, ta, true, " %s",
		    s->job.step >= 0 ? rp_step_name(s->job.step) : "starting");
		ui_put(u, y + 2, x + 1 + used, barw, ta, false, bar);
		ui_putf(u, y + 2, x + 1 + used + barw, inner - used - barw, ta, true, " %3.0f%%",
		    s->job.percent);
	} else {
		ui_putf(u, y + 2, x + 1, inner, ta, true, " %s", st);
	}

	/* line 3: attempts and marks */
	ui_slot_marks_text(u, s, mk, sizeof(mk));
	if (s->attempts > 0)
		snprintf(line, sizeof(line), " try %d %s", s->attempts, mk);
	else
		snprintf(line, sizeof(line), " %s", mk);
	ui_put(u, y + 3, x + 1, inner, ta, true, line);
}

static void
draw_table_row(struct ui *u, size_t i, int y)
{
	const struct slot *s = bv_slot_at(u->v, i);
	bool sel = i == u->sel;
	char st[256], mk[64], pct[16] = "";
	attr_t a = ui_cat_attr(u, ui_slot_cat(s));

	ui_slot_state_text(s, st, sizeof(st));
	ui_slot_marks_text(u, s, mk, sizeof(mk));
	if (s->job.state == JOB_RUNNING)
		snprintf(pct, sizeof(pct), "%3.0f%%", s->job.percent);
	ui_putf(u, y, 0, COLS, sel ? a | A_REVERSE : a, true,
	    "%s%-6.6s %-8.8s %-14.14s %-3.3s %-24.24s %4s %3d%s", sel ? ">" : " ",
	    s->label, s->port, s->present ? ui_model_name(s) : "", s->present ? slot_mode_tag(s->mode) : "",
	    st, pct, s->attempts, mk);
}

static void
slot_pos(struct ui *u, size_t i, int *y, int *x, bool *visible)
{
	size_t first = u->page * (size_t)u->lay.per_page, k;

	*visible = i >= first && i < first + (size_t)u->lay.per_page;
	k = i - first;
	if (u->table) {
		*y = u->lay.grid_y + 1 + (int)k;
		*x = 0;
	} else {
		*y = u->lay.grid_y + (int)(k / (size_t)u->lay.ncol) * CELL_H;
		*x = (int)(k % (size_t)u->lay.ncol) * u->lay.cellw;
	}
}

void
ui_draw_slot(struct ui *u, size_t i)
{
	int y, x;
	bool vis;

	if (i >= bv_slot_count(u->v))
		return;
	slot_pos(u, i, &y, &x, &vis);
	if (!vis)
		return;
	if (u->table)
		draw_table_row(u, i, y);
	else
		draw_cell(u, i, y, x, u->lay.cellw);
}

void
ui_draw_grid(struct ui *u)
{
	size_t n = bv_slot_count(u->v), i, first;

	for (i = (size_t)u->lay.grid_y; i < (size_t)(u->lay.grid_y + u->lay.grid_h); i++)
		ui_put(u, (int)i, 0, COLS, A_NORMAL, true, "");
	if (u->table)
		ui_putf(u, u->lay.grid_y, 0, COLS, A_UNDERLINE, true,
		    " %-6s %-8s %-14s %-3s %-24s %4s %3s %s", "SLOT", "PORT", "MODEL", "MOD",
		    "STATE", "%", "TRY", "MARKS");
	first = u->page * (size_t)u->lay.per_page;
	for (i = first; i < n && i < first + (size_t)u->lay.per_page; i++)
		ui_draw_slot(u, i);
}
