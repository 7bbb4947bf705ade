/*
 * usbwatch_test.c: usbwatch.c against an emulated USB bench (umockdev), in
 * one process. Re-executes itself under libumockdev-preload, builds three
 * hubs (1-1, 1-2, 1-2.4 behind 1-2) with Apple devices in recovery, DFU and
 * normal mode, then plugs, unplugs and sends iBoot commands from inside the
 * libev loop. Output: TAP. Exit 77 only when umockdev cannot be preloaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>

#include <ev.h>
#include <umockdev.h>

#include "usbwatch.h"

#define WAIT_SECS	5.0	/* an upper bound, never an assertion */
#define MAXEV		256
#define MAXXFER		64

static int		ntests, nfailed;
static UMockdevTestbed	*tb;
static struct ev_loop	*loop;

/* TAP. */
static bool
check(bool ok, const char *fmt, ...)
{
	va_list	ap;

	ntests++;
	if (!ok)
		nfailed++;
	printf("%sok %d - ", ok ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok;
}

static void
diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* What one watcher reported. */
struct rec {
	const char		*name;
	size_t			 n;
	enum usbwatch_event	 ev[MAXEV];
	struct usbwatch_dev	 d[MAXEV];
};

static void
rec_cb(void *arg, enum usbwatch_event ev, const struct usbwatch_dev *d)
{
	struct rec	*r = arg;

	diag("%s: %s %s hub=\"%s\" %04x:%04x%s", r->name, ev == USBWATCH_ARRIVED ?
	    "ARRIVED" : "LEFT", d->port, d->hub, d->vid, d->pid, d->is_hub ? " hub" : "");
	if (r->n < MAXEV) {
		r->ev[r->n] = ev;
		r->d[r->n] = *d;
		r->n++;
	}
}

/* How often ev was reported for port, at or after index from. */
static int
rec_count(const struct rec *r, size_t from, enum usbwatch_event ev, const char *port)
{
	size_t	i;
	int	c = 0;

	for (i = from; i < r->n; i++)
		if (r->ev[i] == ev && strcmp(r->d[i].port, port) == 0)
			c++;
	return c;
}

/* Index of the first such report at or after from, -1 if none. */
static int
rec_find(const struct rec *r, size_t from, enum usbwatch_event ev, const char *port)
{
	size_t	i;

	for (i = from; i < r->n; i++)
		if (r->ev[i] == ev && strcmp(r->d[i].port, port) == 0)
			return (int)i;
	return -1;
}

/* Is the port present, going by the reports? */
static bool
rec_present(const struct rec *r, const char *port)
{
	size_t	i;
	bool	in = false;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->d[i].port, port) == 0)
			in = r->ev[i] == USBWATCH_ARRIVED;
	return in;
}

/* Running the loop until a condition holds (bounded, not timed). */

struct waiter {
	ev_check	 chk;
	ev_timer	 tmo;
	bool		(*pred)(void *);
	void		*arg;
	bool		 met;
};

static void
wait_chk_cb(struct ev_loop *l, ev_check *w, int revents)
{
	struct waiter	*wt = (struct waiter *)w;

	(void)revents;
	if (wt->pred(wt->arg)) {
		wt->met = true;
		ev_break(l, EVBREAK_ONE);
	}
}

static void
wait_tmo_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ONE);
}

static bool
wait_for(bool (*pred)(void *), void *arg)
{
	struct waiter	wt;

	memset(&wt, 0, sizeof(wt));
	wt.pred = pred;
	wt.arg = arg;
	if (pred(arg))
		return true;
	ev_check_init(&wt.chk, wait_chk_cb);
	ev_timer_init(&wt.tmo, wait_tmo_cb, WAIT_SECS, 0.);
	ev_check_start(loop, &wt.chk);
	ev_timer_start(loop, &wt.tmo);
	ev_run(loop, 0);
	ev_check_stop(loop, &wt.chk);
	ev_timer_stop(loop, &wt.tmo);
	return wt.met || pred(arg);
}

/* Wait for a report of ev on port at or after index from. */
struct want {
	struct rec		*r;
	size_t			 from;
	enum usbwatch_event	 ev;
	const char		*ports[8];
};

static bool
want_pred(void *arg)
{
	struct want	*w = arg;
	size_t		 i;

	for (i = 0; i < 8 && w->ports[i] != NULL; i++)
		if (rec_find(w->r, w->from, w->ev, w->ports[i]) < 0)
			return false;
	return true;
}

static bool
wait_ev(struct rec *r, size_t from, enum usbwatch_event ev, const char *p0, const char *p1,
    const char *p2)
{
	struct want	w = { r, from, ev, { p0, p1, p2, NULL } };

	return wait_for(want_pred, &w);
}

/* The emulated bench. */

/* "/devices/usb1/1-2/1-2.4" for "1-2.4". */
static void
syspath(char *buf, size_t len, const char *name)
{
	char	parent[32], *dot;

	if (strncmp(name, "usb", 3) == 0) {
		snprintf(buf, len, "/devices/%s", name);
		return;
	}
	snprintf(parent, sizeof(parent), "%s", name);
	if ((dot = strrchr(parent, '.')) != NULL) {
		*dot = '\0';
		syspath(buf, len, parent);
	} else
		syspath(buf, len, "usb1");
	snprintf(buf + strlen(buf), len - strlen(buf), "/%s", name);
}

struct mockdev {
	const char	*name;		/* sysfs name */
	int		 devnum;
	uint16_t	 vid, pid;
	int		 cls;		/* bDeviceClass */
	const char	*speed;
	int		 maxchild;	/* hubs */
	const char	*serial;	/* NULL: none */
};

static void
add_dev(const struct mockdev *m)
{
	char	 rec[2048], desc[256], path[128], serial[512], maxchild[64];
	GError	*error = NULL;
	bool	 hub = m->cls == 9;

	syspath(path, sizeof(path), m->name);
	/* Device descriptor, then one configuration with one interface. */
	snprintf(desc, sizeof(desc), "12010002%02x00%02x40%02x%02x%02x%02x0001%s01%s",
	    m->cls, hub ? 1 : 0, m->vid & 0xff, m->vid >> 8, m->pid & 0xff, m->pid >> 8,
	    m->serial ? "020304" : "000000",
	    hub ? "09021900010100e032" "090400000109000000" "0705810301000c" :
	    m->vid == 0x05ac ? "09021200010100c0fa" "09040000" "00ffff5100" :
	    "09021200010100a032" "090400000003010100");
	serial[0] = maxchild[0] = '\0';
	if (m->serial != NULL)
		snprintf(serial, sizeof(serial), "A: serial=%s\\n\n", m->serial);
	if (hub)
		snprintf(maxchild, sizeof(maxchild), "A: maxchild=%d\\n\n", m->maxchild);
	snprintf(rec, sizeof(rec),
	    "P: %s\n"
	    "N: bus/usb/001/%03d\n"
	    "E: SUBSYSTEM=usb\n"
	    "E: DEVTYPE=usb_device\n"
	    "E: DRIVER=usb\n"
	    "E: BUSNUM=001\n"
	    "E: DEVNUM=%03d\n"
	    "E: DEVNAME=/dev/bus/usb/001/%03d\n"
	    "A: busnum=1\\n\n"
	    "A: devnum=%d\\n\n"
	    "A: idVendor=%04x\\n\n"
	    "A: idProduct=%04x\\n\n"
	    "A: bDeviceClass=%02x\\n\n"
	    "A: speed=%s\\n\n"
	    "A: bConfigurationValue=1\\n\n"
	    "%s%s"
	    "H: descriptors=%s\n",
	    path, m->devnum, m->devnum, m->devnum, m->devnum, m->vid, m->pid, m->cls,
	    m->speed, maxchild, serial, desc);
	if (!umockdev_testbed_add_from_string(tb, rec, &error)) {
		fprintf(stderr, "add %s: %s\n", m->name, error->message);
		exit(1);
	}
}

static void
unplug(const char *name)
{
	char	path[160], sys[128];

	syspath(sys, sizeof(sys), name);
	snprintf(path, sizeof(path), "/sys%s", sys);
	umockdev_testbed_uevent(tb, path, "remove");
}

/* Drop the sysfs entry of an unplugged device, so its path can be used again. */
static void
forget(const char *name)
{
	char	path[160], sys[128];

	syspath(sys, sizeof(sys), name);
	snprintf(path, sizeof(path), "/sys%s", sys);
	umockdev_testbed_remove_device(tb, path);
}

/* The iBoot side of an emulated recovery device: records control transfers. */

struct xfer {
	char		devnode[64];
	uint8_t		type, req;
	uint16_t	value, index, length;
	char		data[300];
	size_t		datalen;
};

static GMutex		 xlock;
static struct xfer	 xfers[MAXXFER];
static size_t		 nxfers;
static GList		*done_urbs;	/* (client, urb data) pairs, per client */

struct done_urb {
	UMockdevIoctlClient	*client;
	UMockdevIoctlData	*urb;
};

static gboolean
ioctl_cb(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
	UMockdevIoctlData	*arg = umockdev_ioctl_client_get_arg(client);
	gulong			 request = umockdev_ioctl_client_get_request(client);

	(void)base;
	(void)data;
	switch (request) {
	case USBDEVFS_GET_CAPABILITIES: {
		UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);

		if (d == NULL) {
			umockdev_ioctl_client_complete(client, -1, EFAULT);
			return TRUE;
		}
		*(guint32 *)d->data = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_NO_PACKET_SIZE_LIM;
		umockdev_ioctl_data_unref(d);
		umockdev_ioctl_client_complete(client, 0, 0);
		return TRUE;
	}
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_RELEASEINTERFACE:
	case USBDEVFS_SETCONFIGURATION:
	case USBDEVFS_SETINTERFACE:
	case USBDEVFS_RESET:
	case USBDEVFS_CLEAR_HALT:
		umockdev_ioctl_client_complete(client, 0, 0);
		return TRUE;
	case USBDEVFS_SUBMITURB: {
		UMockdevIoctlData	*u, *b;
		struct usbdevfs_urb	*urb;
		struct done_urb		*du;
		struct xfer		 x;
		const uint8_t		*p;
		int			 status = 0;

		u = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
		if (u == NULL) {
			umockdev_ioctl_client_complete(client, -1, EFAULT);
			return TRUE;
		}
		urb = (struct usbdevfs_urb *)u->data;
		if (urb->type != USBDEVFS_URB_TYPE_CONTROL || urb->buffer_length < 8 ||
		    urb->buffer_length > 8 + 4096) {
			umockdev_ioctl_data_unref(u);
			umockdev_ioctl_client_complete(client, -1, EINVAL);
			return TRUE;
		}
		b = umockdev_ioctl_data_resolve(u, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
		    urb->buffer_length, NULL);
		if (b == NULL) {
			umockdev_ioctl_data_unref(u);
			umockdev_ioctl_client_complete(client, -1, EFAULT);
			return TRUE;
		}
		p = b->data;
		memset(&x, 0, sizeof(x));
		snprintf(x.devnode, sizeof(x.devnode), "%s",
		    umockdev_ioctl_client_get_devnode(client));
		x.type = p[0];
		x.req = p[1];
		x.value = p[2] | p[3] << 8;
		x.index = p[4] | p[5] << 8;
		x.length = p[6] | p[7] << 8;
		x.datalen = urb->buffer_length - 8;
		if (x.datalen > sizeof(x.data))
			x.datalen = sizeof(x.data);
		if (!(x.type & 0x80))
			memcpy(x.data, p + 8, x.datalen);
		umockdev_ioctl_data_unref(b);
		/* A "fail..." command stalls; "reboot" loses the device under it. */
		if (x.datalen >= 4 && memcmp(x.data, "fail", 4) == 0)
			status = -EPIPE;
		else if (x.datalen >= 6 && memcmp(x.data, "reboot", 6) == 0)
			status = -EPROTO;
		urb->status = status;
		urb->actual_length = status == 0 ? x.length : 0;

		g_mutex_lock(&xlock);
		if (nxfers < MAXXFER)
			xfers[nxfers++] = x;
		du = g_new0(struct done_urb, 1);
		du->client = client;
		du->urb = u;		/* keeps our reference */
		done_urbs = g_list_append(done_urbs, du);
		g_mutex_unlock(&xlock);
		umockdev_ioctl_client_complete(client, 0, 0);
		return TRUE;
	}
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY: {
		struct done_urb		*du = NULL;
		UMockdevIoctlData	*ptr;
		GList			*l;

		g_mutex_lock(&xlock);
		for (l = done_urbs; l != NULL; l = l->next) {
			if (((struct done_urb *)l->data)->client == client) {
				du = l->data;
				done_urbs = g_list_delete_link(done_urbs, l);
				break;
			}
		}
		g_mutex_unlock(&xlock);
		if (du == NULL) {
			umockdev_ioctl_client_complete(client, -1, EAGAIN);
			return TRUE;
		}
		ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
		umockdev_ioctl_data_set_ptr(ptr, 0, du->urb);
		umockdev_ioctl_data_unref(ptr);
		umockdev_ioctl_data_unref(du->urb);
		g_free(du);
		umockdev_ioctl_client_complete(client, 0, 0);
		return TRUE;
	}
	case USBDEVFS_DISCARDURB:
		umockdev_ioctl_client_complete(client, -1, EINVAL);
		return TRUE;
	default:
		umockdev_ioctl_client_complete(client, -1, ENOTTY);
		return TRUE;
	}
}

static UMockdevIoctlBase	*handler;

static void
attach(int devnum)
{
	char	node[64];
	GError	*error = NULL;

	snprintf(node, sizeof(node), "/dev/bus/usb/001/%03d", devnum);
	if (!umockdev_testbed_attach_ioctl(tb, node, handler, &error)) {
		fprintf(stderr, "attach %s: %s\n", node, error->message);
		exit(1);
	}
}

/* iBoot completions. */
struct done {
	int	calls;
	int	err;
	char	port[32];
	char	msg[160];
};

static void
done_cb(void *arg, const char *port, int err, const char *msg)
{
	struct done	*d = arg;

	diag("done %s: %d %s", port, err, msg);
	d->calls++;
	d->err = err;
	snprintf(d->port, sizeof(d->port), "%s", port);
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

static bool
done_pred(void *arg)
{
	return ((struct done *)arg)->calls > 0;
}

/* The expected bench. */

#define RECOVERY_SERIAL "SDOM:01 CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 " \
	"ECID:001A2B3C4D5E6F70 IBFL:3D SRNM:[F4GT2K1ZHG7F]"
#define DFU_SERIAL "CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0A ECID:0000111122223333 " \
	"IBFL:3C SRTG:[iBoot-3332.0.0.1.23]"
#define NORMAL_SERIAL "00008030-000A1B2C3D4E5F60"
#define RECOVERY2_SERIAL "SDOM:01 CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:0C " \
	"ECID:0000000000000042 IBFL:3D SRNM:[C39XYZ]"

static const struct mockdev bench[] = {
	{ "usb1",	1, 0x1d6b, 0x0002, 9, "480", 3, NULL },
	{ "1-1",	2, 0x1a40, 0x0101, 9, "480", 4, NULL },
	{ "1-2",	3, 0x05e3, 0x0610, 9, "480", 7, NULL },
	{ "1-2.4",	4, 0x1a40, 0x0101, 9, "480", 4, NULL },
	{ "1-1.2",	5, 0x05ac, 0x1281, 0, "480", 0, RECOVERY_SERIAL },
	{ "1-2.3",	6, 0x05ac, 0x12a8, 0, "480", 0, NORMAL_SERIAL },
	{ "1-2.4.1",	7, 0x05ac, 0x1227, 0, "12",  0, DFU_SERIAL },
	{ "1-2.1",	8, 0x046d, 0xc31c, 0, "1.5", 0, "KBD123" },
	{ "1-1.4",	9, 0x05ac, 0x1006, 9, "12",  3, "000000000001" },
};

static const struct mockdev hot1 = { "1-2.5", 10, 0x05ac, 0x1281, 0, "480", 0, RECOVERY2_SERIAL };
static const struct mockdev hot2 = { "1-2.4.2", 11, 0x05ac, 0x1281, 0, "480", 0, RECOVERY2_SERIAL };
static const struct mockdev hot3 = { "1-2.6", 12, 0x05ac, 0x1227, 0, "480", 0, DFU_SERIAL };
static const struct mockdev hot4 = { "1-2.3", 13, 0x05ac, 0x1281, 0, "480", 0, RECOVERY_SERIAL };
static const struct mockdev hub3 = { "1-3", 15, 0x1a40, 0x0201, 9, "480", 7, NULL };
static const struct mockdev hot6 = { "1-3.1", 16, 0x05ac, 0x1281, 0, "480", 0, RECOVERY_SERIAL };
static const struct mockdev hot5 = { "1-2.7", 14, 0x05ac, 0x1227, 0, "480", 0, DFU_SERIAL };

struct expect {
	const char	*port, *hub;
	int		 root_port;
	uint16_t	 vid, pid;
	bool		 is_hub;
	int		 nports, speed;
	const char	*serial;
};

static const struct expect expected[] = {
	{ "1-1",	"",	 1, 0x1a40, 0x0101, true,  4, 480, "" },
	{ "1-2",	"",	 2, 0x05e3, 0x0610, true,  7, 480, "" },
	{ "1-2.4",	"1-2",	 2, 0x1a40, 0x0101, true,  4, 480, "" },
	{ "1-1.2",	"1-1",	 1, 0x05ac, 0x1281, false, 0, 480, RECOVERY_SERIAL },
	{ "1-2.3",	"1-2",	 2, 0x05ac, 0x12a8, false, 0, 480, NORMAL_SERIAL },
	{ "1-2.4.1",	"1-2.4", 2, 0x05ac, 0x1227, false, 0, 12,  DFU_SERIAL },
	{ "1-1.4",	"1-1",	 1, 0x05ac, 0x1006, true,  3, 12,  "000000000001" },
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static void
check_dev(const struct rec *r, size_t from, const struct expect *e)
{
	const struct usbwatch_dev	*d;
	int				 i;

	i = rec_find(r, from, USBWATCH_ARRIVED, e->port);
	if (!check(i >= 0, "%s: %s arrived", r->name, e->port))
		return;
	d = &r->d[i];
	check(d->bus == 1 && d->root_port == e->root_port && strcmp(d->hub, e->hub) == 0,
	    "%s: %s bus 1, root port %d, hub \"%s\" (got %d, %d, \"%s\")", r->name, e->port,
	    e->root_port, e->hub, d->bus, d->root_port, d->hub);
	check(d->vid == e->vid && d->pid == e->pid && d->is_hub == e->is_hub &&
	    d->nports == e->nports && d->speed == e->speed,
	    "%s: %s %04x:%04x hub %d nports %d speed %d (got %04x:%04x %d %d %d)", r->name,
	    e->port, e->vid, e->pid, e->is_hub, e->nports, e->speed, d->vid, d->pid,
	    d->is_hub, d->nports, d->speed);
	check(strcmp(d->serial, e->serial) == 0, "%s: %s serial \"%s\" (newline stripped)",
	    r->name, e->port, d->serial);
}

/* Every hub arrived before anything on it. */
static bool
parents_first(const struct rec *r, size_t from, size_t to)
{
	size_t	i;
	int	h;

	for (i = from; i < to; i++) {
		if (r->ev[i] != USBWATCH_ARRIVED || r->d[i].hub[0] == '\0')
			continue;
		h = rec_find(r, from, USBWATCH_ARRIVED, r->d[i].hub);
		if (h < 0 || (size_t)h > i)
			return false;
	}
	return true;
}

static size_t
count_arrivals(const struct rec *r, size_t from)
{
	size_t	i, c = 0;

	for (i = from; i < r->n; i++)
		c += r->ev[i] == USBWATCH_ARRIVED;
	return c;
}

struct nreports {
	struct rec	*r;
	size_t		 n;
};

static bool
nreports_pred(void *arg)
{
	struct nreports	*w = arg;

	return w->r->n >= w->n;
}

static void
test_hotplug(struct usbwatch **uwp, struct rec *hr)
{
	struct usbwatch	 *uw;
	struct nreports	  nr;
	struct done	  dn;
	const char	 *reboot[] = { "setenv auto-boot true", "saveenv", "reboot" };
	const char	 *failing[] = { "setenv auto-boot true", "failme", "reboot" };
	char		  err[256];
	size_t		  i, mark, x0;
	int		  a, b, c, e;

	setenv("IDEVICEBENCH_USB_POLL", "0", 1);
	uw = usbwatch_new(loop, rec_cb, hr, err, sizeof(err));
	*uwp = uw;
	if (!check(uw != NULL, "hotplug: usbwatch_new (%s)", err))
		exit(1);
	check(!usbwatch_polling(uw), "hotplug: libusb has hotplug, not polling");
	check(hr->n == 0, "hotplug: nothing reported from inside usbwatch_new");

	/* Enumeration: 7 things, no root hub, no keyboard. */
	nr.r = hr;
	nr.n = NEXPECTED;
	wait_for(nreports_pred, &nr);
	for (i = 0; i < NEXPECTED; i++)
		check_dev(hr, 0, &expected[i]);
	check(rec_count(hr, 0, USBWATCH_ARRIVED, "1-2.1") == 0,
	    "hotplug: the keyboard (neither Apple nor hub) is not reported");
	for (i = 0; i < hr->n; i++)
		if (strncmp(hr->d[i].port, "usb", 3) == 0 || hr->d[i].port[0] == '\0')
			break;
	check(i == hr->n, "hotplug: the root hub is not reported, no \"usbN\" names");
	check(parents_first(hr, 0, hr->n), "hotplug: hubs are reported before what is on them");
	check(rec_count(hr, 0, USBWATCH_ARRIVED, "1-1.4") == 1,
	    "hotplug: an Apple hub (matches both callbacks) arrives once");

	/* Hot plug inside the loop. */
	attach(hot1.devnum);
	mark = hr->n;
	add_dev(&hot1);
	check(wait_ev(hr, mark, USBWATCH_ARRIVED, "1-2.5", NULL, NULL),
	    "hotplug: a phone plugged at 1-2.5 arrives");
	{
		const struct expect e5 = { "1-2.5", "1-2", 2, 0x05ac, 0x1281, false, 0, 480,
		    RECOVERY2_SERIAL };

		check_dev(hr, mark, &e5);
	}

	/* iBoot commands through the emulated device. */
	memset(&dn, 0, sizeof(dn));
	g_mutex_lock(&xlock);
	x0 = nxfers;
	g_mutex_unlock(&xlock);
	e = usbwatch_iboot_send(uw, "1-2.5", reboot, 3, done_cb, &dn);
	check(e == 0, "iboot: send to 1-2.5 started (%d)", e);
	check(dn.calls == 0, "iboot: no callback from inside the call");
	e = usbwatch_iboot_send(uw, "1-2.5", reboot, 3, done_cb, &dn);
	check(e == -EBUSY, "iboot: a second request for a busy port is refused (%d)", e);
	wait_for(done_pred, &dn);
	check(dn.calls == 1 && dn.err == 0 && strcmp(dn.port, "1-2.5") == 0,
	    "iboot: done once, success, though the device reset on reboot (%d: %s)", dn.err,
	    dn.msg);
	g_mutex_lock(&xlock);
	check(nxfers - x0 == 3, "iboot: three control transfers reached the device (%zu)",
	    nxfers - x0);
	for (i = 0; i < 3 && x0 + i < nxfers; i++) {
		const struct xfer *x = &xfers[x0 + i];
		size_t len = strlen(reboot[i]) + 1;

		check(x->type == 0x40 && x->req == 0 && x->value == 0 && x->index == 0 &&
		    x->length == len && x->datalen == len && memcmp(x->data, reboot[i], len) == 0 &&
		    strcmp(x->devnode, "/dev/bus/usb/001/010") == 0,
		    "iboot: transfer %zu is 0x40/0/0/0 \"%s\\0\" (%zu bytes) to 001/010", i + 1,
		    reboot[i], len);
	}
	g_mutex_unlock(&xlock);

	/* A command the device refuses stops the sequence. */
	memset(&dn, 0, sizeof(dn));
	g_mutex_lock(&xlock);
	x0 = nxfers;
	g_mutex_unlock(&xlock);
	e = usbwatch_iboot_send(uw, "1-2.5", failing, 3, done_cb, &dn);
	check(e == 0, "iboot: the same port takes a new request once done (%d)", e);
	wait_for(done_pred, &dn);
	check(dn.calls == 1 && dn.err == -EPIPE && strstr(dn.msg, "failme") != NULL,
	    "iboot: a stalled command is reported (%d: %s)", dn.err, dn.msg);
	g_mutex_lock(&xlock);
	check(nxfers - x0 == 2, "iboot: nothing is sent after the failure (%zu sent)",
	    nxfers - x0);
	g_mutex_unlock(&xlock);

	e = usbwatch_iboot_send(uw, "1-2.3", reboot, 3, done_cb, &dn);
	check(e == -ENXIO, "iboot: a normal-mode device is refused (%d)", e);
	e = usbwatch_iboot_send(uw, "1-1", reboot, 3, done_cb, &dn);
	check(e == -ENXIO, "iboot: a hub is refused (%d)", e);
	e = usbwatch_iboot_send(uw, "1-9", reboot, 3, done_cb, &dn);
	check(e == -ENODEV, "iboot: an empty port is refused (%d)", e);
	e = usbwatch_iboot_send(uw, "1-2.5", reboot, 0, done_cb, &dn);
	check(e == -EINVAL, "iboot: no commands is refused (%d)", e);
	{
		char	 big[300];
		const char *bigv[] = { big };

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		e = usbwatch_iboot_send(uw, "1-2.5", bigv, 1, done_cb, &dn);
		check(e == -EINVAL, "iboot: a command over 255 bytes is refused (%d)", e);
	}

	/* Hot unplug. */
	mark = hr->n;
	unplug("1-2.5");
	check(wait_ev(hr, mark, USBWATCH_LEFT, "1-2.5", NULL, NULL),
	    "hotplug: the phone unplugged from 1-2.5 leaves");
	a = rec_find(hr, mark, USBWATCH_LEFT, "1-2.5");
	check(a >= 0 && hr->d[a].pid == 0x1281 && strcmp(hr->d[a].serial, RECOVERY2_SERIAL) == 0 &&
	    strcmp(hr->d[a].hub, "1-2") == 0, "hotplug: LEFT carries the record from arrival");
	e = usbwatch_iboot_send(uw, "1-2.5", reboot, 3, done_cb, &dn);
	check(e == -ENODEV, "iboot: a port that emptied is refused (%d)", e);
	forget("1-2.5");

	/* A mode switch on one port: the normal-mode phone comes back in recovery. */
	mark = hr->n;
	unplug("1-2.3");
	check(wait_ev(hr, mark, USBWATCH_LEFT, "1-2.3", NULL, NULL),
	    "hotplug: the normal-mode phone leaves 1-2.3");
	forget("1-2.3");
	add_dev(&hot4);
	check(wait_ev(hr, mark, USBWATCH_ARRIVED, "1-2.3", NULL, NULL),
	    "hotplug: the phone on 1-2.3 comes back in recovery");
	a = rec_find(hr, mark, USBWATCH_LEFT, "1-2.3");
	b = rec_find(hr, mark, USBWATCH_ARRIVED, "1-2.3");
	check(a >= 0 && b > a && hr->d[a].pid == 0x12a8 && hr->d[b].pid == 0x1281 &&
	    strcmp(hr->d[b].serial, RECOVERY_SERIAL) == 0,
	    "hotplug: LEFT 12a8 then ARRIVED 1281 on the same port");

	/* A hub behind a hub leaves with phones on it, children first. */
	mark = hr->n;
	add_dev(&hot2);
	check(wait_ev(hr, mark, USBWATCH_ARRIVED, "1-2.4.2", NULL, NULL),
	    "hotplug: a second phone on hub 1-2.4 arrives");
	mark = hr->n;
	unplug("1-2.4.1");
	unplug("1-2.4.2");
	unplug("1-2.4");
	check(wait_ev(hr, mark, USBWATCH_LEFT, "1-2.4.1", "1-2.4.2", "1-2.4"),
	    "hotplug: unplugging hub 1-2.4 reports both phones and the hub LEFT");
	a = rec_find(hr, mark, USBWATCH_LEFT, "1-2.4.1");
	b = rec_find(hr, mark, USBWATCH_LEFT, "1-2.4.2");
	c = rec_find(hr, mark, USBWATCH_LEFT, "1-2.4");
	check(a >= 0 && b >= 0 && c > a && c > b, "hotplug: the hub leaves after its phones");
	forget("1-2.4.1");
	forget("1-2.4.2");
	forget("1-2.4");

	/*
	 * Hub 1-1 vanishes without its children's remove events: they are
	 * reported LEFT anyway; their late removals are then departures of
	 * devices we no longer know and must be harmless.
	 */
	mark = hr->n;
	unplug("1-1");
	check(wait_ev(hr, mark, USBWATCH_LEFT, "1-1", "1-1.2", "1-1.4"),
	    "hotplug: hub 1-1 leaving takes 1-1.2 and 1-1.4 with it");
	a = rec_find(hr, mark, USBWATCH_LEFT, "1-1.2");
	b = rec_find(hr, mark, USBWATCH_LEFT, "1-1.4");
	c = rec_find(hr, mark, USBWATCH_LEFT, "1-1");
	check(a >= 0 && b >= 0 && c > a && c > b, "hotplug: children before the hub");
	unplug("1-1.2");
	unplug("1-1.4");
	/* A later plug is the barrier: libusb handles uevents in order. */
	add_dev(&hot3);
	check(wait_ev(hr, mark, USBWATCH_ARRIVED, "1-2.6", NULL, NULL),
	    "hotplug: 1-2.6 arrives after the late removals");
	check(rec_count(hr, mark, USBWATCH_LEFT, "1-1.2") == 1 &&
	    rec_count(hr, mark, USBWATCH_LEFT, "1-1.4") == 1,
	    "hotplug: departures without arrivals report nothing more");
	check(count_arrivals(hr, mark) == 1, "hotplug: and no spurious arrivals");
	forget("1-1.2");
	forget("1-1.4");
	forget("1-1");
}

static void
test_polling(struct rec *hr, struct rec *pr)
{
	struct usbwatch	*uw;
	struct nreports	 nr;
	char		 err[256];
	const char	*present[] = { "1-2", "1-2.3", "1-2.6" };
	size_t		 i, mark, hmark;
	int		 a, b, c;

	setenv("IDEVICEBENCH_USB_POLL", "1", 1);
	uw = usbwatch_new(loop, rec_cb, pr, err, sizeof(err));
	if (!check(uw != NULL, "polling: usbwatch_new (%s)", err))
		exit(1);
	check(usbwatch_polling(uw), "polling: IDEVICEBENCH_USB_POLL=1 forces polling");
	nr.r = pr;
	nr.n = 3;
	wait_for(nreports_pred, &nr);
	for (i = 0; i < 3; i++)
		check(rec_count(pr, 0, USBWATCH_ARRIVED, present[i]) == 1 &&
		    rec_present(hr, present[i]),
		    "polling: finds %s, as hotplug has it", present[i]);
	check(pr->n == 3, "polling: finds nothing else (%zu reports)", pr->n);
	check(parents_first(pr, 0, pr->n), "polling: hubs are reported before what is on them");
	{
		const struct expect e = { "1-2.3", "1-2", 2, 0x05ac, 0x1281, false, 0, 480,
		    RECOVERY_SERIAL };

		check_dev(pr, 0, &e);
	}

	mark = pr->n;
	hmark = hr->n;
	add_dev(&hot5);
	check(wait_ev(pr, mark, USBWATCH_ARRIVED, "1-2.7", NULL, NULL),
	    "polling: a phone plugged at 1-2.7 is found");
	check(wait_ev(hr, hmark, USBWATCH_ARRIVED, "1-2.7", NULL, NULL),
	    "polling: the hotplug watcher sees it too (two contexts side by side)");

	/*
	 * Hub 1-2 goes with 1-2.6 and 1-2.7 removed first but 1-2.3 left
	 * listed (its removal comes late): all four leave, hub last, and the
	 * leftover 1-2.3 must not flap back.
	 */
	mark = pr->n;
	unplug("1-2.6");
	unplug("1-2.7");
	unplug("1-2.1");	/* the keyboard, not reported */
	unplug("1-2");
	check(wait_ev(pr, mark, USBWATCH_LEFT, "1-2.3", "1-2.6", "1-2.7") &&
	    wait_ev(pr, mark, USBWATCH_LEFT, "1-2", NULL, NULL),
	    "polling: unplugging hub 1-2 reports its phones and the hub LEFT");
	a = rec_find(pr, mark, USBWATCH_LEFT, "1-2.3");
	b = rec_find(pr, mark, USBWATCH_LEFT, "1-2.7");
	c = rec_find(pr, mark, USBWATCH_LEFT, "1-2");
	check(a >= 0 && b >= 0 && c > a && c > b, "polling: the hub leaves after its phones");
	/* Two later plugs, each found by its own poll, are the barrier. */
	add_dev(&hub3);
	check(wait_ev(pr, mark, USBWATCH_ARRIVED, "1-3", NULL, NULL),
	    "polling: a hub plugged at 1-3 is found");
	add_dev(&hot6);
	check(wait_ev(pr, mark, USBWATCH_ARRIVED, "1-3.1", NULL, NULL),
	    "polling: a phone plugged at 1-3.1 is found");
	check(count_arrivals(pr, mark) == 2 && rec_count(pr, mark, USBWATCH_LEFT, "1-2.3") == 1,
	    "polling: the leftover below a vanished hub does not come back");
	check(wait_ev(hr, hmark, USBWATCH_ARRIVED, "1-3.1", NULL, NULL) &&
	    rec_count(hr, hmark, USBWATCH_LEFT, "1-2.3") == 1 &&
	    rec_count(hr, hmark, USBWATCH_ARRIVED, "1-2.3") == 0,
	    "polling: the hotplug watcher agrees");
	unplug("1-2.3");
	unplug("1-3.1");
	check(wait_ev(pr, mark, USBWATCH_LEFT, "1-3.1", NULL, NULL),
	    "polling: the phone unplugged from 1-3.1 leaves");
	check(rec_count(pr, mark, USBWATCH_LEFT, "1-2.3") == 1,
	    "polling: the late removal of 1-2.3 reports nothing more");
	usbwatch_free(uw);
}

/* Run under libumockdev-preload (and libasan first, when built with it). */
static void
reexec(char **argv)
{
	char	 line[1024], asan[512] = "", pre[1200];
	FILE	*f;

	if (getenv("USBWATCH_TEST_REEXEC") != NULL) {
		printf("1..0 # SKIP libumockdev-preload.so.0 could not be preloaded\n");
		exit(77);
	}
	if ((f = fopen("/proc/self/maps", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *p = strchr(line, '/');

			if (p != NULL && strstr(p, "libasan.so") != NULL) {
				p[strcspn(p, "\n")] = '\0';
				snprintf(asan, sizeof(asan), "%s:", p);
				break;
			}
		}
		fclose(f);
	}
	snprintf(pre, sizeof(pre), "%slibumockdev-preload.so.0", asan);
	setenv("LD_PRELOAD", pre, 1);
	setenv("USBWATCH_TEST_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	printf("1..0 # SKIP cannot re-exec: %s\n", strerror(errno));
	exit(77);
}

static bool
preloaded(void)
{
	char	 line[1024];
	FILE	*f;
	bool	 found = false;

	if ((f = fopen("/proc/self/maps", "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "libumockdev-preload") != NULL)
			found = true;
	fclose(f);
	return found;
}

int
main(int argc, char **argv)
{
	struct usbwatch	*hw = NULL;
	static struct rec hr = { .name = "hot" }, pr = { .name = "poll" };
	size_t		 i;

	(void)argc;
	if (!preloaded())
		reexec(argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	unsetenv("LIBUSB_DEBUG");

	tb = umockdev_testbed_new();
	handler = umockdev_ioctl_base_new();
	g_signal_connect(handler, "handle-ioctl", G_CALLBACK(ioctl_cb), NULL);
	loop = ev_default_loop(0);

	for (i = 0; i < sizeof(bench) / sizeof(bench[0]); i++) {
		if (bench[i].vid == 0x05ac && bench[i].pid != 0x12a8 && bench[i].cls != 9)
			attach(bench[i].devnum);
		add_dev(&bench[i]);
	}

	test_hotplug(&hw, &hr);
	test_polling(&hr, &pr);
	usbwatch_free(hw);

	g_object_unref(handler);
	g_object_unref(tb);
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
