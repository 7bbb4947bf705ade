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

/*
 * What a slot is, as the rules of the commands see it (bits). The console's
 * footer uses the same bits (keymap.h's KMW_* are these), so a key is
 * offered exactly when its command would be accepted.
 */
enum {
	CMDS_PHONE = 1 << 0,	/* a device is on the port */
	CMDS_JOB = 1 << 1,	/* its job is queued or running */
	CMDS_RECOVERY = 1 << 2,
	CMDS_NORMAL = 1 << 3,
	CMDS_DFU = 1 << 4,
	CMDS_FLAGGED = 1 << 5,
	CMDS_IGNORED = 1 << 6,
	/* bit 7 is the console's own (keymap.h: KMW_LOG) */
	CMDS_NOECID = 1 << 8,	/* no identified device (no ECID known) */
	CMDS_RESTORE = 1 << 9,	/* the device is in restore mode */
	CMDS_GUIDE = 1 << 10	/* the guided DFU sequence is under way */
};

struct slot;

/* The CMDS_* bits of a slot. */
unsigned command_slot_state(const struct slot *);
/*
 * The one rule of what a command may do to a slot: 1 if verb applies to a
 * slot in state (CMDS_* bits), else 0 with the reason in why ("kick needs
 * a device in recovery mode"; why may be NULL). The bench applies it to
 * every command, the console's footer offers only the keys it allows.
 */
int command_allowed_state(enum cmd_verb, unsigned state, char *why, size_t whylen);
/*
 * When verb applies, read out of the same rules ("phone on the port, in
 * recovery mode, not ignored, no job queued or running"): clauses joined by
 * ", ", a choice among clauses as ", or "; "" when it always applies.
 * Returns the full length, as snprintf.
 */
size_t command_condition(enum cmd_verb, char *buf, size_t len);
/* command_allowed_state() for a slot; why is "LABEL: reason". */
int command_allowed(enum cmd_verb, const struct slot *, char *why, size_t whylen);

#endif
