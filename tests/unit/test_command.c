/* test_command.c: the command language, well-formed and hostile. */
#include "testutil.h"

#include "command.h"

static char		 err[256];
static struct command	 cmd;

/* Parse a C string (its exact length, from a heap copy: no NUL to lean on). */
static int
parse(const char *s)
{
	size_t	 len = strlen(s);
	char	*copy = malloc(len ? len : 1);
	int	 r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	memset(err, 'E', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	r = command_parse(copy, len, &cmd, err, sizeof(err));
	free(copy);
	if (r == 0)
		assert_string_equal(err, "");
	else {
		assert_int_equal(r, -1);
		assert_true(err[0] != '\0');
		assert_null(strchr(err, '\n'));
	}
	return r;
}

static void
expect_error(const char *line, const char *want)
{
	if (parse(line) != -1)
		fail_msg("accepted '%s'", line);
	if (strcmp(err, want) != 0)
		fail_msg("'%s': got error '%s', want '%s'", line, err, want);
}

static void
test_every_verb(void **state)
{
	char	line[128];
	int	v;

	(void)state;
	for (v = 0; v < CMD__COUNT; v++) {
		const char *name = command_name((enum cmd_verb)v);
		const char *usage = command_usage((enum cmd_verb)v);

		assert_true(name[0] != '\0');
		/* the usage line starts with the verb's own word */
		assert_int_equal(strncmp(usage, name, strlen(name)), 0);
		assert_true(usage[strlen(name)] == '\0' || usage[strlen(name)] == ' ');
		if (strstr(usage, "REASON") != NULL)
			snprintf(line, sizeof(line), "%s A1 bad cable", name);
		else if (strstr(usage, "SLOT") != NULL)
			snprintf(line, sizeof(line), "%s A1", name);
		else
			snprintf(line, sizeof(line), "%s", name);
		if (parse(line) != 0)
			fail_msg("'%s': %s", line, err);
		assert_int_equal(cmd.verb, v);
		assert_string_equal(cmd.slot, strstr(usage, "SLOT") ? "A1" : "");
		assert_string_equal(cmd.reason, strstr(usage, "REASON") ? "bad cable" : "");
	}
	assert_string_equal(command_name(CMD_UPDATE), "update");
	assert_string_equal(command_name(CMD_UNIGNORE), "unignore");
	assert_string_equal(command_name(CMD_QUIT), "quit");
	assert_string_equal(command_usage(CMD_FLAG), "flag SLOT REASON...");
	assert_string_equal(command_usage(CMD_ERASE), "erase SLOT");
	assert_string_equal(command_name(CMD__COUNT), "");
	assert_string_equal(command_usage((enum cmd_verb)-1), "");
}

static void
test_slots_and_spacing(void **state)
{
	(void)state;
	assert_int_equal(parse("update 1-2.3"), 0);
	assert_int_equal(cmd.verb, CMD_UPDATE);
	assert_string_equal(cmd.slot, "1-2.3");
	assert_int_equal(parse("  erase\t\tB_2.x-y  \r\n"), 0);
	assert_int_equal(cmd.verb, CMD_ERASE);
	assert_string_equal(cmd.slot, "B_2.x-y");
	assert_int_equal(parse("quit\n"), 0);
	assert_int_equal(cmd.verb, CMD_QUIT);
	assert_int_equal(parse("\tquit \r"), 0);
	/* 31 characters is the longest slot name */
	assert_int_equal(parse("kick 1234567890123456789012345678901"), 0);
	assert_int_equal(strlen(cmd.slot), 31);
	expect_error("kick 12345678901234567890123456789012",
	    "bad slot name '12345678901234567890123456789012'");
	expect_error("update A1;rm", "bad slot name 'A1;rm'");
	expect_error("update A/1", "bad slot name 'A/1'");
	expect_error("update caf\xc3\xa9", "bad slot name 'caf\xc3\xa9'");
	expect_error("update A1\x1b[2J", "bad slot name 'A1?[2J'");
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("foo A1", "unknown command 'foo'");
	expect_error("UPDATE A1", "unknown command 'UPDATE'");
	expect_error("Quit", "unknown command 'Quit'");
	expect_error("updates A1", "unknown command 'updates'");
	expect_error("upd A1", "unknown command 'upd'");
	expect_error("update", "usage: update SLOT");
	expect_error("update   \r\n", "usage: update SLOT");
	expect_error("update A1 A2", "usage: update SLOT");
	expect_error("cancel A1 now", "usage: cancel SLOT");
	expect_error("quit now", "usage: quit");
	expect_error("flag A1", "usage: flag SLOT REASON...");
	expect_error("flag A1 \t  \r\n", "usage: flag SLOT REASON...");
	expect_error("flag", "usage: flag SLOT REASON...");
	expect_error("", "empty command");
	expect_error("   \t", "empty command");
	expect_error("\r\n", "empty command");
	/* what is echoed back is defused and short */
	expect_error("\x1b]0;owned\x07 A1", "unknown command '?]0;owned?'");
	expect_error("\x9b" "31m A1", "unknown command '?31m'");
	parse("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_true(strlen(err) < 80);
	assert_non_null(strstr(err, "..."));
}

static void
test_reason(void **state)
{
	char	line[600];

	(void)state;
	assert_int_equal(parse("flag A1 CPU reball, lost at 37% x3  \r\n"), 0);
	assert_int_equal(cmd.verb, CMD_FLAG);
	assert_string_equal(cmd.slot, "A1");
	assert_string_equal(cmd.reason, "CPU reball, lost at 37% x3");
	assert_int_equal(parse("flag\tA1\t\tFace ID\tflex"), 0);
	assert_string_equal(cmd.reason, "Face ID flex");
	assert_int_equal(parse("flag A1 \x1b[2Jred\x07 caf\xc3\xa9"), 0);
	assert_string_equal(cmd.reason, "?[2Jred? caf\xc3\xa9");
	/* long reasons are cut to CMD_REASON_MAX-1, never inside a character */
	snprintf(line, sizeof(line), "flag A1 %0300d", 7);
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(cmd.reason), CMD_REASON_MAX - 1);
	memset(line, 0, sizeof(line));
	strcpy(line, "flag A1 x");
	while (strlen(line) < 400)
		strcat(line, "\xe2\x82\xac");
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(cmd.reason), 1 + 3 * ((CMD_REASON_MAX - 2) / 3));
	assert_int_equal((unsigned char)cmd.reason[strlen(cmd.reason) - 1], 0xac);
}

static void
test_bounds(void **state)
{
	const char	 nul[] = "update A1\0quit";
	char		*big;
	size_t		 n = 1 << 20;

	(void)state;
	/* NUL bytes inside the line */
	assert_int_equal(command_parse(nul, sizeof(nul) - 1, &cmd, err, sizeof(err)), -1);
	assert_string_equal(err, "NUL byte in command");
	assert_int_equal(command_parse("\0", 1, &cmd, err, sizeof(err)), -1);
	/* len shorter than the text: only len counts */
	assert_int_equal(command_parse("update A1 A2", 9, &cmd, err, sizeof(err)), 0);
	assert_string_equal(cmd.slot, "A1");
	assert_int_equal(command_parse("quit", 0, &cmd, err, sizeof(err)), -1);
	/* an overlong line is refused without being read */
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "update A1", 9);
	assert_int_equal(command_parse(big, n, &cmd, err, sizeof(err)), -1);
	assert_string_equal(err, "command too long");
	assert_int_equal(command_parse(big, 1025, &cmd, err, sizeof(err)), -1);
	/* just under the limit, trailing blanks and all, is fine */
	assert_int_equal(command_parse(big, 1024, &cmd, err, sizeof(err)), 0);
	free(big);
	assert_int_equal(command_parse("quit", (size_t)-1, &cmd, err, sizeof(err)), -1);
	/* no err buffer, a tiny one, NULL line or out */
	assert_int_equal(command_parse("foo", 3, &cmd, NULL, 0), -1);
	assert_int_equal(command_parse("foo", 3, &cmd, err, 5), -1);
	assert_string_equal(err, "unkn");
	assert_int_equal(command_parse(NULL, 3, &cmd, err, sizeof(err)), -1);
	assert_int_equal(command_parse("quit", 4, NULL, err, sizeof(err)), -1);
}

/* Random lines built from the language's own pieces and from noise. */
static void
test_fuzz(void **state)
{
	static const char *const words[] = {
		"update", "erase", "flag", "quit", "A1", "1-2.3", " ", "\t", "\r", "\n",
		"\x1b", "\xc3\xa9", "\xff", "reason", "x", "", "unflag", "..",
	};
	char		line[256];
	size_t		len, i, k;
	unsigned	seed = 99;
	int		iter, ok = 0;

	(void)state;
	for (iter = 0; iter < 50000; iter++) {
		len = 0;
		k = (size_t)rand_r(&seed) % 6;
		for (i = 0; i < k; i++) {
			const char *w = words[rand_r(&seed) % (sizeof(words) / sizeof(words[0]))];
			if (len + strlen(w) + 2 >= sizeof(line))
				break;
			memcpy(line + len, w, strlen(w));
			len += strlen(w);
			if (rand_r(&seed) % 2)
				line[len++] = ' ';
		}
		if (rand_r(&seed) % 8 == 0 && len > 0)
			line[rand_r(&seed) % len] = (char)(rand_r(&seed) & 0xff);
		if (command_parse(line, len, &cmd, err, sizeof(err)) == 0) {
			ok++;
			assert_true((unsigned)cmd.verb < CMD__COUNT);
			for (i = 0; cmd.slot[i] != '\0'; i++)
				assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789._-", cmd.slot[i]));
			for (i = 0; cmd.reason[i] != '\0'; i++)
				assert_true((unsigned char)cmd.reason[i] >= 0x20 &&
				    cmd.reason[i] != 0x7f);
		} else {
			for (i = 0; err[i] != '\0'; i++)
				assert_true((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
		}
	}
	assert_true(ok > 100);	/* the generator does reach valid commands */
}

/* man/idevicebench.1's COMMAND LANGUAGE has an item for every verb, and only those */
static void
test_manpage_lists_every_command(void **state)
{
	char	 line[512], word[64];
	int	 seen[CMD__COUNT] = { 0 }, in = 0, v, found;
	FILE	*f;

	(void)state;
	f = fopen(test_path("man/idevicebench.1"), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, ".Sh ", 4) == 0) {
			in = strncmp(line + 4, "COMMAND LANGUAGE", 16) == 0;
			continue;
		}
		if (!in || sscanf(line, ".It Cm %63s", word) != 1)
			continue;
		found = 0;
		for (v = 0; v < CMD__COUNT; v++)
			if (strcmp(word, command_name((enum cmd_verb)v)) == 0) {
				seen[v]++;
				found = 1;
			}
		if (!found)
			fail_msg("the man page lists '%s', which is no command", word);
	}
	fclose(f);
	for (v = 0; v < CMD__COUNT; v++)
		if (seen[v] != 1)
			fail_msg("the man page lists '%s' %d times", command_name((enum cmd_verb)v), seen[v]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verb),
		cmocka_unit_test(test_slots_and_spacing),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_manpage_lists_every_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
