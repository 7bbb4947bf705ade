/* keymap.c: the one key table; dispatch, footer, help and man page follow it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "keymap.h"

#define C(k, n, a, v, m, l, h) { KM_GRID, k, n, a, v, m, l, h, 0, 0, 0 }
/* a grid key with a footer hint: shown when the slot has need and none of refuse */
#define CF(k, n, a, v, m, l, h, need, refuse, prio) { KM_GRID, k, n, a, v, m, l, h, need, refuse, prio }
#define P(k, n, a, h) { KM_PAGER, k, n, a, CMD_QUIT, false, NULL, h, 0, 0, 0 }
#define D(k, n, a, v, h) { KM_DFU, k, n, a, v, false, NULL, h, 0, 0, 0 }

static const struct keymap_entry table[] = {
	C(KM_KEY_UP, "Up", KM_UP, CMD_QUIT, false, NULL, "move the selection"),
	C(KM_KEY_DOWN, "Down", KM_DOWN, CMD_QUIT, false, NULL, "move the selection"),
	C(KM_KEY_LEFT, "Left", KM_LEFT, CMD_QUIT, false, NULL, "move the selection"),
	C(KM_KEY_RIGHT, "Right", KM_RIGHT, CMD_QUIT, false, NULL, "move the selection"),
	C(KM_KEY_PGUP, "PgUp", KM_PAGE_UP, CMD_QUIT, false, NULL, "previous / next page of slots"),
	C(KM_KEY_PGDN, "PgDn", KM_PAGE_DOWN, CMD_QUIT, false, NULL, "previous / next page of slots"),
	C(KM_KEY_HOME, "Home", KM_FIRST, CMD_QUIT, false, NULL, "first / last slot"),
	C(KM_KEY_END, "End", KM_LAST, CMD_QUIT, false, NULL, "first / last slot"),
	C(KM_KEY_SPACE, "Space", KM_MARK, CMD_QUIT, false, NULL, "mark the slot; the next command key acts on all marked"),
	CF('u', "u", KM_COMMAND, CMD_UPDATE, true, "update", "update: restore keeping the data",
	    0, 0, 2),
	CF('e', "e", KM_COMMAND, CMD_ERASE, true, "erase", "erase: full restore, erases the phone (asks first)",
	    0, 0, 2),
	CF('c', "c", KM_COMMAND, CMD_CANCEL, true, "cancel", "cancel the job", 0, 0, 2),
	CF('r', "r", KM_COMMAND, CMD_RECOVERY, true, "recovery", "normal mode -> recovery mode",
	    0, 0, 2),
	CF('k', "k", KM_COMMAND, CMD_KICK, true, "kick", "kick out of recovery (reboot normally)",
	    0, 0, 2),
	CF('d', "d", KM_DFU_START, CMD_DFU, false, "DFU", "guided DFU: button steps with a countdown",
	    0, KMW_DFU, 2),
	CF('f', "f", KM_FLAG_MENU, CMD_FLAG, true, "flag", "flag for hardware repair (pick or type a reason)",
	    KMW_PHONE, KMW_FLAGGED, 2),
	CF('F', "F", KM_COMMAND, CMD_UNFLAG, true, "unflag", "clear the hardware flag", 0, 0, 2),
	CF('i', "i", KM_IGNORE_TOGGLE, CMD_IGNORE, true, "ignore", "ignore / stop ignoring the device",
	    KMW_PHONE, 0, 4),
	CF('l', "l", KM_LOG, CMD_QUIT, false, "log", "show the job's log", KMW_LOG, 0, 3),
	CF(KM_KEY_ENTER, "Enter", KM_DETAIL, CMD_QUIT, false, "details", "show / hide the detail pane",
	    0, 0, 3),
	C(KM_KEY_TAB, "Tab", KM_DETAIL, CMD_QUIT, false, NULL, "show / hide the detail pane"),
	C('t', "t", KM_TABLE, CMD_QUIT, false, NULL, "table / grid of slots"),
	C(KM_KEY_CTRL_L, "Ctrl-L", KM_REDRAW, CMD_QUIT, false, NULL, "redraw the screen"),
	CF('?', "?", KM_HELP, CMD_QUIT, false, "help", "this help", 0, 0, 1),
	CF('q', "q", KM_QUIT, CMD_QUIT, false, "quit",
	    "quit this console (the last one stops the bench, asking)",
	    0, 0, 1),
	C('Q', "Q", KM_STOP, CMD_QUIT, false, NULL,
	    "stop the bench for every console (asks while jobs run)"),

	P(KM_KEY_UP, "Up", KM_UP, "scroll a line"),
	P(KM_KEY_DOWN, "Down", KM_DOWN, "scroll a line"),
	P('k', "k", KM_UP, "scroll a line"),
	P('j', "j", KM_DOWN, "scroll a line"),
	P(KM_KEY_PGUP, "PgUp", KM_PAGE_UP, "scroll a page"),
	P(KM_KEY_PGDN, "PgDn", KM_PAGE_DOWN, "scroll a page"),
	P(KM_KEY_SPACE, "Space", KM_PAGE_DOWN, "scroll a page"),
	P('g', "g", KM_FIRST, "top / bottom"),
	P('G', "G", KM_LAST, "top / bottom"),
	P(KM_KEY_HOME, "Home", KM_FIRST, "top / bottom"),
	P(KM_KEY_END, "End", KM_LAST, "top / bottom"),
	P('q', "q", KM_BACK, "back to the slots"),
	P(KM_KEY_ESC, "Esc", KM_BACK, "back to the slots"),

	D('d', "d", KM_DFU_START, CMD_DFU, "start the sequence again"),
	D('q', "q", KM_BACK, CMD_QUIT, "back to the slots (the bench keeps waiting)"),
	D(KM_KEY_ESC, "Esc", KM_BACK, CMD_QUIT, "back to the slots (the bench keeps waiting)"),
};

static const char *context_names[KM__COUNT] = {
	"Slots", "Log and help", "Guided DFU"
};

const struct keymap_entry *
keymap_table(size_t *count)
{
	*count = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct keymap_entry *
keymap_find(enum km_context ctx, int key)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].ctx == ctx && table[i].key == key)
			return &table[i];
	return NULL;
}

const char *
keymap_context_name(enum km_context ctx)
{
	if ((unsigned)ctx >= KM__COUNT)
		return "";
	return context_names[ctx];
}

#define HELP_WIDTH	78	/* columns of the help text */
#define HELP_INDENT	"                      "	/* under the help text of a key line */

/* Append to buf like snprintf, tracking the full length even when truncated. */
static void
append(char *buf, size_t len, size_t *off, const char *fmt, const char *a, const char *b)
{
	size_t room = *off < len ? len - *off : 0;
	int n;

	n = snprintf(room ? buf + *off : NULL, room, fmt, a, b);
	if (n > 0)
		*off += (size_t)n;
}

/*
 * Under a key that sends a command, when the bench takes it: read out of
 * command.c's rules (command_condition()), so the help cannot promise what
 * the bench refuses. Wrapped to HELP_WIDTH under the help text.
 */
static void
help_condition(char *buf, size_t len, size_t *off, const struct keymap_entry *e)
{
	char		 cond[256], word[64];
	const char	*p, *sp;
	size_t		 col, wl;

	if (e->action != KM_COMMAND && e->action != KM_FLAG_MENU &&
	    e->action != KM_DFU_START && e->action != KM_IGNORE_TOGGLE)
		return;
	if (command_condition(e->verb, cond, sizeof(cond)) == 0)
		return;
	append(buf, len, off, "%s%s", HELP_INDENT, "when:");
	col = strlen(HELP_INDENT) + strlen("when:");
	for (p = cond; *p != '\0'; p = sp) {
		while (*p == ' ')
			p++;
		if ((sp = strchr(p, ' ')) == NULL)
			sp = p + strlen(p);
		wl = (size_t)(sp - p) < sizeof(word) ? (size_t)(sp - p) : sizeof(word) - 1;
		memcpy(word, p, wl);
		word[wl] = '\0';
		if (col + 1 + wl > HELP_WIDTH) {
			append(buf, len, off, "\n%s%s", HELP_INDENT, "     ");
			col = strlen(HELP_INDENT) + 5;
		}
		append(buf, len, off, " %s%s", word, "");
		col += 1 + wl;
	}
	append(buf, len, off, "%s%s", "\n", "");
}

size_t
keymap_help(char *buf, size_t len)
{
	size_t n = sizeof(table) / sizeof(table[0]), i, j, off = 0;
	char keys[64];

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < n; i = j) {
		if (i == 0 || table[i].ctx != table[i - 1].ctx)
			append(buf, len, &off, "%s%s:\n", i == 0 ? "" : "\n",
			    keymap_context_name(table[i].ctx));
		/* Keys next to each other with the same help share its line. */
		keys[0] = '\0';
		for (j = i; j < n && table[j].ctx == table[i].ctx &&
		    strcmp(table[j].help, table[i].help) == 0; j++) {
			if (j > i)
				strncat(keys, " ", sizeof(keys) - strlen(keys) - 1);
			strncat(keys, table[j].name, sizeof(keys) - strlen(keys) - 1);
		}
		append(buf, len, &off, "  %-19s %s\n", keys, table[i].help);
		help_condition(buf, len, &off, &table[i]);
	}
	return off;
}

/* The command a key sends to a slot in state, CMD__COUNT for a key that sends none. */
static enum cmd_verb
entry_verb(const struct keymap_entry *e, unsigned state)
{
	switch (e->action) {
	case KM_COMMAND:
	case KM_FLAG_MENU:
	case KM_DFU_START:
		return e->verb;
	case KM_IGNORE_TOGGLE:
		return (state & KMW_IGNORED) ? CMD_UNIGNORE : CMD_IGNORE;
	default:
		return CMD__COUNT;
	}
}

/* Does the entry's hint belong in the footer of a slot in state? */
static bool
footer_shows(const struct keymap_entry *e, unsigned state, int maxprio)
{
	enum cmd_verb	v = entry_verb(e, state);

	if (e->label == NULL || e->prio > maxprio || (state & e->need) != e->need ||
	    (state & e->refuse) != 0)
		return false;
	/* a key is offered exactly when its command would be accepted */
	return v == CMD__COUNT || command_allowed_state(v, state, NULL, 0);
}

size_t
keymap_footer(char *buf, size_t len, unsigned state, size_t width)
{
	size_t n = sizeof(table) / sizeof(table[0]), i, off;
	int maxprio;

	for (maxprio = 4; ; maxprio--) {
		if (len > 0)
			buf[0] = '\0';
		off = 0;
		for (i = 0; i < n; i++) {
			const struct keymap_entry *e = &table[i];
			const char *label = e->label;

			if (!footer_shows(e, state, maxprio))
				continue;
			if (e->action == KM_IGNORE_TOGGLE && (state & KMW_IGNORED))
				label = "unignore";
			append(buf, len, &off, off ? "  %s %s" : "%s %s", e->name, label);
		}
		if (off <= width || maxprio == 1)
			return off;
	}
}
