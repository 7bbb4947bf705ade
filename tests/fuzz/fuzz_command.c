/*
 * fuzz_command.c: the command language, one line from --json stdin or the
 * console prompt. The slot and reason it fills reach the screen and the
 * history, so they must be clean text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 errcaps[] = { 1, 9, 200 };
	struct command		 cmd, again;
	char			*err;
	size_t			 i;
	int			 rc, rc2;

	for (i = 0; i < sizeof(errcaps) / sizeof(errcaps[0]); i++) {
		if ((err = malloc(errcaps[i])) == NULL)
			abort();
		memset(err, 'x', errcaps[i]);
		memset(&cmd, 0xa5, sizeof(cmd));
		rc = command_parse((const char *)data, size, &cmd, err, errcaps[i]);
		if (rc == 0) {
			if ((unsigned)cmd.verb >= CMD__COUNT)
				fuzz_fail("command_parse: verb %d", (int)cmd.verb);
			FUZZ_CLEAN("slot", cmd.slot);
			FUZZ_CLEAN("reason", cmd.reason);
			if (command_name(cmd.verb) == NULL || command_usage(cmd.verb) == NULL)
				fuzz_fail("command_parse: verb %d has no name", (int)cmd.verb);
		} else if (rc == -1) {
			fuzz_check_clean("err", err, errcaps[i]);
		} else
			fuzz_fail("command_parse returned %d", rc);
		/* the answer may not depend on how much room the error has */
		memset(&again, 0xa5, sizeof(again));
		rc2 = command_parse((const char *)data, size, &again, NULL, 0);
		if (rc2 != rc || (rc == 0 && (again.verb != cmd.verb ||
		    strcmp(again.slot, cmd.slot) != 0 || strcmp(again.reason, cmd.reason) != 0)))
			fuzz_fail("command_parse: result depends on errlen");
		free(err);
	}
	return 0;
}
