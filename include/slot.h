/*
 * slot.h: a slot is one physical USB port ("1-2.3") on the bench, and what
 * is plugged into it (core). The device on it is known by its ECID; the
 * address changes at every mode switch, the port does not.
 */
#ifndef IDB_SLOT_H
#define IDB_SLOT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "errclass.h"

enum dev_mode {
	MODE_NONE = 0,		/* nothing on the port */
	MODE_NORMAL,
	MODE_RECOVERY,
	MODE_DFU,
	MODE_RESTORE,
	MODE_PORTDFU,
	MODE_WTF,
	MODE__COUNT
};

enum job_state {
	JOB_NONE = 0,		/* never had a job */
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB__COUNT
};

enum job_action {
	ACT_UPDATE = 0,
	ACT_ERASE
};

/* What the bench knows of the phone on a slot. */
struct device_info {
	uint64_t ecid;			/* 0 = not known yet (old-style UDID before lockdownd answers) */
	uint32_t cpid, bdid;
	uint16_t product_id;		/* USB product id (mode) */
	char product_type[32];		/* "iPhone9,1" */
	char name[64];			/* "iPhone 7" */
	char udid[48];			/* normal mode only */
	char version[16];		/* iOS version, normal mode via lockdownd */
	char srnm[32];			/* serial number, recovery mode */
	char serial_raw[128];		/* the USB serial, sanitized, for the detail pane */
};

#define SLOT_TAIL_LINES 8
#define SLOT_TAIL_WIDTH 160

/* The current (or last) restore job of a slot, as the UI and JSON see it. */
struct slot_job {
	enum job_state state;
	enum job_action action;
	uint64_t ecid;			/* the device the job is for */
	int step;			/* enum rp_step */
	double percent;
	int queue_pos;			/* 1-based position while queued */
	time_t started, ended;
	struct err_result result;	/* class, code, step, percent, message when failed */
	char log_path[512];
	char firmware[80];		/* the IPSW chosen, "16.7.10 (20H350)", "" before a choice */
	bool waiting_fw;		/* queued until a firmware download or the library scan is done */
	pid_t pid;
	/* last lines of output, sanitized, ring buffer */
	char tail[SLOT_TAIL_LINES][SLOT_TAIL_WIDTH];
	unsigned tail_next, tail_count;
};

enum dfu_phase {
	DFU_OFF = 0,
	DFU_TO_RECOVERY,		/* asked lockdownd to enter recovery first */
	DFU_STEPS,			/* showing button steps with countdowns */
	DFU_WAIT,			/* steps done, waiting for 05ac:1227 on the port */
	DFU_DONE,			/* DFU device appeared on this port */
	DFU_TOO_LONG			/* normal mode came back: Side held too long */
};

struct slot {
	char label[32];			/* "A1" from [slots], or the port path */
	char port[32];			/* "1-2.3" */
	char hub[32];			/* parent hub path "1-2"; "" for a root port */
	int bus;
	int root_port;			/* port on the root hub; sched groups by bus+root_port */
	bool configured;		/* named in [slots] */
	bool present;			/* a device is on the port now */
	enum dev_mode mode;
	struct device_info dev;
	time_t since;			/* arrival / last mode change */
	time_t gone_at;			/* when the device left (for the reconnect window) */

	struct slot_job job;
	int attempts;			/* attempts for this device (history + this session) */

	bool marked;			/* UI multi-select */
	bool flagged;			/* flagged for hardware work (by ECID) */
	char flag_reason[128];
	char flag_hint[160];		/* model's repair hint: part, repair, price */
	bool ignored;			/* ignore (by ECID) */
	bool port_suspect;		/* triage: bad port/cable/hub */
	char advice_rule[32];
	char advice[320];
	bool advice_stop;		/* the advice says stop restoring: no auto policy starts one */
	char action_msg[128];		/* last recovery/kick result, "" if none */

	enum dfu_phase dfu;
	int dfu_step;			/* index into the model's sequence */
	double dfu_step_started;	/* monotonic seconds */
};

/* One past attempt as the history keeps it, and the detail pane and reports show it. */
struct bench_attempt {
	long id;
	char port[32];
	enum job_action action;
	time_t started, ended;
	enum job_state state;		/* JOB_FAILED etc; "interrupted" shows as failed + class */
	char cls[24];			/* class name, "interrupted" for rows closed at start-up */
	int code;
	int step;
	double percent;
	char log_path[512];
	char fw_version[32];		/* the IPSW it restored with, "" unknown */
	char fw_build[32];
	char fw_sha1[41];
};

/* The header's counts over a bench's slots. */
struct slot_tally {
	int slots, present, running, queued, done, failed, flagged, suspect;
};

/* "normal", "recovery", ... (JSON names of DESIGN.md); "none" for MODE_NONE. */
const char *slot_mode_name(enum dev_mode);
/* Three-letter grid tag: NRM REC DFU RST PDF WTF, "" for none. */
const char *slot_mode_tag(enum dev_mode);
/* "queued", "running", "done", "failed", "cancelled"; "" for none. */
const char *slot_job_state_name(enum job_state);
const char *slot_action_name(enum job_action);
/* Mode from an Apple USB product id (MODE_NONE if not an Apple phone id). */
enum dev_mode slot_mode_from_pid(uint16_t pid);
/* Does a device with this product id take iBoot commands (recovery, DFU, WTF)? (usbid.c) */
bool slot_pid_speaks_iboot(uint16_t pid);
/* Append a (sanitized) output line to the job's tail. */
void slot_tail_push(struct slot_job *, const char *line, size_t len);
/* Compare two port paths for display order: bus, then hub chain, then port numerically. */
int slot_port_cmp(const char *a, const char *b);

/*
 * The slot state machine: what an arrival on a port means. These take the
 * slot's state and the event and decide; the bench carries out the result.
 */

/*
 * What a USB arrival says by itself: the mode from the product id, and from
 * the serial the ECID/CPID/BDID/SRNM (recovery, DFU) or the UDID, and the
 * ECID of a new-style UDID (normal). Returns 0, 1 when the device is not an
 * Apple phone id, -1 when an iBoot serial string is unreadable (nd still
 * carries the sanitized raw serial).
 */
int slot_parse_arrival(uint16_t pid, const char *serial, size_t len, struct device_info *nd,
    enum dev_mode *mode);

/*
 * Decide who arrived on slot s: the same phone changing mode (it keeps its
 * ECID and what was learnt of it; a normal-mode id while its restore runs is
 * restore mode) or another phone. nd is the parsed arrival, with an ECID the
 * bench remembered for its UDID already filled in; it is completed in place.
 * Returns true when it is the same phone as before.
 */
bool slot_merge_arrival(const struct slot *s, struct device_info *nd, enum dev_mode *mode,
    bool job_active, time_t now, double reconnect_window);

/* The guided-DFU phase after the device on the slot arrived in s->mode. */
void slot_dfu_arrival(struct slot *s, double now_mono);

/* errclass's letter for the mode a device was in when it was lost ('n','r','d','R', 0). */
int slot_lost_mode(enum dev_mode prev, int last_step);

/* Count one more slot into t (start from a zeroed tally). */
void slot_tally_add(struct slot_tally *t, const struct slot *);

#endif
