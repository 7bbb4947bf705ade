/*
 * ui_int.h: between the console's files (ui*.c) only: the console's state
 * and the calls from one panel to another. Only ui*.c include curses.h.
 */
#ifndef IDB_UI_INT_H
#define IDB_UI_INT_H

#include <sys/types.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <curses.h>
#include <ev.h>

#include "bench.h"
#include "benchview.h"
#include "command.h"
#include "keymap.h"
#include "slot.h"
#include "dfuguide.h"

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

/* ui_draw.c */
/* What a cell's colour says. */
enum cat	ui_slot_cat(const struct slot *s);
/* The colour attributes of a category (none without colours). */
attr_t	ui_cat_attr(const struct ui *u, enum cat c);
/* Draw s at y,x clipped to width columns (sanitised, wide-character aware); pad fills the rest. Returns columns used. */
int	ui_put(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *s);
/* ui_put() with a format. */
int	ui_putf(struct ui *u, int y, int x, int width, attr_t attr, bool pad, const char *fmt, ...)
	    __attribute__((format(printf, 7, 8)));
/* HH:MM of t, or "-". */
void	ui_fmt_time(time_t t, char *buf, size_t len);
/* The date and time of t for the history lines. */
void	ui_fmt_date(time_t t, char *buf, size_t len);
/* The model a slot shows: its name, else its product type, else "unknown device". */
const char	*ui_model_name(const struct slot *s);
/* The family whose buttons the DFU screen shows, and whether it was a guess. */
enum button_family	ui_slot_buttons(const struct slot *s, bool *fallback);
/* The state line of a cell or table row. */
void	ui_slot_state_text(const struct slot *s, char *buf, size_t len);
/* The marks a cell shows: HW (flagged), IGN, port?, advice, * (marked). */
void	ui_slot_marks_text(const struct ui *u, const struct slot *s, char *buf, size_t len);
/* A text progress bar of width cells at pct. */
void	ui_progress_bar(struct ui *u, char *buf, size_t len, int width, double pct);
/* Word-wrap text into lines of at most width bytes; returns lines added. */
size_t	ui_wrap(const char *text, int width, char out[][256], size_t max);

/* ui_grid.c */
/* The selected slot, NULL if there is none. */
const struct slot	*ui_sel_slot(struct ui *u);
/* Is the port marked (for commands on several slots)? */
bool	ui_mark_has(const struct ui *u, const char *port);
/* Mark or unmark the port. */
void	ui_mark_toggle(struct ui *u, const char *port);
/* The selection follows its port when slots appear or go. */
void	ui_fix_selection(struct ui *u);
/* Select slot i and remember its port. */
void	ui_set_sel(struct ui *u, size_t i);
/* Where the grid, the info pane and the footer go at this terminal size. */
void	ui_layout(struct ui *u, struct layout *l);
/* The header line: bench name, IPSW, restore program, counts. */
void	ui_draw_header(struct ui *u);
/* Redraw one slot's cell or row if it is on the page shown. */
void	ui_draw_slot(struct ui *u, size_t i);
/* The page of cells (or table rows) shown. */
void	ui_draw_grid(struct ui *u);

/* ui_detail.c */
/* The two-line summary under the grid, or the detail pane. */
void	ui_draw_info(struct ui *u);

/* ui_footer.c */
/* The message line and the keys the selected slot offers. */
void	ui_draw_footer(struct ui *u);
/* The flag reasons menu over the grid. */
void	ui_draw_flag_menu(struct ui *u);
/* The DFU guide screen for the slot being guided. */
void	ui_draw_dfu(struct ui *u);
/* Start the one-shot timer that moves the DFU countdown to its next whole second. */
void	ui_dfu_tick_arm(struct ui *u);

/* ui_pager.c */
/* The pager's page of lines. */
void	ui_draw_pager(struct ui *u);
/* Free the pager's lines. */
void	ui_pager_clear(struct pager *p);
/* Fill the pager with text (the help), one line per newline. */
void	ui_pager_text(struct pager *p, const char *text);
/* Fill the pager with the last LOG_MAX_BYTES of a log file. 0, or -1 with err. */
int	ui_pager_load(struct pager *p, const char *path, char *err, size_t errlen);
/* Rows the pager shows at this terminal size. */
size_t	ui_pager_rows(void);
/* The last top line that still fills the page. */
size_t	ui_pager_max_top(const struct pager *p);
/* The log grew: read it again, following the end when the view was there. */
void	ui_pager_follow(struct ui *u);

/* ui_keys.c */
/* Handle one key (ncurses code): change state, say what must be redrawn. */
enum next	ui_handle_key(struct ui *u, int key);
/* Map terminal escape variants onto the codes the key table knows. */
int	ui_translate_key(int ch);

#endif
