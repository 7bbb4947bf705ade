/*
 * restore_parse.h: incremental parser for idevicerestore output (core).
 *
 * Fed arbitrary chunks (a line split anywhere, \r progress bars, \r\n, NULs,
 * megabyte lines) of a child's stdout and stderr, in either the 1.0.0 or the
 * master dialect, it reports events through a callback and keeps a summary
 * that errclass uses to decide an outcome.
 */
#ifndef IDB_RESTORE_PARSE_H
#define IDB_RESTORE_PARSE_H

#include <stddef.h>
#include <stdbool.h>

/* Restore steps, numbered as idevicerestore's `progress: <step>` lines. */
enum rp_step {
	STEP_NONE = -1,
	STEP_DETECT = 0,
	STEP_PREPARE,
	STEP_UPLOAD_FS,
	STEP_VERIFY_FS,
	STEP_FLASH_FW,
	STEP_FLASH_BB,
	STEP_FUD,
	STEP_UPLOAD_IMG,
	STEP__COUNT
};

enum rp_dialect {
	DIALECT_UNKNOWN = 0,
	DIALECT_1_0_0,		/* Debian 12's idevicerestore 1.0.0 */
	DIALECT_MASTER		/* upstream master (2024+) */
};

enum rp_event_kind {
	RP_PROGRESS,		/* step + percent (from `progress:` lines, bars, label lines) */
	RP_STEP,		/* the step changed (also sent with the first progress of a step) */
	RP_OPERATION,		/* device operation "Verifying restore (14)": code = op */
	RP_STATUS,		/* device status message: code = status number */
	RP_ERROR,		/* an error line (text) */
	RP_TSS,			/* TSS result: code = server status (-1 unreachable) */
	RP_MODE,		/* "Found device in X mode": text = mode word */
	RP_IDENT,		/* "Identified device as d10ap, iPhone9,1": text = product type */
	RP_FINISHED,		/* restore finished successfully (status 0 / final progress) */
	RP_LINE			/* any complete line (text), after the specific events */
};

struct rp_event {
	enum rp_event_kind kind;
	int step;		/* enum rp_step, STEP_NONE when unknown */
	double percent;		/* 0..100 */
	long code;
	const char *text;	/* the line (sanitized is the caller's job); not NUL-safe beyond len */
	size_t len;
};

/* What the parser has seen so far: what errclass needs. */
struct rp_summary {
	enum rp_dialect dialect;	/* guessed from the output */
	int step;			/* last step seen, STEP_NONE if none */
	double percent;			/* last percent in that step */
	int max_step;			/* furthest step reached */
	bool finished;			/* success markers seen */
	bool have_status;		/* a device status message was seen */
	long status;			/* its code */
	bool have_tss;			/* a TSS outcome was seen */
	long tss_status;		/* server status, -1 = could not reach the server */
	bool tss_failed;		/* "Unable to get SHSH blobs" / "TSS request failed" */
	char mode[16];			/* last "Found device in X mode" word */
	char product_type[32];		/* from "Identified device as" */
	char last_error[256];		/* last ERROR line (prefix stripped), sanitized */
	char decisive[256];		/* the line that best explains a failure (set by the parser) */
	unsigned errors;		/* count of error lines */
	unsigned long lines;		/* complete lines seen */
	/* bitmask of recognised failure texts (RPF_*) */
	unsigned flags;
	/*
	 * Added for logs pasted by people (no -P, consequences printed
	 * before causes): the RPF_* of the earliest failure text that names
	 * a cause, 0 if none; follow-on texts ("Unable to restore device")
	 * only set flags. errclass lets the cause decide.
	 */
	unsigned cause;
	bool generic_fail;		/* "Unable to restore device" and the like, no cause named */
	bool back_in_recovery;		/* came back in recovery while awaited in restore mode */
	bool usbmuxd_running;		/* usbmuxd's own log shows it was running */
	bool crashed;			/* the shell reported the program died (segfault, abort) */
};

/* Recognised failure texts (see reference/idevicerestore.md). */
#define RPF_NO_DEVICE		0x0001	/* Unable to discover device mode / No device found */
#define RPF_LOST_NORMAL		0x0002	/* Unable to place device into recovery mode from normal mode */
#define RPF_LOST_COMPONENT	0x0004	/* Unable to send <c> component / did not (dis)connect / reconnect */
#define RPF_NO_RESTORE_MODE	0x0008	/* Device failed to enter restore mode */
#define RPF_LOST_RESTORE	0x0010	/* ASR / filesystem / Could not read data / Unable to restore device */
#define RPF_USBMUXD		0x0020	/* Make sure that usbmuxd is running / usbmuxd errors */
#define RPF_IPSW		0x0040	/* IPSW could not be opened / read / extracted */
#define RPF_UNSUPPORTED		0x0080	/* Unable to discover device type / not supported */
#define RPF_PERSONALIZE		0x0100	/* reconnected in X mode, personalization failed */
#define RPF_CRASH		0x0200	/* "Segmentation fault (core dumped)" from a shell */
#define RPF_SIGNING		0x0400	/* only as a cause: TSS failed (see tss_failed) */

typedef void (*rp_event_cb)(void *arg, const struct rp_event *ev);

struct restore_parse;

/* Create a parser; cb may be NULL when only the summary is wanted. */
struct restore_parse *rp_new(rp_event_cb cb, void *arg);
void rp_free(struct restore_parse *);
/* Feed a chunk of output (stdout and stderr may be fed to the same parser). */
void rp_feed(struct restore_parse *, const char *buf, size_t len);
/*
 * Added: feed one stream (0 = stdout, 1 = stderr) with its own line buffer,
 * so a partial stdout line (1.0.0 block-buffers it) is not glued to stderr
 * lines arriving in between. rp_feed() is stream 0.
 */
#define RP_STREAMS	2
void rp_feed_stream(struct restore_parse *, int stream, const char *buf, size_t len);
/* End of input: flush a last line without a newline. */
void rp_finish(struct restore_parse *);
const struct rp_summary *rp_summary(const struct restore_parse *);

/* "upload_fs" etc. (the JSON step names of DESIGN.md); "detect" for out-of-range. */
const char *rp_step_name(int step);
/*
 * The dialect of the program whose `-v` printed ver ("idevicerestore 1.0.0"):
 * 1.0.0 and older releases speak 1.0.0; any later release, a git build
 * ("1.0.0-12-gabcdef", "master") or a version we cannot read speaks master
 * (which also takes --logfile=-). NULL or no version at all: 1.0.0.
 */
enum rp_dialect rp_dialect_from_version(const char *ver);
/* Inverse of rp_step_name; STEP_NONE when unknown. */
int rp_step_from_name(const char *name);

#endif
