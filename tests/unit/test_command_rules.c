/* test_command_rules.c: what a command may do to a slot (command_allowed), the footer and help agreeing. */
#include "testutil.h"

#include "command.h"
#include "keymap.h"
#include "slot.h"
#include "text.h"

static struct slot
phone(enum dev_mode mode)
{
	struct slot	s;

	memset(&s, 0, sizeof(s));
	text_copy(s.label, "A1", sizeof(s.label));
	text_copy(s.port, "1-1.1", sizeof(s.port));
	s.present = true;
	s.mode = mode;
	s.dev.ecid = 0xa10001;
	s.job.step = STEP_NONE;
	return s;
}

static void
expect_refused(enum cmd_verb v, const struct slot *s, const char *want)
{
	char	why[128];

	memset(why, 'X', sizeof(why));
	if (command_allowed(v, s, why, sizeof(why)))
		fail_msg("%s accepted, want '%s'", command_name(v), want);
	if (strcmp(why, want) != 0)
		fail_msg("%s: got '%s', want '%s'", command_name(v), why, want);
}

static void
expect_allowed(enum cmd_verb v, const struct slot *s)
{
	char	why[128] = "";

	if (!command_allowed(v, s, why, sizeof(why)))
		fail_msg("%s refused: %s", command_name(v), why);
}

/* iBoot commands reach a phone in recovery only: DFU's ROM takes none. */
static void
test_kick(void **state)
{
	struct slot	s;

	(void)state;
	s = phone(MODE_RECOVERY);
	expect_allowed(CMD_KICK, &s);
	s = phone(MODE_DFU);
	expect_refused(CMD_KICK, &s, "A1: kick needs a device in recovery mode");
	s = phone(MODE_NORMAL);
	expect_refused(CMD_KICK, &s, "A1: kick needs a device in recovery mode");
	s = phone(MODE_RECOVERY);
	s.present = false;
	expect_refused(CMD_KICK, &s, "A1: kick needs a device in recovery mode");
	s = phone(MODE_RECOVERY);
	s.job.state = JOB_RUNNING;
	expect_refused(CMD_KICK, &s, "A1: a job is running (cancel it first)");
	s.job.state = JOB_QUEUED;
	expect_refused(CMD_KICK, &s, "A1: a job is queued (cancel it first)");
	s = phone(MODE_RECOVERY);
	s.ignored = true;
	expect_refused(CMD_KICK, &s, "A1: device is ignored (unignore first)");
}

/* A restore: the checks in the order the technician reads their reasons. */
static void
test_restore(void **state)
{
	struct slot	s;

	(void)state;
	s = phone(MODE_RECOVERY);
	expect_allowed(CMD_UPDATE, &s);
	expect_allowed(CMD_ERASE, &s);
	s = phone(MODE_DFU);
	expect_allowed(CMD_ERASE, &s);
	s.present = false;
	s.ignored = true;
	expect_refused(CMD_ERASE, &s, "A1: no device on this port");
	s = phone(MODE_NORMAL);
	s.ignored = true;
	s.dev.ecid = 0;
	expect_refused(CMD_UPDATE, &s, "A1: device is ignored (unignore first)");
	s.ignored = false;
	expect_refused(CMD_UPDATE, &s, "A1: device not identified yet (no ECID)");
	s = phone(MODE_RECOVERY);
	s.job.state = JOB_QUEUED;
	expect_refused(CMD_UPDATE, &s, "A1: a job is already queued");
	s.job.state = JOB_DONE;
	expect_allowed(CMD_UPDATE, &s);
	s = phone(MODE_RESTORE);
	expect_refused(CMD_UPDATE, &s, "A1: device is in restore mode");
}

static void
test_others(void **state)
{
	struct slot	s;

	(void)state;
	s = phone(MODE_RECOVERY);
	expect_refused(CMD_CANCEL, &s, "A1: no job to cancel");
	s.dfu = DFU_WAIT;
	expect_allowed(CMD_CANCEL, &s);
	s = phone(MODE_RECOVERY);
	s.ignored = true;
	s.job.state = JOB_RUNNING;
	expect_allowed(CMD_CANCEL, &s);
	expect_allowed(CMD_UNIGNORE, &s);
	expect_allowed(CMD_FLAG, &s);
	expect_refused(CMD_UNFLAG, &s, "A1: not flagged");
	s = phone(MODE_NORMAL);
	expect_allowed(CMD_RECOVERY, &s);
	expect_allowed(CMD_DFU, &s);
	s = phone(MODE_RECOVERY);
	expect_refused(CMD_RECOVERY, &s, "A1: recovery needs a device in normal mode");
	/* a phone that left: what the history knows of it can still be flagged or ignored */
	s.present = false;
	expect_allowed(CMD_FLAG, &s);
	expect_allowed(CMD_IGNORE, &s);
	expect_refused(CMD_DFU, &s, "A1: no device on this port");
	s.dev.ecid = 0;
	expect_refused(CMD_FLAG, &s, "A1: no identified device to flag");
	expect_refused(CMD_IGNORE, &s, "A1: no identified device");
	expect_allowed(CMD_QUIT, NULL);
	assert_int_equal(command_allowed_state(CMD__COUNT, 0, NULL, 0), 0);
}

static void
test_slot_state(void **state)
{
	struct slot	s;

	(void)state;
	s = phone(MODE_DFU);
	assert_int_equal(command_slot_state(&s), CMDS_PHONE | CMDS_DFU);
	s = phone(MODE_RESTORE);
	s.dev.ecid = 0;
	s.flagged = s.ignored = true;
	s.job.state = JOB_RUNNING;
	s.dfu = DFU_STEPS;
	assert_int_equal(command_slot_state(&s), CMDS_PHONE | CMDS_RESTORE | CMDS_NOECID |
	    CMDS_FLAGGED | CMDS_IGNORED | CMDS_JOB | CMDS_GUIDE);
	assert_int_equal(command_slot_state(NULL) & CMDS_PHONE, 0);
}

/* The footer never offers a key whose command the bench would refuse, in any state. */
static void
test_footer_agrees(void **state)
{
	const struct keymap_entry	*t;
	char				 line[512], word[32];
	size_t				 n, i;
	unsigned			 st;
	enum cmd_verb			 v;

	(void)state;
	t = keymap_table(&n);
	for (st = 0; st < (1u << 11); st++) {
		keymap_footer(line, sizeof(line), st, sizeof(line));
		for (i = 0; i < n; i++) {
			if (t[i].ctx != KM_GRID || t[i].label == NULL)
				continue;
			if (t[i].action != KM_COMMAND && t[i].action != KM_FLAG_MENU &&
			    t[i].action != KM_DFU_START && t[i].action != KM_IGNORE_TOGGLE)
				continue;
			v = t[i].action == KM_IGNORE_TOGGLE ?
			    ((st & CMDS_IGNORED) ? CMD_UNIGNORE : CMD_IGNORE) : t[i].verb;
			snprintf(word, sizeof(word), "%s %s", t[i].name,
			    v == CMD_UNIGNORE ? "unignore" : t[i].label);
			if (strstr(line, word) != NULL && !command_allowed_state(v, st, NULL, 0))
				fail_msg("state %#x: footer offers '%s', the rule refuses it", st, word);
		}
	}
	/* and the case that disagreed: kick is offered in recovery only */
	keymap_footer(line, sizeof(line), CMDS_PHONE | CMDS_RECOVERY, sizeof(line));
	assert_non_null(strstr(line, "k kick"));
	keymap_footer(line, sizeof(line), CMDS_PHONE | CMDS_DFU, sizeof(line));
	assert_null(strstr(line, "k kick"));
}

/* The help's words for the state bits, read back independently of command.c's table. */
static const struct {
	const char	*words;
	unsigned	 bit;
	bool		 has;
} help_words[] = {
	{ "phone on the port", CMDS_PHONE, true }, { "no phone on the port", CMDS_PHONE, false },
	{ "no ECID known", CMDS_NOECID, true }, { "ECID known", CMDS_NOECID, false },
	{ "in normal mode", CMDS_NORMAL, true }, { "not in normal mode", CMDS_NORMAL, false },
	{ "in recovery mode", CMDS_RECOVERY, true }, { "not in recovery mode", CMDS_RECOVERY, false },
	{ "in DFU mode", CMDS_DFU, true }, { "not in DFU mode", CMDS_DFU, false },
	{ "in restore mode", CMDS_RESTORE, true }, { "not in restore mode", CMDS_RESTORE, false },
	{ "flagged", CMDS_FLAGGED, true }, { "not flagged", CMDS_FLAGGED, false },
	{ "ignored", CMDS_IGNORED, true }, { "not ignored", CMDS_IGNORED, false },
	{ "a job queued or running", CMDS_JOB, true }, { "no job queued or running", CMDS_JOB, false },
	{ "the guided DFU under way", CMDS_GUIDE, true }, { "no guided DFU under way", CMDS_GUIDE, false },
};

/* A condition as the help states it: every clause holds; a clause may be a choice ("x, or y"). */
struct help_cond {
	unsigned	 need, refuse;
	unsigned	 any[4];	/* each: at least one of these bits */
	size_t		 nany;
};

static void
parse_condition(const char *text, struct help_cond *hc, const char *key)
{
	char		 buf[512], *item, *save;
	size_t		 w;
	bool		 or;

	memset(hc, 0, sizeof(*hc));
	snprintf(buf, sizeof(buf), "%s", text);
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if ((or = strncmp(item, "or ", 3) == 0))
			item += 3;
		for (w = 0; w < sizeof(help_words) / sizeof(help_words[0]); w++)
			if (strcmp(item, help_words[w].words) == 0)
				break;
		if (w == sizeof(help_words) / sizeof(help_words[0]))
			fail_msg("key %s: the help says '%s', which names no state", key, item);
		if (or) {
			/* the clause before it becomes a choice with it */
			if (hc->nany == 0 || !help_words[w].has)
				fail_msg("key %s: a choice the test cannot read: '%s'", key, text);
			hc->any[hc->nany - 1] |= help_words[w].bit;
			continue;
		}
		if (!help_words[w].has)
			hc->refuse |= help_words[w].bit;
		else if (hc->nany < 4)
			hc->any[hc->nany++] = help_words[w].bit;
	}
	/* a lone positive clause is a plain need */
	for (w = 0; w < hc->nany; w++)
		if ((hc->any[w] & (hc->any[w] - 1)) == 0) {
			hc->need |= hc->any[w];
			hc->any[w--] = hc->any[--hc->nany];
		}
}

static bool
help_cond_holds(const struct help_cond *hc, unsigned st)
{
	if ((st & hc->need) != hc->need || (st & hc->refuse) != 0)
		return false;
	for (size_t i = 0; i < hc->nany; i++)
		if ((st & hc->any[i]) == 0)
			return false;
	return true;
}

/*
 * The condition the help gives under a key, "" if none: the "when:" line
 * after the key's own line in its context's section, with its wrapped rest.
 */
static void
help_condition_of(const char *help, const struct keymap_entry *e, char *out, size_t outlen)
{
	const char	*sect, *line, *nl;
	char		 keys[32], *tok, *save;
	bool		 mine = false;

	out[0] = '\0';
	sect = strstr(help, keymap_context_name(e->ctx));
	assert_non_null(sect);
	for (line = strchr(sect, '\n') + 1; *line != '\0' && *line != '\n'; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		if (strncmp(line, "  ", 2) == 0 && line[2] != ' ') {
			if (mine)
				return;
			snprintf(keys, sizeof(keys), "%.19s", line + 2);
			for (tok = strtok_r(keys, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
				if (strcmp(tok, e->name) == 0)
					mine = true;
		} else if (mine) {
			const char *p = line;

			while (*p == ' ')
				p++;
			if (strncmp(p, "when: ", 6) == 0)
				p += 6;
			if (out[0] != '\0')
				strncat(out, " ", outlen - strlen(out) - 1);
			strncat(out, p, (size_t)(nl - p) < outlen - strlen(out) - 1 ?
			    (size_t)(nl - p) : outlen - strlen(out) - 1);
		}
	}
	assert_true(mine);
}

/*
 * The help says under each key when the bench takes its command, and what it
 * says is exactly what command_allowed_state() allows, in every state.
 */
static void
test_help_conditions(void **state)
{
	const struct keymap_entry	*t;
	struct help_cond		 hc;
	char				 help[16384], cond[512];
	size_t				 n, i;
	unsigned			 st;
	enum cmd_verb			 v;
	bool				 sends;
	int				 checked = 0;

	(void)state;
	assert_true(keymap_help(help, sizeof(help)) < sizeof(help));
	t = keymap_table(&n);
	for (i = 0; i < n; i++) {
		sends = t[i].action == KM_COMMAND || t[i].action == KM_FLAG_MENU ||
		    t[i].action == KM_DFU_START || t[i].action == KM_IGNORE_TOGGLE;
		help_condition_of(help, &t[i], cond, sizeof(cond));
		if (!sends) {
			if (cond[0] != '\0')
				fail_msg("key %s sends no command, yet the help gives a condition: %s",
				    t[i].name, cond);
			continue;
		}
		parse_condition(cond, &hc, t[i].name);
		for (st = 0; st < (1u << 11); st++) {
			v = t[i].action == KM_IGNORE_TOGGLE ?
			    ((st & CMDS_IGNORED) ? CMD_UNIGNORE : CMD_IGNORE) : t[i].verb;
			if (help_cond_holds(&hc, st) != (command_allowed_state(v, st, NULL, 0) != 0))
				fail_msg("key %s, state %#x: the help says '%s', the rule %s %s", t[i].name,
				    st, cond, command_allowed_state(v, st, NULL, 0) ? "allows" : "refuses",
				    command_name(v));
		}
		checked++;
	}
	assert_int_equal(checked, 10);	/* u e c r k d f F i, and d on the DFU screen */
	/* what the technician asked about, in the help's words */
	help_condition_of(help, keymap_find(KM_GRID, 'k'), cond, sizeof(cond));
	assert_non_null(strstr(cond, "in recovery mode"));
	assert_non_null(strstr(cond, "no job queued or running"));
	help_condition_of(help, keymap_find(KM_GRID, 'f'), cond, sizeof(cond));
	assert_string_equal(cond, "ECID known");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_slot_state),
		cmocka_unit_test(test_footer_agrees),
		cmocka_unit_test(test_help_conditions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
