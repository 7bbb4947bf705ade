/*
 * fuzz_models.c: the model table file (config/models.tsv or the one named
 * in the configuration), read by models_load_file(). The input is written
 * to a memfd and loaded through /proc/self/fd.
 */
#define _GNU_SOURCE		/* memfd_create */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "models.h"

static void
check_model(const struct model *m)
{
	const struct model	*c;

	FUZZ_CLEAN("product_type", m->product_type);
	FUZZ_CLEAN("hw_model", m->hw_model);
	FUZZ_CLEAN("name", m->name);
	if (models_buttons_name(m->buttons) == NULL)
		fuzz_fail("no name for buttons %d", (int)m->buttons);
	if ((c = models_find_chip(m->cpid, m->bdid)) == NULL || c->cpid != m->cpid ||
	    c->bdid != m->bdid)
		fuzz_fail("models_find_chip misses %x/%x", m->cpid, m->bdid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct model	*m;
	char			 path[64], err[200], *s;
	size_t			 off = 0, i;
	ssize_t			 w;
	int			 fd, rc;

	if ((fd = memfd_create("models.tsv", 0)) == -1)
		abort();
	while (off < size) {
		if ((w = write(fd, data + off, size - off)) <= 0)
			abort();
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	models_clear();
	memset(err, 'x', sizeof(err));
	rc = models_load_file(path, err, sizeof(err));
	close(fd);
	if (rc < -1)
		fuzz_fail("models_load_file returned %d", rc);
	if (rc == -1)
		FUZZ_CLEAN("err", err);
	else if (models_count() > (size_t)rc)
		fuzz_fail("%zu models from %d rows", models_count(), rc);

	/* every row's first field as a product type: what was loaded must be clean */
	for (off = 0; off < size; off = i + 1) {
		for (i = off; i < size && data[i] != '\n' && data[i] != '\t'; i++)
			;
		s = fuzz_strdup(data + off, i - off < 64 ? i - off : 64);
		if ((m = models_find_product(s)) != NULL)
			check_model(m);
		if (models_buttons_name(models_buttons_guess(s)) == NULL)
			fuzz_fail("models_buttons_guess gave a family without a name");
		free(s);
		while (i < size && data[i] != '\n')
			i++;
	}
	models_clear();
	return 0;
}
