/*
 * benchsim: run a program under an emulated USB bench.
 *
 * benchsim [--speed N] [--log FILE] [--log-time] [--ctl SOCKPATH] SCENARIO -- COMMAND [ARGS...]
 * benchsim --send SOCKPATH LINE
 *
 * Builds a umockdev testbed from the scenario, spawns COMMAND with the umockdev
 * preload, plays the timed events, answers the control socket (run-time
 * directives and the fake restore's requests) and exits with COMMAND's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib-unix.h>

#include "text.h"
#include "emudev.h"
#include "scenario.h"

#define PRELOAD		"libumockdev-preload.so.0"
#define DEFAULT_SECS	20.0
#define BOOT_SECS	2.0	/* a device rebooting into another mode */
#define LINEMAX		1024

struct plan {
	uint64_t		 ecid;
	int			 has;		/* a `restore` line exists */
	struct sc_restore	 r;
	int			 attempts;
};

struct conn {
	int		 fd;
	guint		 watch;
	char		 buf[LINEMAX];
	size_t		 len;
};

struct timed {
	struct sc_cmd	 cmd;
	int		 line;
};

/* A device coming back after a mode switch or a reboot. */
struct replug {
	char		 port[SC_PORTLEN];
	enum sc_mode	 mode;
	uint64_t	 ecid;
	uint32_t	 cpid, bdid;
	guint		 timer;
	struct conn	*waiter;	/* gets "ok" once the device is back */
};

static struct emu	*emu;
static GMainLoop	*loop;
static pid_t		 child = -1;
static int		 child_status = -1;
static double		 speed = 1;
static int		 speed_forced;
static int		 master;
static GArray		*plans;
static GPtrArray	*flaky;
static GPtrArray	*pending;	/* struct replug: devices between modes */
static FILE		*logf;
static int		 logtime;	/* --log-time: lines start with the wall clock */
static pthread_mutex_t	 loglock = PTHREAD_MUTEX_INITIALIZER;
static int		 ctlfd = -1;
static char		 ctlpath[PATH_MAX];
static uint64_t		 rng = 0x2545f4914f6cdd1dULL;

static void
usage(void)
{
	fprintf(stderr, "usage: benchsim [--speed N] [--log FILE] [--log-time] [--ctl SOCKPATH] "
	    "SCENARIO -- COMMAND [ARGS...]\n"
	    "       benchsim --send SOCKPATH LINE\n");
	exit(2);
}

/* One line to the --log file; called from the main and umockdev threads. */
static void
logline(const char *fmt, ...)
{
	va_list		 ap;
	struct timespec	 ts;

	if (logf == NULL)
		return;
	pthread_mutex_lock(&loglock);
	/* CLOCK_REALTIME, to compare with the "time" of idevicebench's events */
	if (logtime) {
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(logf, "%lld.%06ld ", (long long)ts.tv_sec,
		    ts.tv_nsec / 1000);
	}
	va_start(ap, fmt);
	vfprintf(logf, fmt, ap);
	va_end(ap);
	fputc('\n', logf);
	fflush(logf);
	pthread_mutex_unlock(&loglock);
}

static unsigned int
random_below(unsigned int n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((unsigned int)(rng % n));
}

static struct plan *
plan_get(uint64_t ecid)
{
	struct plan	 p, *q;
	guint		 i;

	for (i = 0; i < plans->len; i++) {
		q = &g_array_index(plans, struct plan, i);
		if (q->ecid == ecid)
			return (q);
	}
	memset(&p, 0, sizeof(p));
	p.ecid = ecid;
	g_array_append_val(plans, p);
	return (&g_array_index(plans, struct plan, plans->len - 1));
}

static int
is_flaky(const char *port)
{
	guint	 i;

	for (i = 0; i < flaky->len; i++)
		if (strcmp(g_ptr_array_index(flaky, i), port) == 0)
			return (1);
	return (0);
}

static guint
after(double secs, GSourceFunc fn, gpointer data)
{
	double	 ms = secs / speed * 1000.0;

	return (g_timeout_add(ms < 0 ? 0 : (guint)ms, fn, data));
}

static int
do_plug(const char *port, enum sc_mode mode, uint64_t ecid, uint32_t cpid,
    uint32_t bdid, const char *serial, char *err, size_t errlen)
{
	if (emu_plug(emu, port, mode, ecid, cpid, bdid, serial, err,
	    errlen) != 0)
		return (-1);
	logline("plug %s %s 0x%llx", port, scenario_mode_name(mode),
	    (unsigned long long)ecid);
	return (0);
}

static int
do_unplug(const char *port, char *err, size_t errlen)
{
	if (emu_unplug(emu, port, err, errlen) != 0)
		return (-1);
	logline("unplug %s", port);
	return (0);
}

/* Carry out one directive now. */
static int
apply(const struct sc_cmd *c, char *err, size_t errlen)
{
	struct plan	*p;

	switch (c->kind) {
	case SC_HUB:
		if (emu_add_hub(emu, c->port, c->nports, err, errlen) != 0)
			return (-1);
		logline("hub %s ports %d", c->port, c->nports);
		return (0);
	case SC_PLUG:
		return (do_plug(c->port, c->mode, c->ecid, c->cpid, c->bdid,
		    c->has_serial ? c->serial : NULL, err, errlen));
	case SC_UNPLUG:
		return (do_unplug(c->port, err, errlen));
	case SC_RESTORE:
		p = plan_get(c->ecid);
		p->has = 1;
		p->r = c->restore;
		return (0);
	case SC_FLAKY:
		if (!is_flaky(c->port))
			g_ptr_array_add(flaky, g_strdup(c->port));
		return (0);
	case SC_DIALECT:
		master = c->master;
		return (0);
	case SC_SPEED:
		if (!speed_forced)
			speed = c->speed;
		return (0);
	}
	return (0);
}

static gboolean
timed_cb(gpointer data)
{
	struct timed	*t = data;
	char		 err[256];

	if (apply(&t->cmd, err, sizeof(err)) != 0)
		logline("error at %g (line %d): %s", t->cmd.at, t->line, err);
	g_free(t);
	return (G_SOURCE_REMOVE);
}

static void
schedule(const struct sc_cmd *c, int line, double now)
{
	struct timed	*t = g_new(struct timed, 1);

	t->cmd = *c;
	t->line = line;
	after(c->at - now, timed_cb, t);
}

static struct replug *
pending_find(uint64_t ecid)
{
	guint	 i;

	for (i = 0; i < pending->len; i++)
		if (((struct replug *)g_ptr_array_index(pending, i))->ecid ==
		    ecid)
			return (g_ptr_array_index(pending, i));
	return (NULL);
}

/* Forget a device's pending comeback; FALSE when there was none. */
static int
pending_cancel(uint64_t ecid)
{
	struct replug	*r;

	if ((r = pending_find(ecid)) == NULL)
		return (0);
	g_source_remove(r->timer);
	g_ptr_array_remove(pending, r);
	return (1);
}

static void
reply_to(struct conn *c, const char *line)
{
	if (write(c->fd, line, strlen(line)) < 0) {
		/* The client left; its connection closes on its own. */
	}
}

static gboolean
replug_cb(gpointer data)
{
	struct replug	*r = data;
	char		 err[256], line[300];

	if (do_plug(r->port, r->mode, r->ecid, r->cpid, r->bdid, NULL, err,
	    sizeof(err)) != 0) {
		logline("error replug %s: %s", r->port, err);
		snprintf(line, sizeof(line), "err %s\n", err);
	} else
		snprintf(line, sizeof(line), "ok\n");
	if (r->waiter != NULL)
		reply_to(r->waiter, line);
	g_ptr_array_remove(pending, r);
	return (G_SOURCE_REMOVE);
}

/*
 * Unplug a device now and bring it back in mode after delay seconds. A
 * device already between two modes just changes where it is heading.
 */
static int
switch_mode(uint64_t ecid, enum sc_mode mode, double delay,
    struct conn *waiter, char *err, size_t errlen)
{
	struct replug	*r;
	enum sc_mode	 old;

	if ((r = pending_find(ecid)) != NULL) {
		g_source_remove(r->timer);
		if (r->waiter != NULL)
			reply_to(r->waiter, "ok\n");
		r->waiter = waiter;
		r->mode = mode;
		r->timer = after(delay, replug_cb, r);
		return (0);
	}
	r = g_new0(struct replug, 1);
	if (emu_find_ecid(emu, ecid, r->port, sizeof(r->port), &old, &r->cpid,
	    &r->bdid) != 0) {
		g_free(r);
		snprintf(err, errlen, "no device 0x%llx",
		    (unsigned long long)ecid);
		return (-1);
	}
	r->mode = mode;
	r->ecid = ecid;
	r->waiter = waiter;
	do_unplug(r->port, err, errlen);
	r->timer = after(delay, replug_cb, r);
	g_ptr_array_add(pending, r);
	return (0);
}

/* The device rebooted: out now, back after a boot. */
static gboolean
reboot_cb(gpointer data)
{
	struct replug	*r = data;
	char		 port[SC_PORTLEN], err[256];
	enum sc_mode	 mode;
	uint32_t	 cpid, bdid;

	if (emu_find_ecid(emu, r->ecid, port, sizeof(port), &mode, &cpid,
	    &bdid) == 0 && strcmp(port, r->port) == 0 &&
	    mode == SC_MODE_RECOVERY)
		switch_mode(r->ecid, r->mode, BOOT_SECS, NULL, err,
		    sizeof(err));
	g_free(r);
	return (G_SOURCE_REMOVE);
}

/* From umockdev's worker thread: log iBoot commands, act on reboot. */
static void
ctrl_cb(const char *port, uint64_t ecid, const char *text, void *arg)
{
	struct replug	*r;
	char		 clean[512];

	(void)arg;
	if (text[0] != '<') {
		text_sanitize(clean, sizeof(clean), text, strlen(text));
		logline("ctrl %s %s", port, clean);
		return;
	}
	r = g_new0(struct replug, 1);
	snprintf(r->port, sizeof(r->port), "%s", port);
	r->ecid = ecid;
	r->mode = strcmp(text, "<reboot-autoboot>") == 0 ? SC_MODE_NORMAL :
	    SC_MODE_RECOVERY;
	/* Let the sender reap its transfer before the device drops off. */
	g_timeout_add(50, reboot_cb, r);
}

static double
elapsed(void)
{
	static gint64	 start;

	if (start == 0)
		start = g_get_monotonic_time();
	return ((g_get_monotonic_time() - start) / 1e6 * speed);
}

/* A fake restore asks what this attempt does. */
static void
req_restore(uint64_t ecid, char *reply, size_t len)
{
	struct plan		*p = plan_get(ecid);
	struct sc_restore	 r;
	char			 port[SC_PORTLEN], desc[128];
	enum sc_mode		 mode;
	uint32_t		 cpid, bdid;
	int			 attempt;

	if (emu_find_ecid(emu, ecid, port, sizeof(port), &mode, &cpid,
	    &bdid) != 0) {
		snprintf(reply, len, "err no device 0x%llx",
		    (unsigned long long)ecid);
		return;
	}
	attempt = ++p->attempts;
	memset(&r, 0, sizeof(r));
	r.result = SC_RES_OK;
	r.secs = DEFAULT_SECS;
	if (p->has) {
		if (p->r.result == SC_RES_OK)
			r.secs = p->r.secs;
		else if (p->r.times == 0 || attempt <= p->r.times)
			r = p->r;
	}
	if (r.result == SC_RES_OK && is_flaky(port)) {
		r.result = SC_RES_FAIL;
		r.how = SC_HOW_DISCONNECT;
		r.step = 1 + (int)random_below(5);
		r.pct = 5 + random_below(90);
	}
	scenario_restore_format(&r, desc, sizeof(desc));
	logline("restore 0x%llx attempt %d %s", (unsigned long long)ecid,
	    attempt, desc);
	snprintf(reply, len, "ok attempt=%d port=%s mode=%s cpid=0x%04x "
	    "bdid=0x%02x dialect=%s speed=%g planned=%d secs=%g result=%d "
	    "step=%d pct=%g how=%d status=%d", attempt, port,
	    scenario_mode_name(mode), cpid, bdid, master ? "master" : "1.0.0",
	    speed, p->has, r.secs, (int)r.result, r.step, r.pct, (int)r.how,
	    r.status);
}

/*
 * One line from the control socket; the reply is one line. Returns 1 when
 * the reply comes later (a "mode ... wait" request).
 */
static int
handle_line(struct conn *conn, char *line, char *reply, size_t len)
{
	struct sc_cmd	 c;
	char		 err[256], w[32], arg2[32];
	unsigned long long ecid;
	double		 delay;
	char		 flag[16] = "";
	int		 n, m;

	if (sscanf(line, "%31s", w) != 1) {
		snprintf(reply, len, "err empty line");
		return (0);
	}
	if (strcmp(w, "hello") == 0) {
		snprintf(reply, len, "ok dialect=%s speed=%g",
		    master ? "master" : "1.0.0", speed);
		return (0);
	}
	if (strcmp(w, "begin") == 0) {
		if (sscanf(line, "%*s %lli", &ecid) != 1) {
			snprintf(reply, len, "err usage: begin ECID");
			return (0);
		}
		req_restore(ecid, reply, len);
		return (0);
	}
	if (strcmp(w, "mode") == 0) {
		delay = BOOT_SECS;
		n = sscanf(line, "%*s %lli %31s %lf %15s", &ecid, arg2, &delay,
		    flag);
		if (n < 2 || (m = scenario_mode_from_name(arg2)) < 0 ||
		    (n == 4 && strcmp(flag, "wait") != 0)) {
			snprintf(reply, len, "err usage: mode ECID MODE [SECS "
			    "[wait]]");
			return (0);
		}
		if (switch_mode(ecid, m, delay, n == 4 ? conn : NULL, err,
		    sizeof(err)) != 0) {
			snprintf(reply, len, "err %s", err);
			return (0);
		}
		snprintf(reply, len, "ok");
		return (n == 4);
	}
	if (strcmp(w, "vanish") == 0) {
		char		 port[SC_PORTLEN];
		enum sc_mode	 mode;
		uint32_t	 cpid, bdid;

		if (sscanf(line, "%*s %lli", &ecid) != 1) {
			snprintf(reply, len, "err usage: vanish ECID");
			return (0);
		}
		/* Gone for good, even when it was between two modes. */
		if (pending_cancel(ecid) || (emu_find_ecid(emu, ecid, port,
		    sizeof(port), &mode, &cpid, &bdid) == 0 &&
		    do_unplug(port, err, sizeof(err)) == 0))
			snprintf(reply, len, "ok");
		else
			snprintf(reply, len, "err no device 0x%llx", ecid);
		return (0);
	}
	switch (scenario_parse_line(line, &c, err, sizeof(err))) {
	case 0:
		snprintf(reply, len, "err empty line");
		return (0);
	case -1:
		snprintf(reply, len, "err %s", err);
		return (0);
	}
	if (c.at >= 0 && c.at > elapsed()) {
		schedule(&c, 0, elapsed());
		snprintf(reply, len, "ok");
		return (0);
	}
	if (apply(&c, err, sizeof(err)) != 0)
		snprintf(reply, len, "err %s", err);
	else
		snprintf(reply, len, "ok");
	return (0);
}

static void
conn_free(struct conn *c)
{
	guint	 i;

	for (i = 0; i < pending->len; i++)
		if (((struct replug *)g_ptr_array_index(pending, i))->waiter ==
		    c)
			((struct replug *)g_ptr_array_index(pending,
			    i))->waiter = NULL;
	close(c->fd);
	g_free(c);
}

static void
conn_close(struct conn *c)
{
	g_source_remove(c->watch);
	conn_free(c);
}

static gboolean
conn_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct conn	*c = data;
	char		 reply[LINEMAX], *nl;
	ssize_t		 n;
	size_t		 used;

	(void)cond;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return (G_SOURCE_CONTINUE);
		conn_free(c);
		return (G_SOURCE_REMOVE);
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		*nl = '\0';
		if (!handle_line(c, c->buf, reply, sizeof(reply))) {
			strcat(reply, "\n");
			reply_to(c, reply);
		}
		used = (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len - used);
		c->len -= used;
	}
	if (c->len == sizeof(c->buf) - 1) {
		/* An over-long line: refuse and drop the client. */
		conn_close(c);
		return (G_SOURCE_REMOVE);
	}
	return (G_SOURCE_CONTINUE);
}

static gboolean
accept_cb(gint fd, GIOCondition cond, gpointer data)
{
	struct conn	*c;
	int		 s;

	(void)cond;
	(void)data;
	if ((s = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return (G_SOURCE_CONTINUE);
	c = g_new0(struct conn, 1);
	c->fd = s;
	c->watch = g_unix_fd_add(s, G_IO_IN | G_IO_HUP | G_IO_ERR, conn_cb, c);
	return (G_SOURCE_CONTINUE);
}

static int
ctl_listen(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "benchsim: socket path too long: %s\n", path);
		return (-1);
	}
	strcpy(sun.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, 64) != 0) {
		fprintf(stderr, "benchsim: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return (-1);
	}
	g_unix_fd_add(fd, G_IO_IN, accept_cb, NULL);
	return (fd);
}

/* Client side: send one line, print the reply; 0 when it starts with "ok". */
static int
send_line(const char *path, const char *line)
{
	struct sockaddr_un	 sun;
	char			 buf[LINEMAX];
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) || strchr(line, '\n')) {
		fprintf(stderr, "benchsim: bad socket path or line\n");
		return (2);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "benchsim: %s: %s\n", path, strerror(errno));
		return (2);
	}
	if (dprintf(fd, "%s\n", line) < 0)
		return (2);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	close(fd);
	buf[len] = '\0';
	fputs(buf, stdout);
	return (strncmp(buf, "ok", 2) == 0 ? 0 : 1);
}

static int
load_scenario(const char *path, GArray *timed)
{
	FILE		*f;
	char		 line[4096], err[256];
	struct sc_cmd	 c;
	struct timed	 t;
	int		 lineno = 0, r;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "benchsim: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			fprintf(stderr, "benchsim: %s:%d: line too long\n",
			    path, lineno);
			fclose(f);
			return (-1);
		}
		if ((r = scenario_parse_line(line, &c, err, sizeof(err))) == 0)
			continue;
		if (r < 0 || (c.at < 0 && apply(&c, err, sizeof(err)) != 0)) {
			fprintf(stderr, "benchsim: %s:%d: %s\n", path, lineno,
			    err);
			fclose(f);
			return (-1);
		}
		if (c.at >= 0) {
			t.cmd = c;
			t.line = lineno;
			g_array_append_val(timed, t);
		}
	}
	fclose(f);
	return (0);
}

static gboolean
signal_cb(gpointer data)
{
	int	 sig = GPOINTER_TO_INT(data);

	if (child > 0)
		kill(child, sig);
	return (G_SOURCE_CONTINUE);
}

static void
child_cb(GPid pid, gint status, gpointer data)
{
	(void)pid;
	(void)data;
	child_status = status;
	g_main_loop_quit(loop);
}

/* The fake restore lives next to this program (also behind a symlink). */
static void
fake_path(char *buf, size_t len)
{
	char	 self[PATH_MAX], *slash;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		n = 0;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	snprintf(buf, len, "%s/fakerestore", self);
}

/*
 * umockdev sends uevents through libudev, which only finds the testbed's
 * devices under the preload: run the harness itself preloaded. Earlier
 * entries (libasan) stay first.
 */
static void
preload_self(char **argv)
{
	const char	*old = getenv("LD_PRELOAD");
	char		*pre;

	if (old != NULL && strstr(old, PRELOAD) != NULL)
		return;
	if (old != NULL && *old != '\0')
		pre = g_strdup_printf("%s:%s", old, PRELOAD);
	else
		pre = g_strdup(PRELOAD);
	setenv("LD_PRELOAD", pre, 1);
	g_free(pre);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "benchsim: re-exec: %s\n", strerror(errno));
	exit(2);
}

static pid_t
spawn(char **argv)
{
	char		 fake[PATH_MAX];
	sigset_t	 all, saved;
	pid_t		 pid;

	fake_path(fake, sizeof(fake));

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	if ((pid = fork()) == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		setenv("UMOCKDEV_DIR", emu_root(emu), 1);
		setenv("IDEVICEBENCH_RESTORE_CMD", fake, 1);
		setenv("BENCHSIM_CTL", ctlpath, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "benchsim: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return (pid);
}

int
main(int argc, char **argv)
{
	GArray		*timed;
	const char	*logpath = NULL, *ctlopt = NULL, *scenario;
	char		*end;
	int		 i, rc;
	guint		 k;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-' &&
	    argv[i][2] != '\0'; i++) {
		if (strcmp(argv[i], "--send") == 0) {
			if (argc - i != 3)
				usage();
			return (send_line(argv[i + 1], argv[i + 2]));
		}
		if (strcmp(argv[i], "--log-time") == 0) {
			logtime = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--speed") == 0) {
			speed = strtod(argv[++i], &end);
			if (*end != '\0' || !(speed > 0) || speed > 10000)
				usage();
			speed_forced = 1;
		} else if (strcmp(argv[i], "--log") == 0)
			logpath = argv[++i];
		else if (strcmp(argv[i], "--ctl") == 0)
			ctlopt = argv[++i];
		else
			usage();
	}
	if (argc - i < 3 || strcmp(argv[i + 1], "--") != 0)
		usage();
	preload_self(argv);
	scenario = argv[i];
	argv += i + 2;

	if (logpath != NULL && (logf = fopen(logpath, "w")) == NULL) {
		fprintf(stderr, "benchsim: %s: %s\n", logpath, strerror(errno));
		return (2);
	}
	if (getenv("BENCHSIM_SEED") != NULL)
		rng = strtoull(getenv("BENCHSIM_SEED"), NULL, 0) | 1;
	plans = g_array_new(FALSE, TRUE, sizeof(struct plan));
	flaky = g_ptr_array_new_with_free_func(g_free);
	pending = g_ptr_array_new_with_free_func(g_free);
	timed = g_array_new(FALSE, TRUE, sizeof(struct timed));
	if ((emu = emu_new(ctrl_cb, NULL)) == NULL) {
		fprintf(stderr, "benchsim: cannot create the umockdev testbed\n");
		return (2);
	}
	if (load_scenario(scenario, timed) != 0) {
		emu_free(emu);
		return (2);
	}
	/* The SuperSpeed half of the controller, listed ahead of the phones. */
	emu_add_ss_root(emu);

	if (ctlopt != NULL)
		snprintf(ctlpath, sizeof(ctlpath), "%s", ctlopt);
	else
		snprintf(ctlpath, sizeof(ctlpath), "%s/benchsim.ctl",
		    emu_root(emu));
	if ((ctlfd = ctl_listen(ctlpath)) < 0) {
		emu_free(emu);
		return (2);
	}

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, signal_cb, GINT_TO_POINTER(SIGINT));
	g_unix_signal_add(SIGTERM, signal_cb, GINT_TO_POINTER(SIGTERM));
	g_unix_signal_add(SIGHUP, signal_cb, GINT_TO_POINTER(SIGHUP));
	elapsed();
	if ((child = spawn(argv)) < 0) {
		fprintf(stderr, "benchsim: fork: %s\n", strerror(errno));
		emu_free(emu);
		return (2);
	}
	g_child_watch_add(child, child_cb, NULL);
	for (k = 0; k < timed->len; k++)
		schedule(&g_array_index(timed, struct timed, k).cmd,
		    g_array_index(timed, struct timed, k).line, 0);
	g_array_free(timed, TRUE);

	g_main_loop_run(loop);

	if (WIFEXITED(child_status))
		rc = WEXITSTATUS(child_status);
	else if (WIFSIGNALED(child_status))
		rc = 128 + WTERMSIG(child_status);
	else
		rc = 1;
	close(ctlfd);
	unlink(ctlpath);
	emu_free(emu);
	g_main_loop_unref(loop);
	g_array_free(plans, TRUE);
	g_ptr_array_free(flaky, TRUE);
	g_ptr_array_free(pending, TRUE);
	if (logf != NULL)
		fclose(logf);
	return (rc);
}
