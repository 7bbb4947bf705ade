/*
 * ui.h: the full-screen console (ncurses adapter). It reads the bench only
 * through a benchview (the bench in this process, or a mirror of one
 * elsewhere) and acts on it only through bv_exec().
 * Bench changes only mark the screen dirty; one frame is drawn per loop
 * iteration at most, about ten a second.
 */
#ifndef IDB_UI_H
#define IDB_UI_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct benchview;
struct ui;

/*
 * Take the terminal and start drawing the bench. The caller tells it what
 * changed (a bench observer calling ui_dirty and ui_message). Returns NULL
 * with a reason in err when there is no usable terminal; nothing is
 * changed then.
 */
struct ui *ui_new(struct ev_loop *loop, struct benchview *v, char *err, size_t errlen);
/* Stop drawing and give the terminal back as it was. */
void ui_free(struct ui *);
/* Something shown changed: slot_index, or -1 for the header and everything. Only sets flags. */
void ui_dirty(struct ui *, int slot_index);
/* Show a one-line message in the footer (sanitized). */
void ui_message(struct ui *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called once when the technician leaves this console (q) or stops the bench (Q). */
void ui_set_leave_cb(struct ui *, void (*cb)(void *arg), void *arg);
/* True once the technician asked to quit and confirmed. */
bool ui_quit_requested(const struct ui *);

#endif
