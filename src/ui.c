/*
 * ui.c: the ncurses console. Bench changes and keys only set flags; a
 * prepare watcher draws at most one frame per loop iteration, and a timer
 * holds frames back to about ten a second. Key handling follows the one
 * table of keymap.c: an action changes the console's state and says what
 * must happen next, it never draws.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>
#include <ev.h>

#include "bench.h"
#include "benchview.h"
#include "dfuguide.h"
#include "errclass.h"
#include "keymap.h"
#include "log.h"
#include "models.h"
#include "restore_parse.h"
#include "text.h"
#include "ui.h"

#define FRAME_INTERVAL	0.1		/* at most ~10 frames a second */
#define CELL_MIN_W	26
#define CELL_MAX_W	34
#define CELL_H		5
#define HEADER_H	2
#define FOOTER_H	2
#define LOG_MAX_BYTES	(8 << 20)	/* the log view reads at most the last 8 MiB */
#define HIST_MAX	12
#define FLAG_SUGG_MAX	8
#define DETAIL_MAX	64

enum overlay { OV_NONE = 0, OV_PAGER, OV_DFU };
enum prompt { PR_NONE = 0, PR_ERASE, PR_QUIT, PR_FLAG };
enum next { NEXT_NONE = 0, NEXT_SLOTS, NEXT_ALL };	/* what an action asks of the screen */

/* Colour pairs, by what a cell shows. */
enum cat { CAT_EMPTY = 1, CAT_IDLE, CAT_RUNNING, CAT_DONE, CAT_FAILED, CAT_FLAGGED, CAT_IGNORED, CAT_SEL };

struct layout {
	int cols, lines;
	int ncol, nrow, per_page, cellw;
	int grid_y, grid_h;
	int info_y, info_h;		/* selected slot summary or the detail pane */
	int msg_y, keys_y;
};

struct pager {
	char **lines;
	size_t n, cap, top;
	char title[160];
	bool is_log;
	char path[512];
	off_t size;
	char port[32];			/* the slot whose log this is */
};

struct ui {
	struct ev_loop *loop;
	struct benchview *v;
	SCREEN *scr;
	int saved_stderr;
	bool colour, utf8, headless, quit;
	void (*leave_cb)(void *);	/* the console is done (q, or the bench told to stop) */
	void *leave_arg;

	ev_prepare prepare;
	ev_timer frame;
	ev_timer tick;
	ev_io input;
	ev_signal winch;
	ev_tstamp last_frame;

	/* what must be drawn */
	bool dirty_all, dirty_any, sel_moved;
	bool key_frame;			/* a key was handled: its frame skips the cap */
	unsigned char *dirty;
	size_t ndirty;
	int prev_sel;
	struct layout lay;

	/* selection and marks, kept by port so they survive slots appearing */
	size_t sel;
	char sel_port[32];
	char (*marks)[32];
	size_t nmarks, capmarks;

	bool detail, table;
	size_t page;
	enum overlay ov;
	struct pager pg;
	char dfu_port[32];

	enum prompt prompt;
	char prompt_text[256];
	char msg[256];
	/* flag menu */
	char sugg[FLAG_SUGG_MAX][128];
	size_t nsugg, sugg_sel;
	char reason[CMD_REASON_MAX];
	const struct keymap_entry *pending;	/* the key a prompt answers for */

	/* bench_history cache for the detail pane */
	uint64_t hist_ecid;
	int hist_attempts;
	enum job_state hist_state;
	bool hist_valid;
	struct bench_attempt hist[HIST_MAX];
	size_t nhist;
};

static struct ui *active_ui;	/* for the exit hook: give the terminal back */

static void draw(struct ui *);
static enum next act_stop(struct ui *);

/* ---- small helpers ---------------------------------------------------- */

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct slot *
sel_slot(struct ui *u)
{
	size_t n = bv_slot_count(u->v);

	if (n == 0)
		return NULL;
	return bv_slot_at(u->v, u->sel < n ? u->sel : n - 1);
}

static bool
mark_has(const struct ui *u, const char *port)
{
	size_t i;

	for (i = 0; i < u->nmarks; i++)
		if (strcmp(u->marks[i], port) == 0)
			return true;
	return false;
}

static void
mark_toggle(struct ui *u, const char *port)
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
	if (u->nmarks == u->capmarks) {
		p = reallocarray(u->marks, u->capmarks ? u->capmarks * 2 : 16, sizeof(u->marks[0]));
		if (p == NULL)
			return;
		u->marks = p;
		u->capmarks = u->capmarks ? u->capmarks * 2 : 16;
	}
	text_copy(u->marks[u->nmarks++], port, sizeof(u->marks[0]));
}

/* The selection follows its port when slots appear or go. */
static void
fix_selection(struct ui *u)
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

static void
set_sel(struct ui *u, size_t i)
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

/* What a cell's colour says. */
static enum cat
slot_cat(const struct slot *s)
{
	if (s->ignored)
		return CAT_IGNORED;
	if (s->flagged)
		return CAT_FLAGGED;
	switch (s->job.state) {
	case JOB_RUNNING:
	case JOB_QUEUED:
		return CAT_RUNNING;
	case JOB_FAILED:
		return CAT_FAILED;
	case JOB_DONE:
		return CAT_DONE;
	default:
		break;
	}
	if (s->dfu != DFU_OFF)
		return CAT_RUNNING;
	return s->present ? CAT_IDLE : CAT_EMPTY;
}

static attr_t
cat_attr(const struct ui *u, enum cat c)
{
	if (u->colour)
		return COLOR_PAIR(c) | (c == CAT_FAILED || c == CAT_SEL ? A_BOLD : 0);
	switch (c) {
	case CAT_FAILED:
	case CAT_FLAGGED:
	case CAT_SEL:
		return A_BOLD;
	case CAT_EMPTY:
	case CAT_IGNORED:
		return A_DIM;
	default:
		return A_NORMAL;
	}
}

/*
 * Put at most width columns of s at y,x; pad with spaces to width when pad.
 * Returns the columns used. Outside a UTF-8 locale non-ASCII bytes show as '?'.
 */
static int
put(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *s)
{
	mbstate_t st;
	wchar_t wc;
	size_t k, len = strlen(s);
	int used = 0, w;
	char one[2] = "?";

	if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + width > COLS)
		width = COLS - x;
	wattrset(stdscr, attr);
	wmove(stdscr, y, x);
	memset(&st, 0, sizeof(st));
	while (len > 0 && used < width) {
		if (!u->utf8 || (unsigned char)*s < 0x80) {
			one[0] = ((unsigned char)*s < 0x80 && (unsigned char)*s >= 0x20) ? *s : '?';
			waddnstr(stdscr, one, 1);
			used++;
			s++;
			len--;
			continue;
		}
		k = mbrtowc(&wc, s, len, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			waddnstr(stdscr, "?", 1);
			used++;
			s++;
			len--;
			continue;
		}
		w = wcwidth(wc);
		if (w < 0)
			w = 1;
		if (used + w > width)
			break;
		waddnstr(stdscr, s, (int)k);
		used += w;
		s += k;
		len -= k;
	}
	for (; pad && used < width; used++)
		waddch(stdscr, ' ');
	wattrset(stdscr, A_NORMAL);
	return used;
}

static int
putf(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int
putf(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put(u, y, x, width, attr, pad, buf);
}

static void
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL)
		text_copy(buf, "-", len);
	else
		strftime(buf, len, "%H:%M", &tm);
}

static void
fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL)
		text_copy(buf, "-", len);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* Ordinal for queue positions: "2nd". */
static const char *
ordinal(int n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	switch (n % 10) {
	case 1: return "st";
	case 2: return "nd";
	case 3: return "rd";
	default: return "th";
	}
}

static const char *
model_name(const struct slot *s)
{
	if (s->dev.name[0] != '\0')
		return s->dev.name;
	if (s->dev.product_type[0] != '\0')
		return s->dev.product_type;
	return s->present ? "unknown device" : "";
}

/* The family whose buttons the DFU screen shows, and whether it was a guess. */
static enum button_family
slot_buttons(const struct slot *s, bool *fallback)
{
	const struct model *m = NULL;
	enum button_family f = BUTTONS_UNKNOWN;

	if (s->dev.product_type[0] != '\0')
		m = models_find_product(s->dev.product_type);
	if (m == NULL && s->dev.cpid != 0)
		m = models_find_chip(s->dev.cpid, s->dev.bdid);
	if (m != NULL)
		f = m->buttons;
	if (f == BUTTONS_UNKNOWN && s->dev.product_type[0] != '\0')
		f = models_buttons_guess(s->dev.product_type);
	*fallback = f == BUTTONS_UNKNOWN;
	return *fallback ? BUTTONS_8 : f;
}

/* The state line of a cell or table row. */
static void
slot_state_text(const struct slot *s, char *buf, size_t len)
{
	char e[48], t[16];

	switch (s->dfu) {
	case DFU_TO_RECOVERY:
		snprintf(buf, len, "DFU: to recovery...");
		return;
	case DFU_STEPS:
		snprintf(buf, len, "DFU: buttons...");
		return;
	case DFU_WAIT:
		snprintf(buf, len, "DFU: waiting");
		return;
	case DFU_DONE:
		if (s->job.state != JOB_RUNNING && s->job.state != JOB_QUEUED) {
			snprintf(buf, len, "DFU detected");
			return;
		}
		break;
	case DFU_TOO_LONG:
		snprintf(buf, len, "DFU: too long, again");
		return;
	default:
		break;
	}
	switch (s->job.state) {
	case JOB_RUNNING:
		snprintf(buf, len, "%s %s", slot_action_name(s->job.action),
		    s->job.step >= 0 ? rp_step_name(s->job.step) : "starting");
		return;
	case JOB_QUEUED:
		snprintf(buf, len, "queued (%d%s)", s->job.queue_pos, ordinal(s->job.queue_pos));
		return;
	case JOB_DONE:
		fmt_time(s->job.ended, t, sizeof(t));
		snprintf(buf, len, "%s done %s", slot_action_name(s->job.action), t);
		return;
	case JOB_FAILED:
		errclass_short(&s->job.result, e, sizeof(e));
		if (s->job.result.step >= 0)
			snprintf(buf, len, "%s %s %.0f%%", e, rp_step_name(s->job.result.step),
			    s->job.result.percent);
		else
			snprintf(buf, len, "%s", e);
		return;
	case JOB_CANCELLED:
		snprintf(buf, len, "cancelled");
		return;
	default:
		break;
	}
	if (s->flagged)
		snprintf(buf, len, "%s", s->flag_reason[0] ? s->flag_reason : "flagged");
	else if (s->action_msg[0] != '\0')
		snprintf(buf, len, "%s", s->action_msg);
	else if (s->ignored)
		snprintf(buf, len, "ignored");
	else
		snprintf(buf, len, "%s", s->present ? "ready" : "");
}

static void
slot_marks_text(const struct ui *u, const struct slot *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s",
	    s->flagged ? " HW" : "", s->ignored ? " IGN" : "",
	    s->port_suspect ? " port?" : "", s->advice[0] ? " advice" : "",
	    (s->marked || mark_has(u, s->port)) ? " *" : "");
}

/* ---- layout ----------------------------------------------------------- */

static void
layout(struct ui *u, struct layout *l)
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

/* ---- drawing ---------------------------------------------------------- */

static void
draw_header(struct ui *u)
{
	const struct bench_status *st = bv_status(u->v);
	size_t n = bv_slot_count(u->v), pages;
	char marks[32] = "", page[64], store[160];
	char consoles[32] = "";
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
	putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true,
	    " idevicebench %s | %d slots %d run %d queued %d done %d failed %d HW %d port?",
	    st->name, st->slots, st->running, st->queued, st->done, st->failed, st->flagged,
	    st->suspect);
	/* the history store is named only when something is wrong with it: room is short at 80 columns */
	if (st->store_ok)
		store[0] = '\0';
	else
		snprintf(store, sizeof(store), "  store: %s", st->store_msg[0] ? st->store_msg : "off");
	/* the page number keeps its place at the right edge */
	putf(u, 1, 0, COLS - (int)strlen(page), A_NORMAL, true, " IPSW %s  %s  usbmuxd %s%s%s",
	    st->ipsw_desc[0] ? st->ipsw_desc : st->ipsw[0] ? st->ipsw : "none (--ipsw)",
	    st->restore_version[0] ? st->restore_version : st->restore_prog,
	    st->usbmuxd_ok ? "ok" : "DOWN", consoles, store);
	put(u, 1, COLS - (int)strlen(page), (int)strlen(page), A_BOLD, false, page);
	if (!st->usbmuxd_ok)
		mvwchgat(stdscr, 1, 0, COLS, A_BOLD, u->colour ? CAT_FAILED : 0, NULL);
}

/* Box characters: UTF-8 box drawing in a UTF-8 locale, else ASCII. */
struct box { const char *tl, *tr, *bl, *br, *h, *v; };
static const struct box box_utf8 = { "┌", "┐", "└", "┘", "─", "│" };
static const struct box box_ascii = { "+", "+", "+", "+", "-", "|" };

static void
progress_bar(struct ui *u, char *buf, size_t len, int width, double pct)
{
	static const char *parts[] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };
	double cells = width * (pct < 0 ? 0 : pct > 100 ? 100 : pct) / 100.0;
	int full = (int)cells, i, eighth = (int)((cells - full) * 8);
	size_t off = 0;

	buf[0] = '\0';
	for (i = 0; i < width && off + 4 < len; i++) {
		const char *c;

		if (i < full)
			c = u->utf8 ? "█" : "#";
		else if (i == full && eighth > 0)
			c = u->utf8 ? parts[eighth] : (eighth >= 4 ? "#" : ".");
		else
			c = u->utf8 ? " " : ".";
		off += (size_t)snprintf(buf + off, len - off, "%s", c);
	}
}

static void
draw_cell(struct ui *u, size_t i, int y, int x, int w)
{
	const struct slot *s = bv_slot_at(u->v, i);
	const struct box *bx = u->utf8 ? &box_utf8 : &box_ascii;
	bool sel = i == u->sel, marked = s->marked || mark_has(u, s->port);
	enum cat c = slot_cat(s);
	attr_t ba = sel ? cat_attr(u, CAT_SEL) : cat_attr(u, c), ta = cat_attr(u, c);
	char line[512], st[256], bar[128], mk[64];
	const char *tag;
	int col, j, inner = w - 2, barw, used;

	/* top border: selection marker, label, mark, port */
	wattrset(stdscr, ba);
	mvwaddstr(stdscr, y, x, bx->tl);
	wattrset(stdscr, A_NORMAL);
	col = 1;
	col += put(u, y, x + col, 1, ba, false, sel ? ">" : bx->h);
	col += put(u, y, x + col, inner - 1, sel ? ba | A_REVERSE : ba, false, s->label);
	snprintf(line, sizeof(line), "%s %s ", marked ? "*" : " ", s->port);
	col += put(u, y, x + col, inner + 1 - col, ba, false, line);
	for (; col < w - 1; col++)
		put(u, y, x + col, 1, ba, false, bx->h);
	put(u, y, x + w - 1, 1, ba, false, bx->tr);
	for (j = 1; j < CELL_H - 1; j++) {
		put(u, y + j, x, 1, ba, false, bx->v);
		put(u, y + j, x + w - 1, 1, ba, false, bx->v);
	}
	put(u, y + CELL_H - 1, x, 1, ba, false, bx->bl);
	for (col = 1; col < w - 1; col++)
		put(u, y + CELL_H - 1, x + col, 1, ba, false, bx->h);
	put(u, y + CELL_H - 1, x + w - 1, 1, ba, false, bx->br);

	/* line 1: model and mode */
	tag = s->present ? slot_mode_tag(s->mode) : "";
	used = put(u, y + 1, x + 1, 1, A_NORMAL, true, " ");
	/* a phone switching modes mid-restore is briefly off the bus: say so, it has not left */
	if (!s->present && s->job.state == JOB_RUNNING)
		tag = "...";
	put(u, y + 1, x + 1 + used, inner - 5 - used, A_BOLD, true,
	    s->present || s->job.state == JOB_RUNNING ? model_name(s) : (u->utf8 ? "·" : "."));
	putf(u, y + 1, x + inner - 4, 4, ta, true, "%4s", tag);

	/* line 2: step, bar and percent, or the state */
	slot_state_text(s, st, sizeof(st));
	if (s->job.state == JOB_RUNNING && s->dfu == DFU_OFF) {
		barw = inner - 2 - 9 - 1 - 5;
		if (barw > 12)
			barw = 12;
		if (barw < 3)
			barw = 3;
		progress_bar(u, bar, sizeof(bar), barw, s->job.percent);
		used = putf(u, y + 2, x + 1, inner - barw - 6, ta, true, " %s",
		    s->job.step >= 0 ? rp_step_name(s->job.step) : "starting");
		put(u, y + 2, x + 1 + used, barw, ta, false, bar);
		putf(u, y + 2, x + 1 + used + barw, inner - used - barw, ta, true, " %3.0f%%",
		    s->job.percent);
	} else {
		putf(u, y + 2, x + 1, inner, ta, true, " %s", st);
	}

	/* line 3: attempts and marks */
	slot_marks_text(u, s, mk, sizeof(mk));
	if (s->attempts > 0)
		snprintf(line, sizeof(line), " try %d %s", s->attempts, mk);
	else
		snprintf(line, sizeof(line), " %s", mk);
	put(u, y + 3, x + 1, inner, ta, true, line);
}

static void
draw_table_row(struct ui *u, size_t i, int y)
{
	const struct slot *s = bv_slot_at(u->v, i);
	bool sel = i == u->sel;
	char st[256], mk[64], pct[16] = "";
	attr_t a = cat_attr(u, slot_cat(s));

	slot_state_text(s, st, sizeof(st));
	slot_marks_text(u, s, mk, sizeof(mk));
	if (s->job.state == JOB_RUNNING)
		snprintf(pct, sizeof(pct), "%3.0f%%", s->job.percent);
	putf(u, y, 0, COLS, sel ? a | A_REVERSE : a, true,
	    "%s%-6.6s %-8.8s %-14.14s %-3.3s %-24.24s %4s %3d%s", sel ? ">" : " ",
	    s->label, s->port, s->present ? model_name(s) : "", s->present ? slot_mode_tag(s->mode) : "",
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

static void
draw_slot(struct ui *u, size_t i)
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

/* Word-wrap text into lines of at most width bytes; returns lines added. */
static size_t
wrap(const char *text, int width, char out[][256], size_t max)
{
	size_t n = 0, len, cut;

	if (width < 10)
		width = 10;
	if (width > 255)
		width = 255;
	while (*text != '\0' && n < max) {
		len = strlen(text);
		cut = len <= (size_t)width ? len : (size_t)width;
		if (cut < len) {
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = (size_t)width;
		}
		snprintf(out[n++], 256, "%.*s", (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
	return n;
}

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
static void
draw_info(struct ui *u)
{
	const struct slot *s = sel_slot(u);
	static char lines[DETAIL_MAX][256];
	char t[32], e[48], ecid[32] = "";
	size_t n = 0, k, idx;
	int y, w = COLS - 2;

	for (y = u->lay.info_y; y < u->lay.info_y + u->lay.info_h; y++)
		put(u, y, 0, COLS, A_NORMAL, true, "");
	if (s == NULL) {
		put(u, u->lay.info_y, 1, w, A_NORMAL, true, "no slots yet: plug a hub or list [slots] in the configuration");
		return;
	}
	if (s->dev.ecid)
		snprintf(ecid, sizeof(ecid), "ECID 0x%" PRIX64 " ", s->dev.ecid);
	if (!u->detail) {
		snprintf(lines[n++], 256, "%s %s%s%s%s %s%s, %d tr%s", s->label, model_name(s),
		    s->dev.product_type[0] ? " (" : "", s->dev.product_type,
		    s->dev.product_type[0] ? ")" : "", ecid,
		    s->present ? slot_mode_name(s->mode) : "empty", s->attempts,
		    s->attempts == 1 ? "y" : "ies");
		if (s->job.state == JOB_FAILED && s->job.result.message[0])
			n += wrap(s->job.result.message, w, lines + n, DETAIL_MAX - n);
		if (s->advice[0])
			n += wrap(s->advice, w, lines + n, DETAIL_MAX - n);
		if (s->flagged && n < DETAIL_MAX)
			snprintf(lines[n++], 256, "HW flag: %s%s%.150s", s->flag_reason,
			    s->flag_hint[0] ? " -- " : "", s->flag_hint);
		for (k = 0; k < n && (int)k < u->lay.info_h; k++)
			put(u, u->lay.info_y + (int)k, 1, w, k == 0 ? A_BOLD : A_NORMAL, true, lines[k]);
		return;
	}

	/* detail pane */
	fmt_time(s->since, t, sizeof(t));
	snprintf(lines[n++], 256, "%s  port %s%s%s%s  %s since %s", s->label, s->port,
	    s->hub[0] ? "  hub " : "", s->hub, s->configured ? "  (configured)" : "",
	    s->present ? slot_mode_name(s->mode) : "empty", t);
	if (s->present || s->dev.ecid)
		snprintf(lines[n++], 256, "%s%s  %s  CPID 0x%04x BDID 0x%02x%s%s%s%s", ecid,
		    model_name(s), s->dev.product_type, s->dev.cpid, s->dev.bdid,
		    s->dev.version[0] ? "  iOS " : "", s->dev.version,
		    s->dev.srnm[0] ? "  SRNM " : "", s->dev.srnm);
	if (s->dev.serial_raw[0])
		snprintf(lines[n++], 256, "USB serial: %s", s->dev.serial_raw);
	if (s->job.state != JOB_NONE) {
		fmt_time(s->job.started, t, sizeof(t));
		snprintf(lines[n++], 256, "Job: %s %s, step %s %.1f%%, started %s",
		    slot_action_name(s->job.action), slot_job_state_name(s->job.state),
		    s->job.step >= 0 ? rp_step_name(s->job.step) : "-", s->job.percent, t);
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

			fmt_date(a->started, d, sizeof(d));
			snprintf(lines[n++], 256, "  %s %s %s %s %s %s %.0f%% port %s", d,
			    slot_action_name(a->action), slot_job_state_name(a->state), a->cls,
			    a->code >= 0 ? (snprintf(e, sizeof(e), "%d", a->code), e) : "-",
			    a->step >= 0 ? rp_step_name(a->step) : "-", a->percent, a->port);
		}
	}
	if (s->advice[0] && n < DETAIL_MAX) {
		snprintf(lines[n++], 256, "Advice:");
		n += wrap(s->advice, w - 2, lines + n, DETAIL_MAX - n);
	}
	if (s->flagged && n < DETAIL_MAX)
		snprintf(lines[n++], 256, "HW flag: %s%s%.150s", s->flag_reason,
		    s->flag_hint[0] ? " -- " : "", s->flag_hint);
	for (k = 0; k < n && (int)k < u->lay.info_h; k++)
		put(u, u->lay.info_y + (int)k, 1, w, k == 0 ? A_BOLD : A_NORMAL, true, lines[k]);
}

/* What the footer's key hints depend on (keymap.h KMW_*). */
static unsigned
footer_state(const struct slot *s)
{
	unsigned st = 0;

	if (s == NULL)
		return 0;
	if (s->present)
		st |= KMW_PHONE;
	if (s->job.state == JOB_QUEUED || s->job.state == JOB_RUNNING)
		st |= KMW_JOB;
	if (s->mode == MODE_RECOVERY)
		st |= KMW_RECOVERY;
	else if (s->mode == MODE_NORMAL)
		st |= KMW_NORMAL;
	else if (s->mode == MODE_DFU)
		st |= KMW_DFU;
	if (s->flagged)
		st |= KMW_FLAGGED;
	if (s->ignored)
		st |= KMW_IGNORED;
	if (s->job.log_path[0] != '\0')
		st |= KMW_LOG;
	return st;
}

static void
draw_footer(struct ui *u)
{
	char keys[256];

	if (u->prompt == PR_ERASE || u->prompt == PR_QUIT)
		put(u, u->lay.msg_y, 0, COLS, A_BOLD, true, u->prompt_text);
	else
		putf(u, u->lay.msg_y, 0, COLS, A_NORMAL, true, " %s", u->msg);
	if (u->ov == OV_PAGER)
		snprintf(keys, sizeof(keys), " Up/Down PgUp/PgDn g/G scroll   q back");
	else if (u->ov == OV_DFU)
		snprintf(keys, sizeof(keys), " d start again   q back (the bench keeps waiting)");
	else {
		keys[0] = ' ';
		keymap_footer(keys + 1, sizeof(keys) - 1, footer_state(sel_slot(u)),
		    COLS > 1 ? (size_t)COLS - 1 : 0);
	}
	put(u, u->lay.keys_y, 0, COLS, A_REVERSE, true, keys);
}

static void
draw_grid(struct ui *u)
{
	size_t n = bv_slot_count(u->v), i, first;

	for (i = (size_t)u->lay.grid_y; i < (size_t)(u->lay.grid_y + u->lay.grid_h); i++)
		put(u, (int)i, 0, COLS, A_NORMAL, true, "");
	if (u->table)
		putf(u, u->lay.grid_y, 0, COLS, A_UNDERLINE, true,
		    " %-6s %-8s %-14s %-3s %-24s %4s %3s %s", "SLOT", "PORT", "MODEL", "MOD",
		    "STATE", "%", "TRY", "MARKS");
	first = u->page * (size_t)u->lay.per_page;
	for (i = first; i < n && i < first + (size_t)u->lay.per_page; i++)
		draw_slot(u, i);
}

static void
draw_flag_menu(struct ui *u)
{
	const struct slot *s = sel_slot(u);
	int w = COLS - 8 > 70 ? 70 : COLS - 8, h = (int)u->nsugg + 6, y0, x0, y;
	size_t k;

	if (w < 20 || s == NULL)
		return;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	for (y = 0; y < h; y++)
		put(u, y0 + y, x0, w, A_REVERSE, true, "");
	if (u->nmarks > 0)
		putf(u, y0, x0 + 1, w - 2, A_REVERSE | A_BOLD, true,
		    " Flag %zu marked slots for hardware repair", u->nmarks);
	else
		putf(u, y0, x0 + 1, w - 2, A_REVERSE | A_BOLD, true,
		    " Flag %s %s for hardware repair", s->label, model_name(s));
	for (k = 0; k < u->nsugg; k++)
		putf(u, y0 + 2 + (int)k, x0 + 1, w - 2,
		    k == u->sugg_sel && u->reason[0] == '\0' ? A_NORMAL | A_BOLD : A_REVERSE, true,
		    " %s %s", k == u->sugg_sel ? ">" : " ", u->sugg[k]);
	putf(u, y0 + 3 + (int)u->nsugg, x0 + 1, w - 2, u->reason[0] ? A_BOLD : A_REVERSE, true,
	    " or type a reason: %s_", u->reason);
	put(u, y0 + 4 + (int)u->nsugg, x0 + 1, w - 2, A_REVERSE, true,
	    " Up/Down pick   Enter flag   Esc cancel");
}

static void
draw_pager(struct ui *u)
{
	struct pager *p = &u->pg;
	int rows = LINES - 3, y;
	size_t k;

	putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true, " %s", p->title);
	for (y = 0; y < rows; y++) {
		k = p->top + (size_t)y;
		put(u, 1 + y, 0, COLS, A_NORMAL, true, k < p->n ? p->lines[k] : "");
	}
	if (p->n == 0)
		put(u, 1, 0, COLS, A_DIM, true, "(empty)");
}

static void
draw_dfu(struct ui *u)
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
		putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true, " Guided DFU: %s", u->dfu_port);
		put(u, 2, 2, w, A_NORMAL, true, "This slot is gone.");
		return;
	}
	s = bv_slot_at(u->v, (size_t)i);
	fam = slot_buttons(s, &fallback);
	steps = dfuguide_steps(fam, &n);
	putf(u, 0, 0, COLS, A_REVERSE | A_BOLD, true, " Guided DFU  %s  %s  %s%s%s%s  %s",
	    s->label, s->port, model_name(s), s->dev.product_type[0] ? " (" : "",
	    s->dev.product_type, s->dev.product_type[0] ? ")" : "",
	    s->present ? slot_mode_name(s->mode) : "no device");
	putf(u, y++, 2, w, A_NORMAL, true, "DFU buttons for %s%s", dfuguide_title(fam),
	    fallback ? " (model unknown: check it is the right one)" : "");
	y++;
	if (s->dfu == DFU_STEPS || s->dfu == DFU_WAIT) {
		elapsed = dfuguide_step_offset(fam, (size_t)(s->dfu_step > 0 ? s->dfu_step : 0)) +
		    (mono_now() - s->dfu_step_started);
		r = dfuguide_at(fam, elapsed, &cur, &left);
	}
	for (k = 0; k < n; k++, y++) {
		bool now = (s->dfu == DFU_STEPS || s->dfu == DFU_WAIT) && r == 0 && k == cur;
		bool past = s->dfu == DFU_DONE || ((s->dfu == DFU_STEPS || s->dfu == DFU_WAIT) &&
		    (r == 1 || k < cur));

		a = now ? (u->colour ? COLOR_PAIR(CAT_SEL) | A_BOLD | A_REVERSE : A_REVERSE | A_BOLD) :
		    past ? A_DIM : A_NORMAL;
		if (now)
			putf(u, y, 2, w, a, true, "> %zu. %-44s %3d s left", k + 1, steps[k].text,
			    (int)ceil(left));
		else
			putf(u, y, 2, w, a, true, "  %zu. %-44s %3s %d s", k + 1, steps[k].text,
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
	a = s->dfu == DFU_DONE ? cat_attr(u, CAT_DONE) | A_BOLD :
	    s->dfu == DFU_TOO_LONG ? cat_attr(u, CAT_FAILED) : A_BOLD;
	put(u, y, 2, w, a, true, status);
}

/* Start the one-shot timer that moves the DFU countdown to its next whole second. */
static void
dfu_tick_arm(struct ui *u)
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
	fam = slot_buttons(s, &fb);
	if (dfuguide_at(fam, dfuguide_step_offset(fam, (size_t)(s->dfu_step > 0 ? s->dfu_step : 0)) +
	    mono_now() - s->dfu_step_started, &cur, &left) != 0)
		left = 1;
	frac = left - floor(left);
	if (frac < 0.02)
		frac += 1.0;
	ev_timer_set(&u->tick, frac + 0.01, 0.);
	ev_timer_start(u->loop, &u->tick);
}

static void
draw(struct ui *u)
{
	struct layout l;
	size_t n = bv_slot_count(u->v), i, pages;
	bool full;

	fix_selection(u);
	layout(u, &l);
	full = u->dirty_all || memcmp(&l, &u->lay, sizeof(l)) != 0 || u->ov != OV_NONE ||
	    u->prompt == PR_FLAG;
	u->lay = l;
	/* keep the selection on the page shown */
	if (l.per_page > 0) {
		pages = (n + (size_t)l.per_page - 1) / (size_t)l.per_page;
		if (u->sel / (size_t)l.per_page != u->page || (pages > 0 && u->page >= pages)) {
			u->page = u->sel / (size_t)l.per_page;
			full = true;
		}
	}
	if (COLS < 40 || LINES < 12) {
		werase(stdscr);
		put(u, 0, 0, COLS, A_BOLD, true, "terminal too small for idevicebench (40x12)");
		goto out;
	}
	if (u->ov == OV_PAGER || u->ov == OV_DFU) {
		werase(stdscr);
		if (u->ov == OV_PAGER)
			draw_pager(u);
		else
			draw_dfu(u);
		draw_footer(u);
		goto out;
	}
	if (full) {
		werase(stdscr);
		draw_header(u);
		draw_grid(u);
		draw_info(u);
	} else {
		/* only what changed: dirty cells, the old and new selection */
		draw_header(u);
		for (i = 0; i < n && i < u->ndirty; i++)
			if (u->dirty[i])
				draw_slot(u, i);
		if (u->sel_moved) {
			if (u->prev_sel >= 0)
				draw_slot(u, (size_t)u->prev_sel);
			draw_slot(u, u->sel);
		}
		if (u->sel_moved || (u->sel < u->ndirty && u->dirty[u->sel]))
			draw_info(u);
	}
	draw_footer(u);
	if (u->prompt == PR_FLAG)
		draw_flag_menu(u);
out:
	wnoutrefresh(stdscr);
	doupdate();
	u->dirty_all = u->dirty_any = u->sel_moved = false;
	u->prev_sel = -1;
	if (u->dirty != NULL)
		memset(u->dirty, 0, u->ndirty);
	dfu_tick_arm(u);
}

/* ---- the pager: log view and help ------------------------------------- */

static void
pager_clear(struct pager *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	p->lines = NULL;
	p->n = p->cap = p->top = 0;
}

static int
pager_add(struct pager *p, const char *s, size_t len)
{
	char **nl, *line;

	if (p->n == p->cap) {
		nl = reallocarray(p->lines, p->cap ? p->cap * 2 : 64, sizeof(*nl));
		if (nl == NULL)
			return -1;
		p->lines = nl;
		p->cap = p->cap ? p->cap * 2 : 64;
	}
	line = malloc(len + 1);
	if (line == NULL)
		return -1;
	text_sanitize(line, len + 1, s, len);
	p->lines[p->n++] = line;
	return 0;
}

static void
pager_text(struct pager *p, const char *text)
{
	const char *nl;

	while (*text != '\0') {
		nl = strchr(text, '\n');
		if (nl == NULL)
			nl = text + strlen(text);
		pager_add(p, text, (size_t)(nl - text));
		text = *nl ? nl + 1 : nl;
	}
}

/*
 * Read a log file into the pager. Lines are split at '\n'; of a line
 * rewritten with '\r' (progress bars) only what a terminal would end up
 * showing is kept. Everything is sanitized: a child's escape sequences
 * show as '?'.
 */
static int
pager_load(struct pager *p, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	ssize_t r;
	size_t got = 0, want, start, i, ls, le, seg;
	off_t from = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "cannot read %.200s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (sb.st_size > LOG_MAX_BYTES)
		from = sb.st_size - LOG_MAX_BYTES;
	want = (size_t)(sb.st_size - from);
	if ((buf = malloc(want + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (got < want && (r = pread(fd, buf + got, want - got, from + (off_t)got)) > 0)
		got += (size_t)r;
	close(fd);
	pager_clear(p);
	start = 0;
	if (from > 0) {
		/* skip the partial first line */
		while (start < got && buf[start] != '\n')
			start++;
		if (start < got)
			start++;
		pager_add(p, "[... earlier output not shown ...]", 34);
	}
	for (ls = start; ls < got; ls = le + 1) {
		for (le = ls; le < got && buf[le] != '\n'; le++)
			;
		i = le;
		if (i > ls && buf[i - 1] == '\r')
			i--;
		seg = ls;
		for (size_t k = ls; k < i; k++)
			if (buf[k] == '\r' && k + 1 < i)
				seg = k + 1;
		if (pager_add(p, buf + seg, i - seg) != 0)
			break;
	}
	free(buf);
	p->size = sb.st_size;
	text_copy(p->path, path, sizeof(p->path));
	return 0;
}

static size_t
pager_rows(void)
{
	return LINES > 3 ? (size_t)(LINES - 3) : 1;
}

static size_t
pager_max_top(const struct pager *p)
{
	return p->n > pager_rows() ? p->n - pager_rows() : 0;
}

/* The log grew: read it again, following the end when the view was there. */
static void
pager_follow(struct ui *u)
{
	struct pager *p = &u->pg;
	struct stat sb;
	char err[256], path[512];
	bool at_end;
	size_t top;

	if (u->ov != OV_PAGER || !p->is_log || stat(p->path, &sb) != 0 || sb.st_size == p->size)
		return;
	at_end = p->top >= pager_max_top(p);
	top = p->top;
	text_copy(path, p->path, sizeof(path));
	if (pager_load(p, path, err, sizeof(err)) != 0)
		return;
	p->top = at_end ? pager_max_top(p) : top < p->n ? top : 0;
}

/* ---- actions: change state, say what must happen next, never draw ------ */

static void
exec_one(struct ui *u, enum cmd_verb verb, const struct slot *s, const char *reason,
    size_t *ok, size_t *bad)
{
	struct command c;
	char msg[256];

	memset(&c, 0, sizeof(c));
	c.verb = verb;
	text_copy(c.slot, s->label[0] ? s->label : s->port, sizeof(c.slot));
	if (reason != NULL)
		text_sanitize(c.reason, sizeof(c.reason), reason, strlen(reason));
	msg[0] = '\0';
	if (bv_exec(u->v, &c, msg, sizeof(msg)) != 0) {
		ui_message(u, "%s", msg[0] ? msg : "command failed");
		(*bad)++;
	} else
		(*ok)++;
}

/*
 * Send a verb to the marked slots (when the key acts on them and some are
 * marked; the marks are then cleared) or to the selected one. Ignore
 * toggles per slot.
 */
static enum next
act_verb(struct ui *u, const struct keymap_entry *e, enum cmd_verb verb, const char *reason)
{
	const struct slot *s;
	size_t ok = 0, bad = 0, i;
	int k;

	if (e->marked && u->nmarks > 0) {
		for (i = 0; i < u->nmarks; i++) {
			if ((k = bv_slot_find(u->v, u->marks[i])) < 0)
				continue;
			s = bv_slot_at(u->v, (size_t)k);
			exec_one(u, e->action == KM_IGNORE_TOGGLE ?
			    (s->ignored ? CMD_UNIGNORE : CMD_IGNORE) : verb, s, reason, &ok, &bad);
		}
		if (bad == 0)
			ui_message(u, "%s: sent to %zu slot%s", command_name(verb), ok, ok == 1 ? "" : "s");
		/* marks are spent: a later key must not hit the same phones by surprise */
		u->nmarks = 0;
		return NEXT_ALL;
	}
	if ((s = sel_slot(u)) == NULL)
		return NEXT_NONE;
	if (e->action == KM_IGNORE_TOGGLE)
		verb = s->ignored ? CMD_UNIGNORE : CMD_IGNORE;
	exec_one(u, verb, s, reason, &ok, &bad);
	if (ok)
		ui_message(u, "%s %s", command_name(verb), s->label);
	return NEXT_ALL;
}

static enum next
act_erase_ask(struct ui *u, const struct keymap_entry *e)
{
	const struct slot *s = sel_slot(u);

	if (s == NULL)
		return NEXT_NONE;
	if (e->marked && u->nmarks > 0)
		snprintf(u->prompt_text, sizeof(u->prompt_text),
		    " Erase %zu marked phone%s? Everything on them is lost. y/N", u->nmarks,
		    u->nmarks == 1 ? "" : "s");
	else if (s->dev.ecid)
		snprintf(u->prompt_text, sizeof(u->prompt_text), " Erase %s ECID 0x%" PRIX64 "? y/N",
		    model_name(s), s->dev.ecid);
	else
		snprintf(u->prompt_text, sizeof(u->prompt_text), " Erase %s on %s? y/N",
		    s->present ? model_name(s) : "the phone", s->label);
	u->prompt = PR_ERASE;
	u->pending = e;
	return NEXT_ALL;
}

/* q: leave this console. A bench elsewhere, or one other consoles use, keeps running. */
static enum next
act_quit(struct ui *u)
{
	if (u->v->remote || bv_consoles(u->v) > 1) {
		u->prompt = PR_NONE;
		u->quit = true;
		if (u->leave_cb)
			u->leave_cb(u->leave_arg);
		return NEXT_ALL;
	}
	return act_stop(u);
}

/* Q (and q on the last console of a bench in this process): stop the bench, asking while jobs run. */
static enum next
act_stop(struct ui *u)
{
	const struct bench_status *st = bv_status(u->v);
	int jobs = st->running + st->queued;
	struct command c;
	char msg[256];

	if (u->prompt != PR_QUIT && bv_busy(u->v)) {
		snprintf(u->prompt_text, sizeof(u->prompt_text),
		    " %d job%s running: quit anyway? they will be cancelled... y/N", jobs,
		    jobs == 1 ? "" : "s");
		u->prompt = PR_QUIT;
		return NEXT_ALL;
	}
	u->prompt = PR_NONE;
	memset(&c, 0, sizeof(c));
	c.verb = CMD_QUIT;
	if (bv_exec(u->v, &c, msg, sizeof(msg)) != 0)
		ui_message(u, "%s", msg);
	/* the bench stops: in this process the loop ends, elsewhere it closes the connection */
	u->quit = true;
	return NEXT_ALL;
}

static enum next
act_flag_menu(struct ui *u)
{
	if (sel_slot(u) == NULL)
		return NEXT_NONE;
	u->nsugg = bv_flag_suggestions(u->v, u->sel, u->sugg, FLAG_SUGG_MAX);
	if (u->nsugg > FLAG_SUGG_MAX)
		u->nsugg = FLAG_SUGG_MAX;
	u->sugg_sel = 0;
	u->reason[0] = '\0';
	u->prompt = PR_FLAG;
	return NEXT_ALL;
}

static enum next
act_dfu(struct ui *u)
{
	const struct slot *s = sel_slot(u);
	struct command c;
	char msg[256] = "";

	if (u->ov == OV_DFU) {
		int i = bv_slot_find(u->v, u->dfu_port);

		s = i >= 0 ? bv_slot_at(u->v, (size_t)i) : NULL;
	}
	if (s == NULL)
		return NEXT_NONE;
	memset(&c, 0, sizeof(c));
	c.verb = CMD_DFU;
	text_copy(c.slot, s->label[0] ? s->label : s->port, sizeof(c.slot));
	if (bv_exec(u->v, &c, msg, sizeof(msg)) != 0) {
		ui_message(u, "%s", msg[0] ? msg : "dfu failed");
		return NEXT_ALL;
	}
	text_copy(u->dfu_port, s->port, sizeof(u->dfu_port));
	u->ov = OV_DFU;
	return NEXT_ALL;
}

static enum next
act_log(struct ui *u)
{
	const struct slot *s = sel_slot(u);
	char err[256];

	if (s == NULL)
		return NEXT_NONE;
	if (s->job.log_path[0] == '\0') {
		ui_message(u, "%s: no log yet", s->label);
		return NEXT_ALL;
	}
	if (pager_load(&u->pg, s->job.log_path, err, sizeof(err)) != 0) {
		ui_message(u, "%s", err);
		return NEXT_ALL;
	}
	snprintf(u->pg.title, sizeof(u->pg.title), "Log of %s %s: %.120s", s->label, model_name(s),
	    s->job.log_path);
	u->pg.is_log = true;
	text_copy(u->pg.port, s->port, sizeof(u->pg.port));
	u->pg.top = pager_max_top(&u->pg);	/* the end is what matters */
	u->ov = OV_PAGER;
	return NEXT_ALL;
}

static enum next
act_help(struct ui *u)
{
	size_t len = keymap_help(NULL, 0);
	char *buf = malloc(len + 1);

	if (buf == NULL)
		return NEXT_NONE;
	keymap_help(buf, len + 1);
	pager_clear(&u->pg);
	pager_text(&u->pg, buf);
	free(buf);
	pager_text(&u->pg, "\nPrompts: only y confirms; any other key says no.\n"
	    "Marks in cells: HW flagged for repair, IGN ignored, port? suspect port, * marked.\n"
	    "Error numbers (\"4013 lost\") are this bench's convention for the failure class,\n"
	    "not Apple's word. See idevicebench(1).");
	snprintf(u->pg.title, sizeof(u->pg.title), "idevicebench keys");
	u->pg.is_log = false;
	u->ov = OV_PAGER;
	return NEXT_ALL;
}

static enum next
act_move(struct ui *u, enum km_action a)
{
	size_t n = bv_slot_count(u->v), per = (size_t)(u->lay.per_page > 0 ? u->lay.per_page : 1);
	size_t ncol = u->table ? 1 : (size_t)(u->lay.ncol > 0 ? u->lay.ncol : 1), i = u->sel;

	if (n == 0)
		return NEXT_NONE;
	switch (a) {
	case KM_LEFT:
		if (i > 0 && !u->table)
			i--;
		break;
	case KM_RIGHT:
		if (i + 1 < n && !u->table)
			i++;
		break;
	case KM_UP:
		if (i >= ncol)
			i -= ncol;
		break;
	case KM_DOWN:
		if (i + ncol < n)
			i += ncol;
		break;
	case KM_PAGE_UP:
		i = i >= per ? i - per : 0;
		break;
	case KM_PAGE_DOWN:
		i = i + per < n ? i + per : n - 1;
		break;
	case KM_FIRST:
		i = 0;
		break;
	case KM_LAST:
		i = n - 1;
		break;
	default:
		break;
	}
	set_sel(u, i);
	return NEXT_SLOTS;
}

static enum next
act_pager(struct ui *u, enum km_action a)
{
	struct pager *p = &u->pg;
	size_t rows = pager_rows(), max = pager_max_top(p);

	switch (a) {
	case KM_UP:
		if (p->top > 0)
			p->top--;
		break;
	case KM_DOWN:
		if (p->top < max)
			p->top++;
		break;
	case KM_PAGE_UP:
		p->top = p->top > rows ? p->top - rows : 0;
		break;
	case KM_PAGE_DOWN:
		p->top = p->top + rows < max ? p->top + rows : max;
		break;
	case KM_FIRST:
		p->top = 0;
		break;
	case KM_LAST:
		p->top = max;
		break;
	case KM_BACK:
		pager_clear(p);
		u->ov = OV_NONE;
		break;
	default:
		break;
	}
	return NEXT_ALL;
}

/* One key from the table: decide what it does in the current screen. */
static enum next
dispatch(struct ui *u, const struct keymap_entry *e)
{
	const struct slot *s;

	switch (e->action) {
	case KM_COMMAND:
		if (e->verb == CMD_ERASE)
			return act_erase_ask(u, e);
		return act_verb(u, e, e->verb, NULL);
	case KM_IGNORE_TOGGLE:
		return act_verb(u, e, e->verb, NULL);
	case KM_UP: case KM_DOWN: case KM_LEFT: case KM_RIGHT:
	case KM_PAGE_UP: case KM_PAGE_DOWN: case KM_FIRST: case KM_LAST:
		return act_move(u, e->action);
	case KM_MARK:
		if ((s = sel_slot(u)) == NULL)
			return NEXT_NONE;
		mark_toggle(u, s->port);
		/* the next slot, as file managers do, so a row is marked quickly */
		set_sel(u, u->sel + 1);
		return NEXT_ALL;
	case KM_DETAIL:
		u->detail = !u->detail;
		u->hist_valid = false;
		return NEXT_ALL;
	case KM_TABLE:
		u->table = !u->table;
		return NEXT_ALL;
	case KM_LOG:
		return act_log(u);
	case KM_HELP:
		return act_help(u);
	case KM_REDRAW:
		clearok(curscr, TRUE);
		return NEXT_ALL;
	case KM_FLAG_MENU:
		return act_flag_menu(u);
	case KM_DFU_START:
		return act_dfu(u);
	case KM_BACK:
		u->ov = OV_NONE;
		return NEXT_ALL;
	case KM_QUIT:
		return act_quit(u);
	case KM_STOP:
		return act_stop(u);
	default:
		return NEXT_NONE;
	}
}

/* Keys while the flag menu is open: pick a suggestion or type a reason. */
static enum next
flag_key(struct ui *u, int key)
{
	const struct keymap_entry *e = keymap_find(KM_GRID, 'f');
	size_t len = strlen(u->reason);
	char reason[CMD_REASON_MAX];

	switch (key) {
	case KM_KEY_ESC:
		u->prompt = PR_NONE;
		ui_message(u, "not flagged");
		break;
	case KM_KEY_UP:
		if (u->sugg_sel > 0)
			u->sugg_sel--;
		break;
	case KM_KEY_DOWN:
		if (u->sugg_sel + 1 < u->nsugg)
			u->sugg_sel++;
		break;
	case KM_KEY_ENTER:
		if (u->reason[0] != '\0')
			text_copy(reason, u->reason, sizeof(reason));
		else if (u->nsugg > 0)
			text_copy(reason, u->sugg[u->sugg_sel], sizeof(reason));
		else {
			ui_message(u, "type a reason, or Esc");
			break;
		}
		u->prompt = PR_NONE;
		return act_verb(u, e, CMD_FLAG, reason);
	case 127:
	case 8:
	case KM_KEY_BACKSPACE:
		if (len > 0)
			u->reason[len - 1] = '\0';
		break;
	default:
		if (key == KM_KEY_SPACE)
			key = ' ';
		if (key >= 0x20 && key < 0x7f && len + 1 < sizeof(u->reason)) {
			u->reason[len] = (char)key;
			u->reason[len + 1] = '\0';
		}
		break;
	}
	return NEXT_ALL;
}

static enum next
handle_key(struct ui *u, int key)
{
	const struct keymap_entry *e;
	enum km_context ctx;
	enum prompt pr = u->prompt;

	if (pr == PR_FLAG)
		return flag_key(u, key);
	if (pr == PR_ERASE || pr == PR_QUIT) {
		u->prompt = PR_NONE;
		if (key != 'y') {
			ui_message(u, pr == PR_ERASE ? "not erased" : "not quitting");
			return NEXT_ALL;
		}
		if (pr == PR_QUIT) {
			u->prompt = PR_QUIT;
			return act_stop(u);
		}
		return act_verb(u, u->pending, CMD_ERASE, NULL);
	}
	ctx = u->ov == OV_PAGER ? KM_PAGER : u->ov == OV_DFU ? KM_DFU : KM_GRID;
	if ((e = keymap_find(ctx, key)) == NULL)
		return NEXT_NONE;
	if (u->ov != OV_PAGER && !(e->action == KM_QUIT || e->action == KM_STOP))
		u->msg[0] = '\0';
	if (ctx == KM_PAGER)
		return act_pager(u, e->action);
	return dispatch(u, e);
}

/* ---- libev callbacks -------------------------------------------------- */

static int
translate_key(int ch)
{
	switch (ch) {
	case KEY_UP: return KM_KEY_UP;
	case KEY_DOWN: return KM_KEY_DOWN;
	case KEY_LEFT: return KM_KEY_LEFT;
	case KEY_RIGHT: return KM_KEY_RIGHT;
	case KEY_PPAGE: return KM_KEY_PGUP;
	case KEY_NPAGE: return KM_KEY_PGDN;
	case KEY_HOME: return KM_KEY_HOME;
	case KEY_END: return KM_KEY_END;
	case KEY_ENTER: case '\r': case '\n': return KM_KEY_ENTER;
	case '\t': return KM_KEY_TAB;
	case 27: return KM_KEY_ESC;
	case ' ': return KM_KEY_SPACE;
	case 12: return KM_KEY_CTRL_L;
	case KEY_BACKSPACE: return KM_KEY_BACKSPACE;
	default: return ch;
	}
}

static void
input_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ui *u = w->data;
	int ch, avail = 0;
	enum next nx;

	(void)revents;
	/* readable with nothing to read: the terminal is gone */
	if (ioctl(w->fd, FIONREAD, &avail) == 0 && avail == 0) {
		ev_io_stop(loop, w);
		/* SIGHUP may be ignored (nohup) or come later: say it here too */
		log_info("terminal lost (end of input): supervising %s without a screen",
		    bv_busy(u->v) ? "running restores" : "nothing");
		u->headless = true;
		bv_set_headless(u->v, true);
		return;
	}
	while ((ch = wgetch(stdscr)) != ERR) {
		if (ch == KEY_RESIZE) {
			/* the terminal rearranged its cells itself: repaint from scratch */
			clearok(curscr, TRUE);
			u->dirty_all = u->dirty_any = true;
			continue;
		}
		nx = handle_key(u, translate_key(ch));
		u->key_frame = true;
		if (nx == NEXT_ALL)
			u->dirty_all = u->dirty_any = true;
		else if (nx == NEXT_SLOTS)
			u->dirty_any = true;
		if (u->quit)
			break;
	}
}

static void
winch_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct ui *u = w->data;
	struct winsize ws;

	(void)loop;
	(void)revents;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resize_term(ws.ws_row, ws.ws_col);
	/*
	 * The terminal has already moved, cut or reflowed what was on it, so
	 * curses' copy of the screen is stale: a differential update would
	 * leave old cells behind. Clear and repaint everything once.
	 */
	clearok(curscr, TRUE);
	u->dirty_all = u->dirty_any = true;
}

static void
frame_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* nothing to do: waking the loop lets the prepare watcher draw */
	(void)loop;
	(void)w;
	(void)revents;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ui *u = w->data;

	(void)loop;
	(void)revents;
	u->dirty_all = u->dirty_any = true;
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ui *u = w->data;
	ev_tstamp now = ev_now(loop), wait;

	(void)revents;
	if (!u->dirty_any || u->headless)
		return;
	wait = u->last_frame + FRAME_INTERVAL - now;
	/*
	 * The cap is for output from the jobs; an answer to a key waiting up
	 * to a frame behind them would be felt (issue #7: ~100 ms p99 under
	 * 64 restores before, a few ms after). Keys come at human rate.
	 */
	if (wait > 0 && !u->key_frame) {
		if (!ev_is_active(&u->frame)) {
			ev_timer_set(&u->frame, wait, 0.);
			ev_timer_start(loop, &u->frame);
		}
		return;
	}
	ev_timer_stop(loop, &u->frame);
	pager_follow(u);
	draw(u);
	u->last_frame = now;
	u->key_frame = false;
}

/* ---- the public face -------------------------------------------------- */

static void
restore_stderr(struct ui *u)
{
	if (u->saved_stderr >= 0) {
		dup2(u->saved_stderr, STDERR_FILENO);
		close(u->saved_stderr);
		u->saved_stderr = -1;
	}
}

/* A fatal exit() while curses owns the screen must still give it back. */
static void
ui_atexit(void)
{
	if (active_ui != NULL && !isendwin()) {
		endwin();
		restore_stderr(active_ui);
	}
}

static void
init_colours(struct ui *u)
{
	const char *nc = getenv("NO_COLOR");

	u->colour = has_colors() && (nc == NULL || nc[0] == '\0');
	if (!u->colour)
		return;
	start_color();
	use_default_colors();
	init_pair(CAT_EMPTY, COLOR_BLUE, -1);
	init_pair(CAT_IDLE, -1, -1);
	init_pair(CAT_RUNNING, COLOR_CYAN, -1);
	init_pair(CAT_DONE, COLOR_GREEN, -1);
	init_pair(CAT_FAILED, COLOR_RED, -1);
	init_pair(CAT_FLAGGED, COLOR_MAGENTA, -1);
	init_pair(CAT_IGNORED, COLOR_BLUE, -1);
	init_pair(CAT_SEL, COLOR_YELLOW, -1);
}

struct ui *
ui_new(struct ev_loop *loop, struct benchview *v, char *err, size_t errlen)
{
	static bool hooked;
	struct ui *u;
	const char *cs, *to;
	int fd;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "standard input and output must be a terminal (or use --json)");
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->loop = loop;
	u->v = v;
	u->prev_sel = -1;
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	u->utf8 = cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);

	/* nothing may write to stderr over the screen: send it to a file or away */
	u->saved_stderr = dup(STDERR_FILENO);
	to = getenv("IDEVICEBENCH_UI_STDERR");
	fd = open(to && *to ? to : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if ((u->scr = newterm(NULL, stdout, stdin)) == NULL) {
		restore_stderr(u);
		snprintf(err, errlen, "cannot use the terminal (TERM=%.40s)",
		    getenv("TERM") ? getenv("TERM") : "");
		free(u);
		return NULL;
	}
	set_term(u->scr);
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	/*
	 * No typeahead check: with it, curses flushes and polls the keyboard
	 * after every changed line (issue #7). Debian 12's ncurses 6.4 still
	 * writes once per cursor jump (its mvcur flushes), so a frame is a few
	 * small writes of a few hundred bytes in all.
	 */
	typeahead(-1);
	curs_set(0);
	/*
	 * A terminal without colours (vt100, vt220, a serial console) is old
	 * or minimal: it draws what its terminfo says, not UTF-8 boxes, even
	 * when the locale is UTF-8.
	 */
	if (!has_colors())
		u->utf8 = false;
	init_colours(u);

	ev_prepare_init(&u->prepare, prepare_cb);
	u->prepare.data = u;
	ev_prepare_start(loop, &u->prepare);
	ev_timer_init(&u->frame, frame_cb, 0., 0.);
	u->frame.data = u;
	ev_timer_init(&u->tick, tick_cb, 1., 0.);
	u->tick.data = u;
	ev_io_init(&u->input, input_cb, STDIN_FILENO, EV_READ);
	u->input.data = u;
	ev_io_start(loop, &u->input);
	ev_signal_init(&u->winch, winch_cb, SIGWINCH);
	u->winch.data = u;
	ev_signal_start(loop, &u->winch);

	active_ui = u;
	if (!hooked) {
		atexit(ui_atexit);
		hooked = true;
	}
	u->dirty_all = u->dirty_any = true;
	return u;
}

void
ui_free(struct ui *u)
{
	if (u == NULL)
		return;
	ev_prepare_stop(u->loop, &u->prepare);
	ev_timer_stop(u->loop, &u->frame);
	ev_timer_stop(u->loop, &u->tick);
	ev_io_stop(u->loop, &u->input);
	ev_signal_stop(u->loop, &u->winch);
	if (!isendwin())
		endwin();
	delscreen(u->scr);
	restore_stderr(u);
	if (active_ui == u)
		active_ui = NULL;
	pager_clear(&u->pg);
	free(u->marks);
	free(u->dirty);
	free(u);
}

void
ui_dirty(struct ui *u, int i)
{
	size_t n;
	unsigned char *p;

	u->dirty_any = true;
	if (i < 0) {
		u->dirty_all = true;
		return;
	}
	n = bv_slot_count(u->v);
	if (u->ndirty < n) {
		if ((p = realloc(u->dirty, n)) == NULL) {
			u->dirty_all = true;
			return;
		}
		memset(p + u->ndirty, 0, n - u->ndirty);
		u->dirty = p;
		u->ndirty = n;
		u->dirty_all = true;	/* a slot appeared: the layout may change */
	}
	if ((size_t)i < u->ndirty)
		u->dirty[i] = 1;
	else
		u->dirty_all = true;
}

void
ui_message(struct ui *u, const char *fmt, ...)
{
	char buf[sizeof(u->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_sanitize(u->msg, sizeof(u->msg), buf, strlen(buf));
	u->dirty_any = true;	/* the footer is part of every frame */
}

bool
ui_quit_requested(const struct ui *u)
{
	return u->quit;
}

void
ui_set_leave_cb(struct ui *u, void (*cb)(void *), void *arg)
{
	u->leave_cb = cb;
	u->leave_arg = arg;
}
