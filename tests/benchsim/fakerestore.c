/*
 * fakerestore: a stand-in for idevicerestore under benchsim.
 *
 * Takes idevicerestore's arguments, asks the harness (BENCHSIM_CTL) what this
 * attempt does, prints the chosen dialect's real output shapes (1.0.0 or
 * master) over the scaled duration and has the harness move its device
 * through a real restore's modes. It never touches USB itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "models.h"
#include "scenario.h"

#ifndef BENCHSIM_TOP
#define BENCHSIM_TOP "."
#endif

#define TICK	0.25	/* seconds between progress lines, real time */
#define TICK_ENV	"FAKERESTORE_TICK"	/* overrides TICK (the benchmarks) */

static int		 ctl = -1;
static int		 master;
static double		 speed = 1;
static double		 total = 20;	/* scenario seconds */
static FILE		*logfp;		/* master's log */
static uint64_t		 ecid;
static int		 erase;
static char		 port[SC_PORTLEN];
static enum sc_mode	 mode;
static uint32_t		 cpid, bdid;
static int		 planned;
static struct sc_restore plan;
static int		 plain;		/* -P: "progress:" lines, not bars */
static double		 tick = TICK;

/* Failure texts and exit codes, by dialect. */
#define EXIT(v100)	(master ? 1 : (v100))

static void
sleep_secs(double s)
{
	struct timespec	 ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Sleep a fraction of the run, in scenario time. */
static void
wait_frac(double frac)
{
	sleep_secs(frac * total / speed);
}

static void
masterlog(const char *level, const char *msg)
{
	struct timeval	 tv;
	struct tm	 tm;

	if (logfp == NULL)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	fprintf(logfp, "%02d:%02d:%02d.%03d   <%s> %s", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(tv.tv_usec / 1000), level, msg);
	fflush(logfp);
}

/* idevicerestore's info(): stdout (block-buffered when piped, as in 1.0.0). */
static void
info(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs(buf, stdout);
	if (master) {
		fflush(stdout);
		masterlog("Info", buf);
	}
}

/* idevicerestore's error(): 1.0.0 to stderr with ERROR:, master to stdout. */
static void
error(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (master) {
		fputs(buf, stdout);
		fflush(stdout);
		masterlog("Error", buf);
	} else {
		fprintf(stderr, "ERROR: %s", buf);
		fflush(stderr);
	}
}

static void
bar(double pct)
{
	int	 i;

	if (master)
		printf("\r%s [", "Uploading");
	else
		printf("\r[");
	for (i = 0; i < 50; i++)
		putchar(i < pct / 2 ? '=' : ' ');
	printf(master ? "] %5.1f%% " : "] %5.1f%%", pct);
	if (pct >= 100)
		putchar('\n');
	fflush(stdout);
}

static void
upload_bar(double frac)
{
	int	 i, n = 4;

	for (i = 1; i <= n; i++) {
		wait_frac(frac / n);
		bar(100.0 * i / n);
	}
}

static int
ctl_open(void)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("BENCHSIM_CTL");
	int			 fd;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return (-1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* One request, one reply line; "" when the harness is gone. */
static const char *
ask(const char *fmt, ...)
{
	static char	 reply[1024];
	char		 line[256];
	va_list		 ap;
	size_t		 len = 0;
	ssize_t		 n;

	reply[0] = '\0';
	if (ctl < 0)
		return (reply);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (write(ctl, line, strlen(line)) < 0)
		return (reply);
	while (len < sizeof(reply) - 1) {
		if ((n = read(ctl, reply + len, 1)) <= 0)
			break;
		if (reply[len] == '\n')
			break;
		len++;
	}
	reply[len] = '\0';
	return (reply);
}

static const char *
field(const char *reply, const char *key)
{
	static char	 val[64];
	const char	*p;
	size_t		 n = strlen(key), i = 0;

	val[0] = '\0';
	for (p = reply; (p = strstr(p, key)) != NULL; p++) {
		if ((p == reply || p[-1] == ' ') && p[n] == '=') {
			p += n + 1;
			while (*p != '\0' && *p != ' ' && i < sizeof(val) - 1)
				val[i++] = *p++;
			val[i] = '\0';
			break;
		}
	}
	return (val);
}

/*
 * Have the harness switch the device to another mode; with wait, return
 * once it is back (idevicerestore waits for the reconnection too).
 */
static void
set_mode(enum sc_mode m, double delay, int wait)
{
	ask("mode 0x%llx %s %g%s", (unsigned long long)ecid,
	    scenario_mode_name(m), delay, wait ? " wait" : "");
}

static const char *
mode_label(enum sc_mode m)
{
	switch (m) {
	case SC_MODE_RECOVERY:
		return ("Recovery");
	case SC_MODE_DFU:
		return ("DFU");
	case SC_MODE_RESTORE:
		return ("Restore");
	case SC_MODE_WTF:
		return ("WTF");
	case SC_MODE_PORTDFU:
		return ("Port DFU");
	default:
		return ("Normal");
	}
}

static const char *
status_text(int n)
{
	switch (n) {
	case 0: return ("Status: Restore Finished");
	case 6: return ("Status: Disk Failure");
	case 14: return ("Status: Fail");
	case 27: return ("Status: Failed to mount filesystems.");
	case 51: return ("Status: Failed to load SEP Firmware.");
	case 53: return ("Status: Failed to recover FDR data.");
	case 1015: return ("Status: X-Gold Baseband Update Failed. Defective Unit?");
	}
	return (NULL);
}

/* The device is lost at this point of the restore. */
static void
fail_disconnect(int step, double frac)
{
	unsigned int	 size = 4200000000u;

	ask("vanish 0x%llx", (unsigned long long)ecid);
	if (step == 0) {
		error("Unable to discover device mode. Please make sure a "
		    "device is attached.\n");
		exit(EXIT(255));
	}
	if (step == 1) {
		error("Unable to send iBEC component: Unable to find device\n");
		error("Device did not disconnect. Possibly invalid iBEC. Reset "
		    "device and try again.\n");
		exit(EXIT(254));
	}
	if (step == 2) {
		error("Unable to send data to ASR. Sent %u of %u bytes.\n",
		    (unsigned int)(frac * size), size);
		error("Unable to send filesystem payload\n");
		error("Unable to send filesystem\n");
	} else
		error("Could not read data (-4). Aborting.\n");
	error("Unable to successfully restore device\n");
	error("Unable to restore device\n");
	exit(EXIT(245));
}

static void
fail_tss(void)
{
	info("Sending TSS request attempt 1... ");
	if (!master)
		info("TSS server returned: STATUS=94&MESSAGE=This device isn't "
		    "eligible for the requested build.\n");
	fflush(stdout);
	if (!master)
		error("TSS request failed (status=94, message=This device "
		    "isn't eligible for the requested build.)\n");
	error("Unable to send TSS request\n");
	error("Unable to get SHSH blobs for this device\n");
	exit(EXIT(255));
}

static void
fail_status(int n)
{
	const char	*t = status_text(n);

	info("Got status message\n");
	if (t != NULL)
		info("%s\n", t);
	else
		info("Unhandled status message (%d)\n", n);
	info("Log is available:\n");
	info("[  123.456] AppleImage4: failed to verify the restore (%d)\n", n);
	fflush(stdout);
	error("Unable to restore device\n");
	/* The device drops back to recovery mode (auto-boot is false). */
	set_mode(SC_MODE_RECOVERY, 0.05 * total, 0);
	exit(master ? 1 : (256 - (n & 0xff)) & 0xff);
}

/* Print a progress line; fail here when the plan says so. */
static void
progress(int step, double frac)
{
	if (plan.result != SC_RES_OK && plan.how != SC_HOW_TSS &&
	    plan.step == step && frac * 100.0 >= plan.pct) {
		/* The last progress seen is the planned failure point. */
		frac = plan.pct / 100.0;
		if (frac > 0)
			printf("progress: %u %f\n", step, frac);
		fflush(stdout);
		switch (plan.result) {
		case SC_RES_HANG:
			for (;;)
				pause();
		case SC_RES_CRASH:
			signal(SIGSEGV, SIG_DFL);
			raise(SIGSEGV);
			_exit(139);
		case SC_RES_FAIL:
			if (plan.how == SC_HOW_DISCONNECT)
				fail_disconnect(step, frac);
			if (plan.how == SC_HOW_STATUS)
				fail_status(plan.status);
			if (plan.how == SC_HOW_TSS)
				fail_tss();
			break;
		case SC_RES_OK:
			break;
		}
	}
	/*
	 * Without -P, idevicerestore draws its \r bar instead, and only for
	 * the filesystem, verify, firmware and image steps.
	 */
	if (!plain) {
		if (step == 2 || step == 3 || step == 4 || step == 7)
			bar(frac * 100.0);
		return;
	}
	printf("progress: %u %f\n", step, frac);
	fflush(stdout);
}

/* A step driven by device progress: ticks over its share of the run. */
static void
ticking(int step, double share, const char *label)
{
	double	 real = share * total / speed;
	int	 i, n = (int)(real / tick);

	if (n < 2)
		n = 2;
	progress(step, 0.0);
	for (i = 1; i <= n; i++) {
		sleep_secs(real / n);
		progress(step, (double)i / n);
		if (master && label != NULL)
			info("%s: %5.1f\n", label, (double)i / n);
	}
}

static void
nonce_line(const char *what, int n)
{
	int	 i;

	info("Getting %s in %s mode... ", what,
	    mode == SC_MODE_DFU ? "dfu" : "recovery");
	for (i = 0; i < n; i++)
		info("%02x ", (unsigned int)((ecid >> (i % 8 * 8)) ^ (i * 37)) &
		    0xff);
	info("\n");
}

static int
usage(void)
{
	printf("Usage: idevicerestore [OPTIONS] PATH\n");
	return (master ? 1 : 255);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ecid", required_argument, NULL, 'i' },
		{ "udid", required_argument, NULL, 'u' },
		{ "erase", no_argument, NULL, 'e' },
		{ "no-input", no_argument, NULL, 'y' },
		{ "plain-progress", no_argument, NULL, 'P' },
		{ "cache-path", required_argument, NULL, 'C' },
		{ "logfile", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "no-action", no_argument, NULL, 'n' },
		{ "no-restore", no_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 }
	};
	const struct model	*m;
	const char		*reply, *ipsw, *logfile = NULL;
	char			 err[256], *end, path[512];
	int			 c, version = 0, have_ecid = 0;
	const char		*hw = "d10ap", *pt = "iPhone9,1";

	if (getenv(TICK_ENV) != NULL && strtod(getenv(TICK_ENV), NULL) >= 0.01)
		tick = strtod(getenv(TICK_ENV), NULL);
	ctl = ctl_open();
	reply = ask("hello");
	master = strcmp(field(reply, "dialect"), "master") == 0;
	if (*field(reply, "speed") != '\0')
		speed = strtod(field(reply, "speed"), NULL);
	if (!(speed > 0))
		speed = 1;

	while ((c = getopt_long(argc, argv, "i:u:eyPC:vdhnz", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'i':
			errno = 0;
			ecid = strtoull(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || ecid == 0) {
				error("Could not parse ECID from '%s'\n",
				    optarg);
				return (master ? 1 : 255);
			}
			have_ecid = 1;
			break;
		case 'e':
			erase = 1;
			break;
		case 'L':
			logfile = optarg;
			break;
		case 'v':
			version = 1;
			break;
		case 'h':
			return (usage());
		case 'P':
			plain = 1;
			break;
		case 'u': case 'y': case 'C': case 'd': case 'n':
		case 'z':
			break;
		default:
			return (usage());
		}
	}
	if (version) {
		info("idevicerestore %s\n", master ?
		    "1.0.0-master-g1b1a6e4" : "1.0.0");
		return (0);
	}
	if (optind != argc - 1) {
		error("no ipsw file given\n");
		return (usage());
	}
	ipsw = argv[optind];
	if (master) {
		if (logfile == NULL) {
			/* master's default: a log file in the working directory */
			snprintf(path, sizeof(path), "restore_%016llx_%ld.log",
			    (unsigned long long)ecid, (long)time(NULL));
			logfp = fopen(path, "w");
		} else if (strcmp(logfile, "-") == 0)
			logfp = stderr;
		else if (strcmp(logfile, "NONE") != 0)
			logfp = fopen(logfile, "w");
	}

	progress(0, 0.0);
	reply = have_ecid ? ask("begin 0x%llx", (unsigned long long)ecid) : "";
	if (strncmp(reply, "ok", 2) != 0) {
		wait_frac(10.0 / total);	/* idevicerestore waits 10 s */
		error("Unable to discover device mode. Please make sure a "
		    "device is attached.\n");
		return (master ? 1 : 255);
	}
	snprintf(port, sizeof(port), "%s", field(reply, "port"));
	mode = scenario_mode_from_name(field(reply, "mode"));
	cpid = strtoul(field(reply, "cpid"), NULL, 0);
	bdid = strtoul(field(reply, "bdid"), NULL, 0);
	planned = atoi(field(reply, "planned"));
	total = strtod(field(reply, "secs"), NULL);
	if (!(total > 0))
		total = 20;
	plan.result = atoi(field(reply, "result"));
	plan.step = atoi(field(reply, "step"));
	plan.pct = strtod(field(reply, "pct"), NULL);
	plan.how = atoi(field(reply, "how"));
	plan.status = atoi(field(reply, "status"));

	/* ---- detect ---- */
	wait_frac(0.01);
	info("Found device in %s mode\n", mode_label(mode));
	progress(0, 0.1);
	if (!planned && !master && cpid >= 0x8100) {
		/* Debian's libirecovery 1.0.0 ends at iPhone12,8. */
		error("Unable to discover device type\n");
		return (255);
	}
	if (models_load_file(BENCHSIM_TOP "/config/models.tsv", err,
	    sizeof(err)) > 0 && (m = models_find_chip(cpid, bdid)) != NULL) {
		hw = m->hw_model;
		pt = m->product_type;
	}
	info("Identified device as %s, %s\n", hw, pt);
	progress(0, 0.2);
	if (access(ipsw, F_OK) != 0) {
		error("Firmware file %s does not exist.\n", ipsw);
		return (master ? 1 : 255);
	}
	info("Extracting BuildManifest from IPSW\n");
	progress(0, 0.6);
	info("Product Version: 15.8\n");
	info("Product Build: 19H370 Major: 19\n");
	info("Device supports Image4: true\n");
	progress(0, 0.8);
	wait_frac(0.01);
	if (erase) {
		info("Variant: Customer Erase Install (IPSW)\n");
		info("This restore will erase all device data.\n");
	} else {
		info("Variant: Customer Upgrade Install (IPSW)\n");
		info("This restore will update the device without erasing "
		    "user data.\n");
	}
	progress(0, 1.0);

	/* ---- prepare: TSS, iBSS/iBEC, ramdisk, into restore mode ---- */
	info("Checking IPSW for required components...\n");
	info("All required components found in IPSW\n");
	progress(1, 0.0);
	info("Extracting filesystem from IPSW: 098-59834-009.dmg\n");
	if (!master)
		upload_bar(0.02);
	else
		wait_frac(0.02);
	progress(1, 0.2);
	nonce_line("ApNonce", 32);
	info("Trying to fetch new SHSH blob\n");
	nonce_line("SepNonce", 20);
	if (plan.result == SC_RES_FAIL && plan.how == SC_HOW_TSS)
		fail_tss();
	info("Sending TSS request attempt 1... response successfully "
	    "received\n");
	info("Received SHSH blobs\n");
	wait_frac(0.02);
	progress(1, 0.25);
	if (mode == SC_MODE_NORMAL) {
		info("Entering recovery mode...\n");
		set_mode(SC_MODE_RECOVERY, 0.02 * total, 1);
		wait_frac(0.03);
	}
	progress(1, 0.3);
	if (mode == SC_MODE_DFU || mode == SC_MODE_WTF ||
	    mode == SC_MODE_PORTDFU) {
		info("Sending iBSS (%d bytes)...\n", 421348);
		upload_bar(0.01);
		info("Sending iBEC (%d bytes)...\n", 832104);
		upload_bar(0.01);
		info("Waiting for device to disconnect...\n");
		set_mode(SC_MODE_RECOVERY, 0.02 * total, 1);
		info("Waiting for device to reconnect in recovery mode...\n");
		wait_frac(0.03);
	} else {
		info("Recovery Mode Environment:\n");
		info("iBoot build-version=iBoot-7459.140.15\n");
		info("iBoot build-style=RELEASE\n");
		info("Sending iBEC (%d bytes)...\n", 832104);
		upload_bar(0.01);
		info("Waiting for device to disconnect...\n");
		set_mode(SC_MODE_RECOVERY, 0.02 * total, 1);
		info("Waiting for device to reconnect in recovery mode...\n");
		wait_frac(0.03);
	}
	progress(1, 0.5);
	info("Sending APTicket\n");
	info("Sending RestoreLogo (%d bytes)...\n", 26380);
	progress(1, 0.7);
	info("Sending DeviceTree (%d bytes)...\n", 114292);
	info("Sending RestoreRamDisk (%d bytes)...\n", 112459776);
	upload_bar(0.02);
	info("Sending KernelCache (%d bytes)...\n", 19227458);
	info("Booting the device\n");
	progress(1, 0.9);
	info("Waiting for device to enter restore mode...\n");
	set_mode(SC_MODE_RESTORE, 0.03 * total, 1);
	wait_frac(0.04);
	info("Device has successfully entered restore mode\n");
	progress(1, 1.0);
	info("About to restore device... \n");
	info("Connecting now...\n");
	info("Connected to com.apple.mobile.restored, version 15\n");
	info("Device %016llX has successfully entered restore mode\n",
	    (unsigned long long)ecid);
	info("About to send NORData...\n");
	info("Sending NORData now...\n");
	info("Done sending NORData\n");
	info("Waiting for NAND (28)\n");
	info("Creating partition map (12)\n");
	info("Creating filesystem (11)\n");

	/* ---- the restore proper ---- */
	info("About to send filesystem...\n");
	info("Connected to ASR\n");
	info("Validating the filesystem\n");
	info("Filesystem validated\n");
	info("Sending filesystem now...\n");
	ticking(2, 0.40, "Uploading");
	info("Done sending filesystem\n");
	info("Verifying restore (14)\n");
	ticking(3, 0.13, "Verifying");
	info("Checking filesystems (15)\n");
	info("Flashing firmware (18)\n");
	ticking(4, 0.10, "Flashing");
	info("About to send BasebandData...\n");
	info("Updating baseband (19)\n");
	ticking(5, 0.05, NULL);
	info("Updating Baseband completed.\n");
	info("Updating gas gauge software (36)\n");
	ticking(6, 0.03, NULL);
	if (master) {
		info("Restoring image (13)\n");
		ticking(7, 0.02, NULL);
	}
	info("Got status message\n");
	info("Status: Restore Finished\n");
	info("Cleaning up...\n");
	set_mode(SC_MODE_NORMAL, 0.05 * total, 0);
	info("DONE\n");
	progress(master ? 7 : 6, 1.0);
	return (0);
}
