/* scenario.h: the bench simulator's scenario language (one directive a line). */
#ifndef BENCHSIM_SCENARIO_H
#define BENCHSIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define SC_PORTLEN	32
#define SC_SERIALLEN	256
#define SC_MAXDEPTH	7

enum sc_kind {
	SC_HUB,
	SC_PLUG,
	SC_UNPLUG,
	SC_RESTORE,
	SC_FLAKY,
	SC_DIALECT,
	SC_SPEED
};

enum sc_mode {
	SC_MODE_RECOVERY,
	SC_MODE_DFU,
	SC_MODE_NORMAL,
	SC_MODE_RESTORE,
	SC_MODE_WTF,
	SC_MODE_PORTDFU
};

enum sc_result {
	SC_RES_OK,
	SC_RES_FAIL,
	SC_RES_HANG,
	SC_RES_CRASH
};

enum sc_how {
	SC_HOW_NONE,
	SC_HOW_DISCONNECT,
	SC_HOW_TSS,
	SC_HOW_STATUS
};

/* Restore steps, numbered as idevicerestore's `progress: N` lines. */
#define SC_NSTEPS	8

struct sc_restore {
	enum sc_result	 result;
	double		 secs;		/* total duration of a successful run */
	int		 step;
	double		 pct;
	enum sc_how	 how;
	int		 status;
	int		 times;		/* fail this many attempts, 0 = always */
};

struct sc_cmd {
	enum sc_kind	 kind;
	double		 at;		/* seconds from start, < 0: at once */
	char		 port[SC_PORTLEN];
	int		 nports;	/* hub */
	enum sc_mode	 mode;		/* plug */
	uint64_t	 ecid;		/* plug, restore */
	uint32_t	 cpid;
	uint32_t	 bdid;
	int		 has_serial;
	char		 serial[SC_SERIALLEN];
	struct sc_restore restore;
	int		 master;	/* dialect */
	double		 speed;
};

/*
 * Parse one line. Returns 1 with *cmd filled, 0 for a blank or comment line,
 * -1 with a message in err.
 */
int		 scenario_parse_line(const char *line, struct sc_cmd *cmd,
		     char *err, size_t errlen);

/* Split a port path "1-2.3" into bus and ports; returns the depth or -1. */
int		 scenario_port_split(const char *port, int *bus, int *ports);

/* Names of modes and steps, for the log and the control protocol. */
const char	*scenario_mode_name(enum sc_mode mode);
int		 scenario_mode_from_name(const char *name);
const char	*scenario_step_name(int step);
int		 scenario_step_from_name(const char *name);

/* Format a restore plan as the scenario writes it ("fail upload_fs 42 disconnect"). */
void		 scenario_restore_format(const struct sc_restore *r, char *buf,
		     size_t len);

#endif
