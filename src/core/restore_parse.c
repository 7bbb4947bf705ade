/*
 * restore_parse.c: incremental parser for idevicerestore output (core).
 *
 * Input arrives in arbitrary chunks from two pipes; lines end at \n or \r
 * (\r\n counts once), so \r progress bars become lines of their own. Each
 * complete line is judged on its own, against the texts of
 * reference/idevicerestore.md, so the result never depends on where the
 * chunks were split. The line buffer is fixed: a longer line is cut at
 * RP_LINE_CAP bytes and the rest of it skipped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "restore_parse.h"
#include "text.h"

#define RP_LINE_CAP	4096
#define RP_WRAP		80	/* a Windows console's width */

struct restore_parse {
	rp_event_cb		 cb;
	void			*arg;
	struct rp_summary	 sum;

	/* one line buffer per stream, so stderr cannot cut into a stdout line */
	struct {
		char		 line[RP_LINE_CAP + 1];
		size_t		 len;
		int		 after_cr;	/* last byte was \r: a \n right after is not a new break */
		char		 wrapped[RP_WRAP + 1]; /* the last line, when a console may have wrapped it */
		size_t		 wraplen;
	}			 in[RP_STREAMS];
	int			 finished_input;

	int			 in_device_log;	/* inside "Log is available:" text from the device */
	int			 decisive_rank;

	/* logs without -P: the step comes from idevicerestore's messages */
	int			 have_progress;	/* a `progress:` line was seen: it rules */
	int			 implied_pct;	/* percent of the last phase a message placed */
	int			 in_tss;	/* a TSS request is under way */
	int			 awaiting_restore; /* "Waiting for device to enter restore mode" */
	int			 depth;		/* nesting of pieces cut out of one line */
	int			 pct_from_progress; /* the percent came from a `progress:` line */
	int			 pct_from_bar;	/* ... or from a bar */
};

/* How well a recognised text explains a failure; the highest wins, ties keep the first. */
enum {
	RANK_SPURIOUS = 5,
	RANK_ERROR = 10,
	RANK_GENERIC = 30,
	RANK_WEAK = 45,
	RANK_MEDIUM = 60,
	RANK_GOOD = 70,
	RANK_STRONG = 80,
	RANK_CAUSE = 82,	/* the earliest text that names a cause */
	RANK_TSS = 85,
	RANK_STATUS = 90
};

static const char *step_names[STEP__COUNT] = {
	"detect", "prepare", "upload_fs", "verify_fs", "flash_fw", "flash_bb",
	"fud", "upload_img"
};

/* "upload_fs" etc. (the JSON step names of DESIGN.md); "detect" for out-of-range. */
const char *
rp_step_name(int step)
{
	if (step < 0 || step >= STEP__COUNT)
		return step_names[STEP_DETECT];
	return step_names[step];
}

/* The dialect of the program whose `-v` printed ver (see restore_parse.h). */
enum rp_dialect
rp_dialect_from_version(const char *ver)
{
	unsigned long	v[3] = { 0, 0, 0 };
	const char	*p;
	char		*end;
	int		 n;

	if (ver == NULL || ver[0] == '\0')
		return DIALECT_1_0_0;
	if (strstr(ver, "master") != NULL)
		return DIALECT_MASTER;
	/* the first "N.N" is the version: "idevicerestore 1.0.0" */
	for (p = ver; *p != '\0'; p++)
		if (*p >= '0' && *p <= '9' && p[1] == '.' && p[2] >= '0' && p[2] <= '9')
			break;
	if (*p == '\0')
		return DIALECT_MASTER;
	while (p > ver && p[-1] >= '0' && p[-1] <= '9')
		p--;
	for (n = 0; n < 3; n++) {
		v[n] = strtoul(p, &end, 10);
		p = end;
		if (*p != '.' || p[1] < '0' || p[1] > '9')
			break;
		p++;
	}
	if (v[0] != 1 ? v[0] > 1 : (v[1] != 0 || v[2] != 0))
		return DIALECT_MASTER;
	/* 1.0.0 or older; "1.0.0-208-g1a2b3c4" is git describe of a later
	 * commit, "1.0.0-5" a packager's revision of the release */
	if (p[0] == '-' && strstr(p, "-g") != NULL)
		return DIALECT_MASTER;
	return DIALECT_1_0_0;
}

/* Inverse of rp_step_name; STEP_NONE when unknown. */
int
rp_step_from_name(const char *name)
{
	int	i;

	if (name == NULL)
		return STEP_NONE;
	for (i = 0; i < STEP__COUNT; i++) {
		if (strcmp(name, step_names[i]) == 0)
			return i;
	}
	return STEP_NONE;
}

/* Create a parser; cb may be NULL when only the summary is wanted. */
struct restore_parse *
rp_new(rp_event_cb cb, void *arg)
{
	struct restore_parse	*rp;

	if ((rp = calloc(1, sizeof *rp)) == NULL)
		return NULL;
	rp->cb = cb;
	rp->arg = arg;
	rp->sum.step = STEP_NONE;
	rp->sum.max_step = STEP_NONE;
	return rp;
}

/* Free a parser (NULL is fine). */
void
rp_free(struct restore_parse *rp)
{
	free(rp);
}

/* The summary so far. */
const struct rp_summary *
rp_summary(const struct restore_parse *rp)
{
	return &rp->sum;
}

static void
emit(struct restore_parse *rp, enum rp_event_kind kind, long code,
    const char *text, size_t len)
{
	struct rp_event	ev;

	if (rp->cb == NULL)
		return;
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.step = rp->sum.step;
	ev.percent = rp->sum.percent;
	ev.code = code;
	ev.text = text;
	ev.len = len;
	rp->cb(rp->arg, &ev);
}

/* Every line is tried against many prefixes: most differ in the first byte. */
static inline int
starts(const char *s, const char *prefix)
{
	if (prefix[0] == '\0')
		return 1;
	return s[0] == prefix[0] && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * 10^-k as repeated division by 10 gives it, k = 0..15: the same doubles
 * the loop below computed one division per digit (divisions are slow and
 * every progress line has six fraction digits), folded by the compiler.
 */
#define D1	(1.0 / 10)
#define D2	(D1 / 10)
#define D3	(D2 / 10)
#define D4	(D3 / 10)
#define D5	(D4 / 10)
#define D6	(D5 / 10)
#define D7	(D6 / 10)
#define D8	(D7 / 10)
static const double scales[] = {
	1.0, D1, D2, D3, D4, D5, D6, D7, D8, D8 / 10, D8 / 10 / 10,
	D8 / 10 / 10 / 10, D8 / 10 / 10 / 10 / 10, D8 / 10 / 10 / 10 / 10 / 10,
	D8 / 10 / 10 / 10 / 10 / 10 / 10, D8 / 10 / 10 / 10 / 10 / 10 / 10 / 10
};

/*
 * A decimal number with '.' or ',' (the child may run under any locale);
 * strtod would depend on ours. Returns the end, or NULL when none.
 */
static const char *
parse_decimal(const char *s, double *out)
{
	double	v = 0, scale = 1;
	int	digits = 0;
	size_t	k = 0;

	while (is_digit(*s)) {
		if (v < 1e12)
			v = v * 10 + (*s - '0');
		s++;
		digits++;
	}
	if (*s == '.' || *s == ',') {
		s++;
		while (is_digit(*s)) {
			if (++k < sizeof scales / sizeof scales[0])
				scale = scales[k];
			else
				scale /= 10;
			v += (*s - '0') * scale;
			s++;
			digits++;
		}
	}
	if (digits == 0)
		return NULL;
	*out = v;
	return s;
}

/* A signed integer; returns the end or NULL. */
static const char *
parse_long(const char *s, long *out)
{
	long	v = 0;
	int	neg = 0, digits = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	while (is_digit(*s)) {
		if (v < 100000000L)
			v = v * 10 + (*s - '0');
		s++;
		digits++;
	}
	if (digits == 0)
		return NULL;
	*out = neg ? -v : v;
	return s;
}

static double
clamp_percent(double p)
{
	if (!(p >= 0))		/* also NaN */
		return 0;
	if (p > 100)
		return 100;
	return p;
}

static void
set_dialect(struct restore_parse *rp, enum rp_dialect d)
{
	/* Master's evidence is unambiguous; 1.0.0's only counts until then. */
	if (d == DIALECT_MASTER)
		rp->sum.dialect = DIALECT_MASTER;
	else if (rp->sum.dialect == DIALECT_UNKNOWN)
		rp->sum.dialect = d;
}

static void
set_step(struct restore_parse *rp, int step, double percent)
{
	int	changed = (step != rp->sum.step);

	rp->sum.step = step;
	rp->sum.percent = clamp_percent(percent);
	if (step > rp->sum.max_step)
		rp->sum.max_step = step;
	if (changed)
		emit(rp, RP_STEP, step, NULL, 0);
}

static void
set_decisive(struct restore_parse *rp, int rank, const char *msg, size_t len)
{
	if (rank <= rp->decisive_rank)
		return;
	rp->decisive_rank = rank;
	text_sanitize(rp->sum.decisive, sizeof rp->sum.decisive, msg, len);
}

static void
set_finished(struct restore_parse *rp, const char *line, size_t len)
{
	if (!rp->sum.finished) {
		rp->sum.finished = true;
		emit(rp, RP_FINISHED, 0, line, len);
	}
}

static inline int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * A message placed the run at step/pct (logs without -P). Steps only go
 * forward here: a later retry's messages or a paste out of order must not
 * move the run back. Within a step a later phase sets the percent; the
 * bars in between may refine it. `progress:` lines, when there are any,
 * rule alone.
 */
static void
infer_step(struct restore_parse *rp, int step, int pct)
{
	if (rp->have_progress || step < 0 || step >= STEP__COUNT)
		return;
	if (step > rp->sum.step) {
		rp->implied_pct = pct;
		/* a tail that starts with bars: their percent is all there is */
		if (rp->sum.step == STEP_NONE && rp->pct_from_bar)
			set_step(rp, step, rp->sum.percent);
		else
			set_step(rp, step, pct);
	} else if (step == rp->sum.step && pct > rp->implied_pct) {
		rp->implied_pct = pct;
		rp->sum.percent = clamp_percent(pct);
	}
}

/* `progress: <step> <fraction>` */
static int
match_progress(struct restore_parse *rp, const char *s)
{
	const char	*p;
	long		 step;
	double		 frac;

	if (!starts(s, "progress: "))
		return 0;
	p = s + 10;
	if ((p = parse_long(p, &step)) == NULL || *p != ' ')
		return 0;
	if ((p = parse_decimal(p + 1, &frac)) == NULL)
		return 0;
	if (step < 0 || step >= STEP__COUNT)
		return 1;	/* a progress line, but not one we can place */
	rp->have_progress = 1;
	rp->pct_from_progress = 1;
	rp->pct_from_bar = 0;
	if (step == STEP_UPLOAD_IMG)
		set_dialect(rp, DIALECT_MASTER);
	set_step(rp, (int)step, frac * 100.0);
	emit(rp, RP_PROGRESS, 0, s, strlen(s));
	/* The last progress line at 1.0 is only printed after a successful restore. */
	if (frac >= 1.0 && (step == STEP_UPLOAD_IMG ||
	    (step == STEP_FUD && rp->sum.dialect != DIALECT_MASTER)))
		set_finished(rp, s, strlen(s));
	return 1;
}

static void parse_line(struct restore_parse *, char *, size_t);

/*
 * Bars: 1.0.0 "[=====     ]  42.0%", master "Label [====   ]  42.0% ".
 * Between the brackets only '=' and ' '.
 */
static int
match_bar(struct restore_parse *rp, const char *s)
{
	const char	*open, *p;
	double		 v;

	if ((open = strchr(s, '[')) == NULL)
		return 0;
	for (p = open + 1; *p == '=' || *p == ' '; p++)
		;
	if (*p != ']' || p - open < 11)
		return 0;
	p++;
	while (*p == ' ')
		p++;
	if ((p = parse_decimal(p, &v)) == NULL || *p != '%')
		return 0;
	if (open != s) {
		/* a label in front: only master prints one */
		if (open[-1] != ' ')
			return 0;
		set_dialect(rp, DIALECT_MASTER);
	} else if (p[1] == ' ')
		set_dialect(rp, DIALECT_MASTER);
	else
		set_dialect(rp, DIALECT_1_0_0);
	rp->sum.percent = clamp_percent(v);
	rp->pct_from_progress = 0;
	rp->pct_from_bar = 1;
	emit(rp, RP_PROGRESS, 0, s, strlen(s));
	/* a terminal paste glues the next line to the bar: "19.0%ERROR: ..." */
	for (p++; *p == ' '; p++)
		;
	if (*p != '\0' && rp->depth < 4) {
		rp->depth++;
		parse_line(rp, (char *)(uintptr_t)p, strlen(p));
		rp->depth--;
	}
	return 1;
}

/* Master's plain label lines: "Uploading:   0.4" (value 0..1). */
static int
match_label(struct restore_parse *rp, const char *s)
{
	const char	*p, *q;
	double		 v, half;

	if (!(*s >= 'A' && *s <= 'Z'))
		return 0;
	for (p = s; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	    *p == ' '; p++)
		;
	if (*p != ':' || p[1] != ' ')
		return 0;
	p++;
	while (*p == ' ')
		p++;
	/* "%5.1f" always has a point: "BoardID: 0" is not a label line */
	if (strchr(p, '.') == NULL && strchr(p, ',') == NULL)
		return 0;
	q = p;
	if ((p = parse_decimal(p, &v)) == NULL || *p != '\0' || v > 1.0)
		return 0;
	set_dialect(rp, DIALECT_MASTER);
	/*
	 * "Uploading:   0.6" has one decimal; a `progress:` line's 61.2345%
	 * that it rounds to is the finer figure: keep it.
	 */
	for (half = 50.0, q = strpbrk(q, ".,") + 1; is_digit(*q); q++)
		half /= 10;
	if (rp->pct_from_progress && v * 100.0 - rp->sum.percent <= half &&
	    rp->sum.percent - v * 100.0 <= half) {
		emit(rp, RP_PROGRESS, 0, s, strlen(s));
		return 1;
	}
	rp->pct_from_progress = 0;
	rp->sum.percent = clamp_percent(v * 100.0);
	emit(rp, RP_PROGRESS, 0, s, strlen(s));
	return 1;
}

static int
op_step(long op)
{
	switch (op) {
	case 13:
		return STEP_UPLOAD_FS;
	case 14:
		return STEP_VERIFY_FS;
	case 18:
		return STEP_FLASH_FW;
	case 19:
	case 51:
		return STEP_FLASH_BB;
	case 36:
		return STEP_FUD;
	}
	return STEP_NONE;
}

/* Device operations: "Verifying restore (14)". */
static int
match_operation(struct restore_parse *rp, const char *s, size_t len)
{
	const char	*open, *p;
	long		 op;
	int		 step;

	if (len < 5 || s[len - 1] != ')' || !(*s >= 'A' && *s <= 'Z'))
		return 0;
	if (starts(s, "Unable") || starts(s, "Could") || starts(s, "Failed") ||
	    starts(s, "Error") || starts(s, "Unhandled") || starts(s, "ERROR"))
		return 0;
	if ((open = strstr(s, " (")) == NULL)
		return 0;
	while ((p = strstr(open + 1, " (")) != NULL)
		open = p;
	if (memchr(s, ':', open - s) != NULL)
		return 0;
	if ((p = parse_long(open + 2, &op)) == NULL || p != s + len - 1 ||
	    op < 0 || op > 1000)
		return 0;
	emit(rp, RP_OPERATION, op, s, len);
	if ((step = op_step(op)) != STEP_NONE && step != rp->sum.step)
		set_step(rp, step, 0);
	return 1;
}

static const struct {
	const char	*text;
	long		 code;
} status_texts[] = {
	{ "Status: Restore Finished", 0 },
	{ "Status: Verification Error", -1 },
	{ "Status: Disk Failure", 6 },
	{ "Status: Failed to mount filesystems", 27 },
	{ "Status: Failed to load SEP Firmware", 51 },
	{ "Status: Failed to recover FDR data", 53 },
	{ "Status: X-Gold Baseband Update Failed", 1015 },
	{ "Status: Fail", 14 },		/* after the longer "Fail..." texts */
};

static void
got_status(struct restore_parse *rp, long code, const char *s, size_t len)
{
	rp->sum.have_status = true;
	rp->sum.status = code;
	emit(rp, RP_STATUS, code, s, len);
	if (code == 0)
		set_finished(rp, s, len);
	else
		set_decisive(rp, RANK_STATUS, s, len);
}

static int
match_status(struct restore_parse *rp, const char *s, size_t len)
{
	const char	*p;
	size_t		 i, n;
	long		 code;

	if (strcmp(s, "Got status message") == 0) {
		rp->in_device_log = 0;
		return 1;
	}
	if (starts(s, "Unhandled status message (")) {
		if ((p = parse_long(s + 26, &code)) != NULL && *p == ')')
			got_status(rp, code, s, len);
		return 1;
	}
	if (!starts(s, "Status: "))
		return 0;
	for (i = 0; i < sizeof status_texts / sizeof status_texts[0]; i++) {
		n = strlen(status_texts[i].text);
		if (strncmp(s, status_texts[i].text, n) != 0)
			continue;
		/* "Status: Fail" must not take "Status: Failure..." it does not know */
		if (status_texts[i].code == 14 && s[n] != '\0' && s[n] != ' ')
			continue;
		got_status(rp, status_texts[i].code, s, len);
		return 1;
	}
	return 0;
}

static void
got_tss(struct restore_parse *rp, long status, const char *s, size_t len)
{
	rp->sum.have_tss = true;
	rp->sum.tss_status = status;
	emit(rp, RP_TSS, status, s, len);
}

static void
tss_failed(struct restore_parse *rp, int rank, const char *msg, size_t len)
{
	rp->sum.tss_failed = true;
	if (rp->sum.cause == 0) {
		rp->sum.cause = RPF_SIGNING;
		if (rank < RANK_CAUSE)
			rank = RANK_CAUSE;
	}
	set_decisive(rp, rank, msg, len);
	infer_step(rp, STEP_PREPARE, 20);
}

/* TSS (signing) lines; message is the line with any ERROR: prefix stripped. */
static int
match_tss(struct restore_parse *rp, const char *msg, size_t len)
{
	const char	*p;
	long		 status;

	if ((p = strstr(msg, "TSS server returned: ")) != NULL) {
		if ((p = strstr(p, "STATUS=")) != NULL &&
		    parse_long(p + 7, &status) != NULL)
			got_tss(rp, status, msg, len);
		else {
			/* a web page instead of an answer (403 Forbidden, a proxy) */
			got_tss(rp, 0, msg, len);
			tss_failed(rp, RANK_MEDIUM, msg, len);
		}
		rp->in_tss = 0;
		return 1;
	}
	if (starts(msg, "TSS request failed")) {
		status = -1;
		if ((p = strstr(msg, "status=")) != NULL)
			parse_long(p + 7, &status);
		got_tss(rp, status, msg, len);
		tss_failed(rp, RANK_TSS, msg, len);
		return 1;
	}
	if (strstr(msg, "response successfully received") != NULL ||
	    starts(msg, "Received SHSH blobs")) {
		got_tss(rp, 0, msg, len);
		rp->sum.tss_failed = false;
		if (rp->sum.cause == RPF_SIGNING)
			rp->sum.cause = 0;	/* a retry got through */
		rp->in_tss = 0;
		return 1;
	}
	if ((strstr(msg, "gs.apple.com") != NULL || rp->in_tss) &&
	    (strstr(msg, "Could not resolve host") != NULL ||
	    strstr(msg, "Failed to connect to") != NULL ||
	    strstr(msg, "Empty reply from server") != NULL ||
	    strstr(msg, "timed out") != NULL)) {
		got_tss(rp, -1, msg, len);
		/*
		 * idevicerestore retries, but cannot go on without an answer:
		 * unless a later attempt gets through, this is the cause
		 */
		if (rp->sum.cause == 0)
			rp->sum.cause = RPF_SIGNING;
		set_decisive(rp, RANK_MEDIUM, msg, len);
		return 1;
	}
	if (starts(msg, "Unable to get SHSH blobs")) {
		tss_failed(rp, RANK_WEAK + 5, msg, len);
		return 1;
	}
	if (starts(msg, "Unable to send TSS request")) {
		tss_failed(rp, RANK_WEAK, msg, len);
		return 1;
	}
	return 0;
}

/*
 * Failure texts, in lower case: they are matched against a lower-case copy
 * of the message (a decade of releases spelt "Normal mode" and "normal
 * mode"). cause: the text names what went wrong,
 * so the earliest one decides; 0: a follow-on that only says where the run
 * gave up ("Unable to send iBEC" after the IPSW could not be read, "Unable
 * to place device into restore mode" after a lost component). step/pct:
 * where idevicerestore prints it (idevicerestore.c, restore.c), to place a
 * log that has no `progress:` lines; STEP_NONE when it may come anywhere.
 */
static const struct {
	const char	*text;
	unsigned	 flag;
	int		 rank;
	int		 exact;		/* the whole message, not a part of it */
	int		 cause;
	int		 step, pct;
} fail_texts[] = {
	{ "unable to discover device mode", RPF_NO_DEVICE, RANK_GOOD, 0, 1, STEP_DETECT, 0 },
	{ "no device found", RPF_NO_DEVICE, RANK_GOOD, 0, 1, STEP_DETECT, 0 },

	{ "unable to place device into recovery mode from normal mode",
	    RPF_LOST_NORMAL, RANK_GOOD, 0, 0, STEP_PREPARE, 25 },
	{ "unable to find device", RPF_LOST_NORMAL, RANK_MEDIUM, 1, 1, STEP_PREPARE, 25 },
	{ "failed to enter recovery mode", RPF_LOST_NORMAL, RANK_MEDIUM, 0, 1, STEP_PREPARE, 25 },
	{ "unable to connect to device in recovery mode", RPF_LOST_NORMAL, RANK_MEDIUM, 0, 1, STEP_PREPARE, 25 },
	{ "unable to enter recovery mode", RPF_LOST_NORMAL, RANK_MEDIUM, 0, 0, STEP_PREPARE, 25 },

	{ " component: ", RPF_LOST_COMPONENT, RANK_STRONG, 0, 1, STEP_PREPARE, 30 },
	{ "device did not disconnect", RPF_LOST_COMPONENT, RANK_STRONG - 5, 0, 1, STEP_PREPARE, 30 },
	{ "device did not reconnect", RPF_LOST_COMPONENT, RANK_STRONG - 5, 0, 1, STEP_PREPARE, 30 },
	{ "unable to place device into recovery mode from dfu mode",
	    RPF_LOST_COMPONENT, RANK_GOOD, 0, 0, STEP_PREPARE, 30 },
	{ "unable to send ibss", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 30 },
	{ "unable to send ibec", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 30 },
	{ "unable to send apticket", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 30 },
	{ "unable to send ramdisk", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 70 },
	{ "unable to send devicetree", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 70 },
	{ "unable to send kernelcache", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 70 },
	{ "unable to send applelogo", RPF_LOST_COMPONENT, RANK_WEAK, 0, 0, STEP_PREPARE, 70 },
	{ "unable to send data: ", RPF_LOST_COMPONENT, RANK_GOOD, 0, 1, STEP_PREPARE, 30 },
	{ "unable to execute ibec", RPF_LOST_COMPONENT, RANK_WEAK, 0, 1, STEP_PREPARE, 30 },
	{ "unable to connect to recovery device", RPF_LOST_COMPONENT, RANK_MEDIUM, 0, 1, STEP_PREPARE, 30 },
	{ "unable to connect to dfu device", RPF_LOST_COMPONENT, RANK_MEDIUM, 0, 1, STEP_PREPARE, 30 },

	/* the ramdisk and kernel were sent; the device never showed up in restore mode */
	{ "failed to place device in restore mode", RPF_NO_RESTORE_MODE, RANK_MEDIUM, 0, 1, STEP_PREPARE, 70 },
	{ "device failed to enter restore mode", RPF_NO_RESTORE_MODE, RANK_GOOD, 0, 1, STEP_PREPARE, 90 },
	{ "unable to connect to device in restore mode", RPF_NO_RESTORE_MODE, RANK_GOOD, 0, 1, STEP_PREPARE, 90 },
	{ "unable to place device into restore mode", RPF_NO_RESTORE_MODE, RANK_GOOD, 0, 0, STEP_PREPARE, 70 },
	{ "most likely image personalization failed", RPF_PERSONALIZE, RANK_STRONG, 0, 1, STEP_PREPARE, 90 },
	/* idevicerestore's hint after a device that did not show up: not a cause */
	{ "usbmuxd is running", RPF_USBMUXD, RANK_STRONG - 5, 0, 0, STEP_PREPARE, 90 },
	/* usbmuxd itself could not be reached: a cause */
	{ "usbmuxd_get_device_list", RPF_USBMUXD, RANK_STRONG, 0, 1, STEP_DETECT, 0 },
	{ "connect to usbmuxd", RPF_USBMUXD, RANK_STRONG, 0, 1, STEP_NONE, 0 },
	{ "usbmuxd socket", RPF_USBMUXD, RANK_STRONG, 0, 1, STEP_NONE, 0 },

	{ "unable to send data to asr", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "unable to send filesystem", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "unable to send payload to asr", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "unable to send oob data to asr", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "unable to connect to asr", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "unable to receive data from asr", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "asr was unable to", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "unable to send chunk checksum", RPF_LOST_RESTORE, RANK_STRONG, 0, 1, STEP_UPLOAD_FS, 0 },
	{ "could not read data (", RPF_LOST_RESTORE, RANK_STRONG - 5, 0, 1, STEP_NONE, 0 },
	{ "unable to send nor data", 0, RANK_WEAK, 0, 0, STEP_FLASH_FW, 0 },
	/* the restore gave up; says neither where nor why */
	{ "unable to successfully restore device", 0, RANK_WEAK, 0, 0, STEP_NONE, 0 },
	{ "unable to restore device", 0, RANK_GENERIC, 0, 0, STEP_NONE, 0 },

	/* "does not exist" / "cannot be opened": master checks before looking for a device */
	{ "firmware file ", RPF_IPSW, RANK_GOOD, 0, 1, STEP_NONE, 0 },
	{ "firmware file might be corrupt", RPF_IPSW, RANK_GOOD, 0, 1, STEP_DETECT, 60 },
	{ "ipsw_open ", RPF_IPSW, RANK_GOOD, 0, 1, STEP_DETECT, 60 },
	{ "zip_open: ", RPF_IPSW, RANK_GOOD, 0, 1, STEP_DETECT, 60 },
	{ "zip_name_locate", RPF_IPSW, RANK_GOOD, 0, 1, STEP_NONE, 0 },
	{ "could not find all required components in ipsw", RPF_IPSW, RANK_GOOD, 0, 1, STEP_PREPARE, 0 },
	{ "unable to extract ", RPF_IPSW, RANK_GOOD, 0, 1, STEP_NONE, 0 },
	{ "could not extract ", RPF_IPSW, RANK_GOOD, 0, 1, STEP_NONE, 0 },
	{ "unable to find component node", RPF_IPSW, RANK_GOOD, 0, 1, STEP_NONE, 0 },
	{ "no ipsw file given", RPF_IPSW, RANK_GOOD, 0, 1, STEP_DETECT, 0 },
	{ "invalid archive", RPF_IPSW, RANK_MEDIUM, 0, 1, STEP_DETECT, 60 },
	{ "this firmware is suitable for the current device", RPF_IPSW, RANK_GOOD, 0, 1, STEP_DETECT, 60 },

	{ "unable to discover device type", RPF_UNSUPPORTED, RANK_GOOD, 0, 1, STEP_DETECT, 0 },
	{ "unable to discover device model", RPF_UNSUPPORTED, RANK_GOOD, 0, 1, STEP_DETECT, 0 },
	{ "is not supported", RPF_UNSUPPORTED, RANK_MEDIUM, 0, 1, STEP_NONE, 0 },
	/* the device asked for something this idevicerestore does not know */
	{ "unknown data request", RPF_UNSUPPORTED, RANK_WEAK, 0, 0, STEP_NONE, 0 },

	/* the shell's word that the program died */
	{ "segmentation fault", RPF_CRASH, RANK_STRONG, 0, 1, STEP_NONE, 0 },
	{ "core dumped", RPF_CRASH, RANK_STRONG, 0, 1, STEP_NONE, 0 },
	{ "abort trap", RPF_CRASH, RANK_STRONG, 0, 1, STEP_NONE, 0 },
	{ "terminated by signal", RPF_CRASH, RANK_STRONG, 0, 1, STEP_NONE, 0 },
};

/*
 * Failure messages are short; a 20 KB debug dump is not one. The lower-case
 * copy of a message's start is what the failure texts are looked for in.
 */
#define RP_MATCH_CAP	512

/* Failure texts; returns true when one matched. */
static int
match_failure(struct restore_parse *rp, const char *msg, size_t len)
{
	char		 low[RP_MATCH_CAP + 1];
	const char	*hitp = NULL;
	size_t		 i, n, ln;
	int		 hit = 0, rank;

	ln = len < RP_MATCH_CAP ? len : RP_MATCH_CAP;
	for (i = 0; i < ln; i++)
		low[i] = (char)lower((unsigned char)msg[i]);
	low[ln] = '\0';

	if (strstr(low, "didn't accept basebanddata") != NULL) {
		/* the device refused its baseband: its own 1015 in other words */
		got_status(rp, 1015, msg, len);
		infer_step(rp, STEP_FLASH_BB, 0);
		return 1;
	}
	for (i = 0; i < sizeof fail_texts / sizeof fail_texts[0]; i++) {
		if (fail_texts[i].exact ? strcmp(low, fail_texts[i].text) != 0 :
		    (hitp = strstr(low, fail_texts[i].text)) == NULL)
			continue;
		/* a whole word: "device mode" is not "device model" */
		n = strlen(fail_texts[i].text);
		if (!fail_texts[i].exact && is_alpha(fail_texts[i].text[n - 1]) &&
		    is_alpha(hitp[n]))
			continue;
		/* "Firmware file" only as the not-there/unreadable error */
		if (fail_texts[i].flag == RPF_IPSW &&
		    strcmp(fail_texts[i].text, "firmware file ") == 0 &&
		    strstr(low, "does not exist") == NULL &&
		    strstr(low, "cannot be opened") == NULL)
			continue;
		/* " component: " only as "Unable to send <c> component: ..." */
		if (fail_texts[i].flag == RPF_LOST_COMPONENT &&
		    fail_texts[i].text[0] == ' ' &&
		    strncmp(low, "unable to send ", 15) != 0)
			continue;
		/* a crash is the shell's line, not idevicerestore's text */
		if (fail_texts[i].flag == RPF_CRASH && rp->in_device_log)
			continue;
		rp->sum.flags |= fail_texts[i].flag;
		if (fail_texts[i].flag == 0)
			rp->sum.generic_fail = true;
		rank = fail_texts[i].rank;
		if (fail_texts[i].cause && rp->sum.cause == 0 &&
		    fail_texts[i].flag != 0) {
			/* the earliest cause explains the run: later texts are its consequences */
			rp->sum.cause = fail_texts[i].flag;
			if (rank < RANK_CAUSE)
				rank = RANK_CAUSE;
		}
		if (fail_texts[i].flag == RPF_CRASH)
			rp->sum.crashed = true;
		set_decisive(rp, rank, msg, len);
		infer_step(rp, fail_texts[i].step, fail_texts[i].pct);
		hit = 1;
	}
	return hit;
}

/*
 * Master's log (stderr or its log file): "HH:MM:SS.mmm   <Error> msg".
 * Returns the message and sets *level to the label's first letter.
 */
static const char *
strip_log_prefix(const char *s, char *level)
{
	const char	*p;

	if (!(is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' &&
	    is_digit(s[3]) && is_digit(s[4]) && s[5] == ':' &&
	    is_digit(s[6]) && is_digit(s[7]) && s[8] == '.' &&
	    is_digit(s[9]) && is_digit(s[10]) && is_digit(s[11]) &&
	    s[12] == ' '))
		return NULL;
	for (p = s + 12; *p == ' '; p++)
		;
	if (*p != '<')
		return NULL;
	*level = p[1];
	if ((p = strchr(p, '>')) == NULL || p[1] != ' ')
		return NULL;
	return p + 2;
}

/* Text from the device follows: "Log is available:", "Panic log is available:", ... */
static int
is_device_log_start(const char *msg, size_t len)
{
	static const char	 tail[] = "og is available:";
	size_t			 n = sizeof tail - 1;

	if (starts(msg, "Previous Restore Log Received:"))
		return 1;
	return len >= n + 1 && strcmp(msg + len - n, tail) == 0 &&
	    (msg[len - n - 1] == 'L' || msg[len - n - 1] == 'l');
}

/*
 * Colour codes master writes when its output is a terminal (a `script`
 * capture, a tee through a pty): "\033[m\033[0;31m\033[1m" before a message.
 */
static const char *
skip_sgr(const char *s)
{
	const char	*p;

	while (s[0] == '\033' && s[1] == '[') {
		for (p = s + 2; is_digit(*p) || *p == ';'; p++)
			;
		if (*p != 'm')
			break;
		s = p + 1;
	}
	return s;
}

/*
 * Where idevicerestore is when it prints these (idevicerestore.c and
 * restore.c: the `progress:` calls around each message), for logs without
 * -P. Prefixes of the message; pct is the step's progress at that point.
 */
static const struct {
	const char	*text;
	int		 step, pct;
} phase_texts[] = {
	{ "Found device in ", STEP_DETECT, 10 },
	{ "Identified device as ", STEP_DETECT, 20 },
	{ "Extracting BuildManifest", STEP_DETECT, 60 },
	{ "Extracting Restore.plist", STEP_DETECT, 60 },
	{ "Product Version", STEP_DETECT, 80 },
	{ "IPSW Product Version", STEP_DETECT, 80 },
	{ "Variant: ", STEP_DETECT, 80 },
	{ "Checking IPSW for required components", STEP_PREPARE, 0 },
	{ "Extracting filesystem from IPSW", STEP_PREPARE, 0 },
	{ "Using cached filesystem", STEP_PREPARE, 0 },
	{ "Getting ApNonce", STEP_PREPARE, 20 },
	{ "Trying to fetch new SHSH blob", STEP_PREPARE, 20 },
	{ "Request URL set to", STEP_PREPARE, 20 },
	{ "Sending TSS request", STEP_PREPARE, 20 },
	{ "Entering recovery mode", STEP_PREPARE, 25 },
	{ "Extracting iBSS", STEP_PREPARE, 30 },
	{ "Extracting iBEC", STEP_PREPARE, 30 },
	{ "Sending iBSS", STEP_PREPARE, 30 },
	{ "Sending iBEC", STEP_PREPARE, 30 },
	{ "Sending APTicket", STEP_PREPARE, 30 },
	{ "Waiting for device to reconnect in recovery mode", STEP_PREPARE, 30 },
	{ "Recovery Mode Environment", STEP_PREPARE, 50 },
	{ "Sending RestoreLogo", STEP_PREPARE, 70 },
	{ "Sending AppleLogo", STEP_PREPARE, 70 },
	{ "Sending RestoreRamDisk", STEP_PREPARE, 70 },
	{ "Sending Ramdisk", STEP_PREPARE, 70 },
	{ "Sending RestoreDeviceTree", STEP_PREPARE, 70 },
	{ "Sending DeviceTree", STEP_PREPARE, 70 },
	{ "Sending RestoreKernelCache", STEP_PREPARE, 70 },
	{ "Sending KernelCache", STEP_PREPARE, 70 },
	{ "Waiting for device to enter restore mode", STEP_PREPARE, 90 },
	{ "Waiting for device to reconnect in restore mode", STEP_PREPARE, 90 },
	{ "About to send filesystem", STEP_UPLOAD_FS, 0 },
	{ "Connecting to ASR", STEP_UPLOAD_FS, 0 },
	{ "Connected to ASR", STEP_UPLOAD_FS, 0 },
	{ "Validating the filesystem", STEP_UPLOAD_FS, 0 },
	{ "Filesystem validated", STEP_UPLOAD_FS, 0 },
	{ "Sending filesystem now", STEP_UPLOAD_FS, 0 },
	{ "About to send NORData", STEP_FLASH_FW, 0 },
	{ "About to send BasebandData", STEP_FLASH_BB, 0 },
	{ "Sending Baseband TSS request", STEP_FLASH_BB, 0 },
	{ "Updating Baseband in progress", STEP_FLASH_BB, 0 },
	{ "About to send FUD data", STEP_FUD, 0 },
};

static void
match_phase(struct restore_parse *rp, const char *msg)
{
	size_t	i;

	/* with progress: lines only the two flags below matter */
	for (i = 0; !rp->have_progress &&
	    i < sizeof phase_texts / sizeof phase_texts[0]; i++) {
		if (starts(msg, phase_texts[i].text)) {
			infer_step(rp, phase_texts[i].step, phase_texts[i].pct);
			break;
		}
	}
	if (strstr(msg, "TSS request") != NULL || starts(msg, "Request URL set to"))
		rp->in_tss = 1;
	if (starts(msg, "Waiting for device to enter restore mode") ||
	    starts(msg, "Waiting for device to reconnect in restore mode"))
		rp->awaiting_restore = 1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * What people wrap around a log when they paste it: markdown (fences,
 * backticks, `>` quotes, emphasis), list numbers, a wrapper's timestamp and
 * quotes, a wrapper's own tags. Returns the message inside; may shorten
 * the line by writing a NUL at its new end.
 */
static char *
strip_debris(char *s, size_t *lenp)
{
	size_t	 len = *lenp, n;
	int	 changed, round;
	char	*p;

	for (round = 0; round < 8; round++) {
		changed = 0;
		while (is_space(*s) || *s == '`' || *s == '>' ||
		    (*s == '_' && s[1] != '_' && s[1] != '\0') ||
		    (*s == '*' && s[1] == '*')) {
			s += (*s == '*') ? 2 : 1;
			changed = 1;
		}
		/* "12. text", "3) text": a numbered paste */
		for (p = s; p - s < 4 && is_digit(*p); p++)
			;
		if (p > s && (*p == '.' || *p == ')') && p[1] == ' ' &&
		    !is_digit(p[2])) {
			s = p + 2;
			changed = 1;
		}
		/* a wrapper's "2018-04-25 10:25:50: " or "2017-11-10 13:50:57.204 " */
		if (is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) &&
		    is_digit(s[3]) && s[4] == '-' && is_digit(s[5]) &&
		    s[7] == '-' && is_digit(s[8]) && s[10] == ' ' &&
		    is_digit(s[11]) && s[13] == ':' && is_digit(s[14]) &&
		    s[16] == ':' && is_digit(s[17]) && is_digit(s[18])) {
			p = s + 19;
			if (*p == '.' || *p == ',')
				for (p++; is_digit(*p); p++)
					;
			if (*p == ':')
				p++;
			s = p;
			changed = 1;
		}
		if (*s == '"') {
			s++;
			changed = 1;
		}
		/* wrappers' own tags: futurerestore's "[Error] ", "what=" */
		if (s[0] == '[' && (strncmp(s, "[Error] ", 8) == 0 ||
		    strncmp(s, "[Log] ", 6) == 0 || strncmp(s, "[Info] ", 7) == 0 ||
		    strncmp(s, "[WARNING] ", 10) == 0)) {
			s = strchr(s, ']') + 2;
			changed = 1;
		}
		if (strncmp(s, "what=", 5) == 0) {
			s += 5;
			changed = 1;
		}
		if (!changed)
			break;
	}
	len = strlen(s);
	/* and at the end: blanks, backticks, emphasis, a JSON string's end */
	for (round = 0; round < 8 && len > 0; round++) {
		n = len;
		while (len > 0 && (is_space(s[len - 1]) || s[len - 1] == '`' ||
		    s[len - 1] == '"' || s[len - 1] == ','))
			len--;
		if (len > 0 && s[len - 1] == '_' && (len < 2 || s[len - 2] != '_'))
			len--;
		if (len > 1 && s[len - 1] == '*' && s[len - 2] == '*')
			len -= 2;
		if (len > 1 && s[len - 2] == '\\' && (s[len - 1] == 'n' ||
		    s[len - 1] == 'r'))
			len -= 2;
		if (len == n)
			break;
	}
	s[len] = '\0';
	*lenp = len;
	return s;
}

/*
 * A wrapper that JSON-escaped the whole output into one line: literal \n
 * and \r between the messages. Two or more of them, so a Windows path
 * ("C:\new") is not taken for one. Returns 1 when the line was split.
 */
static int
split_escaped(struct restore_parse *rp, char *s, size_t len)
{
	char	*p, *q, *piece;
	int	 n = 0, json = 0;
	size_t	 t;

	for (p = s; (p = strchr(p, '\\')) != NULL; p++) {
		if (p[1] == 'n' || p[1] == 'r')
			n++;
		if (p[1] == 'r' || p[1] == '"')
			json = 1;
		if (p[1] == '\0')
			break;
	}
	/* and it looks like a JSON string: an escaped \r or quote, or "\n" at its end */
	for (t = len; t > 0 && (s[t - 1] == '"' || s[t - 1] == ',' ||
	    is_space(s[t - 1])); t--)
		;
	if (t >= 2 && s[t - 2] == '\\' && s[t - 1] == 'n')
		json = 1;
	if (n < 2 || !json || rp->depth > 0)
		return 0;
	rp->depth++;
	for (piece = q = p = s; p < s + len; p++) {
		if (p[0] == '\\' && (p[1] == 'n' || p[1] == 'r')) {
			*q = '\0';
			parse_line(rp, piece, (size_t)(q - piece));
			p++;
			piece = q = p + 1;
			continue;
		}
		if (p[0] == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == 't')) {
			*q++ = p[1] == 't' ? ' ' : p[1];
			p++;
			continue;
		}
		*q++ = *p;
	}
	*q = '\0';
	if (q > piece)
		parse_line(rp, piece, (size_t)(q - piece));
	rp->depth--;
	return 1;
}

/* Judge one complete line (NUL-terminated in rp->line). */
static void
parse_line(struct restore_parse *rp, char *s, size_t len)
{
	const char	*msg, *p, *q;
	char		 level = 0;
	int		 is_error = 0, recognised = 0, prefixed = 0, mlog = 0;
	size_t		 mlen;

	if (split_escaped(rp, s, len))
		return;
	s = strip_debris(s, &len);
	if (len == 0)
		return;
	rp->sum.lines++;

	msg = skip_sgr(s);
	if ((p = strip_log_prefix(msg, &level)) != NULL) {
		msg = p;
		mlog = 1;
		set_dialect(rp, DIALECT_MASTER);
		if (level == 'E')
			is_error = 1;
	}
	if (starts(msg, "ERROR: ")) {
		msg += 7;
		is_error = prefixed = 1;
	} else if ((p = strstr(msg, "... ERROR: ")) != NULL) {
		/* 1.0.0: "Sending TSS request attempt 15... ERROR: Unable to send TSS request" */
		msg = p + 11;
		is_error = prefixed = 1;
	}
	mlen = len - (size_t)(msg - s);

	/* A device log goes on until idevicerestore speaks again. */
	if (rp->in_device_log) {
		if (mlog || prefixed || starts(msg, "progress: ") ||
		    strcmp(msg, "Got status message") == 0 ||
		    strcmp(msg, "DONE") == 0 || starts(msg, "Cleaning up") ||
		    starts(msg, "Unable to successfully restore device") ||
		    starts(msg, "Unable to restore device"))
			rp->in_device_log = 0;
		else {
			emit(rp, RP_LINE, 0, s, len);
			return;
		}
	}

	if (!is_error) {
		if (match_progress(rp, msg) || match_bar(rp, msg) ||
		    match_label(rp, msg) || match_status(rp, msg, mlen))
			recognised = 1;
		else if (is_device_log_start(msg, mlen)) {
			rp->in_device_log = 1;
			recognised = 1;
		} else if (starts(msg, "Sending filesystem now")) {
			/* master's log file has no progress lines: place the upload */
			if (rp->sum.step < STEP_UPLOAD_FS)
				set_step(rp, STEP_UPLOAD_FS, 0);
			recognised = 1;
		} else if (strcmp(msg, "DONE") == 0) {
			set_finished(rp, msg, mlen);
			recognised = 1;
		} else if (starts(msg, "Found device in ") &&
		    (q = strstr(msg + 16, " mode")) != NULL) {
			p = msg + 16;
			text_sanitize(rp->sum.mode, sizeof rp->sum.mode, p, q - p);
			emit(rp, RP_MODE, 0, rp->sum.mode, strlen(rp->sum.mode));
			recognised = 1;
		} else if (starts(msg, "Identified device as ") &&
		    (p = strstr(msg, ", ")) != NULL) {
			p += 2;
			q = p + strcspn(p, " ");
			text_sanitize(rp->sum.product_type,
			    sizeof rp->sum.product_type, p, q - p);
			emit(rp, RP_IDENT, 0, rp->sum.product_type,
			    strlen(rp->sum.product_type));
			recognised = 1;
		}
		if (!recognised || msg[0] == 'F' || msg[0] == 'I' ||
		    msg[0] == 'S')
			match_phase(rp, msg);
		/* the device came back, but in recovery: it never reached restore mode */
		if (rp->awaiting_restore && !recognised &&
		    strstr(msg, "connected in Recovery mode") != NULL)
			rp->sum.back_in_recovery = true;
		/* usbmuxd's own log (it starts "[09:51:42.017][3] "), pasted along: it was running */
		if (msg[0] == '[' && is_digit(msg[1]) &&
		    ((strstr(msg, "usbmuxd v") != NULL && strstr(msg, "starting up") != NULL) ||
		    (strstr(msg, "] Client ") != NULL && strstr(msg, " accepted") != NULL)))
			rp->sum.usbmuxd_running = true;
	}
	if (!recognised) {
		if (match_tss(rp, msg, mlen))
			recognised = 1;
		if (match_failure(rp, msg, mlen)) {
			recognised = 1;
			/* master prints its errors without the ERROR: prefix */
			if (!prefixed && !(rp->sum.flags & RPF_CRASH))
				set_dialect(rp, DIALECT_MASTER);
			is_error = 1;
		} else if (!is_error && match_operation(rp, msg, mlen))
			recognised = 1;
	}
	if (prefixed && !mlog && strcmp(msg, "Unable to send TSS request") != 0)
		set_dialect(rp, DIALECT_1_0_0);

	if (is_error) {
		rp->sum.errors++;
		text_sanitize(rp->sum.last_error, sizeof rp->sum.last_error,
		    msg, mlen);
		/* another device's lockdown trouble says nothing about ours */
		if (strstr(msg, "can't connect to lockdownd on device") != NULL)
			set_decisive(rp, RANK_SPURIOUS, msg, mlen);
		else
			set_decisive(rp, RANK_ERROR, msg, mlen);
		emit(rp, RP_ERROR, 0, msg, mlen);
	}
	emit(rp, RP_LINE, 0, s, len);
}

/*
 * A console 80 columns wide cut the last line in two ("... for the current
 * device. Ref" / "using to continue."): look for failure texts across the
 * cut too. The pieces are still judged as they are.
 */
static void
join_wrapped(struct restore_parse *rp, int stream, const char *line,
    size_t len)
{
	char	 joined[2 * RP_WRAP + 1];
	size_t	 n = rp->in[stream].wraplen, take;

	if (n < RP_WRAP - 1)
		return;
	memcpy(joined, rp->in[stream].wrapped, n);
	take = len < RP_WRAP ? len : RP_WRAP;
	memcpy(joined + n, line, take);
	joined[n + take] = '\0';
	match_failure(rp, joined, n + take);
}

static void
end_line(struct restore_parse *rp, int stream)
{
	char	*line = rp->in[stream].line;
	size_t	 len = rp->in[stream].len, raw = len;

	line[len] = '\0';
	rp->in[stream].len = 0;
	/* Trailing blanks: master's bars end with one, some lines with many. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	if (len == 0) {
		rp->in[stream].wraplen = 0;
		return;
	}
	if (rp->in[stream].wraplen != 0 && !rp->in_device_log)
		join_wrapped(rp, stream, line, len);
	rp->in[stream].wraplen = 0;
	if (raw == RP_WRAP || raw == RP_WRAP - 1) {
		memcpy(rp->in[stream].wrapped, line, len);
		rp->in[stream].wraplen = len;
	}
	parse_line(rp, line, len);
}

/* Only these bytes end a line or are dropped; all are <= '\r'. */
#define RP_SPECIAL(c)	((unsigned char)(c) <= '\r' && \
	((c) == '\n' || (c) == '\r' || (c) == '\0'))

/*
 * The end of the run of ordinary bytes at p. Eight bytes at a time while
 * none of them is below 0x0e (the usual case: text), then byte by byte.
 */
static const char *
scan_run(const char *p, const char *end)
{
	const uint64_t	 ones = 0x0101010101010101ULL;
	const uint64_t	 highs = 0x8080808080808080ULL;
	uint64_t	 w;

	while (end - p >= 8) {
		memcpy(&w, p, sizeof w);
		if (((w - ones * 0x0e) & ~w & highs) != 0)
			break;		/* some byte < 0x0e: look closer */
		p += 8;
	}
	while (p < end && !RP_SPECIAL(*p))
		p++;
	return p;
}

/*
 * Feed a chunk of one stream (0 stdout, 1 stderr): lines are split per stream.
 * Ordinary bytes are copied a run at a time: this loop sees every byte of
 * a restore's output (GBs a day on a full bench).
 */
void
rp_feed_stream(struct restore_parse *rp, int stream, const char *buf, size_t len)
{
	const char	*p, *q, *end;
	size_t		 n, room;
	char		 c;

	if (rp == NULL || buf == NULL)
		return;
	if (stream < 0 || stream >= RP_STREAMS)
		stream = 0;
	for (p = buf, end = buf + len; p < end; p = q) {
		c = *p;
		q = p + 1;
		if (c == '\r' || c == '\n') {
			if (c == '\n' && rp->in[stream].after_cr) {
				rp->in[stream].after_cr = 0;
				continue;
			}
			rp->in[stream].after_cr = (c == '\r');
			end_line(rp, stream);
			continue;
		}
		rp->in[stream].after_cr = 0;
		if (c == '\0')
			continue;
		q = scan_run(q, end);
		/* the rest of an overlong line is dropped, not buffered */
		n = (size_t)(q - p);
		room = RP_LINE_CAP - rp->in[stream].len;
		if (n > room)
			n = room;
		memcpy(rp->in[stream].line + rp->in[stream].len, p, n);
		rp->in[stream].len += n;
	}
}

/* Feed a chunk of output (stdout and stderr may be fed to the same parser). */
void
rp_feed(struct restore_parse *rp, const char *buf, size_t len)
{
	rp_feed_stream(rp, 0, buf, len);
}

/* End of input: flush a last line without a newline. */
void
rp_finish(struct restore_parse *rp)
{
	int	i;

	if (rp == NULL || rp->finished_input)
		return;
	rp->finished_input = 1;
	for (i = 0; i < RP_STREAMS; i++) {
		if (rp->in[i].len > 0)
			end_line(rp, i);
	}
}
