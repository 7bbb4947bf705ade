/*
 * bench_int.h: between the controller (bench.c) and the job runner
 * (runner.c) only. The front ends see struct bench through bench.h.
 *
 * bench.c owns the slots, device events, commands and advice; runner.c owns
 * what happens to a queued or running restore (queue, launch, output, end).
 */
#ifndef IDB_BENCH_INT_H
#define IDB_BENCH_INT_H

#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "bench.h"
#include "ipsw.h"
#include "restore_parse.h"
#include "slot.h"

struct fwsel;
struct fwprep;
struct err_result;

#define MAX_OBSERVERS	4
#define MAX_KNOWN	512
#define HISTORY_MAX	256
#define TRIAGE_ALL_MAX	4096	/* the bench's attempts the port verdicts look at */
#define TRIAGE_CACHE_SECS 2.0	/* ...read again at most this often (another writer) */

struct config;
struct idev;
struct store;
struct usbwatch;
struct runjob;			/* runner.c's: a running restore */
struct triage_attempt;

struct bslot {
	struct slot s;			/* what the front ends see */
	struct runjob *rj;		/* while a child runs */
	unsigned long qseq;		/* queue order while queued */
	bool auto_done;			/* an auto policy already acted on this device */
	bool idev_pending;		/* a lockdownd query is under way */
	/* runner_fw.c's: the IPSW chosen for the queued or running job */
	char fw_path[1024];
	char fw_sha1[41];
	char fw_version[32];
	char fw_build[32];
	char fw_fail[256];		/* why no firmware: the failed job's message */
	int fw_lock;			/* fd + 1 holding flock(LOCK_SH) on the IPSW a restore uses, 0 none */
};

/* UDID -> ECID pairs learnt from lockdownd and from mode changes on one port. */
struct known_dev {
	char udid[48];
	uint64_t ecid;
	char product_type[32];
};

struct bench {
	struct ev_loop *loop;
	struct config *cfg;
	struct bslot **slots;
	size_t nslots, cap;
	struct bench_status st;
	struct bench_observer obs[MAX_OBSERVERS];
	size_t nobs;

	struct usbwatch *uw;
	struct idev *idev;
	struct store *store;
	char log_dir[512];
	int lockfd;
	bool shutting_down;
	bool usbmuxd_told;
	char last_store_problem[160];
	ev_timer tick;

	/* the runner's (runner.c): the restore program, the IPSW, the queue */
	enum rp_dialect dialect;
	char restore_cmd[256];
	char ipsw[512];
	struct ipsw_info ipsw_info;
	bool ipsw_info_ok;
	char ipsw_err[256];		/* why the IPSW could not be read, said at start */
	char ipsw_base_desc[128];
	struct ipsw_prep *prep;		/* one-time filesystem extraction for 1.0.0 children */
	char irecvfix[PATH_MAX];	/* the preload for 1.0.0 children, "" if not found */
	char preload_env[PATH_MAX * 2 + 16];	/* "LD_PRELOAD=..." for 1.0.0 children */
	bool prep_done;
	struct fwsel *fw;		/* runner_fw.c: the firmware library, index and downloads */
	struct fwprep *fwprep[64];	/* one-time extraction per library IPSW */
	size_t nfwprep;
	char work_dir[512];
	unsigned long seq;
	ev_timer reap;
	struct runjob *dead;

	struct known_dev known[MAX_KNOWN];
	size_t nknown;

	/* every attempt of this bench in triage's form: the same for every slot */
	struct triage_attempt *tri_all;
	size_t ntri_all;
	struct triage_attempt *tri_mine;	/* one phone's, HISTORY_MAX: reused by every advice */
	bool tri_ok;
	ev_tstamp tri_at;
};

/* Observer fan-out. */
#define NOTIFY(b, fn, ...) do {						\
	for (size_t o_ = 0; o_ < (b)->nobs; o_++)			\
		if ((b)->obs[o_].fn)					\
			(b)->obs[o_].fn((b)->obs[o_].arg, __VA_ARGS__);	\
} while (0)

/* bench.c, for the runner */

/* Index of a slot in b->slots, (size_t)-1 if it is not there. */
size_t	bench_slot_index(const struct bench *, const struct bslot *);
/* Tell the observers the slot (NULL: the header) changed. */
void	bench_changed(struct bench *, struct bslot *);
/* Tell the observers of a command or system error. */
void	bench_error(struct bench *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Recompute the header's counts. */
void	bench_recount(struct bench *);
/* Show a history problem in the header, and say it once. */
void	bench_check_store(struct bench *);
/* Recompute the slot's advice and port verdict; announce says it again. */
void	bench_update_advice(struct bench *, struct bslot *, bool announce);
/* Break the loop once shutting down (or headless) and nothing runs. */
void	bench_maybe_finish(struct bench *);

/* runner.c, for the controller */

/* The restore program (--restore-cmd > config > $IDEVICEBENCH_RESTORE_CMD) and the IPSW (read once). */
void	runner_configure(struct bench *, const struct bench_options *);
/* Say at start what will keep restores from working (no program, unreadable IPSW, no preload). */
void	runner_announce(struct bench *);
/* Find the restore program's dialect and the preload its children need; set up the reaper. */
void	runner_init(struct bench *);
/* Stop the reaper, free finished jobs, detach the running ones from their slots. */
void	runner_free(struct bench *);
/* Queue a restore of the slot's device. 0, or -1 with a one-line reason in msg. */
int	runner_queue(struct bench *, struct bslot *, enum job_action, char *msg, size_t msglen);
/* Start what the scheduler admits. */
void	runner_schedule(struct bench *);
/* Cancel the slot's queued job (why is its message) or its running child. */
void	runner_cancel(struct bench *, struct bslot *, const char *why);
/* Kill the slot's running child, if any (shutdown). */
void	runner_kill(struct bench *, struct bslot *);
/* The device of a running job came back: stop the reconnect window. */
void	runner_device_back(struct bench *, struct bslot *);
/* The device of a running job left: open the reconnect window. False when nothing runs. */
bool	runner_device_left(struct bench *, struct bslot *, enum dev_mode prev_mode);
/* Fail the slot's queued job now (class ipsw, msg its message): its firmware cannot come. */
void	runner_fail_firmware(struct bench *, struct bslot *, const char *msg);

/* runner_fw.c: which IPSW each job gets (the firmware library, DESIGN.md) */
/* Start the firmware service (library scan, downloads); b->ipsw is read already. */
void	runner_fw_init(struct bench *);
void	runner_fw_free(struct bench *);
/* Choose the slot's IPSW: 1 chosen (bs->fw_path), 0 wait (queued, waiting_fw), -1 none (msg). */
int	runner_fw_resolve(struct bench *, struct bslot *, bool retry, char *msg, size_t msglen);
/* True when the IPSW's filesystem is in the cache, or needs none (1.0.0 children). */
bool	runner_fw_prepared(struct bench *, const char *path);
/* A restore starts: log header, LRU, history. */
void	runner_fw_launching(struct bench *, struct bslot *, long attempt_id);
/* A restore ended: an IPSW that did not fit its phone is marked suspect. */
void	runner_fw_ended(struct bench *, struct bslot *, const struct err_result *, bool never_ran);
/* A phone arrived: fetch its firmware now when downloads are on. */
void	runner_fw_arrived(struct bench *, struct bslot *);

#endif
