/*
 * command.h: the command language (core). Every hotkey is a command; --json
 * mode reads the same commands, one per line, on stdin. See DESIGN.md.
 */
#ifndef IDB_COMMAND_H
#define IDB_COMMAND_H

#include <stddef.h>

enum cmd_verb {
	CMD_UPDATE = 0,
	CMD_ERASE,
	CMD_CANCEL,
	CMD_RECOVERY,
	CMD_KICK,
	CMD_DFU,
	CMD_FLAG,
	CMD_UNFLAG,
	CMD_IGNORE,
	CMD_UNIGNORE,
	CMD_QUIT,
	CMD__COUNT
};

#define CMD_SLOT_MAX 32
#define CMD_REASON_MAX 128

struct command {
	enum cmd_verb verb;
	char slot[CMD_SLOT_MAX];	/* label or port path, "" for verbs without one */
	char reason[CMD_REASON_MAX];	/* flag reason (sanitized) */
};

/*
 * Parse one line of the command language. Returns 0 and fills *out, or -1
 * with a one-line error in err. Never reads past len; len may be huge.
 */
int command_parse(const char *line, size_t len, struct command *out, char *err, size_t errlen);
/* The verb's word ("update"). */
const char *command_name(enum cmd_verb);
/* One-line usage of the verb ("flag SLOT REASON..."). */
const char *command_usage(enum cmd_verb);
/* May this character appear in a slot name (label or port path)? [A-Za-z0-9._-] */
int command_slot_char(char c);
/* Is s a slot name the command language accepts (1..CMD_SLOT_MAX-1 slot characters)? */
int command_slot_name_ok(const char *s);

#endif
