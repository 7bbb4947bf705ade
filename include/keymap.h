/*
 * keymap.h: the one key table of the console (core). It drives key
 * dispatch, the footer hints, the help overlay and the man page test.
 * Keys are plain characters or the KM_KEY_* codes below; the curses
 * adapter translates its own key codes into these.
 */
#ifndef IDB_KEYMAP_H
#define IDB_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include "command.h"

/* Special keys, outside the range of characters. */
enum {
	KM_KEY_UP = 0x10000,
	KM_KEY_DOWN,
	KM_KEY_LEFT,
	KM_KEY_RIGHT,
	KM_KEY_PGUP,
	KM_KEY_PGDN,
	KM_KEY_HOME,
	KM_KEY_END,
	KM_KEY_ENTER,
	KM_KEY_TAB,
	KM_KEY_ESC,
	KM_KEY_SPACE,
	KM_KEY_CTRL_L,
	KM_KEY_BACKSPACE	/* only for typed text (the flag reason) */
};

/* Which screen a key belongs to. */
enum km_context {
	KM_GRID = 0,		/* the grid or table of slots */
	KM_PAGER,		/* the log view and the help overlay */
	KM_DFU,			/* the guided DFU screen */
	KM__COUNT
};

/* What a key does; KM_COMMAND sends the entry's verb to the bench. */
enum km_action {
	KM_NONE = 0,
	KM_COMMAND,
	KM_UP,
	KM_DOWN,
	KM_LEFT,
	KM_RIGHT,
	KM_PAGE_UP,
	KM_PAGE_DOWN,
	KM_FIRST,
	KM_LAST,
	KM_MARK,
	KM_DETAIL,
	KM_LOG,
	KM_TABLE,
	KM_HELP,
	KM_REDRAW,
	KM_FLAG_MENU,		/* flag: pick or type a reason, then CMD_FLAG */
	KM_IGNORE_TOGGLE,	/* CMD_IGNORE or CMD_UNIGNORE, by the slot's state */
	KM_DFU_START,		/* CMD_DFU, then the guided DFU screen */
	KM_BACK,		/* leave the pager or the DFU screen */
	KM_QUIT,		/* leave the console (the last one of an in-process bench: as KM_STOP) */
	KM_STOP			/* asks first while jobs run, then CMD_QUIT */
};

/*
 * What the footer knows of the selected slot: command.h's CMDS_* bits (the
 * state the command rules look at) and KMW_LOG.
 */
enum {
	KMW_PHONE = CMDS_PHONE,	/* a device is on the port */
	KMW_JOB = CMDS_JOB,	/* its job is queued or running */
	KMW_RECOVERY = CMDS_RECOVERY,
	KMW_NORMAL = CMDS_NORMAL,
	KMW_DFU = CMDS_DFU,
	KMW_FLAGGED = CMDS_FLAGGED,
	KMW_IGNORED = CMDS_IGNORED,
	KMW_LOG = 1 << 7	/* there is an attempt's log to show */
};

struct keymap_entry {
	enum km_context ctx;
	int key;		/* character or KM_KEY_* */
	const char *name;	/* as shown in help and the man page: "u", "PgUp" */
	enum km_action action;
	enum cmd_verb verb;	/* for KM_COMMAND (and the verb the action sends) */
	bool marked;		/* acts on every marked slot when some are marked */
	const char *label;	/* footer hint word, NULL if not in the footer */
	const char *help;	/* one line; consecutive keys with the same text share a line */
	/*
	 * Footer: KMW_* bits the slot must have, and must not have, for the
	 * hint to show. For a key that sends a command these only narrow what
	 * command_allowed_state() accepts (no "d DFU" for a phone in DFU).
	 */
	unsigned need;
	unsigned refuse;
	int prio;		/* footer: 1 always kept, 2 actions, 3-4 left out first when short */
};

/* The whole table, in help order. */
const struct keymap_entry *keymap_table(size_t *count);
/* The entry for a key in a context, NULL if the key does nothing there. */
const struct keymap_entry *keymap_find(enum km_context, int key);
/* Title of a context's help section ("Slots", "Log and help", "Guided DFU"). */
const char *keymap_context_name(enum km_context);
/*
 * The help overlay text, one line per action, built from the table; under
 * a key that sends a command, "when:" and the slot states the bench takes
 * it in (command_condition()). Writes at most len bytes (always
 * NUL-terminated); returns the full length.
 */
size_t keymap_help(char *buf, size_t len);
/*
 * The footer hint line ("u update  e erase ..."), built from the table: the
 * keys that apply to a slot in state (KMW_* bits; a command's key only when
 * command_allowed_state() accepts it), in table order, fitted
 * into width columns by leaving out the lowest priorities first. Returns the
 * line's length.
 */
size_t keymap_footer(char *buf, size_t len, unsigned state, size_t width);

#endif
