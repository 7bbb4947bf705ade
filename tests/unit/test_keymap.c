/* test_keymap.c: the key table is consistent; help and man page list every key and its condition. */
#include <ctype.h>
#include "testutil.h"
#include "keymap.h"

/* True when word occurs in text delimited by blanks, line ends or the ends. */
static int
has_word(const char *text, const char *word)
{
	size_t wl = strlen(word);
	const char *p;

	for (p = text; (p = strstr(p, word)) != NULL; p++) {
		if ((p == text || isspace((unsigned char)p[-1])) &&
		    (p[wl] == '\0' || isspace((unsigned char)p[wl])))
			return 1;
	}
	return 0;
}

static void
test_table(void **state)
{
	const struct keymap_entry *t;
	size_t n, i, j;

	(void)state;
	t = keymap_table(&n);
	assert_true(n > 20);
	for (i = 0; i < n; i++) {
		assert_true(t[i].ctx < KM__COUNT);
		assert_non_null(t[i].name);
		assert_true(strlen(t[i].name) > 0);
		assert_non_null(t[i].help);
		assert_true(t[i].action != KM_NONE);
		if (t[i].action == KM_COMMAND)
			assert_true(t[i].verb < CMD__COUNT);
		/* one key, one meaning per screen */
		for (j = i + 1; j < n; j++)
			if (t[i].ctx == t[j].ctx)
				assert_true(t[i].key != t[j].key);
		assert_ptr_equal(keymap_find(t[i].ctx, t[i].key), &t[i]);
	}
	assert_null(keymap_find(KM_GRID, 'Z'));
	assert_null(keymap_find(KM_PAGER, 'u'));
}

/* Every verb of the command language that a technician acts with has a key. */
static void
test_verbs(void **state)
{
	static const enum cmd_verb want[] = { CMD_UPDATE, CMD_ERASE, CMD_CANCEL,
	    CMD_RECOVERY, CMD_KICK, CMD_DFU, CMD_FLAG, CMD_UNFLAG, CMD_IGNORE, CMD_QUIT };
	const struct keymap_entry *t;
	size_t n, i, k;
	int found;

	(void)state;
	t = keymap_table(&n);
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		found = 0;
		for (i = 0; i < n; i++)
			if (t[i].ctx == KM_GRID && t[i].verb == want[k] &&
			    (t[i].action == KM_COMMAND || t[i].action == KM_DFU_START ||
			    t[i].action == KM_FLAG_MENU || t[i].action == KM_IGNORE_TOGGLE ||
			    t[i].action == KM_QUIT))
				found = 1;
		assert_true(found);
	}
	assert_int_equal(keymap_find(KM_GRID, 'u')->verb, CMD_UPDATE);
	assert_int_equal(keymap_find(KM_GRID, 'e')->verb, CMD_ERASE);
	assert_true(keymap_find(KM_GRID, 'e')->marked);
	assert_int_equal(keymap_find(KM_GRID, 'k')->verb, CMD_KICK);
	assert_int_equal(keymap_find(KM_GRID, 'l')->action, KM_LOG);
	assert_int_equal(keymap_find(KM_GRID, 'q')->action, KM_QUIT);
	assert_int_equal(keymap_find(KM_PAGER, 'q')->action, KM_BACK);
}

static void
test_help(void **state)
{
	const struct keymap_entry *t;
	size_t n, i, len, len2;
	char *buf, small[16], *sect, *end, one[4096];
	int c;

	(void)state;
	len = keymap_help(NULL, 0);
	assert_true(len > 200);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(keymap_help(buf, len + 1), len);
	assert_int_equal(strlen(buf), len);
	t = keymap_table(&n);
	for (i = 0; i < n; i++) {
		/* the key is listed in its own context's section, with its help */
		sect = strstr(buf, keymap_context_name(t[i].ctx));
		assert_non_null(sect);
		end = strstr(sect, "\n\n");
		snprintf(one, sizeof(one), "%.*s", end ? (int)(end - sect) : (int)strlen(sect), sect);
		if (!has_word(one, t[i].name))
			fail_msg("help does not list key %s", t[i].name);
		assert_non_null(strstr(one, t[i].help));
	}
	for (c = 0; c < KM__COUNT; c++)
		assert_non_null(strstr(buf, keymap_context_name((enum km_context)c)));
	/* every line fits 80 columns */
	for (sect = strtok(buf, "\n"); sect != NULL; sect = strtok(NULL, "\n"))
		assert_true(strlen(sect) <= 78);
	/* truncation: NUL-terminated, full length still reported */
	len2 = keymap_help(small, sizeof(small));
	assert_int_equal(len2, len);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	free(buf);
}

/* The footer line for a slot in state st, width columns. */
static const char *
footer(unsigned st, size_t width)
{
	static char buf[256];
	size_t n;

	n = keymap_footer(buf, sizeof(buf), st, width);
	assert_int_equal(n, strlen(buf));
	return buf;
}

static void
test_footer(void **state)
{
	const struct keymap_entry *t;
	const unsigned rec_idle = KMW_PHONE | KMW_RECOVERY | KMW_LOG;
	static char all[65536];
	size_t n, i;
	unsigned st;

	(void)state;
	/* an empty port: nothing to do to a phone */
	assert_string_equal(footer(0, 79), "Enter details  ? help  q quit");
	/* a recovery phone, idle: at 80 columns the least needed hint gives way */
	assert_string_equal(footer(rec_idle, 79),
	    "u update  e erase  k kick  d DFU  f flag  l log  Enter details  ? help  q quit");
	assert_non_null(strstr(footer(rec_idle, 200), "i ignore"));
	/* running: cancel, not restore or kick */
	assert_non_null(strstr(footer(rec_idle | KMW_JOB, 79), "c cancel"));
	assert_null(strstr(footer(rec_idle | KMW_JOB, 79), "u update"));
	assert_null(strstr(footer(rec_idle | KMW_JOB, 79), "k kick"));
	assert_null(strstr(footer(rec_idle, 200), "c cancel"));
	/* normal mode: recovery instead of kick */
	assert_non_null(strstr(footer(KMW_PHONE | KMW_NORMAL, 79), "r recovery"));
	assert_null(strstr(footer(KMW_PHONE | KMW_NORMAL, 79), "k kick"));
	assert_null(strstr(footer(rec_idle, 200), "r recovery"));
	/* already in DFU: no guide, but restores */
	assert_null(strstr(footer(KMW_PHONE | KMW_DFU, 200), "d DFU"));
	assert_non_null(strstr(footer(KMW_PHONE | KMW_DFU, 200), "e erase"));
	/* flagged and ignored */
	assert_non_null(strstr(footer(rec_idle | KMW_FLAGGED, 200), "F unflag"));
	assert_null(strstr(footer(rec_idle | KMW_FLAGGED, 200), "f flag"));
	assert_non_null(strstr(footer(rec_idle | KMW_IGNORED, 200), "i unignore"));
	assert_null(strstr(footer(rec_idle | KMW_IGNORED, 200), "u update"));
	/* no log yet: no l */
	assert_null(strstr(footer(KMW_PHONE | KMW_RECOVERY, 200), "l log"));
	/* however narrow, help and quit stay */
	assert_string_equal(footer(rec_idle, 10), "? help  q quit");

	/* every state fits 80 columns, ends with help and quit; every hint shows in some state */
	for (st = 0; st < 256; st++) {
		const char *f = footer(st, 79);

		assert_true(strlen(f) <= 79);
		assert_non_null(strstr(f, "? help  q quit"));
		assert_true(strlen(all) + strlen(footer(st, 1000)) + 3 < sizeof(all));
		strcat(all, footer(st, 1000));
		strcat(all, "  ");
	}
	t = keymap_table(&n);
	for (i = 0; i < n; i++)
		if (t[i].label != NULL) {
			assert_int_equal(t[i].ctx, KM_GRID);
			assert_true(has_word(all, t[i].label));
			assert_true(has_word(all, t[i].name));
		}
}

static void
test_manpage(void **state)
{
	const struct keymap_entry *t;
	char line[512], *tok, *save;
	char keys[KM__COUNT][64][16];
	size_t nkeys[KM__COUNT] = { 0 };
	size_t n, i, k;
	int in_keys = 0, ctx = -1, c, found, prev_cm;
	FILE *f;

	(void)state;
	f = fopen(test_path("man/idevicebench.1"), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".Sh ", 4) == 0) {
			in_keys = strcmp(line + 4, "KEYS") == 0;
			ctx = -1;
			continue;
		}
		if (!in_keys)
			continue;
		if (strncmp(line, ".Ss ", 4) == 0) {
			ctx = -1;
			for (c = 0; c < KM__COUNT; c++)
				if (strcmp(line + 4, keymap_context_name((enum km_context)c)) == 0)
					ctx = c;
			if (ctx < 0)
				fail_msg("man page KEYS has an unknown subsection: %s", line);
			continue;
		}
		if (strncmp(line, ".It ", 4) != 0 || ctx < 0)
			continue;
		prev_cm = 0;
		for (tok = strtok_r(line + 4, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			if (strcmp(tok, "Cm") == 0) {
				prev_cm = 1;
				continue;
			}
			if (prev_cm && nkeys[ctx] < 64) {
				/* mdoc escapes: "\e" for a backslash, "\&" guards */
				if (strncmp(tok, "\\&", 2) == 0)
					tok += 2;
				snprintf(keys[ctx][nkeys[ctx]++], 16, "%s", tok);
			}
			prev_cm = 0;
		}
	}
	fclose(f);
	t = keymap_table(&n);
	for (i = 0; i < n; i++) {
		found = 0;
		for (k = 0; k < nkeys[t[i].ctx]; k++)
			if (strcmp(keys[t[i].ctx][k], t[i].name) == 0)
				found = 1;
		if (!found)
			fail_msg("man page does not list key %s under %s", t[i].name,
			    keymap_context_name(t[i].ctx));
	}
	for (c = 0; c < KM__COUNT; c++)
		for (k = 0; k < nkeys[c]; k++) {
			found = 0;
			for (i = 0; i < n; i++)
				if ((int)t[i].ctx == c && strcmp(keys[c][k], t[i].name) == 0)
					found = 1;
			if (!found)
				fail_msg("man page lists key %s under %s, the table does not",
				    keys[c][k], keymap_context_name((enum km_context)c));
		}
}

/* The man page's entry for a key: from its .It line to the next .It or .El, lines joined. */
static void
man_entry(const char *man, const struct keymap_entry *e, char *out, size_t outlen)
{
	const char	*sect, *p, *end, *nl;
	char		 it[128], sub[64], want[24];
	size_t		 n = 0;

	out[0] = '\0';
	assert_non_null(sect = strstr(man, "\n.Sh KEYS\n"));
	snprintf(sub, sizeof(sub), "\n.Ss %s\n", keymap_context_name(e->ctx));
	assert_non_null(sect = strstr(sect, sub));
	snprintf(want, sizeof(want), "Cm %s", e->name);
	/* the subsection ends at the next one, or at the next section */
	if ((end = strstr(sect + 1, "\n.S")) == NULL)
		end = man + strlen(man);
	nl = NULL;
	for (p = strstr(sect + 1, "\n.It "); p != NULL && p < end; p = strstr(p + 1, "\n.It ")) {
		if ((nl = strchr(p + 1, '\n')) == NULL)
			break;
		snprintf(it, sizeof(it), "%.*s ", (int)(nl - p - 1), p + 1);
		/* "Cm k" as a whole word: not "Cm k" inside "Cm kick" */
		for (const char *q = it; (q = strstr(q, want)) != NULL; q++)
			if (q[strlen(want)] == ' ')
				goto found;
		nl = NULL;
	}
	fail_msg("man page: no entry for key %s under %s", e->name, keymap_context_name(e->ctx));
	return;
found:
	for (p = nl + 1; *p != '\0' && strncmp(p, ".It ", 4) != 0 && strncmp(p, ".El", 3) != 0;
	    p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if (n + (size_t)(nl - p) + 2 < outlen) {
			memcpy(out + n, p, (size_t)(nl - p));
			n += (size_t)(nl - p);
			out[n++] = ' ';
			out[n] = '\0';
		}
	}
}

/* The man page says under every key that sends a command when the bench takes it, as the help does. */
static void
test_manpage_conditions(void **state)
{
	const struct keymap_entry	*t;
	char				*man, entry[2048], cond[256], want[300];
	size_t				 n, i, len;
	FILE				*f;

	(void)state;
	f = fopen(test_path("man/idevicebench.1"), "r");
	assert_non_null(f);
	man = calloc(1, 1 << 20);
	assert_non_null(man);
	len = fread(man, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(len > 0);
	t = keymap_table(&n);
	for (i = 0; i < n; i++) {
		if (t[i].action != KM_COMMAND && t[i].action != KM_FLAG_MENU &&
		    t[i].action != KM_DFU_START && t[i].action != KM_IGNORE_TOGGLE)
			continue;
		if (command_condition(t[i].verb, cond, sizeof(cond)) == 0)
			continue;
		man_entry(man, &t[i], entry, sizeof(entry));
		snprintf(want, sizeof(want), "When: %s", cond);
		if (strstr(entry, want) == NULL)
			fail_msg("man page, key %s: want '%s' in: %s", t[i].name, want, entry);
	}
	free(man);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_footer),
		cmocka_unit_test(test_manpage),
		cmocka_unit_test(test_manpage_conditions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
