/*
 * errclass.h: decide a restore's outcome (core).
 *
 * From the parser's summary, the exit status and what the bench itself saw
 * (device vanished for good, stall, cancel), decide the failure class, the
 * number where one applies and a one-line human message.
 * The numbers for connection loss follow the bench convention of
 * knowledge/restore-errors.md (9/4005/4013/4014 "class"), not Apple's word.
 */
#ifndef IDB_ERRCLASS_H
#define IDB_ERRCLASS_H

#include <stdbool.h>
#include "restore_parse.h"

enum err_class {
	EC_NONE = 0,		/* success */
	EC_CONNECTION_LOST,
	EC_SIGNING,
	EC_DEVICE_REPORTED,
	EC_NO_DEVICE,
	EC_USBMUXD,
	EC_IPSW,
	EC_UNSUPPORTED,
	EC_STALLED,
	EC_CRASHED,
	EC_CANCELLED,
	EC_UNKNOWN,		/* failed, nothing recognisable (JSON: "unknown") */
	EC__COUNT
};

#define ERR_NOCODE (-1)

/* What the bench knows about how the child ended. */
struct err_input {
	const struct rp_summary *parse;	/* may be NULL */
	bool exited;			/* WIFEXITED */
	int exit_status;		/* WEXITSTATUS when exited */
	int signal;			/* terminating signal when !exited, else 0 */
	bool device_lost;		/* the device left and did not come back in time */
	int lost_mode;			/* mode letter it was in when lost: 'n','r','d','R' or 0 */
	bool stalled;			/* killed by the stall timeout */
	bool cancelled;			/* cancelled by the technician */
	bool ipsw_missing;		/* no IPSW configured or unreadable: never started */
	bool spawn_failed;		/* the restore program could not be executed */
};

struct err_result {
	bool ok;
	enum err_class cls;
	int code;			/* ERR_NOCODE where no number applies */
	int step;			/* enum rp_step where it failed, STEP_NONE if unknown */
	double percent;
	char message[256];		/* one line for a human, sanitized */
	char decisive[256];		/* the output line that decided it, if any */
};

/* Decide the outcome of one restore attempt. */
void errclass_decide(const struct err_input *in, struct err_result *out);

/* JSON name of a class ("connection-lost", ...); "none" for EC_NONE. */
const char *errclass_name(enum err_class);
/* Inverse; EC_UNKNOWN when not a known name. */
enum err_class errclass_from_name(const char *);
/* Short label for a grid cell: "4013 lost", "3194 sign", "stalled", ... */
void errclass_short(const struct err_result *, char *buf, size_t len);
/* True for codes the knowledge file says point at hardware (6, 53, 1015). */
bool errclass_code_is_hardware(int code);
/* True for the communication family (9, 4005, 4013, 4014). */
bool errclass_code_is_comm(int code);

#endif
