/*
 * command.c: the command language (core). Every hotkey is a command; --json
 * mode reads the same commands, one per line, on stdin (DESIGN.md).
 *
 * One table drives parsing, command_name() and command_usage(), so the
 * help and the parser cannot disagree; another says what state a slot
 * must be in for each verb (command_allowed()), for the bench and the
 * console's footer alike, and command_condition() reads it out for the
 * help. A line comes from stdin or a
 * socket: it is bounded, checked for NULs, and whatever is echoed back in
 * an error goes through text_sanitize().
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "slot.h"
#include "text.h"

#define CMD_LINE_MAX	1024	/* longer lines are rejected unread */
#define CMD_ECHO_MAX	40	/* bytes of a bad word quoted in an error */

struct cmd_entry {
	const char	*name;
	int		 slot;		/* takes a SLOT */
	int		 reason;	/* takes REASON... (rest of the line, required) */
	const char	*usage;
};

/* Indexed by enum cmd_verb. */
static const struct cmd_entry cmd_table[] = {
	[CMD_UPDATE] =		{ "update", 1, 0, "update SLOT" },
	[CMD_ERASE] =		{ "erase", 1, 0, "erase SLOT" },
	[CMD_CANCEL] =		{ "cancel", 1, 0, "cancel SLOT" },
	[CMD_RECOVERY] =	{ "recovery", 1, 0, "recovery SLOT" },
	[CMD_KICK] =		{ "kick", 1, 0, "kick SLOT" },
	[CMD_DFU] =		{ "dfu", 1, 0, "dfu SLOT" },
	[CMD_FLAG] =		{ "flag", 1, 1, "flag SLOT REASON..." },
	[CMD_UNFLAG] =		{ "unflag", 1, 0, "unflag SLOT" },
	[CMD_IGNORE] =		{ "ignore", 1, 0, "ignore SLOT" },
	[CMD_UNIGNORE] =	{ "unignore", 1, 0, "unignore SLOT" },
	[CMD_QUIT] =		{ "quit", 0, 0, "quit" },
};

_Static_assert(sizeof(cmd_table) / sizeof(cmd_table[0]) == CMD__COUNT,
    "cmd_table must have one entry per enum cmd_verb");

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
command_slot_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* A word of the line, sanitized and shortened for quoting in an error. */
static const char *
cmd_echo(char *buf, size_t size, const char *w, size_t n)
{
	if (n > CMD_ECHO_MAX) {
		text_sanitize(buf, size, w, CMD_ECHO_MAX);
		if (strlen(buf) + 4 < size)
			strcat(buf, "...");
	} else
		text_sanitize(buf, size, w, n);
	return buf;
}

/*
 * Parse one line of the command language. Returns 0 and fills *out, or -1
 * with a one-line error in err. Never reads past len; len may be huge.
 */
int
command_parse(const char *line, size_t len, struct command *out, char *err,
    size_t errlen)
{
	const struct cmd_entry	*e = NULL;
	const char		*w, *slot;
	char			 echo[CMD_ECHO_MAX * 4 + 8];
	size_t			 i = 0, wlen, slen, v;
	struct command		 cmd;

	memset(&cmd, 0, sizeof(cmd));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (line == NULL || out == NULL) {
		text_errf(err, errlen, "empty command");
		return -1;
	}

	/* Length first, so a huge len costs nothing; then the line ending. */
	if (len > CMD_LINE_MAX + 2) {
		text_errf(err, errlen, "command too long");
		return -1;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > CMD_LINE_MAX) {
		text_errf(err, errlen, "command too long");
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		text_errf(err, errlen, "NUL byte in command");
		return -1;
	}

	/* The verb. */
	while (i < len && is_blank(line[i]))
		i++;
	w = line + i;
	while (i < len && !is_blank(line[i]))
		i++;
	wlen = (size_t)(line + i - w);
	if (wlen == 0) {
		text_errf(err, errlen, "empty command");
		return -1;
	}
	for (v = 0; v < CMD__COUNT; v++) {
		if (strlen(cmd_table[v].name) == wlen &&
		    memcmp(cmd_table[v].name, w, wlen) == 0) {
			e = &cmd_table[v];
			break;
		}
	}
	if (e == NULL) {
		text_errf(err, errlen, "unknown command '%s'",
		    cmd_echo(echo, sizeof(echo), w, wlen));
		return -1;
	}
	cmd.verb = (enum cmd_verb)v;

	/* The slot: a label or a port path. */
	while (i < len && is_blank(line[i]))
		i++;
	if (e->slot) {
		slot = line + i;
		while (i < len && !is_blank(line[i]))
			i++;
		slen = (size_t)(line + i - slot);
		if (slen == 0) {
			text_errf(err, errlen, "usage: %s", e->usage);
			return -1;
		}
		for (v = 0; v < slen; v++) {
			if (!command_slot_char(slot[v]))
				break;
		}
		if (v < slen || slen >= CMD_SLOT_MAX) {
			text_errf(err, errlen, "bad slot name '%s'",
			    cmd_echo(echo, sizeof(echo), slot, slen));
			return -1;
		}
		memcpy(cmd.slot, slot, slen);
		cmd.slot[slen] = '\0';
		while (i < len && is_blank(line[i]))
			i++;
	}

	/* The reason: the rest of the line; otherwise nothing may follow. */
	if (e->reason) {
		text_sanitize(cmd.reason, sizeof(cmd.reason), line + i, len - i);
		text_rtrim(cmd.reason);
		if (cmd.reason[0] == '\0') {
			text_errf(err, errlen, "usage: %s", e->usage);
			return -1;
		}
	} else if (i < len) {
		text_errf(err, errlen, "usage: %s", e->usage);
		return -1;
	}

	*out = cmd;
	return 0;
}

/* The verb's word ("update"). */
const char *
command_name(enum cmd_verb v)
{
	if ((unsigned)v >= CMD__COUNT)
		return "";
	return cmd_table[v].name;
}

/* One-line usage of the verb ("flag SLOT REASON..."). */
const char *
command_usage(enum cmd_verb v)
{
	if ((unsigned)v >= CMD__COUNT)
		return "";
	return cmd_table[v].usage;
}

int
command_slot_name_ok(const char *s)
{
	size_t n = strnlen(s, CMD_SLOT_MAX);

	if (n == 0 || n >= CMD_SLOT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!command_slot_char(s[i]))
			return 0;
	return 1;
}

/*
 * The preconditions of each verb, checked in order; the first that fails
 * gives the reason. A check fails when the state lacks a bit of need, has
 * a bit of refuse, or has none of need_any. "%s" in why is the job's
 * state ("queued", "running").
 */
struct cmd_check {
	unsigned	 need, refuse, need_any;
	const char	*why;
};

#define CMD_CHECKS_MAX	5
#define IGNORED_CHECK	{ 0, CMDS_IGNORED, 0, "device is ignored (unignore first)" }

static const struct cmd_check cmd_rules[CMD__COUNT][CMD_CHECKS_MAX] = {
	[CMD_UPDATE] = {
		{ CMDS_PHONE, 0, 0, "no device on this port" },
		IGNORED_CHECK,
		{ 0, CMDS_NOECID, 0, "device not identified yet (no ECID)" },
		{ 0, CMDS_JOB, 0, "a job is already %s" },
		{ 0, CMDS_RESTORE, 0, "device is in restore mode" },
	},
	[CMD_ERASE] = {
		{ CMDS_PHONE, 0, 0, "no device on this port" },
		IGNORED_CHECK,
		{ 0, CMDS_NOECID, 0, "device not identified yet (no ECID)" },
		{ 0, CMDS_JOB, 0, "a job is already %s" },
		{ 0, CMDS_RESTORE, 0, "device is in restore mode" },
	},
	/* an ignored phone's job (or DFU guide) may still be stopped */
	[CMD_CANCEL] = {
		{ 0, 0, CMDS_JOB | CMDS_GUIDE, "no job to cancel" },
	},
	[CMD_RECOVERY] = {
		{ CMDS_PHONE, 0, 0, "recovery needs a device in normal mode" },
		IGNORED_CHECK,
		{ CMDS_NORMAL, 0, 0, "recovery needs a device in normal mode" },
		{ 0, CMDS_JOB, 0, "a job is %s" },
	},
	/*
	 * setenv/saveenv/reboot are iBoot commands: only recovery mode (iBoot)
	 * takes them; a DFU device (SecureROM) takes nothing but an image.
	 */
	[CMD_KICK] = {
		{ CMDS_PHONE, 0, 0, "kick needs a device in recovery mode" },
		IGNORED_CHECK,
		{ CMDS_RECOVERY, 0, 0, "kick needs a device in recovery mode" },
		{ 0, CMDS_JOB, 0, "a job is %s (cancel it first)" },
	},
	[CMD_DFU] = {
		{ CMDS_PHONE, 0, 0, "no device on this port" },
		IGNORED_CHECK,
		{ 0, CMDS_JOB, 0, "a job is %s" },
	},
	[CMD_FLAG] = {
		{ 0, CMDS_NOECID, 0, "no identified device to flag" },
	},
	[CMD_UNFLAG] = {
		{ CMDS_FLAGGED, 0, 0, "not flagged" },
	},
	[CMD_IGNORE] = {
		{ 0, CMDS_NOECID, 0, "no identified device" },
	},
	[CMD_UNIGNORE] = {
		{ 0, CMDS_NOECID, 0, "no identified device" },
	},
	[CMD_QUIT] = { { 0, 0, 0, NULL } },
};

/*
 * The state bits in words, for reading a verb's rules out in the help
 * ("in recovery mode", "not ignored"); in the order they are read.
 */
static const struct {
	unsigned	 bit;
	const char	*has, *lacks;
} cmd_words[] = {
	{ CMDS_PHONE, "phone on the port", "no phone on the port" },
	{ CMDS_NOECID, "no ECID known", "ECID known" },
	{ CMDS_NORMAL, "in normal mode", "not in normal mode" },
	{ CMDS_RECOVERY, "in recovery mode", "not in recovery mode" },
	{ CMDS_DFU, "in DFU mode", "not in DFU mode" },
	{ CMDS_RESTORE, "in restore mode", "not in restore mode" },
	{ CMDS_FLAGGED, "flagged", "not flagged" },
	{ CMDS_IGNORED, "ignored", "not ignored" },
	{ CMDS_JOB, "a job queued or running", "no job queued or running" },
	{ CMDS_GUIDE, "the guided DFU under way", "no guided DFU under way" },
};

/* Append a clause to buf like snprintf, keeping the full length when it does not fit. */
static void
cond_add(char *buf, size_t len, size_t *off, const char *sep, const char *words)
{
	size_t	room = *off < len ? len - *off : 0;
	int	n;

	n = snprintf(room ? buf + *off : NULL, room, "%s%s", *off ? sep : "", words);
	if (n > 0)
		*off += (size_t)n;
}

/*
 * When verb applies, in words read from the same rules command_allowed()
 * applies ("phone on the port, in recovery mode, not ignored, no job queued
 * or running"): clauses joined by ", ", a choice as ", or ". "" for a verb
 * that always applies. Returns the full length, as snprintf.
 */
size_t
command_condition(enum cmd_verb verb, char *buf, size_t len)
{
	const struct cmd_check	*c;
	unsigned		 need = 0, refuse = 0;
	size_t			 off = 0, i, w;

	if (len > 0)
		buf[0] = '\0';
	if ((unsigned)verb >= CMD__COUNT)
		return 0;
	for (i = 0; i < CMD_CHECKS_MAX && cmd_rules[verb][i].why != NULL; i++) {
		need |= cmd_rules[verb][i].need;
		refuse |= cmd_rules[verb][i].refuse;
	}
	for (w = 0; w < sizeof(cmd_words) / sizeof(cmd_words[0]); w++) {
		if (need & cmd_words[w].bit)
			cond_add(buf, len, &off, ", ", cmd_words[w].has);
		else if (refuse & cmd_words[w].bit)
			cond_add(buf, len, &off, ", ", cmd_words[w].lacks);
	}
	/* a check with need_any is one choice among its bits */
	for (i = 0; i < CMD_CHECKS_MAX && (c = &cmd_rules[verb][i])->why != NULL; i++) {
		bool	first = true;

		if (c->need_any == 0)
			continue;
		for (w = 0; w < sizeof(cmd_words) / sizeof(cmd_words[0]); w++)
			if (c->need_any & cmd_words[w].bit) {
				cond_add(buf, len, &off, first ? ", " : ", or ", cmd_words[w].has);
				first = false;
			}
	}
	return off;
}

unsigned
command_slot_state(const struct slot *s)
{
	unsigned	st = 0;

	if (s == NULL)
		return CMDS_NOECID;
	if (s->present)
		st |= CMDS_PHONE;
	if (s->job.state == JOB_QUEUED || s->job.state == JOB_RUNNING)
		st |= CMDS_JOB;
	if (s->mode == MODE_RECOVERY)
		st |= CMDS_RECOVERY;
	else if (s->mode == MODE_NORMAL)
		st |= CMDS_NORMAL;
	else if (s->mode == MODE_DFU)
		st |= CMDS_DFU;
	else if (s->mode == MODE_RESTORE)
		st |= CMDS_RESTORE;
	if (s->flagged)
		st |= CMDS_FLAGGED;
	if (s->ignored)
		st |= CMDS_IGNORED;
	if (s->dev.ecid == 0)
		st |= CMDS_NOECID;
	if (s->dfu != DFU_OFF)
		st |= CMDS_GUIDE;
	return st;
}

/* The check of verb that state fails, NULL if none does. */
static const struct cmd_check *
command_failed_check(enum cmd_verb verb, unsigned state)
{
	const struct cmd_check	*c;
	size_t			 i;

	if ((unsigned)verb >= CMD__COUNT)
		return NULL;
	for (i = 0; i < CMD_CHECKS_MAX; i++) {
		c = &cmd_rules[verb][i];
		if (c->why == NULL)
			break;
		if ((state & c->need) != c->need || (state & c->refuse) != 0 ||
		    (c->need_any != 0 && (state & c->need_any) == 0))
			return c;
	}
	return NULL;
}

int
command_allowed_state(enum cmd_verb verb, unsigned state, char *why, size_t whylen)
{
	const struct cmd_check	*c;

	if ((unsigned)verb >= CMD__COUNT) {
		text_errf(why, whylen, "command not available");
		return 0;
	}
	if ((c = command_failed_check(verb, state)) == NULL)
		return 1;
	/* the only %s is the job's state; a rule with it refuses CMDS_JOB */
	text_errf(why, whylen, c->why, "queued or running");
	return 0;
}

int
command_allowed(enum cmd_verb verb, const struct slot *s, char *why, size_t whylen)
{
	const struct cmd_check	*c;
	char			 reason[96];

	if ((unsigned)verb >= CMD__COUNT) {
		text_errf(why, whylen, "command not available");
		return 0;
	}
	if ((c = command_failed_check(verb, command_slot_state(s))) == NULL)
		return 1;
	text_errf(reason, sizeof(reason), c->why,
	    s != NULL && s->job.state == JOB_QUEUED ? "queued" : "running");
	text_errf(why, whylen, "%s: %s", s != NULL ? s->label : "?", reason);
	return 0;
}
