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

#include "restore_parse.h"
#include "text.h"

#define RP_LINE_CAP	4096

struct restore_parse {
	rp_event_cb		 cb;
	void			*arg;
	struct rp_summary	 sum;

	/* one line buffer per stream, so stderr cannot cut into a stdout line */
	struct {
		char		 line[RP_LINE_CAP + 1];
		size_t		 len;
		int		 after_cr;	/* last byte was \r: a \n right after is not a new break */
	}			 in[RP_STREAMS];
	int			 finished_input;

	int			 in_device_log;	/* inside "Log is available:" text from the device */
	int			 decisive_rank;
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
	emit(rp, RP_PROGRESS, 0, s, strlen(s));
	return 1;
}

/* Master's plain label lines: "Uploading:   0.4" (value 0..1). */
static int
match_label(struct restore_parse *rp, const char *s)
{
	const char	*p;
	double		 v;

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
	if ((p = parse_decimal(p, &v)) == NULL || *p != '\0' || v > 1.0)
		return 0;
	set_dialect(rp, DIALECT_MASTER);
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
		return 1;
	}
	if (starts(msg, "TSS request failed")) {
		status = -1;
		if ((p = strstr(msg, "status=")) != NULL)
			parse_long(p + 7, &status);
		got_tss(rp, status, msg, len);
		rp->sum.tss_failed = true;
		set_decisive(rp, RANK_TSS, msg, len);
		return 1;
	}
	if (strstr(msg, "response successfully received") != NULL ||
	    starts(msg, "Received SHSH blobs")) {
		got_tss(rp, 0, msg, len);
		rp->sum.tss_failed = false;
		return 1;
	}
	if (strstr(msg, "gs.apple.com") != NULL &&
	    (strstr(msg, "Could not resolve host") != NULL ||
	    strstr(msg, "Failed to connect to") != NULL ||
	    strstr(msg, "timed out") != NULL)) {
		got_tss(rp, -1, msg, len);
		set_decisive(rp, RANK_MEDIUM, msg, len);
		return 1;
	}
	if (starts(msg, "Unable to get SHSH blobs")) {
		rp->sum.tss_failed = true;
		set_decisive(rp, RANK_WEAK + 5, msg, len);
		return 1;
	}
	if (starts(msg, "Unable to send TSS request")) {
		rp->sum.tss_failed = true;
		set_decisive(rp, RANK_WEAK, msg, len);
		return 1;
	}
	return 0;
}

static const struct {
	const char	*text;
	unsigned	 flag;
	int		 rank;
	int		 exact;		/* the whole message, not a part of it */
} fail_texts[] = {
	{ "Unable to discover device mode", RPF_NO_DEVICE, RANK_GOOD, 0 },
	{ "No device found", RPF_NO_DEVICE, RANK_GOOD, 0 },

	{ "Unable to place device into recovery mode from normal mode",
	    RPF_LOST_NORMAL, RANK_GOOD, 0 },
	{ "Unable to find device", RPF_LOST_NORMAL, RANK_MEDIUM, 1 },
	{ "Failed to enter recovery mode", RPF_LOST_NORMAL, RANK_MEDIUM, 0 },
	{ "Unable to enter recovery mode", RPF_LOST_NORMAL, RANK_MEDIUM, 0 },

	{ " component: ", RPF_LOST_COMPONENT, RANK_STRONG, 0 },
	{ "Device did not disconnect", RPF_LOST_COMPONENT, RANK_STRONG - 5, 0 },
	{ "Device did not reconnect", RPF_LOST_COMPONENT, RANK_STRONG - 5, 0 },
	{ "Unable to place device into recovery mode from DFU mode",
	    RPF_LOST_COMPONENT, RANK_GOOD, 0 },
	{ "Unable to send iBSS", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send iBEC", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send APTicket", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send Ramdisk", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send DeviceTree", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send KernelCache", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send AppleLogo", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to send data: ", RPF_LOST_COMPONENT, RANK_GOOD, 0 },
	{ "Unable to execute iBEC", RPF_LOST_COMPONENT, RANK_WEAK, 0 },
	{ "Unable to connect to recovery device", RPF_LOST_COMPONENT, RANK_MEDIUM, 0 },
	{ "Unable to connect to DFU device", RPF_LOST_COMPONENT, RANK_MEDIUM, 0 },
	{ "Failed to place device in restore mode", RPF_LOST_COMPONENT, RANK_MEDIUM, 0 },

	{ "Device failed to enter restore mode", RPF_NO_RESTORE_MODE, RANK_GOOD, 0 },
	{ "Unable to place device into restore mode", RPF_NO_RESTORE_MODE, RANK_GOOD, 0 },
	{ "most likely image personalization failed", RPF_PERSONALIZE, RANK_STRONG, 0 },
	{ "usbmuxd is running", RPF_USBMUXD, RANK_STRONG - 5, 0 },
	{ "usbmuxd", RPF_USBMUXD, RANK_MEDIUM, 0 },

	{ "Unable to send data to ASR", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "Unable to send filesystem", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "Unable to send payload to ASR", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "Unable to connect to ASR", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "Unable to receive data from ASR", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "ASR was unable to validate", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "Unable to send chunk checksum", RPF_LOST_RESTORE, RANK_STRONG, 0 },
	{ "Could not read data (", RPF_LOST_RESTORE, RANK_STRONG - 5, 0 },
	{ "Unable to successfully restore device", RPF_LOST_RESTORE, RANK_WEAK, 0 },
	{ "Unable to restore device", RPF_LOST_RESTORE, RANK_GENERIC, 0 },

	{ "Firmware file ", RPF_IPSW, RANK_GOOD, 0 },	/* "does not exist" / "cannot be opened" */
	{ "Firmware file might be corrupt", RPF_IPSW, RANK_GOOD, 0 },
	{ "ipsw_open ", RPF_IPSW, RANK_GOOD, 0 },
	{ "zip_open: ", RPF_IPSW, RANK_GOOD, 0 },
	{ "Could not find all required components in IPSW", RPF_IPSW, RANK_GOOD, 0 },
	{ "Unable to extract filesystem from IPSW", RPF_IPSW, RANK_GOOD, 0 },
	{ "no ipsw file given", RPF_IPSW, RANK_GOOD, 0 },
	{ "Invalid archive", RPF_IPSW, RANK_MEDIUM, 0 },
	{ "this firmware is suitable for the current device", RPF_IPSW, RANK_GOOD, 0 },

	{ "Unable to discover device type", RPF_UNSUPPORTED, RANK_GOOD, 0 },
	{ "is not supported", RPF_UNSUPPORTED, RANK_MEDIUM, 0 },
};

/* Failure texts; returns true when one matched. */
static int
match_failure(struct restore_parse *rp, const char *msg, size_t len)
{
	size_t	i;
	int	hit = 0;

	for (i = 0; i < sizeof fail_texts / sizeof fail_texts[0]; i++) {
		if (fail_texts[i].exact ? strcmp(msg, fail_texts[i].text) != 0 :
		    strstr(msg, fail_texts[i].text) == NULL)
			continue;
		/* "Firmware file" only as the not-there/unreadable error */
		if (fail_texts[i].flag == RPF_IPSW &&
		    strcmp(fail_texts[i].text, "Firmware file ") == 0 &&
		    strstr(msg, "does not exist") == NULL &&
		    strstr(msg, "cannot be opened") == NULL)
			continue;
		/* " component: " only as "Unable to send <c> component: ..." */
		if (fail_texts[i].flag == RPF_LOST_COMPONENT &&
		    fail_texts[i].text[0] == ' ' && !starts(msg, "Unable to send "))
			continue;
		rp->sum.flags |= fail_texts[i].flag;
		set_decisive(rp, fail_texts[i].rank, msg, len);
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

/* Judge one complete line (NUL-terminated in rp->line). */
static void
parse_line(struct restore_parse *rp, char *s, size_t len)
{
	const char	*msg, *p, *q;
	char		 level = 0;
	int		 is_error = 0, recognised = 0, prefixed = 0, mlog = 0;
	size_t		 mlen;

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
		    starts(msg, "Unable to successfully restore device"))
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
	}
	if (!recognised) {
		if (match_tss(rp, msg, mlen))
			recognised = 1;
		if (match_failure(rp, msg, mlen)) {
			recognised = 1;
			/* master prints its errors without the ERROR: prefix */
			if (!prefixed)
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

static void
end_line(struct restore_parse *rp, int stream)
{
	char	*line = rp->in[stream].line;
	size_t	 len = rp->in[stream].len;

	line[len] = '\0';
	rp->in[stream].len = 0;
	/* Trailing blanks: master's bars end with one, some lines with many. */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	if (len == 0)
		return;
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
