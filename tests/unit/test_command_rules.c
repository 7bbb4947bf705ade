/* test_command_rules.c: what a command may do to a slot (command_allowed), and the footer agreeing. */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_others),
		cmocka_unit_test(test_slot_state),
		cmocka_unit_test(test_footer_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
