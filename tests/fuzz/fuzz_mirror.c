/*
 * fuzz_mirror.c: the events a console reads from a bench's control socket
 * (src/mirror.c). Whatever arrives, the slots it keeps must hold clean text
 * (they reach the terminal), indexes must stay in range and the header
 * counts must match the slots.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "benchview.h"
#include "fuzz.h"
#include "mirror.h"
#include "slot.h"

static int
send_cb(void *arg, const char *line)
{
	(void)arg;
	(void)line;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mirror		*m = mirror_new(send_cb, NULL);
	struct benchview	 v;
	struct slot_tally	 t;
	const char		*p = (const char *)data, *end = p + size, *nl;
	char			 msg[64];
	size_t			 n;
	int			 rc;

	if (m == NULL)
		abort();
	mirror_view(m, &v);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		memset(msg, 'x', sizeof(msg));
		rc = mirror_feed(m, p, (size_t)(nl - p), msg, sizeof(msg));
		if (rc == MIRROR_ERROR)
			FUZZ_CLEAN("error text", msg);
		else if (rc != MIRROR_NONE && rc != MIRROR_ALL && (rc < 0 || (size_t)rc >= bv_slot_count(&v)))
			fuzz_fail("mirror_feed returned %d with %zu slots", rc, bv_slot_count(&v));
		p = nl + 1;
	}
	n = bv_slot_count(&v);
	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = bv_slot_at(&v, i);

		if (s == NULL)
			fuzz_fail("slot %zu of %zu missing", i, n);
		FUZZ_CLEAN("label", s->label);
		FUZZ_CLEAN("port", s->port);
		FUZZ_CLEAN("name", s->dev.name);
		FUZZ_CLEAN("product_type", s->dev.product_type);
		FUZZ_CLEAN("serial", s->dev.serial_raw);
		FUZZ_CLEAN("flag_reason", s->flag_reason);
		FUZZ_CLEAN("advice", s->advice);
		FUZZ_CLEAN("action_msg", s->action_msg);
		FUZZ_CLEAN("message", s->job.result.message);
		FUZZ_CLEAN("log", s->job.log_path);
		if (s->job.tail_count > SLOT_TAIL_LINES)
			fuzz_fail("tail_count %u", s->job.tail_count);
		for (unsigned k = 0; k < SLOT_TAIL_LINES; k++)
			FUZZ_CLEAN("tail", s->job.tail[k]);
		if ((unsigned)s->mode >= MODE__COUNT || (unsigned)s->job.state >= JOB__COUNT)
			fuzz_fail("mode %d state %d", (int)s->mode, (int)s->job.state);
		for (size_t k = 0; k < i; k++)
			if (strcmp(bv_slot_at(&v, k)->port, s->port) == 0)
				fuzz_fail("port %s twice", s->port);
		rc = bv_slot_find(&v, s->port);
		if (rc < 0 || (size_t)rc >= n || (strcmp(bv_slot_at(&v, (size_t)rc)->port, s->port) != 0 &&
		    strcmp(bv_slot_at(&v, (size_t)rc)->label, s->port) != 0))
			fuzz_fail("port %s is not found", s->port);
		slot_tally_add(&t, s);
	}
	if (memcmp(&t, &bv_status(&v)->count, sizeof(t)) != 0 && n > 0)
		fuzz_fail("header counts differ from the slots");
	FUZZ_CLEAN("bench name", bv_status(&v)->name);
	FUZZ_CLEAN("ipsw_desc", bv_status(&v)->ipsw_desc);
	if (bv_slot_at(&v, n) != NULL)
		fuzz_fail("a slot past the end");
	mirror_free(m);
	return 0;
}
