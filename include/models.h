/*
 * models.h: Apple model table lookups (core).
 * Filled at start-up from libirecovery's table (by idev.c) and from
 * config/models.tsv for models newer than Debian's libirecovery.
 */
#ifndef IDB_MODELS_H
#define IDB_MODELS_H

#include <stddef.h>
#include <stdint.h>

/* Which buttons enter recovery/DFU (knowledge/restore-errors.md). */
enum button_family {
	BUTTONS_UNKNOWN = 0,
	BUTTONS_HOME,		/* iPhone 6s and earlier, iPads with a Home button */
	BUTTONS_7,		/* iPhone 7 / 7 Plus: Side + Volume Down */
	BUTTONS_8		/* iPhone 8 and later (and Face ID iPads): Vol Up, Vol Down, Side */
};

struct model {
	uint32_t cpid, bdid;
	char product_type[32];	/* "iPhone9,1" */
	char hw_model[16];	/* "d10ap" */
	char name[64];		/* "iPhone 7" */
	enum button_family buttons;
};

/* Add or replace (by product type + bdid) one model. Returns 0, -1 when full. */
int models_add(const struct model *);
/*
 * Load a TSV file: product_type cpid bdid hw_model buttons name...
 * ('#' comments). Returns the number of rows added, -1 with err set.
 */
int models_load_file(const char *path, char *err, size_t errlen);
const struct model *models_find_chip(uint32_t cpid, uint32_t bdid);
const struct model *models_find_product(const char *product_type);
/*
 * The model of a device: by its product type when it says one the table
 * knows, else by chip and board id (recovery and DFU give only those);
 * NULL if neither is known.
 */
const struct model *models_find_device(const char *product_type, uint32_t cpid, uint32_t bdid);
/* Button family for a model without a table entry, guessed from the product type. */
enum button_family models_buttons_guess(const char *product_type);
const char *models_buttons_name(enum button_family);
size_t models_count(void);
void models_clear(void);

#endif
