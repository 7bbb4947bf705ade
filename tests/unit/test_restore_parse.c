/* test_restore_parse.c: the idevicerestore output parser, on corpora and hostile input. */
#include "testutil.h"

#include <dirent.h>

#include "errclass.h"
#include "restore_parse.h"

/* ---- helpers ---------------------------------------------------------- */

/* no libm: the unit tests link without -lm */
static double
dabs(double x)
{
	return x < 0 ? -x : x;
}

static long
lround_(double x)
{
	return x < 0 ? (long)(x - 0.5) : (long)(x + 0.5);
}

struct evlog {
	unsigned long	 n[RP_LINE + 1];
	uint64_t	 hash;		/* FNV-1a over every event */
	int		 steps[64];
	int		 nsteps;
	long		 last_code[RP_LINE + 1];
	double		 last_percent;
	char		 last_text[RP_LINE + 1][128];
};

static void
hash_bytes(uint64_t *h, const void *p, size_t len)
{
	const unsigned char	*c = p;

	while (len-- > 0) {
		*h ^= *c++;
		*h *= 1099511628211ULL;
	}
}

static void
ev_cb(void *arg, const struct rp_event *ev)
{
	struct evlog	*l = arg;
	long		 pct10 = lround_(ev->percent * 10);
	size_t		 n;

	l->n[ev->kind]++;
	hash_bytes(&l->hash, &ev->kind, sizeof ev->kind);
	hash_bytes(&l->hash, &ev->step, sizeof ev->step);
	hash_bytes(&l->hash, &ev->code, sizeof ev->code);
	hash_bytes(&l->hash, &pct10, sizeof pct10);
	if (ev->text != NULL)
		hash_bytes(&l->hash, ev->text, ev->len);
	l->last_code[ev->kind] = ev->code;
	if (ev->kind == RP_PROGRESS)
		l->last_percent = ev->percent;
	if (ev->kind == RP_STEP && l->nsteps < 64)
		l->steps[l->nsteps++] = ev->step;
	if (ev->text != NULL) {
		n = ev->len < 127 ? ev->len : 127;
		memcpy(l->last_text[ev->kind], ev->text, n);
		l->last_text[ev->kind][n] = '\0';
	}
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct expect {
	char	outcome[16], cls[32], code[16], step[16], dialect[16];
	int	percent, exit_status, signal;
	int	have_exit, have_signal;
};

static void
read_expect(const char *path, struct expect *e)
{
	FILE	*f;
	char	 line[256], *v;

	memset(e, 0, sizeof *e);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((v = strchr(line, '=')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "outcome") == 0)
			snprintf(e->outcome, sizeof e->outcome, "%s", v);
		else if (strcmp(line, "class") == 0)
			snprintf(e->cls, sizeof e->cls, "%s", v);
		else if (strcmp(line, "code") == 0)
			snprintf(e->code, sizeof e->code, "%s", v);
		else if (strcmp(line, "step") == 0)
			snprintf(e->step, sizeof e->step, "%s", v);
		else if (strcmp(line, "dialect") == 0)
			snprintf(e->dialect, sizeof e->dialect, "%s", v);
		else if (strcmp(line, "percent") == 0)
			e->percent = atoi(v);
		else if (strcmp(line, "exit") == 0) {
			e->exit_status = atoi(v);
			e->have_exit = 1;
		} else if (strcmp(line, "signal") == 0) {
			e->signal = atoi(v);
			e->have_signal = 1;
		}
	}
	fclose(f);
}

static void
decide(const struct rp_summary *s, const struct expect *e, struct err_result *r)
{
	struct err_input	in;

	memset(&in, 0, sizeof in);
	in.parse = s;
	in.exited = e->have_exit;
	in.exit_status = e->exit_status;
	in.signal = e->have_signal ? e->signal : 0;
	errclass_decide(&in, r);
}

static void
assert_same_summary(const struct rp_summary *a, const struct rp_summary *b,
    const char *what)
{
	if (a->dialect != b->dialect || a->step != b->step ||
	    dabs(a->percent - b->percent) > 1e-9 || a->max_step != b->max_step ||
	    a->finished != b->finished || a->have_status != b->have_status ||
	    a->status != b->status || a->have_tss != b->have_tss ||
	    a->tss_status != b->tss_status || a->tss_failed != b->tss_failed ||
	    strcmp(a->mode, b->mode) != 0 ||
	    strcmp(a->product_type, b->product_type) != 0 ||
	    strcmp(a->last_error, b->last_error) != 0 ||
	    strcmp(a->decisive, b->decisive) != 0 || a->errors != b->errors ||
	    a->lines != b->lines || a->flags != b->flags)
		fail_msg("summary differs: %s (step %d/%d lines %lu/%lu flags %x/%x)",
		    what, a->step, b->step, a->lines, b->lines, a->flags, b->flags);
}

static void
assert_same_result(const struct err_result *a, const struct err_result *b,
    const char *what)
{
	if (a->ok != b->ok || a->cls != b->cls || a->code != b->code ||
	    a->step != b->step || dabs(a->percent - b->percent) > 1e-9 ||
	    strcmp(a->message, b->message) != 0 ||
	    strcmp(a->decisive, b->decisive) != 0)
		fail_msg("classification differs: %s", what);
}

static void
assert_sanitized(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("control byte 0x%02x in \"%s\"", *p, s);
	}
}

static void
assert_summary_sanitized(const struct rp_summary *s)
{
	assert_sanitized(s->mode);
	assert_sanitized(s->product_type);
	assert_sanitized(s->last_error);
	assert_sanitized(s->decisive);
	assert_true(s->percent >= 0 && s->percent <= 100);
	assert_true(s->step >= STEP_NONE && s->step < STEP__COUNT);
}

/* Parse buf split into chunks at the given cut points. */
static struct restore_parse *
parse_cuts(const char *buf, size_t len, const size_t *cuts, int ncuts,
    struct evlog *l)
{
	struct restore_parse	*rp;
	size_t			 at = 0;
	int			 i;

	if (l != NULL)
		memset(l, 0, sizeof *l);
	rp = rp_new(l ? ev_cb : NULL, l);
	assert_non_null(rp);
	for (i = 0; i < ncuts; i++) {
		rp_feed(rp, buf + at, cuts[i] - at);
		at = cuts[i];
	}
	rp_feed(rp, buf + at, len - at);
	rp_finish(rp);
	return rp;
}

/* ---- corpora ---------------------------------------------------------- */

static int
corpus_names(char names[][64], int max)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n;
	int		 count = 0;

	d = opendir(test_path("tests/data/restore"));
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && count < max) {
		n = strlen(de->d_name);
		if (n < 5 || n >= 64 || strcmp(de->d_name + n - 4, ".log") != 0)
			continue;
		memcpy(names[count], de->d_name, n - 4);
		names[count][n - 4] = '\0';
		count++;
	}
	closedir(d);
	return count;
}

static void
test_corpus_expectations(void **state)
{
	char			 names[128][64], path[512];
	struct expect		 e;
	struct err_result	 r;
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	char			*buf, code[16];
	size_t			 len;
	int			 i, n, fails = 0;

	(void)state;
	n = corpus_names(names, 128);
	assert_true(n >= 30);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "tests/data/restore/%.63s.expect", names[i]);
		read_expect(test_path(path), &e);
		snprintf(path, sizeof path, "tests/data/restore/%.63s.log", names[i]);
		buf = slurp(test_path(path), &len);
		rp = parse_cuts(buf, len, NULL, 0, NULL);
		s = rp_summary(rp);
		assert_summary_sanitized(s);
		decide(s, &e, &r);
		if (r.code == ERR_NOCODE)
			snprintf(code, sizeof code, "none");
		else
			snprintf(code, sizeof code, "%d", r.code);
		if (strcmp(e.outcome, r.ok ? "done" : "failed") != 0 ||
		    strcmp(e.cls, errclass_name(r.cls)) != 0 ||
		    strcmp(e.code, code) != 0 ||
		    strcmp(e.step, r.step == STEP_NONE ? "none" :
		    rp_step_name(r.step)) != 0 ||
		    e.percent != (int)lround_(r.percent) ||
		    strcmp(e.dialect, s->dialect == DIALECT_MASTER ? "master" :
		    s->dialect == DIALECT_1_0_0 ? "1.0.0" : "unknown") != 0) {
			print_message("# %s: got %s %s %s %s %.1f dialect %d (%s)\n",
			    names[i], r.ok ? "done" : "failed",
			    errclass_name(r.cls), code, rp_step_name(r.step),
			    r.percent, s->dialect, r.message);
			fails++;
		}
		/* the decisive line is one the log really has */
		if (!r.ok && r.decisive[0] != '\0')
			assert_non_null(strstr(buf, r.decisive));
		rp_free(rp);
		free(buf);
	}
	assert_int_equal(fails, 0);
}

static void
check_chunking(const char *name)
{
	char			 path[512];
	struct expect		 e;
	struct evlog		 l0, l1;
	struct err_result	 r0, r1;
	struct restore_parse	*rp0, *rp1;
	char			*buf;
	size_t			 len, k, *cuts;

	snprintf(path, sizeof path, "tests/data/restore/%.63s.expect", name);
	read_expect(test_path(path), &e);
	snprintf(path, sizeof path, "tests/data/restore/%.63s.log", name);
	buf = slurp(test_path(path), &len);

	rp0 = parse_cuts(buf, len, NULL, 0, &l0);
	decide(rp_summary(rp0), &e, &r0);

	/* two chunks, cut at every byte boundary */
	for (k = 1; k < len; k++) {
		rp1 = parse_cuts(buf, len, &k, 1, &l1);
		assert_same_summary(rp_summary(rp0), rp_summary(rp1), name);
		decide(rp_summary(rp1), &e, &r1);
		assert_same_result(&r0, &r1, name);
		if (l0.hash != l1.hash)
			fail_msg("%s: events differ when cut at %zu", name, k);
		rp_free(rp1);
	}

	/* one byte at a time */
	cuts = malloc((len + 1) * sizeof *cuts);
	assert_non_null(cuts);
	for (k = 1; k < len; k++)
		cuts[k - 1] = k;
	rp1 = parse_cuts(buf, len, cuts, len > 1 ? (int)len - 1 : 0, &l1);
	assert_same_summary(rp_summary(rp0), rp_summary(rp1), name);
	decide(rp_summary(rp1), &e, &r1);
	assert_same_result(&r0, &r1, name);
	assert_true(l0.hash == l1.hash);
	rp_free(rp1);
	free(cuts);

	rp_free(rp0);
	free(buf);
}

static void
test_corpus_chunking(void **state)
{
	char	names[128][64];
	int	i, n;

	(void)state;
	n = corpus_names(names, 128);
	assert_true(n >= 30);
	for (i = 0; i < n; i++)
		check_chunking(names[i]);
}

/* ---- specific lines --------------------------------------------------- */

static struct restore_parse *
parse_str(const char *s, struct evlog *l)
{
	return parse_cuts(s, strlen(s), NULL, 0, l);
}

static void
test_progress_and_steps(void **state)
{
	struct evlog		 l;
	struct restore_parse	*rp;
	const struct rp_summary	*s;

	(void)state;
	rp = parse_str("progress: 0 0.000000\nprogress: 0 0.100000\n"
	    "progress: 2 0.010001\nprogress: 2 0.425000\n", &l);
	s = rp_summary(rp);
	assert_int_equal(s->step, STEP_UPLOAD_FS);
	assert_int_equal(s->max_step, STEP_UPLOAD_FS);
	assert_true(dabs(s->percent - 42.5) < 1e-6);
	assert_int_equal(l.n[RP_PROGRESS], 4);
	/* RP_STEP only on change */
	assert_int_equal(l.nsteps, 2);
	assert_int_equal(l.steps[0], STEP_DETECT);
	assert_int_equal(l.steps[1], STEP_UPLOAD_FS);
	assert_false(s->finished);
	rp_free(rp);

	/* a fraction out of range is clamped, a step out of range ignored */
	rp = parse_str("progress: 3 1.700000\nprogress: 9 0.5\nprogress: x\n", NULL);
	s = rp_summary(rp);
	assert_int_equal(s->step, STEP_VERIFY_FS);
	assert_true(s->percent == 100.0);
	rp_free(rp);

	/* the final progress line means success: 6 in 1.0.0, 7 in master */
	rp = parse_str("ERROR: Unable to find device\nprogress: 6 1.000000\n", NULL);
	assert_true(rp_summary(rp)->finished);
	rp_free(rp);
	rp = parse_str("progress: 7 1.000000\n", NULL);
	assert_true(rp_summary(rp)->finished);
	assert_int_equal(rp_summary(rp)->dialect, DIALECT_MASTER);
	rp_free(rp);
	/* master's fud at 1.0 is not the end */
	rp = parse_str("12:00:00.000    <Info> Found device in DFU mode\n"
	    "progress: 6 1.000000\n", NULL);
	assert_false(rp_summary(rp)->finished);
	rp_free(rp);
	/* the child may print a decimal comma under its locale */
	rp = parse_str("progress: 2 0,250000\n", NULL);
	assert_true(dabs(rp_summary(rp)->percent - 25.0) < 1e-6);
	rp_free(rp);
}

static void
test_bars_and_labels(void **state)
{
	struct evlog		 l;
	struct restore_parse	*rp;
	const struct rp_summary	*s;

	(void)state;
	rp = parse_str("progress: 1 0.000000\r"
	    "[=====================                             ]  42.0%\r"
	    "[============================                      ]  56.5%", &l);
	s = rp_summary(rp);
	assert_int_equal(s->step, STEP_PREPARE);
	assert_true(dabs(s->percent - 56.5) < 1e-6);
	assert_int_equal(s->dialect, DIALECT_1_0_0);
	assert_int_equal(l.n[RP_PROGRESS], 3);
	rp_free(rp);

	rp = parse_str("progress: 1 0.2\nUploading [====================              "
	    "                  ]  40.0% \n", NULL);
	s = rp_summary(rp);
	assert_true(dabs(s->percent - 40.0) < 1e-6);
	assert_int_equal(s->dialect, DIALECT_MASTER);
	rp_free(rp);

	rp = parse_str("progress: 1 0.2\nUploading:   0.4\n", NULL);
	s = rp_summary(rp);
	assert_true(dabs(s->percent - 40.0) < 1e-6);
	assert_int_equal(s->step, STEP_PREPARE);
	assert_int_equal(s->dialect, DIALECT_MASTER);
	rp_free(rp);

	/* 1.0.0's hardware information is not a label line */
	rp = parse_str("progress: 1 0.9\nBoardID: 0\nChipID: 32784\n"
	    "Product Version: 15.8.3\n", NULL);
	s = rp_summary(rp);
	assert_true(dabs(s->percent - 90.0) < 1e-6);
	assert_int_equal(s->dialect, DIALECT_UNKNOWN);
	rp_free(rp);
}

static void
test_operations(void **state)
{
	static const struct {
		const char	*line;
		long		 op;
		int		 step;
	} ops[] = {
		{ "Restoring image (13)", 13, STEP_UPLOAD_FS },
		{ "Verifying restore (14)", 14, STEP_VERIFY_FS },
		{ "Flashing firmware (18)", 18, STEP_FLASH_FW },
		{ "Updating baseband (19)", 19, STEP_FLASH_BB },
		{ "Updating IR MCU firmware (51)", 51, STEP_FLASH_BB },
		{ "Requesting FUD data (36)", 36, STEP_FUD },
		{ "Creating partition map (11)", 11, STEP_PREPARE },
	};
	struct evlog		 l;
	struct restore_parse	*rp;
	char			 buf[128];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		snprintf(buf, sizeof buf, "progress: 1 1.000000\n%s\n", ops[i].line);
		rp = parse_str(buf, &l);
		assert_int_equal(l.n[RP_OPERATION], 1);
		assert_int_equal(l.last_code[RP_OPERATION], ops[i].op);
		assert_int_equal(rp_summary(rp)->step, ops[i].step);
		rp_free(rp);
	}
	/* errors with a number in brackets are not operations */
	rp = parse_str("Could not connect to device (-3)\n"
	    "ERROR: Could not read data (-4). Aborting.\n"
	    "Unhandled status message (77)\n", &l);
	assert_int_equal(l.n[RP_OPERATION], 0);
	rp_free(rp);
}

static void
test_status_messages(void **state)
{
	static const struct {
		const char	*line;
		long		 code;
	} st[] = {
		{ "Status: Restore Finished", 0 },
		{ "Status: Verification Error", -1 },
		{ "Status: Disk Failure", 6 },
		{ "Status: Fail", 14 },
		{ "Status: Failed to mount filesystems.", 27 },
		{ "Status: Failed to load SEP Firmware.", 51 },
		{ "Status: Failed to recover FDR data.", 53 },
		{ "Status: X-Gold Baseband Update Failed. Defective Unit?", 1015 },
		{ "Unhandled status message (50)", 50 },
		{ "Unhandled status message (1002)", 1002 },
	};
	struct evlog		 l;
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	char			 buf[160];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof st / sizeof st[0]; i++) {
		snprintf(buf, sizeof buf, "Got status message\n%s\n", st[i].line);
		rp = parse_str(buf, &l);
		s = rp_summary(rp);
		assert_true(s->have_status);
		assert_int_equal(s->status, st[i].code);
		assert_int_equal(l.n[RP_STATUS], 1);
		assert_int_equal(l.last_code[RP_STATUS], st[i].code);
		assert_int_equal(s->finished, st[i].code == 0);
		assert_int_equal(l.n[RP_FINISHED], st[i].code == 0);
		if (st[i].code != 0)
			assert_string_equal(s->decisive, st[i].line);
		rp_free(rp);
	}
}

static void
test_tss(void **state)
{
	struct evlog		 l;
	struct restore_parse	*rp;
	const struct rp_summary	*s;

	(void)state;
	rp = parse_str("Sending TSS request attempt 1... TSS server returned: "
	    "STATUS=94&MESSAGE=This device isn't eligible for the requested build.\n"
	    "ERROR: TSS request failed (status=94, message=This device isn't "
	    "eligible for the requested build.)\n"
	    "ERROR: Unable to get SHSH blobs for this device\n", &l);
	s = rp_summary(rp);
	assert_true(s->have_tss);
	assert_int_equal(s->tss_status, 94);
	assert_true(s->tss_failed);
	assert_int_equal(l.last_code[RP_TSS], 94);
	assert_non_null(strstr(s->decisive, "status=94"));
	rp_free(rp);

	rp = parse_str("Sending TSS request attempt 1... Sending TSS request "
	    "attempt 2... ERROR: Unable to send TSS request\n"
	    "Could not resolve host: gs.apple.com\n"
	    "ERROR: TSS request failed: Could not resolve host: gs.apple.com "
	    "(status=-1)\n", NULL);
	s = rp_summary(rp);
	assert_int_equal(s->tss_status, -1);
	assert_true(s->tss_failed);
	assert_string_equal(s->last_error,
	    "TSS request failed: Could not resolve host: gs.apple.com (status=-1)");
	rp_free(rp);

	/* a retry that succeeds clears the failure */
	rp = parse_str("ERROR: TSS request failed (status=-1)\n"
	    "Sending TSS request attempt 2... response successfully received\n"
	    "Received SHSH blobs\n", NULL);
	s = rp_summary(rp);
	assert_false(s->tss_failed);
	assert_int_equal(s->tss_status, 0);
	rp_free(rp);
}

static void
test_mode_ident_and_flags(void **state)
{
	static const struct {
		const char	*line;
		unsigned	 flag;
	} fl[] = {
		{ "ERROR: Unable to discover device mode. Please make sure a device is attached.", RPF_NO_DEVICE },
		{ "ERROR: Unable to place device into recovery mode from normal mode", RPF_LOST_NORMAL },
		{ "ERROR: Unable to send iBEC component: Unable to upload data to device", RPF_LOST_COMPONENT },
		{ "Device did not disconnect. Possibly invalid iBEC. Reset device and try again.", RPF_LOST_COMPONENT },
		{ "ERROR: Device failed to enter restore mode.", RPF_NO_RESTORE_MODE },
		{ "Device reconnected in Recovery mode, most likely image personalization failed.", RPF_PERSONALIZE },
		{ "Make sure that usbmuxd is running.", RPF_USBMUXD },
		{ "ERROR: Unable to send data to ASR. Sent 0 of 131072 bytes.", RPF_LOST_RESTORE },
		{ "ERROR: Could not read data (-4). Aborting.", RPF_LOST_RESTORE },
		{ "ERROR: Firmware file /x.ipsw does not exist.", RPF_IPSW },
		{ "Firmware file /x.ipsw cannot be opened.", RPF_IPSW },
		{ "ERROR: Unable to discover device type", RPF_UNSUPPORTED },
	};
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	size_t			 i;

	(void)state;
	rp = parse_str("Found device in Recovery mode\n"
	    "Identified device as d10ap, iPhone9,1\n", NULL);
	s = rp_summary(rp);
	assert_string_equal(s->mode, "Recovery");
	assert_string_equal(s->product_type, "iPhone9,1");
	assert_int_equal(s->flags, 0);
	rp_free(rp);

	for (i = 0; i < sizeof fl / sizeof fl[0]; i++) {
		rp = parse_str(fl[i].line, NULL);
		s = rp_summary(rp);
		if (s->flags != fl[i].flag)
			fail_msg("%s: flags %x", fl[i].line, s->flags);
		assert_int_equal(s->errors, 1);
		rp_free(rp);
	}
	/* a "Firmware file" line that is not an error sets nothing */
	rp = parse_str("Found firmware path Firmware/all_flash\n"
	    "NOTE: Firmware file list loaded\n", NULL);
	assert_int_equal(rp_summary(rp)->flags, 0);
	rp_free(rp);
}

static void
test_decisive_and_master_log(void **state)
{
	struct evlog		 l;
	struct restore_parse	*rp;
	const struct rp_summary	*s;

	(void)state;
	/* the ASR line explains better than the generic last words */
	rp = parse_str("ERROR: normal_check_mode: can't connect to lockdownd on "
	    "device with UDID 00008030-001E1C3A0C82802E\n"
	    "ERROR: Unable to send data to ASR. Sent 65536 of 131072 bytes.\n"
	    "ERROR: Unable to send filesystem payload\n"
	    "ERROR: Unable to restore device\n", NULL);
	s = rp_summary(rp);
	assert_string_equal(s->decisive,
	    "Unable to send data to ASR. Sent 65536 of 131072 bytes.");
	assert_string_equal(s->last_error, "Unable to restore device");
	assert_int_equal(s->errors, 4);
	assert_int_equal(s->dialect, DIALECT_1_0_0);
	rp_free(rp);

	/* master's log: timestamp and level stripped, <Error> counts */
	rp = parse_str("14:02:11.208   <Error> Unable to send filesystem payload\n"
	    "14:02:11.210    <Info> Got status message\n"
	    "14:02:11.210    <Info> Status: Disk Failure\n", &l);
	s = rp_summary(rp);
	assert_int_equal(s->dialect, DIALECT_MASTER);
	assert_true(s->flags & RPF_LOST_RESTORE);
	assert_int_equal(s->errors, 1);
	assert_int_equal(s->status, 6);
	assert_string_equal(s->last_error, "Unable to send filesystem payload");
	assert_string_equal(s->decisive, "Status: Disk Failure");
	assert_int_equal(l.n[RP_ERROR], 1);
	rp_free(rp);

	/* device log text after "Log is available:" cannot set flags */
	rp = parse_str("Got status message\nStatus: Fail\nLog is available:\n"
	    "Unable to send data to ASR (this is the device's own text)\n"
	    "Cleaning up...\n", NULL);
	s = rp_summary(rp);
	assert_int_equal(s->flags, 0);
	assert_int_equal(s->status, 14);
	rp_free(rp);
}

static void
test_line_breaks(void **state)
{
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	static const char	 crlf[] = "Found device in DFU mode\r\nDONE\r\n";

	(void)state;
	/* \r\n is one break, also when split between two chunks */
	rp = rp_new(NULL, NULL);
	rp_feed(rp, crlf, 25);
	rp_feed(rp, crlf + 25, sizeof crlf - 1 - 25);
	rp_finish(rp);
	s = rp_summary(rp);
	assert_int_equal(s->lines, 2);
	assert_string_equal(s->mode, "DFU");
	assert_true(s->finished);
	rp_free(rp);

	/* a last line without a newline is flushed by rp_finish, once */
	rp = rp_new(NULL, NULL);
	rp_feed(rp, "progress: 4 0.5", 15);
	assert_int_equal(rp_summary(rp)->lines, 0);
	rp_finish(rp);
	rp_finish(rp);
	assert_int_equal(rp_summary(rp)->lines, 1);
	assert_int_equal(rp_summary(rp)->step, STEP_FLASH_FW);
	rp_free(rp);

	/* NULs are dropped */
	rp = rp_new(NULL, NULL);
	rp_feed(rp, "Found device in Re\0co\0very mode\n\0\0progress: 2 0.5\0\n", 52);
	rp_finish(rp);
	s = rp_summary(rp);
	assert_string_equal(s->mode, "Recovery");
	assert_int_equal(s->step, STEP_UPLOAD_FS);
	assert_int_equal(s->lines, 2);
	rp_free(rp);
}

static void
test_streams(void **state)
{
	struct restore_parse	*rp;
	const struct rp_summary	*s;

	(void)state;
	/* a stdout line interrupted by stderr lines stays whole */
	rp = rp_new(NULL, NULL);
	rp_feed_stream(rp, 0, "Found device in Rec", 19);
	rp_feed_stream(rp, 1, "ERROR: Unable to find device\nCould not resolve "
	    "host: gs.apple.com\n", 66);
	rp_feed_stream(rp, 0, "overy mode\nSending TSS request attempt 1... ", 44);
	rp_feed_stream(rp, 1, "ERROR: TSS request failed: Could not", 36);
	rp_finish(rp);
	s = rp_summary(rp);
	assert_string_equal(s->mode, "Recovery");
	assert_true(s->flags & RPF_LOST_NORMAL);
	assert_true(s->have_tss);
	assert_int_equal(s->tss_status, -1);
	assert_true(s->tss_failed);	/* flushed from stderr by rp_finish */
	assert_int_equal(s->lines, 5);
	rp_free(rp);

	/* an out-of-range stream is taken as stdout, not a crash */
	rp = rp_new(NULL, NULL);
	rp_feed_stream(rp, 7, "DONE\n", 5);
	rp_feed_stream(rp, -1, "progress: 1 0.5\n", 16);
	rp_finish(rp);
	assert_true(rp_summary(rp)->finished);
	assert_int_equal(rp_summary(rp)->step, STEP_PREPARE);
	rp_free(rp);
}

/* ---- hostile input ---------------------------------------------------- */

static void
test_huge_line(void **state)
{
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	size_t			 n = 1024 * 1024, i;
	char			*big;

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'A', n);
	memcpy(big, "ERROR: ", 7);
	big[n / 2] = '\033';
	rp = rp_new(NULL, NULL);
	/* in uneven chunks, then a normal line: it must still be seen */
	for (i = 0; i < n; i += 4093)
		rp_feed(rp, big + i, n - i < 4093 ? n - i : 4093);
	rp_feed(rp, "\nprogress: 3 0.25\n", 18);
	rp_finish(rp);
	s = rp_summary(rp);
	assert_int_equal(s->lines, 2);
	assert_int_equal(s->errors, 1);
	assert_int_equal(s->step, STEP_VERIFY_FS);
	assert_true(strlen(s->last_error) < sizeof s->last_error);
	assert_summary_sanitized(s);
	rp_free(rp);
	free(big);
}

static void
test_garbage(void **state)
{
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	unsigned char		*buf;
	uint32_t		 x = 2463534242u;
	size_t			 n = 1024 * 1024, i;

	(void)state;
	buf = malloc(n);
	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
	rp = rp_new(ev_cb, &(struct evlog){ 0 });
	for (i = 0; i < n; i += 777)
		rp_feed(rp, (const char *)buf + i, n - i < 777 ? n - i : 777);
	rp_finish(rp);
	assert_summary_sanitized(rp_summary(rp));
	rp_free(rp);

	/* garbage laced with the words the parser looks for */
	for (i = 0; i + 64 < n; i += 997) {
		const char *w = (i / 997) % 3 == 0 ? "\nERROR: \x1b[31mUnable to "
		    "send data to ASR\x07\x9b\r" : (i / 997) % 3 == 1 ?
		    "\rFound device in \x1b]0;x\x07 mode\nprogress: 9 1e999\n" :
		    "\nIdentified device as a, \xff\xfe\x1b[2J\n";
		memcpy(buf + i, w, strlen(w));
	}
	rp = rp_new(NULL, NULL);
	rp_feed(rp, (const char *)buf, n);
	rp_finish(rp);
	s = rp_summary(rp);
	assert_summary_sanitized(s);
	assert_true(s->flags & RPF_LOST_RESTORE);
	rp_free(rp);
	free(buf);
}

static void
test_cr_storm_and_escapes(void **state)
{
	struct restore_parse	*rp;
	const struct rp_summary	*s;
	char			*storm;
	size_t			 n = 200000;

	(void)state;
	storm = malloc(n);
	assert_non_null(storm);
	memset(storm, '\r', n);
	rp = rp_new(NULL, NULL);
	rp_feed(rp, storm, n);
	memset(storm, '\n', n);
	rp_feed(rp, storm, n);
	rp_finish(rp);
	assert_int_equal(rp_summary(rp)->lines, 0);
	rp_free(rp);
	free(storm);

	rp = parse_str("Found device in \x1b[2J\x1b[31mRecovery mode\n"
	    "Identified device as d10ap, iPhone9,1\x1b]0;owned\x07\n"
	    "ERROR: \x1b[2J\x1b[HUnable to send data to ASR. Sent 0 of 1 bytes.\x9b\n",
	    NULL);
	s = rp_summary(rp);
	assert_summary_sanitized(s);
	assert_null(strchr(s->decisive, '\x1b'));
	assert_true(s->flags & RPF_LOST_RESTORE);
	assert_true(strlen(s->mode) < sizeof s->mode);
	rp_free(rp);

	/* master on a terminal: colour codes lead its lines, the lines still count */
	rp = parse_str("\x1b[mFlashing firmware (18)\n"
	    "\x1b[m\x1b[0;1mprogress: 4 0.120000\n"
	    "\x1b[0;31m\x1b[1m14:02:57.815   <Error> Could not read data (-4). Aborting.\n", NULL);
	s = rp_summary(rp);
	assert_int_equal(s->step, STEP_FLASH_FW);
	assert_true(s->percent > 11.9 && s->percent < 12.1);
	assert_int_equal(s->dialect, DIALECT_MASTER);
	assert_true(s->errors >= 1);
	rp_free(rp);

	/* only SGR is skipped: a screen clear is not a colour, the line is not progress */
	rp = parse_str("\x1b[2Jprogress: 4 0.500000\n\x1b[1;2Hprogress: 3 0.5\n", NULL);
	assert_int_equal(rp_summary(rp)->step, STEP_NONE);
	rp_free(rp);
}

static void
test_step_names(void **state)
{
	int	i;

	(void)state;
	for (i = 0; i < STEP__COUNT; i++)
		assert_int_equal(rp_step_from_name(rp_step_name(i)), i);
	assert_string_equal(rp_step_name(STEP_UPLOAD_FS), "upload_fs");
	assert_string_equal(rp_step_name(STEP_UPLOAD_IMG), "upload_img");
	assert_string_equal(rp_step_name(-1), "detect");
	assert_string_equal(rp_step_name(99), "detect");
	assert_int_equal(rp_step_from_name("nonsense"), STEP_NONE);
	assert_int_equal(rp_step_from_name(NULL), STEP_NONE);
}

/* `idevicerestore -v` -> the dialect to run and parse it with */
static void
test_dialect_from_version(void **state)
{
	static const struct { const char *ver; enum rp_dialect d; } cases[] = {
		{ "idevicerestore 1.0.0", DIALECT_1_0_0 },
		{ "idevicerestore 1.0.0\n", DIALECT_1_0_0 },
		{ "idevicerestore 1.0.0-5", DIALECT_1_0_0 },		/* a packager's revision */
		{ "idevicerestore 0.9.9", DIALECT_1_0_0 },
		{ "idevicerestore 1.0", DIALECT_1_0_0 },
		{ "", DIALECT_1_0_0 },
		{ NULL, DIALECT_1_0_0 },
		{ "idevicerestore 1.0.0-208-g1a2b3c4", DIALECT_MASTER },	/* git describe */
		{ "idevicerestore 1.0.0-master-g1b1a6e4", DIALECT_MASTER },
		{ "idevicerestore 1.0.1", DIALECT_MASTER },
		{ "idevicerestore 1.1.0", DIALECT_MASTER },
		{ "idevicerestore 1.10.2", DIALECT_MASTER },
		{ "idevicerestore 2.0.0", DIALECT_MASTER },
		{ "idevicerestore 10.0", DIALECT_MASTER },
		{ "idevicerestore master", DIALECT_MASTER },
		{ "idevicerestore", DIALECT_MASTER },			/* unreadable: the newer one */
		{ "idevicerestore 99999999999999999999999.0", DIALECT_MASTER },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (rp_dialect_from_version(cases[i].ver) != cases[i].d)
			fail_msg("'%s': dialect %d, want %d", cases[i].ver ? cases[i].ver : "(null)",
			    rp_dialect_from_version(cases[i].ver), cases[i].d);
}

/* ---- logs as people paste them ---------------------------------------- */

static struct rp_summary
pasted(const char *text)
{
	struct restore_parse	*rp;
	struct rp_summary	 sum;

	rp = rp_new(NULL, NULL);
	assert_non_null(rp);
	rp_feed(rp, text, strlen(text));
	rp_finish(rp);
	sum = *rp_summary(rp);
	rp_free(rp);
	return sum;
}

/* Without -P the step comes from the messages, and only moves forward. */
static void
test_step_from_messages(void **state)
{
	struct rp_summary	s;

	(void)state;
	s = pasted("Found device in Recovery mode\n"
	    "Identified device as n53ap, iPhone6,2\n"
	    "Extracting BuildManifest from IPSW\n");
	assert_int_equal(s.step, STEP_DETECT);
	assert_int_equal(lround_(s.percent), 60);

	s = pasted("Sending RestoreKernelCache (15185746 bytes)...\n"
	    "Waiting for device to enter restore mode...\n");
	assert_int_equal(s.step, STEP_PREPARE);
	assert_int_equal(lround_(s.percent), 90);

	/* an out-of-order paste: the ASR error first, earlier lines after */
	s = pasted("ERROR: Unable to send data to ASR. Sent 0\n"
	    "Sending iBEC (1355134 bytes)...\n"
	    "Found device in Recovery mode\n");
	assert_int_equal(s.step, STEP_UPLOAD_FS);
	assert_int_equal(s.cause, RPF_LOST_RESTORE);

	s = pasted("About to send BasebandData...\nUpdating baseband (19)\n");
	assert_int_equal(s.step, STEP_FLASH_BB);

	/* progress: lines rule when there are any */
	s = pasted("progress: 1 0.250000\nWaiting for device to enter restore mode...\n");
	assert_int_equal(s.step, STEP_PREPARE);
	assert_int_equal(lround_(s.percent), 25);
}

/* The earliest text naming a cause wins over its follow-on lines. */
static void
test_cause_before_consequence(void **state)
{
	struct rp_summary	s;

	(void)state;
	s = pasted("ERROR: zip_name_locate: Firmware/dfu/iBEC.n94ap.RELEASE.dfu\n"
	    "ERROR: Unable to extract component: iBEC\n"
	    "ERROR: Unable to send iBEC to device.\n"
	    "ERROR: Unable to send iBEC\n");
	assert_int_equal(s.cause, RPF_IPSW);
	assert_true(s.flags & RPF_LOST_COMPONENT);
	assert_non_null(strstr(s.decisive, "zip_name_locate"));

	s = pasted("ERROR: Unable to send AppleLogo component: Unable to find device\n"
	    "ERROR: Unable to place device into restore mode\n");
	assert_int_equal(s.cause, RPF_LOST_COMPONENT);

	/* "Unable to restore device" printed before its causes */
	s = pasted("ERROR: Unable to restore device\n"
	    "ERROR: Unable to send data to ASR. Sent 0 of 131072 bytes.\n");
	assert_int_equal(s.cause, RPF_LOST_RESTORE);
	assert_true(s.generic_fail);

	/* generic lines alone name no cause */
	s = pasted("ERROR: Unable to successfully restore device\n"
	    "ERROR: Unable to restore device\n");
	assert_int_equal(s.cause, 0);
	assert_int_equal(s.flags, 0);
	assert_true(s.generic_fail);

	/* "device mode" is not "device model"; case does not matter */
	s = pasted("ERROR: unable to discover device model\n");
	assert_int_equal(s.cause, RPF_UNSUPPORTED);
	s = pasted("ERROR: Unable to place device into recovery mode from Normal mode\n");
	assert_true(s.flags & RPF_LOST_NORMAL);

	/* a TSS server that cannot be reached is the cause until a retry gets through */
	s = pasted("Request URL set to https://gs.apple.com/TSS/controller?action=2\n"
	    "Could not resolve host: gs.apple.com\n");
	assert_int_equal(s.cause, RPF_SIGNING);
	s = pasted("Sending TSS request attempt 1... Request URL set to https://17.171.36.30/TSS/controller?action=2\n"
	    "Failed to connect to 17.171.36.30 port 443: Connection timed out\n"
	    "Sending TSS request attempt 2... response successfully received\n");
	assert_int_equal(s.cause, 0);
}

/* Markdown, wrappers, JSON escapes and glued bars are read through. */
static void
test_paste_debris(void **state)
{
	struct rp_summary	s;

	(void)state;
	s = pasted("```\n> **ERROR: Unable to send iBEC component: Unable to find device**\n```\n");
	assert_int_equal(s.cause, RPF_LOST_COMPONENT);
	assert_string_equal(s.decisive, "Unable to send iBEC component: Unable to find device");

	s = pasted("`NOTE: using cached version data `\n`ERROR: Unable to discover device type`\n");
	assert_int_equal(s.cause, RPF_UNSUPPORTED);

	s = pasted("5. usbmuxd_get_device_list: error opening socket!\n"
	    "7. ERROR: Unable to discover device mode.\n");
	assert_int_equal(s.cause, RPF_USBMUXD);

	s = pasted("2017-11-10 13:50:57.204 \"ERROR: Unable to send data to ASR.\\n\"\n");
	assert_int_equal(s.cause, RPF_LOST_RESTORE);

	s = pasted("[exception]:\nwhat=ERROR: Unable to send iBSS component: Unable to upload data to device\n"
	    "[Log] Restoring done!\n");
	assert_int_equal(s.cause, RPF_LOST_COMPONENT);
	assert_false(s.finished);

	s = pasted("_09:38:32.205   <Error> Unable to discover device type_\n");
	assert_int_equal(s.cause, RPF_UNSUPPORTED);
	assert_int_equal(s.dialect, DIALECT_MASTER);

	/* a wrapper JSON-escaped the whole output into one line */
	s = pasted("Message: NOTE: using cached version data\\nFound device in Recovery mode\\n"
	    "Identified device as n56ap, iPhone7,1\\nExtracting BuildManifest from IPSW\\n\",\n");
	assert_int_equal(s.step, STEP_DETECT);
	assert_string_equal(s.product_type, "iPhone7,1");

	/* a Windows path with one "\n" in it is not split */
	s = pasted("ERROR: zip_open: C:\\Users\\noah\\new.ipsw: 19\n");
	assert_int_equal(s.cause, RPF_IPSW);
	assert_non_null(strstr(s.decisive, "noah\\new.ipsw: 19"));

	/* a Windows console wrapped the error at 80 columns */
	s = pasted("C:\\libi>restore: ERROR: Unable to place device into recovery mode from Normal mo\n"
	    "de\n");
	assert_true(s.flags & RPF_LOST_NORMAL);
	s = pasted("Found ECID 2307271287625 and waited for the phone to come back; ERROR: Device fa\n"
	    "iled to enter restore mode.\n");
	assert_int_equal(s.cause, RPF_NO_RESTORE_MODE);

	/* a bar glued to the next line */
	s = pasted("Sending filesystem now...\n"
	    "[==========                                        ]  19.0%ERROR: Unable to send data to ASR. Sent 0 of 20 bytes.\n");
	assert_int_equal(s.step, STEP_UPLOAD_FS);
	assert_int_equal(lround_(s.percent), 19);
	assert_int_equal(s.cause, RPF_LOST_RESTORE);

	/* a tail that starts with bars keeps their percent */
	s = pasted("[================================                  ]  63.7%[Error] ERROR: Unable to send iBSS component: Unable to upload data to device\n");
	assert_int_equal(s.step, STEP_PREPARE);
	assert_true(dabs(s.percent - 63.7) < 0.01);

	/* the shell's crash report, but not inside a device log */
	s = pasted("Received Baseband SHSH blobs\nSegmentation fault (core dumped)\n");
	assert_true(s.crashed);
	assert_int_equal(s.cause, RPF_CRASH);
	s = pasted("Got status message\nStatus: Fail\nLog is available:\nkernel: Segmentation fault in foo\n");
	assert_false(s.crashed);
	assert_int_equal(s.status, 14);
}

/* usbmuxd's hint is weighed against what else the log says. */
static void
test_usbmuxd_evidence(void **state)
{
	struct rp_summary	s;

	(void)state;
	s = pasted("Waiting for device to enter restore mode...\n"
	    "irecv_event_cb: device 000a69822405e526 (udid: N/A) connected in Recovery mode\n"
	    "ERROR: Device failed to enter restore mode.\n"
	    "Please make sure that usbmuxd is running.\n");
	assert_true(s.back_in_recovery);
	assert_int_equal(s.cause, RPF_NO_RESTORE_MODE);
	assert_true(s.flags & RPF_USBMUXD);

	s = pasted("[09:51:42.017][3] usbmuxd v1.1.1 starting up\n");
	assert_true(s.usbmuxd_running);
	/* the prose "used sudo usbmuxd" is not a usbmuxd error */
	s = pasted("used sudo usbmuxd but result is still the same:\n");
	assert_int_equal(s.flags, 0);
}

/* A master label line does not override a finer progress: figure. */
static void
test_label_precision(void **state)
{
	struct rp_summary	s;

	(void)state;
	s = pasted("progress: 2 0.612345\nUploading:   0.6\n");
	assert_true(dabs(s.percent - 61.2345) < 0.001);
	s = pasted("progress: 2 0.612345\nUploading:   0.8\n");
	assert_int_equal(lround_(s.percent), 80);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_expectations),
		cmocka_unit_test(test_corpus_chunking),
		cmocka_unit_test(test_progress_and_steps),
		cmocka_unit_test(test_bars_and_labels),
		cmocka_unit_test(test_operations),
		cmocka_unit_test(test_status_messages),
		cmocka_unit_test(test_tss),
		cmocka_unit_test(test_mode_ident_and_flags),
		cmocka_unit_test(test_decisive_and_master_log),
		cmocka_unit_test(test_line_breaks),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_cr_storm_and_escapes),
		cmocka_unit_test(test_step_names),
		cmocka_unit_test(test_dialect_from_version),
		cmocka_unit_test(test_step_from_messages),
		cmocka_unit_test(test_cause_before_consequence),
		cmocka_unit_test(test_paste_debris),
		cmocka_unit_test(test_usbmuxd_evidence),
		cmocka_unit_test(test_label_precision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
