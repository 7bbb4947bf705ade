/*
 * parsebench.c: restore_parse throughput (performance issue #7, item 4).
 *
 * Builds ~100 MiB of idevicerestore output in memory, shaped like the
 * recorded logs in tests/data/restore (both dialects: `progress:` lines,
 * \r bars, label lines, status and operation lines, master's timestamped
 * log lines, device logs, spurious lockdownd errors from parallel runs,
 * overlong lines, \r\n and stray NULs), then feeds it to the real parser
 * one restore session at a time, in pipe-sized chunks, and reports MiB/s.
 *
 * Besides timing it checks that every chunk size gives the same results,
 * so an optimisation that changes behaviour shows up here as well as in
 * the unit tests.
 *
 * usage: parsebench [-m MIB] [-r RUNS] [-s SEED] [-c CHUNK]... [-q] [-d]
 *   -d  no timing: print a digest of every event and summary for each chunk
 *       size, to check that a change to restore_parse.c changes nothing
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "restore_parse.h"
#include "slot.h"

struct buf {
	char	*p;
	size_t	 len, cap;
};

struct corpus {
	struct buf	 b;
	size_t		*start;		/* session offsets, nsess + 1 entries */
	size_t		 nsess, cap;
};

/* What one pass saw: compared across chunk sizes. */
struct tally {
	unsigned long	 events[RP_LINE + 1];
	unsigned long	 lines, errors, finished, statuses;
	unsigned	 flags;
	unsigned long	 dialect[3];
	unsigned long	 max_step_sum;
	unsigned long	 copied;	/* bytes copied by the copying callback */
	uint64_t	 digest;	/* -d: hash of every event and summary */
};

struct cbarg {
	struct tally	*t;
	struct slot_job	 job;		/* the copy callback's target, as bench.c */
};

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

/* FNV-1a, to compare two parser builds event by event (-d). */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*s = p;

	while (n-- > 0)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return h;
}

static uint64_t
rng(void)
{
	uint64_t	x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static unsigned
rng_below(unsigned n)
{
	return (unsigned)(rng() % n);
}

static void
buf_need(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->len + n > b->cap)
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
	if ((b->p = realloc(b->p, b->cap)) == NULL) {
		perror("realloc");
		exit(1);
	}
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	buf_need(b, 256);
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			exit(1);
		if ((size_t)n < b->cap - b->len)
			break;
		buf_need(b, (size_t)n + 1);
	}
	b->len += (size_t)n;
}

/* Generation state of one session. */
struct gen {
	struct buf	*b;
	int		 master;
	int		 crlf;		/* this session's lines end in \r\n */
	unsigned	 ms;		/* master log clock, milliseconds */
};

static void
eol(struct gen *g)
{
	if (g->crlf)
		buf_add(g->b, "\r\n", 2);
	else
		buf_add(g->b, "\n", 1);
}

/* An info() line: master repeats it in its timestamped log (stderr). */
static void __attribute__((format(printf, 2, 3)))
info(struct gen *g, const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;
	unsigned t;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	buf_add(g->b, line, strlen(line));
	eol(g);
	if (g->master) {
		g->ms += 20 + rng_below(400);
		t = g->ms;
		buf_printf(g->b, "%02u:%02u:%02u.%03u    <Info> %s",
		    (t / 3600000) % 24, (t / 60000) % 60, (t / 1000) % 60,
		    t % 1000, line);
		eol(g);
	}
}

/* An error() line in either dialect. */
static void
error_line(struct gen *g, const char *msg)
{
	unsigned t;

	if (!g->master) {
		buf_printf(g->b, "ERROR: %s", msg);
		eol(g);
		return;
	}
	buf_printf(g->b, "%s", msg);
	eol(g);
	g->ms += 5 + rng_below(300);
	t = g->ms;
	buf_printf(g->b, "%02u:%02u:%02u.%03u   <Error> %s", (t / 3600000) % 24,
	    (t / 60000) % 60, (t / 1000) % 60, t % 1000, msg);
	eol(g);
}

static void
progress(struct gen *g, int step, double frac)
{
	buf_printf(g->b, "progress: %d %f", step, frac);
	eol(g);
}

/* A carriage-return bar as printed during DFU uploads and extraction. */
static void
bars(struct gen *g, const char *label, int updates)
{
	char	fill[51];
	int	i, n;
	double	pct;

	for (i = 0; i <= updates; i++) {
		pct = 100.0 * i / updates;
		n = (int)(pct / 2);
		memset(fill, '=', (size_t)n);
		memset(fill + n, ' ', (size_t)(50 - n));
		fill[50] = '\0';
		if (g->master)
			buf_printf(g->b, "\r%s [%s] %5.1f%% ", label, fill, pct);
		else
			buf_printf(g->b, "\r[%s] %5.1f%%", fill, pct);
	}
	eol(g);
}

static void
labels(struct gen *g, const char *label)
{
	if (!g->master)
		return;
	buf_printf(g->b, "%s:   0.0", label);
	eol(g);
	buf_printf(g->b, "%s:   0.4", label);
	eol(g);
	buf_printf(g->b, "%s:   1.0", label);
	eol(g);
}

static void
hexbytes(char *dst, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		sprintf(dst + 3 * i, "%02x ", (unsigned)rng_below(256));
}

static const char *const syslog_words[] = {
	"kernel", "AppleBCMWLANCore", "restored_external", "AppleKeyStore",
	"IOAccessoryManager", "AppleSEPManager", "apfs_vfsop_mount", "ASR",
	"nand_boot", "AppleANS2Controller", "mount", "APFS", "container",
	"AppleSynopsysOTGDevice", "USB", "SEP", "Baseband", "bbupdater",
};

/* Text from the device ("Log is available:"): kept as ordinary lines. */
static void
device_log(struct gen *g, int lines)
{
	char	line[400];
	int	i, j, n, words;

	info(g, "Previous Restore Log Received:");
	for (i = 0; i < lines; i++) {
		n = snprintf(line, sizeof line, "[%5u.%06u] ",
		    (unsigned)rng_below(3000), (unsigned)rng_below(1000000));
		words = 6 + (int)rng_below(24);
		for (j = 0; j < words && n < 300; j++)
			n += snprintf(line + n, sizeof line - (size_t)n, "%s%s",
			    syslog_words[rng_below(sizeof syslog_words /
			    sizeof syslog_words[0])], rng_below(4) ? " " : ": ");
		buf_add(g->b, line, (size_t)n);
		eol(g);
	}
}

/* A debug dump on one line: longer than the parser's line buffer. */
static void
long_line(struct gen *g)
{
	size_t	n = 6000 + rng_below(20000), i;

	buf_need(g->b, n + 40);
	buf_printf(g->b, "Checking tag BuildManifest ");
	for (i = 0; i < n; i++)
		g->b->p[g->b->len++] = "0123456789abcdefABCDEF<>/ =\"key"[rng_below(32)];
	eol(g);
}

/* One restore, success or one of the common failures. */
static void
session(struct buf *b, int master)
{
	struct gen	 g = { b, master, rng_below(8) == 0, 0 };
	char		 nonce[32 * 3 + 1];
	int		 i, nup, fail, spurious;
	double		 f;

	g.ms = 13 * 3600000 + rng_below(3600000);
	fail = rng_below(10);		/* 0: lost ASR, 1: status 53, else success */
	spurious = rng_below(3) == 0 ? 1 + (int)rng_below(6) : 0;

	progress(&g, 0, 0);
	progress(&g, 0, 0.1);
	info(&g, "Found device in %s mode", rng_below(2) ? "Recovery" : "DFU");
	progress(&g, 0, 0.2);
	info(&g, "Identified device as d10ap, iPhone9,1");
	progress(&g, 0, 0.6);
	info(&g, "Extracting BuildManifest from IPSW");
	progress(&g, 0, 0.8);
	info(&g, "Product Version: 15.8.3");
	info(&g, "Product Build: 19H386 Major: 19");
	info(&g, "Device supports Image4: true");
	info(&g, "Variant: Customer Upgrade Install (IPSW)");
	info(&g, "This restore will update your device without erasing user data.");
	progress(&g, 1, 0);
	info(&g, "Checking IPSW for required components...");
	info(&g, "All required components found in IPSW");
	info(&g, "Extracting filesystem from IPSW: 098-74402-006.dmg");
	if (master)
		labels(&g, "Extracting");
	bars(&g, "Extracting", 200);
	progress(&g, 1, 0.2);
	hexbytes(nonce, 32);
	info(&g, "Getting ApNonce in recovery mode... %s", nonce);
	info(&g, "Trying to fetch new SHSH blob");
	hexbytes(nonce, 20);
	info(&g, "Getting SepNonce in recovery mode... %s", nonce);
	info(&g, "Request URL set to https://gs.apple.com/TSS/controller?action=2");
	info(&g, "Sending TSS request attempt 1... response successfully received");
	info(&g, "Received SHSH blobs");
	progress(&g, 1, 0.25);
	for (i = 0; i < spurious; i++)
		error_line(&g, "normal_check_mode: can't connect to lockdownd on "
		    "device with UDID 00008030-001E1C3A0C82802E");
	info(&g, "INFO: device serial number is F4GT2K1ZHG7F");
	info(&g, "Sending iBEC (1062324 bytes)...");
	labels(&g, "Uploading");
	bars(&g, "Uploading", 100);
	progress(&g, 1, 0.5);
	info(&g, "Recovery Mode Environment:");
	info(&g, "iBoot build-version=iBoot-7459.140.15");
	info(&g, "iBoot build-style=RELEASE");
	info(&g, "ramdisk-size=0x20000000");
	info(&g, "Sending RestoreRamDisk (81236234 bytes)...");
	bars(&g, "Uploading", 100);
	info(&g, "Sending DeviceTree (153812 bytes)...");
	bars(&g, "Uploading", 50);
	info(&g, "Sending KernelCache (17254632 bytes)...");
	bars(&g, "Uploading", 100);
	progress(&g, 1, 0.9);
	info(&g, "Waiting for device to enter restore mode...");
	info(&g, "About to restore device... ");
	info(&g, "Connecting now...");
	info(&g, "Connected to com.apple.mobile.restored, version 15");
	info(&g, "Device 00008010-001A2B3C4D5E6F70 has successfully entered restore mode");
	info(&g, "Hardware Information:");
	info(&g, "BoardID: 8");
	info(&g, "ChipID: 32784");
	info(&g, "UniqueChipID: 7365432109876592");
	info(&g, "ProductionMode: true");
	info(&g, "Previous restore exit status: 0x100");
	if (rng_below(2) == 0)
		long_line(&g);
	progress(&g, 1, 1);
	info(&g, "Waiting for NAND (28)");
	info(&g, "Creating partition map (11)");
	info(&g, "Creating filesystem (12)");
	info(&g, "About to send filesystem...");
	info(&g, "Connected to ASR");
	info(&g, "Validating the filesystem");
	info(&g, "Filesystem validated");
	info(&g, "Sending filesystem now...");
	/* ASR reports every 0.1%: the bulk of a real log */
	nup = fail == 0 ? 200 + (int)rng_below(700) : 1000;
	for (i = 1; i <= nup; i++)
		progress(&g, 2, i / 1000.0 + 0.000001);
	if (fail == 0) {
		error_line(&g, "Unable to send data to ASR. Sent 65536 of 131072 bytes.");
		error_line(&g, "Unable to send filesystem payload");
		error_line(&g, "Unable to send filesystem");
		error_line(&g, "Unable to successfully restore device");
		error_line(&g, "Could not read data (-4). Aborting.");
		error_line(&g, "Unable to restore device");
		return;
	}
	progress(&g, 2, 1);
	info(&g, "Done sending filesystem");
	info(&g, "Restoring image (13)");
	info(&g, "Verifying restore (14)");
	for (i = 1, f = 0; i <= 100; i++) {
		f = i / 100.0;
		progress(&g, 3, f);
	}
	info(&g, "Checking filesystems (15)");
	info(&g, "Mounting filesystems (16)");
	if (fail == 1) {
		info(&g, "Got status message");
		info(&g, "Status: Failed to recover FDR data");
		info(&g, "Log is available:");
		device_log(&g, 100 + (int)rng_below(200));
		error_line(&g, "Unable to restore device");
		return;
	}
	info(&g, "About to send NORData...");
	info(&g, "Found firmware path Firmware/all_flash");
	info(&g, "Sending NORData now...");
	info(&g, "Done sending NORData");
	info(&g, "Flashing firmware (18)");
	for (i = 1; i <= 20; i++)
		progress(&g, 4, i / 20.0);
	info(&g, "Updating baseband (19)");
	info(&g, "Sending Baseband TSS request...");
	info(&g, "Received Baseband SHSH blobs");
	for (i = 1; i <= 20; i++)
		progress(&g, 5, i / 20.0);
	info(&g, "Updating Baseband completed.");
	info(&g, "Requesting FUD data (36)");
	progress(&g, 6, 0.2);
	if (rng_below(4) == 0)
		buf_add(b, "\0\0", 2);	/* seen in captured pipes */
	progress(&g, 6, 1);
	info(&g, "Unmounting filesystems (29)");
	info(&g, "Got status message");
	info(&g, "Status: Restore Finished");
	if (rng_below(3) == 0)
		device_log(&g, 50 + (int)rng_below(150));
	info(&g, "Cleaning up...");
	info(&g, "DONE");
	if (master)
		progress(&g, 7, 1);
	else
		progress(&g, 6, 1);
}

static void
corpus_build(struct corpus *c, size_t bytes)
{
	memset(c, 0, sizeof *c);
	while (c->b.len < bytes) {
		if (c->nsess + 2 > c->cap) {
			c->cap = c->cap ? c->cap * 2 : 1024;
			if ((c->start = realloc(c->start,
			    c->cap * sizeof *c->start)) == NULL)
				exit(1);
		}
		c->start[c->nsess++] = c->b.len;
		session(&c->b, rng_below(2));
	}
	c->start[c->nsess] = c->b.len;
}

static void
noop_cb(void *arg, const struct rp_event *ev)
{
	struct cbarg	*a = arg;

	a->t->events[ev->kind]++;
}

static void
digest_cb(void *arg, const struct rp_event *ev)
{
	struct cbarg	*a = arg;
	uint64_t	 h = a->t->digest;

	a->t->events[ev->kind]++;
	h = fnv(h, &ev->kind, sizeof ev->kind);
	h = fnv(h, &ev->step, sizeof ev->step);
	h = fnv(h, &ev->percent, sizeof ev->percent);
	h = fnv(h, &ev->code, sizeof ev->code);
	h = fnv(h, &ev->len, sizeof ev->len);
	if (ev->text != NULL)
		h = fnv(h, ev->text, ev->len);
	a->t->digest = h;
}

/* What bench.c's parse_cb costs: every line into the slot's tail ring. */
static void
copy_cb(void *arg, const struct rp_event *ev)
{
	struct cbarg	*a = arg;

	a->t->events[ev->kind]++;
	if (ev->kind == RP_LINE) {
		slot_tail_push(&a->job, ev->text, ev->len);
		a->t->copied += ev->len;
	}
}

/*
 * CPU time of this thread, not wall time: the bench machine is shared and
 * the goal is per core, so time spent waiting for the CPU must not count.
 */
static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One pass over the corpus; returns seconds. */
static double
run_pass(const struct corpus *c, size_t chunk, rp_event_cb cb, struct tally *t)
{
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	struct cbarg		 a;
	size_t			 i, off, end, n;
	double			 t0;

	memset(t, 0, sizeof *t);
	t->digest = 0xcbf29ce484222325ULL;
	memset(&a, 0, sizeof a);
	a.t = t;
	t0 = now();
	for (i = 0; i < c->nsess; i++) {
		if ((rp = rp_new(cb, &a)) == NULL)
			exit(1);
		end = c->start[i + 1];
		for (off = c->start[i]; off < end; off += n) {
			n = end - off < chunk ? end - off : chunk;
			rp_feed(rp, c->b.p + off, n);
		}
		rp_finish(rp);
		s = rp_summary(rp);
		t->lines += s->lines;
		t->errors += s->errors;
		t->finished += s->finished;
		t->statuses += s->have_status;
		t->flags |= s->flags;
		t->dialect[s->dialect]++;
		t->max_step_sum += (unsigned long)(s->max_step + 1);
		if (cb == digest_cb) {
			/* the summary's fields one by one: no padding bytes */
			t->digest = fnv(t->digest, &s->dialect, sizeof s->dialect);
			t->digest = fnv(t->digest, &s->step, sizeof s->step);
			t->digest = fnv(t->digest, &s->percent, sizeof s->percent);
			t->digest = fnv(t->digest, &s->max_step, sizeof s->max_step);
			t->digest = fnv(t->digest, &s->finished, sizeof s->finished);
			t->digest = fnv(t->digest, &s->status, sizeof s->status);
			t->digest = fnv(t->digest, &s->have_status, sizeof s->have_status);
			t->digest = fnv(t->digest, &s->have_tss, sizeof s->have_tss);
			t->digest = fnv(t->digest, &s->tss_status, sizeof s->tss_status);
			t->digest = fnv(t->digest, &s->tss_failed, sizeof s->tss_failed);
			t->digest = fnv(t->digest, s->mode, strlen(s->mode));
			t->digest = fnv(t->digest, s->product_type, strlen(s->product_type));
			t->digest = fnv(t->digest, s->last_error, strlen(s->last_error));
			t->digest = fnv(t->digest, s->decisive, strlen(s->decisive));
			t->digest = fnv(t->digest, &s->errors, sizeof s->errors);
			t->digest = fnv(t->digest, &s->lines, sizeof s->lines);
			t->digest = fnv(t->digest, &s->flags, sizeof s->flags);
		}
		rp_free(rp);
	}
	return now() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
tally_same(const struct tally *a, const struct tally *b)
{
	struct tally	x = *a, y = *b;

	x.copied = y.copied = 0;
	x.digest = y.digest = 0;
	return memcmp(&x, &y, sizeof x) == 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: parsebench [-m MIB] [-r RUNS] [-s SEED] "
	    "[-c CHUNK]... [-q] [-d]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct corpus	 c;
	struct tally	 ref, t;
	size_t		 chunks[8], nchunks = 0, ci, mib = 100;
	double		 secs[64], med, mibs;
	int		 ch, runs = 5, r, k, quiet = 0, have_ref = 0, bad = 0;
	int		 digest = 0;
	static const struct {
		const char	*name;
		rp_event_cb	 cb;
	} cbs[] = { { "noop", noop_cb }, { "copy", copy_cb } };

	while ((ch = getopt(argc, argv, "m:r:s:c:qd")) != -1) {
		switch (ch) {
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'c':
			if (nchunks == sizeof chunks / sizeof chunks[0])
				usage();
			chunks[nchunks++] = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'd':
			digest = 1;
			break;
		default:
			usage();
		}
	}
	if (mib == 0 || runs < 1 || runs > 64)
		usage();
	if (nchunks == 0) {
		chunks[nchunks++] = 4096;
		chunks[nchunks++] = 65536;
	}
	for (ci = 0; ci < nchunks; ci++)
		if (chunks[ci] == 0)
			usage();

	corpus_build(&c, mib << 20);
	if (digest) {
		for (ci = 0; ci < nchunks; ci++) {
			run_pass(&c, chunks[ci], digest_cb, &t);
			printf("digest chunk %zu: %016llx lines %lu\n", chunks[ci],
			    (unsigned long long)t.digest, t.lines);
		}
		free(c.b.p);
		free(c.start);
		return 0;
	}
	run_pass(&c, 65536, noop_cb, &ref);	/* warm-up, and the reference */
	have_ref = 1;
	printf("# corpus %.1f MiB, %zu sessions, %lu lines, %lu finished, "
	    "%lu errors, dialects 1.0.0 %lu master %lu\n",
	    c.b.len / 1048576.0, c.nsess, ref.lines, ref.finished, ref.errors,
	    ref.dialect[DIALECT_1_0_0], ref.dialect[DIALECT_MASTER]);
	printf("# chunk callback median_MiB/s min_MiB/s max_MiB/s median_Mlines/s\n");
	for (ci = 0; ci < nchunks; ci++) {
		for (k = 0; k < 2; k++) {
			for (r = 0; r < runs; r++) {
				secs[r] = run_pass(&c, chunks[ci], cbs[k].cb, &t);
				if (have_ref && !tally_same(&ref, &t)) {
					fprintf(stderr, "parsebench: chunk %zu "
					    "callback %s: results differ\n",
					    chunks[ci], cbs[k].name);
					bad = 1;
				}
			}
			qsort(secs, (size_t)runs, sizeof secs[0], cmp_double);
			med = secs[runs / 2];
			if (runs % 2 == 0)
				med = (secs[runs / 2 - 1] + secs[runs / 2]) / 2;
			mibs = c.b.len / 1048576.0;
			printf("parse %zu %s %.0f %.0f %.0f %.2f\n", chunks[ci],
			    cbs[k].name, mibs / med, mibs / secs[runs - 1],
			    mibs / secs[0], ref.lines / med / 1e6);
			if (!quiet)
				fflush(stdout);
		}
	}
	free(c.b.p);
	free(c.start);
	return bad ? 1 : 0;
}
