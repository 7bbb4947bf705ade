/*
 * triage.h: what to try next for a failing device, which ports are bad, and
 * the known hardware findings per model (core).
 *
 * Encodes knowledge/restore-errors.md: the escalation ladder, the rules of
 * thumb (three strikes, same failure point, several ports), the hardware
 * codes and the model-specific repair cases. Numbers for connection loss are
 * this bench's convention ("4013-class"), not Apple's word.
 */
#ifndef IDB_TRIAGE_H
#define IDB_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Class value of an attempt that was closed as "interrupted" at start-up
 * (the bench itself died): not the device's fault, not a failure to count.
 */
#define TRIAGE_CLS_INTERRUPTED	1000

/* Suspect port: this many different devices failed there and later worked elsewhere. */
#define TRIAGE_PORT_SUSPECT_DEVICES	3
/* Three failed software attempts: stop restoring. */
#define TRIAGE_MAX_FAILURES		3
/* "About the same percentage" for the same-failure-point rule. */
#define TRIAGE_SAME_POINT_PERCENT	5.0

struct triage_attempt {
	uint64_t ecid;
	char port[32];
	int action;			/* enum job_action */
	int state;			/* enum job_state (JOB_DONE / JOB_FAILED / JOB_CANCELLED) */
	int cls;			/* enum err_class, or TRIAGE_CLS_INTERRUPTED */
	int code;			/* code or ERR_NOCODE */
	int step;			/* enum rp_step */
	double percent;
	long started;
};

struct triage_port {
	char port[32];
	int attempts, failures, devices_failed, devices_failed_ok_elsewhere;
	bool suspect;
};

struct triage_advice {
	char rule[32];
	char text[320];
	bool hardware;
	bool stop_restoring;
};

struct hw_finding {
	const char *match;		/* product types, space separated */
	const char *finding;
	const char *repair;
	const char *price;
};

/* Advice for a device; attempts newest first. Returns 1 with advice, 0 if nothing to say. */
int triage_device(const struct triage_attempt *a, size_t n, const char *product_type,
    const struct triage_port *port_of_last_attempt, struct triage_advice *out);
/*
 * The advice a device gets, wherever it is shown (the console's slot, the
 * report's ticket): triage_device() over its attempts (mine, newest first),
 * judged with the port of its last attempt; but when the port it is on is
 * suspect and the advice is not hardware, the port is the problem: "move
 * the phone to another port" (rule "suspect-port"). here is the port it is
 * on now (its verdict from triage_port_assess()); NULL: the port of its
 * last attempt. Returns 1 with advice, 0 with *out cleared.
 */
int triage_advise(const struct triage_attempt *mine, size_t nmine, const char *product_type,
    const struct triage_attempt *all, size_t nall, const struct triage_port *here,
    struct triage_advice *out);
/* Is this port suspect, given every attempt on the bench (any order)? fills *out */
void triage_port_assess(const char *port, const struct triage_attempt *all, size_t n,
    struct triage_port *out);
/*
 * The model's known hardware finding (iPhone 7/7 Plus CPU reball, iPhone X
 * earpiece/Face ID flex, iPhone 8/8 Plus Tristar, iPad 7 Tristar+CPU), NULL if none.
 */
const struct hw_finding *triage_finding(const char *product_type);
/* One line "finding -> repair (price)" for a flag hint; "" when the model has none. */
void triage_hint(const char *product_type, char *buf, size_t len);
/* True when a failure of this class counts against the device (not host-side, cancel or interrupt). */
bool triage_counts_against_device(int state, int cls);
/* Names of the rules, in the table's order (for tests and the man page); NULL-terminated. */
const char *const *triage_rule_names(void);

#endif
