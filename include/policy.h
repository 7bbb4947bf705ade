/*
 * policy.h: what the bench decides on its own (core): whether a phone
 * that arrives is restored without a key press, and which reasons the
 * flag menu offers. The bench carries the decisions out.
 */
#ifndef IDB_POLICY_H
#define IDB_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct slot;
struct triage_attempt;

/* The configured automatic restores (idevicebench.conf on_dfu, on_recovery). */
struct policy_auto {
	bool erase_dfu;			/* on_dfu = erase */
	bool update_recovery;		/* on_recovery = update */
};

enum policy_action {
	POLICY_NONE = 0,		/* nothing to do (or already done for this phone) */
	POLICY_HOLD,			/* a restore is due, but the history says stop restoring */
	POLICY_ERASE,
	POLICY_UPDATE
};

/* The words the slot shows when POLICY_HOLD keeps a phone from its automatic restore. */
#define POLICY_HOLD_TEXT	"not restored automatically: its history says stop restoring"

/*
 * What to do with a phone on its own, once per phone (done: already acted
 * on this one): an ignored, flagged, unidentified or busy phone, or one in
 * the DFU guide, is left alone.
 */
enum policy_action policy_auto_action(const struct slot *, bool done, const struct policy_auto *);

/* Failed restores of one device after which the flag menu suggests board-level diagnosis. */
#define POLICY_FLAG_FAILURES	3

/*
 * The reasons the flag menu offers for a slot, best first: the model's
 * known finding, the last failure, "N failed restores" when the device's
 * history (mine, any order) holds POLICY_FLAG_FAILURES of them (signing
 * failures are not the phone's), then the usual parts. Returns how many
 * were written (at most max).
 */
size_t policy_flag_suggestions(const struct slot *, const struct triage_attempt *mine, size_t nmine,
    char out[][128], size_t max);

#endif
