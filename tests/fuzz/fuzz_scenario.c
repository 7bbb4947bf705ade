/*
 * fuzz_scenario.c: the bench simulator's scenario language, one directive
 * a line, through scenario_parse_line(). A parsed directive must hold what
 * the simulator later indexes arrays with (modes, steps, port depth) in
 * range, and print back through scenario_restore_format().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scenario.h"

static void
check_cmd(const struct sc_cmd *c)
{
	char	buf[128];
	int	bus, ports[SC_MAXDEPTH], depth;

	if ((unsigned)c->kind > SC_SPEED)
		fuzz_fail("kind %d", (int)c->kind);
	FUZZ_TERMINATED("port", c->port);
	FUZZ_TERMINATED("serial", c->serial);
	switch (c->kind) {
	case SC_HUB:
	case SC_PLUG:
	case SC_UNPLUG:
	case SC_FLAKY:
		depth = scenario_port_split(c->port, &bus, ports);
		if (depth < 1 || depth > SC_MAXDEPTH)
			fuzz_fail("accepted port '%s' does not split (%d)", c->port, depth);
		break;
	default:
		break;
	}
	if (c->kind == SC_PLUG) {
		if ((unsigned)c->mode > SC_MODE_PORTDFU)
			fuzz_fail("mode %d", (int)c->mode);
		if (scenario_mode_name(c->mode) == NULL ||
		    scenario_mode_from_name(scenario_mode_name(c->mode)) != (int)c->mode)
			fuzz_fail("mode %d does not round-trip", (int)c->mode);
	}
	if (c->kind == SC_RESTORE) {
		if ((unsigned)c->restore.result > SC_RES_CRASH ||
		    (unsigned)c->restore.how > SC_HOW_STATUS)
			fuzz_fail("restore result %d how %d", (int)c->restore.result,
			    (int)c->restore.how);
		if (c->restore.result != SC_RES_OK &&
		    (c->restore.step < 0 || c->restore.step >= SC_NSTEPS))
			fuzz_fail("restore step %d", c->restore.step);
		scenario_restore_format(&c->restore, buf, sizeof(buf));
		FUZZ_TERMINATED("restore format", buf);
		/* the format of a plan is short: fits a small buffer cut or not */
		scenario_restore_format(&c->restore, buf, 8);
		if (strlen(buf) >= 8)
			fuzz_fail("restore format overran 8 bytes");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_cmd	 cmd;
	char		*line, err[256];
	size_t		 off, end;
	int		 rc, bus, *ports;

	/* exactly SC_MAXDEPTH ints: a split that writes further is caught */
	if ((ports = malloc(SC_MAXDEPTH * sizeof(*ports))) == NULL)
		abort();
	for (off = 0; off <= size; off = end + 1) {
		for (end = off; end < size && data[end] != '\n'; end++)
			;
		line = fuzz_strdup(data + off, end - off);
		memset(&cmd, 0xa5, sizeof(cmd));
		memset(err, 'x', sizeof(err));
		rc = scenario_parse_line(line, &cmd, err, sizeof(err));
		if (rc == 1)
			check_cmd(&cmd);
		else if (rc == -1)
			FUZZ_TERMINATED("err", err);
		else if (rc != 0)
			fuzz_fail("scenario_parse_line returned %d", rc);
		(void)scenario_port_split(line, &bus, ports);
		(void)scenario_step_from_name(line);
		(void)scenario_mode_from_name(line);
		free(line);
	}
	free(ports);
	return 0;
}
