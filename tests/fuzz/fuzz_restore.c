/*
 * fuzz_restore.c: idevicerestore output, either dialect, as it arrives
 * from a pipe. The first input byte picks how the rest is cut into chunks
 * (one byte at a time, small, odd or page-sized pieces from a tiny PRNG);
 * the rest is the output. The same text is also fed in one piece: the
 * parser promises its result never depends on where chunks were split, so
 * both runs must give the same events and summary. The summary then goes
 * through errclass_decide() under the exit states the bench can report.
 * With bit 3 of the first byte set, a third parser gets the chunks spread
 * over stdout and stderr (rp_feed_stream): its lines interleave by chunk,
 * so only its invariants are checked, not equality.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errclass.h"
#include "fuzz.h"
#include "restore_parse.h"

/* Events folded into a hash and a count, to compare two runs. */
struct trace {
	uint64_t	hash;
	unsigned long	n;
};

static void
mix(struct trace *t, const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		t->hash ^= b[i];
		t->hash *= 0x100000001b3ULL;
	}
}

static void
event_cb(void *arg, const struct rp_event *ev)
{
	struct trace	*t = arg;
	long		 v;

	if ((unsigned)ev->kind > RP_LINE)
		fuzz_fail("event kind %d", (int)ev->kind);
	if (ev->step < STEP_NONE || ev->step >= STEP__COUNT)
		fuzz_fail("event step %d", ev->step);
	if (!(ev->percent >= 0 && ev->percent <= 100))
		fuzz_fail("event percent %g", ev->percent);
	if (ev->len > 0 && ev->text == NULL)
		fuzz_fail("event with %zu bytes of NULL text", ev->len);
	t->n++;
	v = ev->kind;
	mix(t, &v, sizeof(v));
	v = ev->step;
	mix(t, &v, sizeof(v));
	v = (long)(ev->percent * 1000);
	mix(t, &v, sizeof(v));
	mix(t, &ev->code, sizeof(ev->code));
	mix(t, &ev->len, sizeof(ev->len));
	if (ev->len > 0)
		mix(t, ev->text, ev->len);	/* ASan: text really has len bytes */
}

static void
check_summary(const struct rp_summary *s)
{
	if ((unsigned)s->dialect > DIALECT_MASTER)
		fuzz_fail("summary dialect %d", (int)s->dialect);
	if (s->step < STEP_NONE || s->step >= STEP__COUNT ||
	    s->max_step < STEP_NONE || s->max_step >= STEP__COUNT)
		fuzz_fail("summary step %d max %d", s->step, s->max_step);
	if (s->max_step < s->step)
		fuzz_fail("summary max_step %d behind step %d", s->max_step, s->step);
	if (!(s->percent >= 0 && s->percent <= 100))
		fuzz_fail("summary percent %g", s->percent);
	FUZZ_CLEAN("mode", s->mode);
	FUZZ_CLEAN("product_type", s->product_type);
	FUZZ_CLEAN("last_error", s->last_error);
	FUZZ_CLEAN("decisive", s->decisive);
}

static int
same_summary(const struct rp_summary *a, const struct rp_summary *b)
{
	return a->dialect == b->dialect && a->step == b->step &&
	    a->percent == b->percent && a->max_step == b->max_step &&
	    a->finished == b->finished && a->have_status == b->have_status &&
	    a->status == b->status && a->have_tss == b->have_tss &&
	    a->tss_status == b->tss_status && a->tss_failed == b->tss_failed &&
	    strcmp(a->mode, b->mode) == 0 &&
	    strcmp(a->product_type, b->product_type) == 0 &&
	    strcmp(a->last_error, b->last_error) == 0 &&
	    strcmp(a->decisive, b->decisive) == 0 && a->errors == b->errors &&
	    a->lines == b->lines && a->flags == b->flags;
}

static void
decide(const struct rp_summary *s, uint8_t how)
{
	struct err_input	 in;
	struct err_result	 r;
	char			 label[16];

	memset(&in, 0, sizeof(in));
	in.parse = (how & 0x80) ? NULL : s;
	in.exited = !(how & 0x01);
	in.exit_status = in.exited ? (how >> 1) % 4 - 1 : 0;	/* -1..2 */
	in.signal = in.exited ? 0 : 9;
	in.device_lost = how & 0x08;
	in.lost_mode = "nrdR"[(how >> 4) & 3];
	in.stalled = how & 0x40;
	in.cancelled = (how & 0x06) == 0x06;
	memset(&r, 0xa5, sizeof(r));
	errclass_decide(&in, &r);
	if ((unsigned)r.cls >= EC__COUNT)
		fuzz_fail("errclass_decide class %d", (int)r.cls);
	if (r.ok != (r.cls == EC_NONE))
		fuzz_fail("errclass_decide ok=%d with class %d", r.ok, (int)r.cls);
	if (r.step < STEP_NONE || r.step >= STEP__COUNT)
		fuzz_fail("errclass_decide step %d", r.step);
	if (!(r.percent >= 0 && r.percent <= 100) && !isnan(r.percent))
		fuzz_fail("errclass_decide percent %g", r.percent);
	FUZZ_CLEAN("message", r.message);
	FUZZ_CLEAN("decisive", r.decisive);
	if (errclass_name(r.cls) == NULL ||
	    errclass_from_name(errclass_name(r.cls)) != r.cls)
		fuzz_fail("errclass name of class %d does not round-trip", (int)r.cls);
	errclass_short(&r, label, sizeof(label));
	FUZZ_CLEAN("short", label);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t	 maxchunk[4] = { 1, 7, 300, 5000 };
	struct restore_parse	*whole, *cut;
	struct trace		 tw = { 0xcbf29ce484222325ULL, 0 };
	struct trace		 tc = { 0xcbf29ce484222325ULL, 0 };
	const char		*text;
	uint32_t		 rng;
	size_t			 len, off, n, max;
	uint8_t			 mode;

	if (size < 1)
		return 0;
	mode = data[0];
	text = (const char *)data + 1;
	len = size - 1;
	max = maxchunk[mode & 3];
	rng = mode * 2654435761u + 1;

	if ((whole = rp_new(event_cb, &tw)) == NULL || (cut = rp_new(event_cb, &tc)) == NULL)
		abort();
	rp_feed(whole, text, len);
	rp_finish(whole);
	for (off = 0; off < len; off += n) {
		rng = rng * 1103515245u + 12345u;
		n = 1 + (rng >> 8) % max;
		if (n > len - off)
			n = len - off;
		rp_feed(cut, text + off, n);
		if (mode & 0x04)
			rp_feed(cut, text + off, 0);	/* empty reads happen too */
	}
	rp_finish(cut);

	check_summary(rp_summary(whole));
	check_summary(rp_summary(cut));
	if (mode & 0x08) {
		struct restore_parse	*two;
		struct trace		 t2 = { 0, 0 };

		if ((two = rp_new(event_cb, &t2)) == NULL)
			abort();
		for (off = 0; off < len; off += n) {
			rng = rng * 1103515245u + 12345u;
			n = 1 + (rng >> 8) % max;
			if (n > len - off)
				n = len - off;
			/* stream 2 and -1 are out of range: taken as stdout */
			rp_feed_stream(two, (int)((rng >> 20) % 4) - 1, text + off, n);
		}
		rp_finish(two);
		check_summary(rp_summary(two));
		decide(rp_summary(two), mode);
		rp_free(two);
	}
	if (!same_summary(rp_summary(whole), rp_summary(cut)))
		fuzz_fail("summary depends on where the chunks were split");
	if (tw.n != tc.n || tw.hash != tc.hash)
		fuzz_fail("events depend on where the chunks were split (%lu vs %lu)",
		    tw.n, tc.n);
	decide(rp_summary(cut), mode);
	decide(rp_summary(cut), (uint8_t)(mode ^ 0x81));
	rp_free(whole);
	rp_free(cut);
	return 0;
}
