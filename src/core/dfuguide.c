/* dfuguide.c: DFU button sequences per model family, and where a countdown stands. */
#include <stddef.h>
#include "dfuguide.h"

/*
 * Press-and-release steps get two seconds: long enough to read, short
 * enough not to matter. Hold times are the knowledge file's.
 */
static const struct dfu_step steps_8[] = {
	{ "Press and release Volume Up", 2 },
	{ "Press and release Volume Down", 2 },
	{ "Hold Side until the screen turns black", 10 },
	{ "Keep holding Side, also hold Volume Down", 5 },
	{ "Release Side, keep holding Volume Down", 10 },
};

static const struct dfu_step steps_7[] = {
	{ "Hold Side + Volume Down", 8 },
	{ "Release Side, keep holding Volume Down", 5 },
};

static const struct dfu_step steps_home[] = {
	{ "Hold Home + Side (Top)", 8 },
	{ "Release Side, keep holding Home", 5 },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const struct dfu_step *
dfuguide_steps(enum button_family f, size_t *count)
{
	switch (f) {
	case BUTTONS_8:
		*count = NELEM(steps_8);
		return steps_8;
	case BUTTONS_7:
		*count = NELEM(steps_7);
		return steps_7;
	case BUTTONS_HOME:
		*count = NELEM(steps_home);
		return steps_home;
	default:
		*count = 0;
		return NULL;
	}
}

const char *
dfuguide_title(enum button_family f)
{
	switch (f) {
	case BUTTONS_8:
		return "iPhone 8 and later, iPads without Home button";
	case BUTTONS_7:
		return "iPhone 7 / 7 Plus";
	case BUTTONS_HOME:
		return "iPhone 6s and earlier, iPads with Home button";
	default:
		return "unknown model";
	}
}

double
dfuguide_step_offset(enum button_family f, size_t i)
{
	const struct dfu_step *s;
	size_t n, k;
	double t = 0;

	s = dfuguide_steps(f, &n);
	for (k = 0; k < i && k < n; k++)
		t += s[k].seconds;
	return t;
}

int
dfuguide_at(enum button_family f, double elapsed, size_t *step_index, double *seconds_left)
{
	const struct dfu_step *s;
	size_t n, k;
	double end = 0;

	*step_index = 0;
	*seconds_left = 0;
	s = dfuguide_steps(f, &n);
	if (n == 0)
		return -1;
	if (elapsed < 0)
		elapsed = 0;
	for (k = 0; k < n; k++) {
		end += s[k].seconds;
		if (elapsed < end) {
			*step_index = k;
			*seconds_left = end - elapsed;
			return 0;
		}
	}
	*step_index = n;
	return 1;
}
