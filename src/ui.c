/*
 * ui.c: the ncurses console's life and loop. Bench changes and keys only
 * set flags; a prepare watcher draws at most one frame per loop iteration
 * (draw()), and a timer holds frames back to about ten a second. The
 * panels live in ui_grid.c, ui_detail.c, ui_footer.c and ui_pager.c; keys
 * in ui_keys.c; the drawing primitives in ui_draw.c.
 */
#include <sys/ioctl.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "log.h"
#include "owner.h"
#include "text.h"
#include "ui.h"
#include "ui_int.h"

static struct ui *active_ui;	/* for the exit hook: give the terminal back */

static void
draw(struct ui *u)
{
	struct layout l;
	size_t n = bv_slot_count(u->v), i, pages;
	bool full;

	ui_fix_selection(u);
	ui_layout(u, &l);
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
		ui_put(u, 0, 0, COLS, A_BOLD, true, "terminal too small for idevicebench (40x12)");
		goto out;
	}
	if (u->ov == OV_PAGER || u->ov == OV_DFU) {
		werase(stdscr);
		if (u->ov == OV_PAGER)
			ui_draw_pager(u);
		else
			ui_draw_dfu(u);
		ui_draw_footer(u);
		goto out;
	}
	if (full) {
		werase(stdscr);
		ui_draw_header(u);
		ui_draw_grid(u);
		ui_draw_info(u);
	} else {
		/* only what changed: dirty cells, the old and new selection */
		ui_draw_header(u);
		for (i = 0; i < n && i < u->ndirty; i++)
			if (u->dirty[i])
				ui_draw_slot(u, i);
		if (u->sel_moved) {
			if (u->prev_sel >= 0)
				ui_draw_slot(u, (size_t)u->prev_sel);
			ui_draw_slot(u, u->sel);
		}
		if (u->sel_moved || (u->sel < u->ndirty && u->dirty[u->sel]))
			ui_draw_info(u);
	}
	ui_draw_footer(u);
	if (u->prompt == PR_FLAG)
		ui_draw_flag_menu(u);
out:
	wnoutrefresh(stdscr);
	doupdate();
	u->dirty_all = u->dirty_any = u->sel_moved = false;
	u->prev_sel = -1;
	if (u->dirty != NULL)
		memset(u->dirty, 0, u->ndirty);
	ui_dfu_tick_arm(u);
}

static void
input_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ui *u = OWNER_OF(w, struct ui, input);
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
		nx = ui_handle_key(u, ui_translate_key(ch));
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
	struct ui *u = OWNER_OF(w, struct ui, winch);
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
	struct ui *u = OWNER_OF(w, struct ui, tick);

	(void)loop;
	(void)revents;
	u->dirty_all = u->dirty_any = true;
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ui *u = OWNER_OF(w, struct ui, prepare);
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
	ui_pager_follow(u);
	draw(u);
	u->last_frame = now;
	u->key_frame = false;
}

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
	ev_prepare_start(loop, &u->prepare);
	ev_timer_init(&u->frame, frame_cb, 0., 0.);
	ev_timer_init(&u->tick, tick_cb, 1., 0.);
	ev_io_init(&u->input, input_cb, STDIN_FILENO, EV_READ);
	ev_io_start(loop, &u->input);
	ev_signal_init(&u->winch, winch_cb, SIGWINCH);
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
	ui_pager_clear(&u->pg);
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
