/*
 * ui_keys.c: key handling. Keys go through the one table of keymap.c; an
 * action changes the console's state and says what must happen next (enum
 * next), it never draws. Commands reach the bench only through bench_exec().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "text.h"
#include "ui.h"
#include "ui_int.h"

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
	if ((s = ui_sel_slot(u)) == NULL)
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
	const struct slot *s = ui_sel_slot(u);

	if (s == NULL)
		return NEXT_NONE;
	if (e->marked && u->nmarks > 0)
		snprintf(u->prompt_text, sizeof(u->prompt_text),
		    " Erase %zu marked phone%s? Everything on them is lost. y/N", u->nmarks,
		    u->nmarks == 1 ? "" : "s");
	else if (s->dev.ecid)
		snprintf(u->prompt_text, sizeof(u->prompt_text), " Erase %s ECID 0x%" PRIX64 "? y/N",
		    ui_model_name(s), s->dev.ecid);
	else
		snprintf(u->prompt_text, sizeof(u->prompt_text), " Erase %s on %s? y/N",
		    s->present ? ui_model_name(s) : "the phone", s->label);
	u->prompt = PR_ERASE;
	u->pending = e;
	return NEXT_ALL;
}

static enum next act_stop(struct ui *);

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
	int jobs = st->count.running + st->count.queued;
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
	if (ui_sel_slot(u) == NULL)
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
	const struct slot *s = ui_sel_slot(u);
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
	const struct slot *s = ui_sel_slot(u);
	char err[256];

	if (s == NULL)
		return NEXT_NONE;
	if (s->job.log_path[0] == '\0') {
		ui_message(u, "%s: no log yet", s->label);
		return NEXT_ALL;
	}
	if (ui_pager_load(&u->pg, s->job.log_path, err, sizeof(err)) != 0) {
		ui_message(u, "%s", err);
		return NEXT_ALL;
	}
	snprintf(u->pg.title, sizeof(u->pg.title), "Log of %s %s: %.120s", s->label, ui_model_name(s),
	    s->job.log_path);
	u->pg.is_log = true;
	text_copy(u->pg.port, s->port, sizeof(u->pg.port));
	u->pg.top = ui_pager_max_top(&u->pg);	/* the end is what matters */
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
	ui_pager_clear(&u->pg);
	ui_pager_text(&u->pg, buf);
	free(buf);
	ui_pager_text(&u->pg, "\nPrompts: only y confirms; any other key says no.\n"
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
	ui_set_sel(u, i);
	return NEXT_SLOTS;
}

static enum next
act_pager(struct ui *u, enum km_action a)
{
	struct pager *p = &u->pg;
	size_t rows = ui_pager_rows(), max = ui_pager_max_top(p);

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
		ui_pager_clear(p);
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
		if ((s = ui_sel_slot(u)) == NULL)
			return NEXT_NONE;
		ui_mark_toggle(u, s->port);
		/* the next slot, as file managers do, so a row is marked quickly */
		ui_set_sel(u, u->sel + 1);
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

enum next
ui_handle_key(struct ui *u, int key)
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

int
ui_translate_key(int ch)
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
