/*
 * errclass.c: decide a restore's outcome (core).
 *
 * What the bench saw itself (cancel, stall, a device that left for good)
 * outranks what the child printed, which outranks its exit status: the
 * bench's own observations are certain, idevicerestore's text is specific,
 * and its exit status is coarse (master only returns 0 or 1).
 * Connection-loss numbers follow knowledge/restore-errors.md: this bench's
 * convention, so every message says "N-class".
 *
 * An err_input with exited false and signal 0 (no exit status known, as in
 * `idevicebench explain` without --exit) is judged from the text alone.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "errclass.h"
#include "text.h"

static const char *class_names[EC__COUNT] = {
	"none", "connection-lost", "signing", "device-reported", "no-device",
	"usbmuxd", "ipsw", "unsupported", "stalled", "crashed", "cancelled",
	"unknown"
};

/* JSON name of a class ("connection-lost", ...); "none" for EC_NONE. */
const char *
errclass_name(enum err_class cls)
{
	if ((int)cls < 0 || cls >= EC__COUNT)
		return class_names[EC_UNKNOWN];
	return class_names[cls];
}

/* Inverse; EC_UNKNOWN when not a known name. */
enum err_class
errclass_from_name(const char *name)
{
	int	i;

	if (name == NULL)
		return EC_UNKNOWN;
	for (i = 0; i < EC__COUNT; i++) {
		if (strcmp(name, class_names[i]) == 0)
			return (enum err_class)i;
	}
	return EC_UNKNOWN;
}

/* True for codes the knowledge file says point at hardware (6, 53, 1015). */
bool
errclass_code_is_hardware(int code)
{
	return code == 6 || code == 53 || code == 1015;
}

/* True for the communication family (9, 4005, 4013, 4014). */
bool
errclass_code_is_comm(int code)
{
	return code == 9 || code == 4005 || code == 4013 || code == 4014;
}

/* What a device status number means, in a few words. */
static const char *
status_text(int code)
{
	switch (code) {
	case -1:
		return "verification error";
	case 6:
		return "disk failure (NAND)";
	case 14:
		return "restore failed";
	case 27:
		return "failed to mount filesystems";
	case 50:
	case 51:
		return "failed to load SEP firmware";
	case 53:
		return "failed to recover FDR data (biometric/FDR, Touch ID/Face ID)";
	case 1015:
		return "baseband update failed, defective unit?";
	}
	return NULL;
}

/* Short words for a grid cell. */
static const char *
status_short(int code)
{
	switch (code) {
	case 6:
		return "disk";
	case 14:
		return "fail";
	case 27:
		return "mount";
	case 50:
	case 51:
		return "SEP";
	case 53:
		return "FDR";
	case 1015:
		return "BB";
	}
	return "dev";
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGABRT:
		return "SIGABRT";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGFPE:
		return "SIGFPE";
	case SIGKILL:
		return "SIGKILL";
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGPIPE:
		return "SIGPIPE";
	}
	return NULL;
}

/* The communication code of one RPF_* family, 0 if it is not one. */
static int
comm_code_of(unsigned flag)
{
	switch (flag) {
	case RPF_LOST_RESTORE:
		return 4013;
	case RPF_NO_RESTORE_MODE:
	case RPF_PERSONALIZE:
		return 4014;
	case RPF_LOST_COMPONENT:
		return 4005;
	case RPF_LOST_NORMAL:
		return 9;
	}
	return 0;
}

/* The communication code idevicerestore's own words point at, 0 if none. */
static int
comm_code_from_text(const struct rp_summary *p)
{
	int	code;

	/* the earliest cause, not the follow-on lines after it */
	if ((code = comm_code_of(p->cause)) != 0)
		return code;
	if (p->flags & RPF_LOST_RESTORE)
		return 4013;
	if (p->flags & (RPF_NO_RESTORE_MODE | RPF_PERSONALIZE))
		return 4014;
	if (p->flags & RPF_LOST_COMPONENT)
		return 4005;
	if (p->flags & RPF_LOST_NORMAL)
		return 9;
	return 0;
}

/* Waiting for restore mode comes after `progress: 1 0.9`. */
static bool
waiting_for_restore_mode(const struct rp_summary *p)
{
	return p->step == STEP_PREPARE && p->percent >= 90.0;
}

/* The communication code for a device the bench saw leave for good. */
static int
comm_code_from_loss(const struct rp_summary *p, int lost_mode)
{
	int	code;

	if (p->step >= STEP_UPLOAD_FS || p->max_step >= STEP_UPLOAD_FS)
		return 4013;
	switch (lost_mode) {
	case 'n':
		return 9;
	case 'R':
		return 4013;	/* it was in restore mode: the restore had begun */
	case 'r':
	case 'd':
		if ((p->flags & RPF_NO_RESTORE_MODE) || waiting_for_restore_mode(p))
			return 4014;
		return p->step == STEP_PREPARE ? 4005 : 4014;
	}
	if ((code = comm_code_from_text(p)) != 0)
		return code;
	if (p->step == STEP_PREPARE)
		return waiting_for_restore_mode(p) ? 4014 : 4005;
	return 4014;
}

static void
where(const struct err_result *out, char *buf, size_t len)
{
	if (out->step == STEP_NONE)
		snprintf(buf, len, "before any progress");
	else
		snprintf(buf, len, "during %s at %.0f%%",
		    rp_step_name(out->step), out->percent);
}

static void
comm_message(const struct err_result *out, char *msg, size_t len)
{
	char	w[64];

	where(out, w, sizeof w);
	switch (out->code) {
	case 9:
		snprintf(msg, len,
		    "9-class: the device vanished while being put into "
		    "recovery mode (%s)", w);
		break;
	case 4005:
		snprintf(msg, len,
		    "4005-class: lost the device while sending boot "
		    "components (%s)", w);
		break;
	case 4014:
		snprintf(msg, len,
		    "4014-class: the device did not come back in restore "
		    "mode (%s)", w);
		break;
	default:
		snprintf(msg, len,
		    "%d-class: lost the device %s", out->code, w);
		break;
	}
}

static void
set(struct err_result *out, enum err_class cls, int code)
{
	out->ok = (cls == EC_NONE);
	out->cls = cls;
	out->code = code;
}

/*
 * Text alone, a cause named: its family decides. Returns false to leave
 * the decision to the usual order (a signing failure is told there).
 */
static bool
decide_cause(const struct rp_summary *p, struct err_result *out, char *msg,
    size_t len)
{
	int	code;

	switch (p->cause) {
	case RPF_IPSW:
		set(out, EC_IPSW, ERR_NOCODE);
		snprintf(msg, len,
		    "ipsw: the firmware file cannot be opened or read");
		return true;
	case RPF_UNSUPPORTED:
		set(out, EC_UNSUPPORTED, ERR_NOCODE);
		snprintf(msg, len, "unsupported: this idevicerestore "
		    "does not know this device model");
		return true;
	case RPF_NO_DEVICE:
		set(out, EC_NO_DEVICE, ERR_NOCODE);
		snprintf(msg, len,
		    "no device: idevicerestore found no device to restore");
		return true;
	case RPF_USBMUXD:
		set(out, EC_USBMUXD, ERR_NOCODE);
		snprintf(msg, len, "usbmuxd: idevicerestore could not talk "
		    "to usbmuxd; is it running?");
		return true;
	case RPF_CRASH:
		set(out, EC_CRASHED, ERR_NOCODE);
		snprintf(msg, len, "crashed: the restore program died "
		    "(the shell said so) %s", "");
		return true;
	}
	if ((code = comm_code_of(p->cause)) == 0)
		return false;
	/*
	 * "Make sure that usbmuxd is running" after a device that did not
	 * show up in restore mode: usbmuxd is the suspect only while nothing
	 * says otherwise (it came back in recovery, or usbmuxd's own log
	 * shows it running).
	 */
	if (code == 4014 && (p->flags & RPF_USBMUXD) && !p->back_in_recovery &&
	    !p->usbmuxd_running) {
		set(out, EC_USBMUXD, ERR_NOCODE);
		snprintf(msg, len, "usbmuxd: the device did not show up "
		    "in restore mode; is usbmuxd running?");
		return true;
	}
	set(out, EC_CONNECTION_LOST, code);
	comm_message(out, msg, len);
	return true;
}

/* Decide the outcome of one restore attempt. */
void
errclass_decide(const struct err_input *in, struct err_result *out)
{
	static const struct rp_summary	 empty = {
		.step = STEP_NONE, .max_step = STEP_NONE
	};
	const struct rp_summary		*p = in->parse ? in->parse : &empty;
	bool				 known_exit, exit0;
	const char			*s, *what;
	char				 w[64], msg[512];
	int				 code;

	memset(out, 0, sizeof *out);
	out->code = ERR_NOCODE;
	out->step = p->step;
	out->percent = p->percent;
	text_copy(out->decisive, p->decisive, sizeof out->decisive);
	known_exit = in->exited || in->signal != 0;
	exit0 = in->exited && in->exit_status == 0;
	where(out, w, sizeof w);
	msg[0] = '\0';

	if (in->cancelled) {
		set(out, EC_CANCELLED, ERR_NOCODE);
		snprintf(msg, sizeof msg, "cancelled by the technician %s", w);
	} else if (in->ipsw_missing) {
		set(out, EC_IPSW, ERR_NOCODE);
		snprintf(msg, sizeof msg,
		    "ipsw: no firmware file configured, or it cannot be read");
	} else if (in->spawn_failed) {
		set(out, EC_CRASHED, ERR_NOCODE);
		snprintf(msg, sizeof msg,
		    "crashed: the restore program could not be started "
		    "(check restore_cmd)");
	} else if (in->stalled) {
		set(out, EC_STALLED, ERR_NOCODE);
		snprintf(msg, sizeof msg,
		    "stalled: no output or progress for too long %s", w);
	} else if (in->device_lost) {
		set(out, EC_CONNECTION_LOST, comm_code_from_loss(p, in->lost_mode));
		comm_message(out, msg, sizeof msg);
	} else if (exit0 || (!known_exit && p->finished &&
	    !(p->have_status && p->status != 0) && !p->tss_failed &&
	    p->flags == 0)) {
		set(out, EC_NONE, ERR_NOCODE);
		snprintf(msg, sizeof msg, "restore finished");
	} else if (p->have_status && p->status != 0) {
		code = (int)p->status;
		set(out, EC_DEVICE_REPORTED, code == -1 ? ERR_NOCODE : code);
		if ((s = status_text(code)) != NULL)
			snprintf(msg, sizeof msg, "device reported status %d: %s%s",
			    code, s, errclass_code_is_hardware(code) ?
			    " (points at hardware)" : "");
		else
			snprintf(msg, sizeof msg,
			    "device reported status %d %s", code, w);
	} else if (p->cause != 0 && p->cause != RPF_SIGNING &&
	    decide_cause(p, out, msg, sizeof msg)) {
		/* the earliest failure that names a cause decides */
	} else if (p->tss_failed || p->cause == RPF_SIGNING) {
		set(out, EC_SIGNING, 3194);
		if (p->have_tss && p->tss_status == -1)
			snprintf(msg, sizeof msg, "3194-class: could not reach "
			    "the signing server (network?)");
		else if (p->have_tss && p->tss_status > 0)
			snprintf(msg, sizeof msg, "3194-class: the signing "
			    "server refused this build for this device "
			    "(TSS status %ld)", p->tss_status);
		else
			snprintf(msg, sizeof msg, "3194-class: could not get "
			    "the firmware signed (no SHSH blobs)");
	} else if (p->flags & RPF_IPSW) {
		set(out, EC_IPSW, ERR_NOCODE);
		snprintf(msg, sizeof msg,
		    "ipsw: the firmware file cannot be opened or read");
	} else if (p->flags & RPF_UNSUPPORTED) {
		set(out, EC_UNSUPPORTED, ERR_NOCODE);
		snprintf(msg, sizeof msg, "unsupported: this idevicerestore "
		    "does not know this device model");
	} else if (p->flags & RPF_NO_DEVICE) {
		set(out, EC_NO_DEVICE, ERR_NOCODE);
		snprintf(msg, sizeof msg,
		    "no device: idevicerestore found no device to restore");
	} else if (p->flags & RPF_USBMUXD) {
		set(out, EC_USBMUXD, ERR_NOCODE);
		snprintf(msg, sizeof msg, "usbmuxd: the device did not show up "
		    "in restore mode; is usbmuxd running?");
	} else if ((code = comm_code_from_text(p)) != 0) {
		set(out, EC_CONNECTION_LOST, code);
		comm_message(out, msg, sizeof msg);
	} else if (p->generic_fail && p->max_step >= STEP_UPLOAD_FS) {
		/* "Unable to restore device" with no cause, once the restore proper ran */
		set(out, EC_CONNECTION_LOST, 4013);
		comm_message(out, msg, sizeof msg);
	} else if (!in->exited && in->signal != 0) {
		set(out, EC_CRASHED, ERR_NOCODE);
		if ((s = signal_name(in->signal)) == NULL)
			s = "a signal";
		if (in->signal == SIGSEGV && p->step <= STEP_DETECT)
			snprintf(msg, sizeof msg, "crashed: SIGSEGV at detect, "
			    "Debian libirecovery 1.0.0 irecv_open_with_ecid "
			    "use-after-free (fixed upstream in libirecovery "
			    "ce1d31f)");
		else
			snprintf(msg, sizeof msg, "crashed: the restore program "
			    "died on %s (%d) %s", s, in->signal, w);
	} else if (in->exited && p->dialect != DIALECT_MASTER &&
	    (in->exit_status == 254 || in->exit_status == 251 ||
	    in->exit_status == 245)) {
		/* 1.0.0's negative returns: -2 transitions, -5 normal->recovery, -11 lost */
		if (in->exit_status == 251)
			code = 9;
		else if (in->exit_status == 245)
			code = 4013;
		else
			code = (p->step == STEP_PREPARE &&
			    !waiting_for_restore_mode(p)) ? 4005 : 4014;
		set(out, EC_CONNECTION_LOST, code);
		comm_message(out, msg, sizeof msg);
	} else if (in->exited && p->dialect != DIALECT_MASTER &&
	    in->exit_status > 1 && in->exit_status < 245) {
		/* 1.0.0 returns -AMRError: only its low byte survives */
		code = 256 - in->exit_status;
		set(out, EC_DEVICE_REPORTED, code);
		snprintf(msg, sizeof msg, "device reported error %d (exit "
		    "status %d, low byte of AMRError) %s", code,
		    in->exit_status, w);
	} else {
		set(out, EC_UNKNOWN, ERR_NOCODE);
		what = p->last_error[0] != '\0' ? p->last_error :
		    "nothing recognisable in the output";
		if (in->exited)
			snprintf(msg, sizeof msg, "failed (exit %d) %s: %s",
			    in->exit_status, w, what);
		else
			snprintf(msg, sizeof msg, "did not finish %s: %s", w,
			    what);
	}
	text_sanitize(out->message, sizeof out->message, msg, strlen(msg));
}

/* Short label for a grid cell: "4013 lost", "3194 sign", "stalled", ... */
void
errclass_short(const struct err_result *r, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return;
	switch (r->cls) {
	case EC_NONE:
		snprintf(buf, len, "done");
		break;
	case EC_CONNECTION_LOST:
		if (r->code != ERR_NOCODE)
			snprintf(buf, len, "%d lost", r->code);
		else
			snprintf(buf, len, "lost");
		break;
	case EC_SIGNING:
		snprintf(buf, len, "3194 sign");
		break;
	case EC_DEVICE_REPORTED:
		if (r->code != ERR_NOCODE)
			snprintf(buf, len, "%d %s", r->code,
			    status_short(r->code));
		else
			snprintf(buf, len, "verify err");
		break;
	case EC_NO_DEVICE:
		snprintf(buf, len, "no device");
		break;
	case EC_UNKNOWN:
		snprintf(buf, len, "failed");
		break;
	default:
		snprintf(buf, len, "%s", errclass_name(r->cls));
		break;
	}
}
