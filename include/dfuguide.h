/*
 * dfuguide.h: the button sequences that put a phone into DFU mode (core).
 * Software cannot enter DFU; a person presses the buttons while the console
 * counts each step down (knowledge/restore-errors.md, "Buttons").
 */
#ifndef IDB_DFUGUIDE_H
#define IDB_DFUGUIDE_H

#include <stddef.h>
#include "models.h"

struct dfu_step {
	const char *text;	/* "Hold Side until the screen turns black" */
	int seconds;		/* how long the step lasts on the countdown */
};

/* The sequence for a button family; *count is 0 for BUTTONS_UNKNOWN. */
const struct dfu_step *dfuguide_steps(enum button_family, size_t *count);
/* One line saying which phones the sequence is for ("iPhone 8 and later"). */
const char *dfuguide_title(enum button_family);
/* Seconds from the start of the sequence to the start of step i (the total for i = count). */
double dfuguide_step_offset(enum button_family, size_t i);
/*
 * Where the sequence is after elapsed seconds: the step index and the seconds
 * left in it. Returns 0 while a step runs, 1 once every step is over (then
 * *step_index is the step count and *seconds_left 0), -1 for a family
 * without a sequence. Negative elapsed counts as 0.
 */
int dfuguide_at(enum button_family, double elapsed, size_t *step_index, double *seconds_left);

#endif
