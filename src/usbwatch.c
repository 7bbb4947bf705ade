/*
 * usbwatch.c: the libusb adapter (the only file that includes libusb.h).
 *
 * One private libusb context (never the default one, which libirecovery's
 * constructor owns), driven from libev: libusb's pollfds become ev_io
 * watchers and every wakeup runs libusb_handle_events_timeout_completed()
 * with a zero timeout. libusb's hotplug callback only records what it was
 * given into a queue; sysfs reads and the user's callback happen after
 * libusb has returned, in usbwatch_process(). Where libusb has no hotplug
 * (or IDEVICEBENCH_USB_POLL=1) a 1 s timer lists the devices and diffs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <libusb.h>

#include "array.h"
#include "owner.h"
#include "slot.h"
#include "usbwatch.h"

#define USBWATCH_SYSFS		"/sys/bus/usb/devices"
#define USBWATCH_POLL_SECS	1.0
#define USBWATCH_MAXDEPTH	7	/* USB allows 5 hub tiers; libusb reports up to 7 */
#define USBWATCH_MAXQUEUE	4096
#define USBWATCH_MAXCMDS	16
#define USBWATCH_MAXCMDLEN	255
#define USBWATCH_XFER_MS	10000
#define USBWATCH_CLASS_HUB	9

/* What libusb's hotplug callback (or a poll) saw, recorded without any I/O. */
struct uw_msg {
	enum usbwatch_event	 ev;
	libusb_device		*ldev;		/* referenced until processed */
	int			 bus, addr;
	uint8_t			 ports[USBWATCH_MAXDEPTH];
	int			 depth;		/* 0 = root hub */
	uint16_t		 vid, pid;
	uint8_t			 cls;
	int			 speed;
	size_t			 seq;		/* arrival order, for a stable sort */
};

/* A device we reported ARRIVED and not yet LEFT. */
struct uw_node {
	struct usbwatch_dev	 d;
	libusb_device		*ldev;		/* referenced: the pointer stays unique */
	int			 addr;
	int			 depth;
	bool			 seen;		/* polling: still listed */
};

struct uw_io {
	ev_io			 w;
	struct usbwatch		*uw;
	int			 fd;
};

/* One usbwatch_iboot_send() in progress. */
struct uw_req {
	struct usbwatch		*uw;
	char			 port[32];
	libusb_device_handle	*h;
	struct libusb_transfer	*xfer;
	char			**cmds;
	size_t			 ncmds, next;
	bool			 inflight;
	bool			 done;
	bool			 cancelled;
	int			 err;
	char			 msg[160];
	usbwatch_done_cb	 cb;
	void			*arg;
	unsigned char		 buf[LIBUSB_CONTROL_SETUP_SIZE + USBWATCH_MAXCMDLEN + 1];
};

struct usbwatch {
	struct ev_loop		*loop;
	usbwatch_cb		 cb;
	void			*arg;
	libusb_context		*ctx;
	libusb_hotplug_callback_handle hp[2];
	int			 nhp;
	bool			 polling;
	ev_timer		 poll_timer;
	ev_timer		 kick;		/* first drain, from the loop */
	ev_timer		 tick;		/* only if pollfds do not carry timeouts */
	bool			 ticking;

	struct uw_io		**ios;
	size_t			 nios;

	struct uw_msg		*q;
	size_t			 nq, qcap, seq;

	struct uw_node		*nodes;
	size_t			 nnodes, nodecap;

	struct uw_req		**reqs;
	size_t			 nreqs;
};

static void	usbwatch_process(struct usbwatch *);

static int
usbwatch_speed(enum libusb_speed s)
{
	switch ((int)s) {
	case LIBUSB_SPEED_LOW:
		return 1;
	case LIBUSB_SPEED_FULL:
		return 12;
	case LIBUSB_SPEED_HIGH:
		return 480;
	case LIBUSB_SPEED_SUPER:
		return 5000;
	case LIBUSB_SPEED_SUPER_PLUS:
		return 10000;
	case 6:			/* LIBUSB_SPEED_SUPER_PLUS_X2, libusb >= 1.0.27 */
		return 20000;
	default:
		return 0;
	}
}

static int
usbwatch_errno(int lerr)
{
	switch (lerr) {
	case LIBUSB_ERROR_ACCESS:
		return -EACCES;
	case LIBUSB_ERROR_NO_DEVICE:
	case LIBUSB_ERROR_NOT_FOUND:
		return -ENODEV;
	case LIBUSB_ERROR_BUSY:
		return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	case LIBUSB_ERROR_PIPE:
		return -EPIPE;
	case LIBUSB_ERROR_NO_MEM:
		return -ENOMEM;
	case LIBUSB_ERROR_NOT_SUPPORTED:
		return -ENOTSUP;
	default:
		return -EIO;
	}
}

static int
usbwatch_xfer_errno(enum libusb_transfer_status st)
{
	switch (st) {
	case LIBUSB_TRANSFER_TIMED_OUT:
		return -ETIMEDOUT;
	case LIBUSB_TRANSFER_STALL:
		return -EPIPE;
	case LIBUSB_TRANSFER_NO_DEVICE:
		return -ENODEV;
	case LIBUSB_TRANSFER_CANCELLED:
		return -ECANCELED;
	case LIBUSB_TRANSFER_OVERFLOW:
		return -EOVERFLOW;
	default:
		return -EIO;
	}
}

static const char *
usbwatch_xfer_str(enum libusb_transfer_status st)
{
	switch (st) {
	case LIBUSB_TRANSFER_COMPLETED:
		return "completed";
	case LIBUSB_TRANSFER_TIMED_OUT:
		return "timed out";
	case LIBUSB_TRANSFER_STALL:
		return "stalled";
	case LIBUSB_TRANSFER_NO_DEVICE:
		return "device gone";
	case LIBUSB_TRANSFER_CANCELLED:
		return "cancelled";
	case LIBUSB_TRANSFER_OVERFLOW:
		return "overflow";
	default:
		return "transfer error";
	}
}

/* "1-2.3.4"; false if it does not fit (then the device is ignored). */
static bool
usbwatch_path(char *buf, size_t len, int bus, const uint8_t *ports, int depth)
{
	size_t	off;
	int	i, n;

	n = snprintf(buf, len, "%d-", bus);
	if (n < 0 || (size_t)n >= len)
		return false;
	off = n;
	for (i = 0; i < depth; i++) {
		n = snprintf(buf + off, len - off, i == 0 ? "%u" : ".%u", ports[i]);
		if (n < 0 || (size_t)n >= len - off)
			return false;
		off += n;
	}
	return true;
}

/*
 * Read a sysfs attribute of a USB device into buf (NUL-terminated, cut at
 * len-1 bytes, trailing newline stripped). The port path comes from our own
 * formatting, so it cannot climb out of the sysfs directory.
 */
static bool
usbwatch_sysfs_read(const char *port, const char *attr, char *buf, size_t len)
{
	char	path[128];
	ssize_t	n;
	size_t	got = 0;
	int	fd, r;

	buf[0] = '\0';
	r = snprintf(path, sizeof(path), "%s/%s/%s", USBWATCH_SYSFS, port, attr);
	if (r < 0 || (size_t)r >= sizeof(path))
		return false;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	/* A NUL inside would cut the string short anyway; keep what is before it. */
	got = strlen(buf);
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		buf[--got] = '\0';
	return true;
}

static int
usbwatch_sysfs_int(const char *port, const char *attr, int max)
{
	char	 buf[16], *end;
	long	 v;

	if (!usbwatch_sysfs_read(port, attr, buf, sizeof(buf)) || buf[0] == '\0')
		return 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0' || v < 0 || v > max)
		return 0;
	return (int)v;
}

/* libusb pollfds -> ev_io. */

static void
usbwatch_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct usbwatch	*uw = OWNER_OF(w, struct uw_io, w)->uw;
	struct timeval	 tv = { 0, 0 };

	(void)loop;
	(void)revents;
	libusb_handle_events_timeout_completed(uw->ctx, &tv, NULL);
	/* The watcher may be gone now (libusb_close in process): do not touch w. */
	usbwatch_process(uw);
}

static void
usbwatch_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct usbwatch	*uw = OWNER_OF(w, struct usbwatch, tick);
	struct timeval	 tv = { 0, 0 };

	(void)loop;
	(void)revents;
	libusb_handle_events_timeout_completed(uw->ctx, &tv, NULL);
	usbwatch_process(uw);
}

static void
usbwatch_fd_added(int fd, short events, void *data)
{
	struct usbwatch	 *uw = data;
	struct uw_io	 *io, **ios;
	int		  evs = 0;
	size_t		  i;

	if (events & POLLIN)
		evs |= EV_READ;
	if (events & POLLOUT)
		evs |= EV_WRITE;
	for (i = 0; i < uw->nios; i++) {
		if (uw->ios[i]->fd == fd) {
			io = uw->ios[i];
			ev_io_stop(uw->loop, &io->w);
			ev_io_set(&io->w, fd, evs);
			ev_io_start(uw->loop, &io->w);
			return;
		}
	}
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return;
	ios = realloc(uw->ios, (uw->nios + 1) * sizeof(*ios));
	if (ios == NULL) {
		free(io);
		return;
	}
	uw->ios = ios;
	io->uw = uw;
	io->fd = fd;
	ev_io_init(&io->w, usbwatch_io_cb, fd, evs);
	ev_io_start(uw->loop, &io->w);
	uw->ios[uw->nios++] = io;
}

static void
usbwatch_fd_removed(int fd, void *data)
{
	struct usbwatch	*uw = data;
	size_t		 i;

	for (i = 0; i < uw->nios; i++) {
		if (uw->ios[i]->fd != fd)
			continue;
		ev_io_stop(uw->loop, &uw->ios[i]->w);
		free(uw->ios[i]);
		uw->ios[i] = uw->ios[--uw->nios];
		return;
	}
}

/* Recording, inside libusb's callback: memory only. */

static void
usbwatch_record(struct usbwatch *uw, enum usbwatch_event ev, libusb_device *ldev)
{
	struct libusb_device_descriptor	 desc;
	struct uw_msg			*m, *q;
	int				 n;

	if (uw->nq >= uw->qcap) {
		if (uw->qcap >= USBWATCH_MAXQUEUE)
			return;
		if ((q = array_grow(uw->q, uw->nq, &uw->qcap, 32, sizeof(*q))) == NULL)
			return;
		uw->q = q;
	}
	m = &uw->q[uw->nq];
	memset(m, 0, sizeof(*m));
	m->ev = ev;
	m->ldev = libusb_ref_device(ldev);
	m->bus = libusb_get_bus_number(ldev);
	m->addr = libusb_get_device_address(ldev);
	m->seq = uw->seq++;
	if (ev == USBWATCH_ARRIVED) {
		if (libusb_get_device_descriptor(ldev, &desc) == 0) {
			m->vid = desc.idVendor;
			m->pid = desc.idProduct;
			m->cls = desc.bDeviceClass;
		}
		n = libusb_get_port_numbers(ldev, m->ports, sizeof(m->ports));
		m->depth = n > 0 ? n : 0;
		m->speed = usbwatch_speed(libusb_get_device_speed(ldev));
	}
	uw->nq++;
}

static int
usbwatch_hotplug_cb(libusb_context *ctx, libusb_device *ldev, libusb_hotplug_event event,
    void *data)
{
	(void)ctx;
	usbwatch_record(data, event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ?
	    USBWATCH_ARRIVED : USBWATCH_LEFT, ldev);
	return 0;	/* stay registered */
}

/* The device table. */

static bool
usbwatch_wanted(uint16_t vid, uint8_t cls)
{
	return vid == USBWATCH_APPLE_VID || cls == USBWATCH_CLASS_HUB;
}

static bool
usbwatch_below(const char *port, const char *top)
{
	size_t	len = strlen(top);

	return strncmp(port, top, len) == 0 && port[len] == '.';
}

/* Forget node i and report it LEFT (the caller reports descendants first). */
static void
usbwatch_drop(struct usbwatch *uw, size_t i)
{
	struct usbwatch_dev	d = uw->nodes[i].d;

	libusb_unref_device(uw->nodes[i].ldev);
	uw->nodes[i] = uw->nodes[--uw->nnodes];
	uw->cb(uw->arg, USBWATCH_LEFT, &d);
}

/* Report everything below node i, deepest first, then node i itself. */
static void
usbwatch_drop_tree(struct usbwatch *uw, size_t i)
{
	char	top[sizeof(uw->nodes[0].d.port)];
	size_t	j, best;
	int	depth;

	memcpy(top, uw->nodes[i].d.port, sizeof(top));
	for (;;) {
		best = uw->nnodes;
		depth = -1;
		for (j = 0; j < uw->nnodes; j++) {
			if (usbwatch_below(uw->nodes[j].d.port, top) &&
			    uw->nodes[j].depth > depth) {
				best = j;
				depth = uw->nodes[j].depth;
			}
		}
		if (best == uw->nnodes)
			break;
		usbwatch_drop(uw, best);
	}
	for (j = 0; j < uw->nnodes; j++) {
		if (strcmp(uw->nodes[j].d.port, top) == 0) {
			usbwatch_drop(uw, j);
			return;
		}
	}
}

static size_t
usbwatch_find_port(struct usbwatch *uw, const char *port)
{
	size_t	i;

	for (i = 0; i < uw->nnodes; i++)
		if (strcmp(uw->nodes[i].d.port, port) == 0)
			return i;
	return uw->nnodes;
}

/* Takes over the message's device reference. */
static void
usbwatch_arrive(struct usbwatch *uw, struct uw_msg *m)
{
	struct uw_node	*n, *nodes;
	char		 port[32], hub[32], *dot;
	size_t		 i;
	int		 devnum;

	hub[0] = '\0';
	if (m->depth == 0 || !usbwatch_wanted(m->vid, m->cls) ||
	    !usbwatch_path(port, sizeof(port), m->bus, m->ports, m->depth))
		goto drop;
	if (m->depth > 1) {
		memcpy(hub, port, sizeof(hub));
		if ((dot = strrchr(hub, '.')) != NULL)
			*dot = '\0';
		/*
		 * Polling: something still listed below a hub that is gone is
		 * a leftover; reporting it would make it flap LEFT/ARRIVED.
		 */
		if (uw->polling && usbwatch_find_port(uw, hub) == uw->nnodes)
			goto drop;
	}
	if ((i = usbwatch_find_port(uw, port)) < uw->nnodes) {
		n = &uw->nodes[i];
		if (n->ldev == m->ldev || (n->addr == m->addr && n->d.vid == m->vid &&
		    n->d.pid == m->pid))
			goto drop;	/* the same device reported twice */
		/* Another device on that port: the old one's departure was missed. */
		usbwatch_drop_tree(uw, i);
	}
	if ((nodes = array_grow(uw->nodes, uw->nnodes, &uw->nodecap, 32, sizeof(*nodes))) == NULL)
		goto drop;
	uw->nodes = nodes;
	n = &uw->nodes[uw->nnodes];
	memset(n, 0, sizeof(*n));
	n->ldev = m->ldev;
	n->addr = m->addr;
	n->depth = m->depth;
	n->seen = true;
	memcpy(n->d.port, port, sizeof(n->d.port));
	memcpy(n->d.hub, hub, sizeof(n->d.hub));
	n->d.bus = m->bus;
	n->d.root_port = m->ports[0];
	n->d.vid = m->vid;
	n->d.pid = m->pid;
	n->d.speed = m->speed;
	n->d.is_hub = m->cls == USBWATCH_CLASS_HUB;
	if (n->d.is_hub)
		n->d.nports = usbwatch_sysfs_int(port, "maxchild", 255);
	/*
	 * The serial is read after the fact: if the port already holds another
	 * device (a phone switching modes quickly), its serial is not this one's.
	 * An unknown serial is better than a wrong identity.
	 */
	devnum = usbwatch_sysfs_int(port, "devnum", 255);
	if (devnum == 0 || devnum == m->addr)
		usbwatch_sysfs_read(port, "serial", n->d.serial, sizeof(n->d.serial));
	uw->nnodes++;
	uw->cb(uw->arg, USBWATCH_ARRIVED, &n->d);
	return;
drop:
	libusb_unref_device(m->ldev);
}

static void
usbwatch_leave(struct usbwatch *uw, struct uw_msg *m)
{
	size_t	i;

	for (i = 0; i < uw->nnodes; i++)
		if (uw->nodes[i].ldev == m->ldev)
			break;
	if (i == uw->nnodes) {
		for (i = 0; i < uw->nnodes; i++)
			if (uw->nodes[i].d.bus == m->bus && uw->nodes[i].addr == m->addr)
				break;
	}
	if (i < uw->nnodes)
		usbwatch_drop_tree(uw, i);
	libusb_unref_device(m->ldev);
}

static int
usbwatch_msg_cmp(const void *a, const void *b)
{
	const struct uw_msg	*x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
usbwatch_drain(struct usbwatch *uw)
{
	struct uw_msg	*batch;
	size_t		 n, i;
	bool		 arrivals;

	while (uw->nq > 0) {
		/* Take the batch: callbacks below may queue more. */
		batch = uw->q;
		n = uw->nq;
		uw->q = NULL;
		uw->nq = uw->qcap = 0;
		arrivals = true;
		for (i = 0; i < n; i++)
			if (batch[i].ev != USBWATCH_ARRIVED)
				arrivals = false;
		/* Enumeration lists newest first: report hubs before what is on them. */
		if (arrivals)
			qsort(batch, n, sizeof(*batch), usbwatch_msg_cmp);
		for (i = 0; i < n; i++) {
			if (batch[i].ev == USBWATCH_ARRIVED)
				usbwatch_arrive(uw, &batch[i]);
			else
				usbwatch_leave(uw, &batch[i]);
		}
		free(batch);
	}
}

/* Polling: list, diff against the table. */

static void
usbwatch_poll(struct usbwatch *uw)
{
	struct libusb_device_descriptor	  desc;
	libusb_device			**list;
	ssize_t				  n, k;
	size_t				  i, best;
	int				  depth;

	if ((n = libusb_get_device_list(uw->ctx, &list)) < 0)
		return;
	for (i = 0; i < uw->nnodes; i++)
		uw->nodes[i].seen = false;
	for (k = 0; k < n; k++) {
		for (i = 0; i < uw->nnodes; i++) {
			if (uw->nodes[i].ldev == list[k]) {
				uw->nodes[i].seen = true;
				break;
			}
		}
		if (i < uw->nnodes)
			continue;
		if (libusb_get_device_descriptor(list[k], &desc) != 0 ||
		    !usbwatch_wanted(desc.idVendor, desc.bDeviceClass))
			continue;
		usbwatch_record(uw, USBWATCH_ARRIVED, list[k]);
	}
	libusb_free_device_list(list, 1);

	/* Departures first, deepest first, so a port can be taken over. */
	for (;;) {
		best = uw->nnodes;
		depth = -1;
		for (i = 0; i < uw->nnodes; i++) {
			if (!uw->nodes[i].seen && uw->nodes[i].depth > depth) {
				best = i;
				depth = uw->nodes[i].depth;
			}
		}
		if (best == uw->nnodes)
			break;
		usbwatch_drop_tree(uw, best);
	}
	usbwatch_drain(uw);
}

static void
usbwatch_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct usbwatch	*uw = OWNER_OF(w, struct usbwatch, poll_timer);

	(void)loop;
	(void)revents;
	usbwatch_poll(uw);
	usbwatch_process(uw);
}

static void
usbwatch_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct usbwatch	*uw = OWNER_OF(w, struct usbwatch, kick);

	(void)loop;
	(void)revents;
	usbwatch_process(uw);
}

/* iBoot requests. */

static void
usbwatch_req_free(struct uw_req *r)
{
	size_t	i;

	if (r->xfer != NULL)
		libusb_free_transfer(r->xfer);
	if (r->h != NULL)
		libusb_close(r->h);
	for (i = 0; i < r->ncmds; i++)
		free(r->cmds[i]);
	free(r->cmds);
	free(r);
}

static bool
usbwatch_is_reboot(const char *cmd)
{
	return strncmp(cmd, "reboot", 6) == 0 && (cmd[6] == '\0' || cmd[6] == ' ');
}

static void usbwatch_xfer_cb(struct libusb_transfer *);

static int
usbwatch_req_submit(struct uw_req *r)
{
	const char	*cmd = r->cmds[r->next];
	size_t		 len = strlen(cmd) + 1;
	int		 e;

	libusb_fill_control_setup(r->buf, LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_VENDOR |
	    LIBUSB_RECIPIENT_DEVICE, 0, 0, 0, len);
	memcpy(r->buf + LIBUSB_CONTROL_SETUP_SIZE, cmd, len);
	libusb_fill_control_transfer(r->xfer, r->h, r->buf, usbwatch_xfer_cb, r,
	    USBWATCH_XFER_MS);
	if ((e = libusb_submit_transfer(r->xfer)) != 0)
		return e;
	r->inflight = true;
	return 0;
}

static void
usbwatch_req_finish(struct uw_req *r, int err, const char *what, const char *why)
{
	r->done = true;
	r->err = err;
	if (err == 0)
		snprintf(r->msg, sizeof(r->msg), "%zu command%s sent%s%s", r->ncmds,
		    r->ncmds == 1 ? "" : "s", why ? ", " : "", why ? why : "");
	else
		snprintf(r->msg, sizeof(r->msg), "\"%.40s\" failed: %s", what, why);
}

static void
usbwatch_xfer_cb(struct libusb_transfer *xfer)
{
	struct uw_req	*r = xfer->user_data;
	const char	*cmd = r->cmds[r->next];
	int		 e;

	r->inflight = false;
	if (r->cancelled) {
		r->done = true;
		return;
	}
	if (xfer->status != LIBUSB_TRANSFER_COMPLETED) {
		/* The device resets under "reboot": nothing more to send anyway. */
		if (usbwatch_is_reboot(cmd))
			usbwatch_req_finish(r, 0, cmd, "device reset on reboot");
		else
			usbwatch_req_finish(r, usbwatch_xfer_errno(xfer->status), cmd,
			    usbwatch_xfer_str(xfer->status));
		return;
	}
	if (++r->next == r->ncmds) {
		usbwatch_req_finish(r, 0, cmd, NULL);
		return;
	}
	if ((e = usbwatch_req_submit(r)) != 0) {
		cmd = r->cmds[r->next];
		if (usbwatch_is_reboot(cmd) && e == LIBUSB_ERROR_NO_DEVICE)
			usbwatch_req_finish(r, 0, cmd, "device gone before reboot");
		else
			usbwatch_req_finish(r, usbwatch_errno(e), cmd, libusb_strerror(e));
	}
}

/* Send iBoot commands to the recovery/DFU device on a port, asynchronously. */
int
usbwatch_iboot_send(struct usbwatch *uw, const char *port, const char *const *cmds,
    size_t ncmds, usbwatch_done_cb done_cb, void *arg)
{
	struct uw_req	 *r, **reqs;
	struct uw_node	 *n;
	size_t		  i, len;
	int		  e;

	if (uw == NULL || port == NULL || cmds == NULL || done_cb == NULL ||
	    ncmds == 0 || ncmds > USBWATCH_MAXCMDS ||
	    strnlen(port, sizeof(r->port)) >= sizeof(r->port))
		return -EINVAL;
	for (i = 0; i < ncmds; i++) {
		if (cmds[i] == NULL)
			return -EINVAL;
		len = strnlen(cmds[i], USBWATCH_MAXCMDLEN + 1);
		if (len == 0 || len > USBWATCH_MAXCMDLEN)
			return -EINVAL;
	}
	if ((i = usbwatch_find_port(uw, port)) == uw->nnodes)
		return -ENODEV;
	n = &uw->nodes[i];
	if (n->d.vid != USBWATCH_APPLE_VID || !slot_pid_speaks_iboot(n->d.pid))
		return -ENXIO;
	for (i = 0; i < uw->nreqs; i++)
		if (strcmp(uw->reqs[i]->port, port) == 0)
			return -EBUSY;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->uw = uw;
	r->cb = done_cb;
	r->arg = arg;
	memcpy(r->port, port, strlen(port) + 1);
	if ((r->cmds = calloc(ncmds, sizeof(*r->cmds))) == NULL)
		goto nomem;
	for (i = 0; i < ncmds; i++) {
		if ((r->cmds[i] = strdup(cmds[i])) == NULL)
			goto nomem;
		r->ncmds++;
	}
	if ((r->xfer = libusb_alloc_transfer(0)) == NULL)
		goto nomem;
	if ((reqs = realloc(uw->reqs, (uw->nreqs + 1) * sizeof(*reqs))) == NULL)
		goto nomem;
	uw->reqs = reqs;
	/* Opened per request: an open handle keeps an fd in the loop. */
	if ((e = libusb_open(n->ldev, &r->h)) != 0) {
		r->h = NULL;
		usbwatch_req_free(r);
		return usbwatch_errno(e);
	}
	if ((e = usbwatch_req_submit(r)) != 0) {
		usbwatch_req_free(r);
		return usbwatch_errno(e);
	}
	uw->reqs[uw->nreqs++] = r;
	return 0;
nomem:
	usbwatch_req_free(r);
	return -ENOMEM;
}

/* After libusb returned: report queued events and finished requests. */
static void
usbwatch_process(struct usbwatch *uw)
{
	struct uw_req		*r;
	usbwatch_done_cb	 cb;
	void			*arg;
	char			 port[sizeof(r->port)], msg[sizeof(r->msg)];
	size_t			 i;
	int			 err;

	usbwatch_drain(uw);
	for (i = 0; i < uw->nreqs; /* nothing */) {
		r = uw->reqs[i];
		if (!r->done) {
			i++;
			continue;
		}
		uw->reqs[i] = uw->reqs[--uw->nreqs];
		memcpy(port, r->port, sizeof(port));
		memcpy(msg, r->msg, sizeof(msg));
		cb = r->cb;
		arg = r->arg;
		err = r->err;
		/* Closed before the callback, so the caller may send again at once. */
		usbwatch_req_free(r);
		cb(arg, port, err, msg);
		i = 0;		/* the callback may have changed the list */
	}
}

/* Did we get hotplug, or are we polling? */
bool
usbwatch_polling(const struct usbwatch *uw)
{
	return uw->polling;
}

static bool
usbwatch_register(struct usbwatch *uw)
{
	const int	events = LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
			    LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT;

	if (libusb_hotplug_register_callback(uw->ctx, events, LIBUSB_HOTPLUG_ENUMERATE,
	    USBWATCH_APPLE_VID, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
	    usbwatch_hotplug_cb, uw, &uw->hp[0]) != 0)
		return false;
	uw->nhp = 1;
	if (libusb_hotplug_register_callback(uw->ctx, events, LIBUSB_HOTPLUG_ENUMERATE,
	    LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, USBWATCH_CLASS_HUB,
	    usbwatch_hotplug_cb, uw, &uw->hp[1]) != 0) {
		libusb_hotplug_deregister_callback(uw->ctx, uw->hp[0]);
		uw->nhp = 0;
		return false;
	}
	uw->nhp = 2;
	return true;
}

static void
usbwatch_clear_queue(struct usbwatch *uw)
{
	size_t	i;

	for (i = 0; i < uw->nq; i++)
		libusb_unref_device(uw->q[i].ldev);
	uw->nq = 0;
}

/* Start watching hubs and Apple devices from the loop. */
struct usbwatch *
usbwatch_new(struct ev_loop *loop, usbwatch_cb cb, void *arg, char *err, size_t errlen)
{
	struct usbwatch		 *uw;
	const struct libusb_pollfd **pfds;
	const char		 *force;
	size_t			  i;
	int			  e;

	if (errlen > 0)
		err[0] = '\0';
	if (loop == NULL || cb == NULL) {
		snprintf(err, errlen, "usbwatch: no loop or callback");
		return NULL;
	}
	if ((uw = calloc(1, sizeof(*uw))) == NULL) {
		snprintf(err, errlen, "usbwatch: out of memory");
		return NULL;
	}
	uw->loop = loop;
	uw->cb = cb;
	uw->arg = arg;
	/* Our own context: the default one belongs to libirecovery. */
	if ((e = libusb_init(&uw->ctx)) != 0) {
		snprintf(err, errlen, "libusb_init: %s", libusb_strerror(e));
		free(uw);
		return NULL;
	}
	/* libusb must never write on the terminal curses owns. */
	libusb_set_option(uw->ctx, LIBUSB_OPTION_LOG_LEVEL, LIBUSB_LOG_LEVEL_NONE);

	libusb_set_pollfd_notifiers(uw->ctx, usbwatch_fd_added, usbwatch_fd_removed, uw);
	if ((pfds = libusb_get_pollfds(uw->ctx)) != NULL) {
		for (i = 0; pfds[i] != NULL; i++)
			usbwatch_fd_added(pfds[i]->fd, pfds[i]->events, uw);
		libusb_free_pollfds(pfds);
	}
	if (!libusb_pollfds_handle_timeouts(uw->ctx)) {
		ev_timer_init(&uw->tick, usbwatch_tick_cb, 0.1, 0.1);
		ev_timer_start(loop, &uw->tick);
		uw->ticking = true;
	}

	force = getenv("IDEVICEBENCH_USB_POLL");
	uw->polling = (force != NULL && strcmp(force, "1") == 0) ||
	    !libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG);
	if (!uw->polling && !usbwatch_register(uw)) {
		usbwatch_clear_queue(uw);
		uw->polling = true;
	}
	ev_timer_init(&uw->poll_timer, usbwatch_poll_cb, 0., USBWATCH_POLL_SECS);
	ev_timer_init(&uw->kick, usbwatch_kick_cb, 0., 0.);
	if (uw->polling)
		ev_timer_start(loop, &uw->poll_timer);
	else
		ev_timer_start(loop, &uw->kick);	/* what ENUMERATE queued */
	return uw;
}

/* Stop watching and release everything. */
void
usbwatch_free(struct usbwatch *uw)
{
	struct timeval	tv = { 0, 100 * 1000 };
	size_t		i;
	int		tries;
	bool		busy;

	if (uw == NULL)
		return;
	ev_timer_stop(uw->loop, &uw->poll_timer);
	ev_timer_stop(uw->loop, &uw->kick);
	if (uw->ticking)
		ev_timer_stop(uw->loop, &uw->tick);

	/* Transfers in flight must come back before their handles close. */
	for (i = 0; i < uw->nreqs; i++) {
		uw->reqs[i]->cancelled = true;
		if (uw->reqs[i]->inflight)
			libusb_cancel_transfer(uw->reqs[i]->xfer);
	}
	for (tries = 0; tries < 20; tries++) {
		busy = false;
		for (i = 0; i < uw->nreqs; i++)
			if (uw->reqs[i]->inflight)
				busy = true;
		if (!busy)
			break;
		libusb_handle_events_timeout_completed(uw->ctx, &tv, NULL);
	}
	for (i = 0; i < uw->nreqs; i++) {
		/* Still in flight after 2 s: leak it rather than free live memory. */
		if (uw->reqs[i]->inflight)
			continue;
		usbwatch_req_free(uw->reqs[i]);
	}
	free(uw->reqs);

	for (i = 0; i < (size_t)uw->nhp; i++)
		libusb_hotplug_deregister_callback(uw->ctx, uw->hp[i]);
	usbwatch_clear_queue(uw);
	free(uw->q);
	for (i = 0; i < uw->nnodes; i++)
		libusb_unref_device(uw->nodes[i].ldev);
	free(uw->nodes);

	libusb_set_pollfd_notifiers(uw->ctx, NULL, NULL, NULL);
	for (i = 0; i < uw->nios; i++) {
		ev_io_stop(uw->loop, &uw->ios[i]->w);
		free(uw->ios[i]);
	}
	free(uw->ios);
	libusb_exit(uw->ctx);
	free(uw);
}
