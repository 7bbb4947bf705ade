/*
 * emudev.c: the emulated USB bench. Builds umockdev sysfs records for root
 * hubs, hubs and Apple devices, and answers the usbdevfs ioctls of the
 * programs under test (string descriptors, iBoot commands, DFU requests) from
 * umockdev's worker thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>

#include <umockdev.h>

#include "emudev.h"

#define SYSBASE		"/devices/pci0000:00/0000:00:14.0"
#define MAXSTR		5
#define MAXDESC		128
#define MAXNODE		128	/* devnums per bus */

enum node_kind {
	NODE_ROOT,
	NODE_HUB,
	NODE_APPLE
};

struct node {
	enum node_kind	 kind;
	char		 port[SC_PORTLEN];	/* "usb1" for root hubs */
	char		 syspath[512];
	char		 devnode[64];
	int		 bus;
	int		 devnum;
	int		 nports;
	int		 gone;			/* under emu->lock */
	int		 autoboot;		/* under emu->lock */
	enum sc_mode	 mode;
	uint64_t	 ecid;
	uint32_t	 cpid;
	uint32_t	 bdid;
	uint8_t		 desc[MAXDESC];		/* device + configuration */
	size_t		 desclen;
	char		*str[MAXSTR];
	struct node	*next;
};

struct emu {
	UMockdevTestbed		*tb;
	UMockdevIoctlBase	*handler;
	char			*root;
	pthread_mutex_t		 lock;
	struct node		*nodes;		/* newest first; gone ones stay */
	int			 nextdev[128];
	unsigned char		 attached[128][MAXNODE];
	emu_ctrl_cb		 cb;
	void			*cbarg;
};

/* Per open file descriptor: URBs waiting to be reaped or to complete. */
struct client {
	struct node	*node;
	GQueue		 done;		/* client addresses of completed URBs */
	GQueue		 pending;	/* bulk/interrupt IN URBs never completed */
	char		 lastcmd[64];
};

static int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (-1);
}

/* Deterministic pseudo-random bits from a seed, for nonces and old UDIDs. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31));
}

static void
hexbytes(uint64_t seed, int nhex, int upper, char *out)
{
	const char	*digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < nhex; i++) {
		if (i % 16 == 0)
			v = mix(seed + (uint64_t)i);
		out[i] = digits[v & 0xf];
		v >>= 4;
	}
	out[nhex] = '\0';
}

void
emu_serial(enum sc_mode mode, uint64_t ecid, uint32_t cpid, uint32_t bdid,
    char *buf, size_t len)
{
	const char	*alnum = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
	char		 srnm[13], udid[41];
	uint64_t	 v = mix(ecid ^ 0x5352);
	int		 i;

	switch (mode) {
	case SC_MODE_RECOVERY:
		srnm[0] = 'F';
		for (i = 1; i < 12; i++) {
			srnm[i] = alnum[v % 34];
			v /= 34;
		}
		srnm[12] = '\0';
		snprintf(buf, len, "SDOM:01 CPID:%04X CPRV:11 CPFM:03 SCEP:01 "
		    "BDID:%02X ECID:%016llX IBFL:3D SRNM:[%s]", cpid, bdid,
		    (unsigned long long)ecid, srnm);
		break;
	case SC_MODE_DFU:
	case SC_MODE_WTF:
	case SC_MODE_PORTDFU:
		snprintf(buf, len, "SDOM:01 CPID:%04X CPRV:11 CPFM:03 SCEP:01 "
		    "BDID:%02X ECID:%016llX IBFL:3C SRTG:[iBoot-%s]", cpid,
		    bdid, (unsigned long long)ecid,
		    cpid >= 0x8020 ? "3865.0.0.4.7" : "2696.0.0.1.33");
		break;
	case SC_MODE_NORMAL:
	case SC_MODE_RESTORE:
		if (cpid >= 0x8020)
			snprintf(buf, len, "%08X-%016llX", cpid,
			    (unsigned long long)ecid);
		else {
			hexbytes(ecid ^ 0x75646964, 40, 0, udid);
			snprintf(buf, len, "%s", udid);
		}
		break;
	}
}

static uint16_t
product_id(enum sc_mode mode)
{
	switch (mode) {
	case SC_MODE_RECOVERY:
		return (0x1281);
	case SC_MODE_DFU:
		return (0x1227);
	case SC_MODE_WTF:
		return (0x1222);
	case SC_MODE_PORTDFU:
		return (0xf014);
	default:
		return (0x12a8);
	}
}

static void
put(struct node *n, int count, ...)
{
	va_list	 ap;
	int	 i;

	va_start(ap, count);
	for (i = 0; i < count && n->desclen < MAXDESC; i++)
		n->desc[n->desclen++] = (uint8_t)va_arg(ap, int);
	va_end(ap);
}

static void
put_device(struct node *n, int cls, int proto, uint16_t vid, uint16_t pid,
    uint16_t bcd, int imanu, int iprod, int iser)
{
	put(n, 18, 18, 1, 0x00, 0x02, cls, 0, proto, 64, vid & 0xff, vid >> 8,
	    pid & 0xff, pid >> 8, bcd & 0xff, bcd >> 8, imanu, iprod, iser, 1);
}

/* Configuration header; wTotalLength is patched by put_done(). */
static void
put_config(struct node *n, int nif, int attr, int power)
{
	put(n, 9, 9, 2, 0, 0, nif, 1, 0, attr, power);
}

static void
put_done(struct node *n)
{
	size_t	 total = n->desclen - 18;

	n->desc[18 + 2] = total & 0xff;
	n->desc[18 + 3] = total >> 8;
}

static void
put_if(struct node *n, int num, int alt, int neps, int cls, int sub, int proto)
{
	put(n, 9, 9, 4, num, alt, neps, cls, sub, proto, 0);
}

static void
put_ep(struct node *n, int addr, int attr, int maxpkt, int interval)
{
	put(n, 7, 7, 5, addr, attr, maxpkt & 0xff, maxpkt >> 8, interval);
}

static void
build_hub(struct node *n, int root, int ss)
{
	if (root) {
		put_device(n, 9, ss ? 3 : 1, 0x1d6b, ss ? 3 : 2, 0x0601, 3, 2,
		    1);
		n->str[1] = strdup("0000:00:14.0");
		n->str[2] = strdup("xHCI Host Controller");
		n->str[3] = strdup("Linux 6.1.0-18-amd64 xhci-hcd");
	} else {
		put_device(n, 9, 2, 0x05e3, 0x0610, 0x9364, 1, 2, 0);
		n->str[1] = strdup("GenesysLogic");
		n->str[2] = strdup("USB2.1 Hub");
	}
	put_config(n, 1, 0xe0, 0);
	put_if(n, 0, 0, 1, 9, 0, 0);
	put_ep(n, 0x81, 3, ss ? 4 : 1, 12);
	put_done(n);
}

static void
build_apple(struct node *n, const char *serial)
{
	char	 nonce[65], snon[41], buf[160];

	switch (n->mode) {
	case SC_MODE_RECOVERY:
	case SC_MODE_DFU:
	case SC_MODE_WTF:
	case SC_MODE_PORTDFU:
		put_device(n, 0, 0, 0x05ac, product_id(n->mode), 0x0000, 2, 3,
		    4);
		if (n->mode == SC_MODE_RECOVERY) {
			put_config(n, 2, 0x80, 250);
			put_if(n, 0, 0, 0, 0xff, 0xfe, 0);
			put_if(n, 1, 0, 0, 0xff, 0xfd, 0);
			put_if(n, 1, 1, 2, 0xff, 0xfd, 0);
			put_ep(n, 0x04, 2, 512, 0);
			put_ep(n, 0x85, 2, 512, 0);
		} else {
			put_config(n, 1, 0x80, 250);
			put_if(n, 0, 0, 0, 0xfe, 0x01, 0);
			/* DFU functional descriptor. */
			put(n, 9, 9, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x08, 0x10,
			    0x01);
		}
		hexbytes(n->ecid ^ 0x4e4f4e43, 64, 1, nonce);
		hexbytes(n->ecid ^ 0x534e4f4e, 40, 1, snon);
		snprintf(buf, sizeof(buf), " NONC:%s SNON:%s", nonce, snon);
		n->str[1] = strdup(buf);
		n->str[2] = strdup("Apple Inc.");
		n->str[3] = strdup(n->mode == SC_MODE_RECOVERY ?
		    "Apple Mobile Device (Recovery Mode)" :
		    "Apple Mobile Device (DFU Mode)");
		n->str[4] = strdup(serial);
		break;
	case SC_MODE_NORMAL:
	case SC_MODE_RESTORE:
		put_device(n, 0, 0, 0x05ac, 0x12a8, 0x1104, 1, 2, 3);
		put_config(n, 2, 0xc0, 250);
		put_if(n, 0, 0, 3, 6, 1, 1);		/* PTP */
		put_ep(n, 0x81, 2, 512, 0);
		put_ep(n, 0x02, 2, 512, 0);
		put_ep(n, 0x83, 3, 64, 10);
		put_if(n, 1, 0, 2, 0xff, 0xfe, 2);	/* usbmux */
		put_ep(n, 0x04, 2, 512, 0);
		put_ep(n, 0x85, 2, 512, 0);
		n->str[1] = strdup("Apple Inc.");
		n->str[2] = strdup("iPhone");
		n->str[3] = strdup(serial);
		break;
	}
	put_done(n);
}

/* Append an attribute value, escaped as umockdev's record format wants. */
static void
attr(GString *s, const char *name, const char *value)
{
	const char	*p;

	g_string_append_printf(s, "A: %s=", name);
	for (p = value; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(s, "\\\\");
		else if (*p == '\n')
			g_string_append(s, "\\n");
		else
			g_string_append_c(s, *p);
	}
	g_string_append(s, "\\n\n");
}

static struct node *
find_port(struct emu *emu, const char *port)
{
	struct node	*n;

	for (n = emu->nodes; n != NULL; n = n->next)
		if (!n->gone && strcmp(n->port, port) == 0)
			return (n);
	return (NULL);
}

static int
alloc_devnum(struct emu *emu, int bus)
{
	struct node	*n;
	int		 i, d, used;

	for (i = 0; i < MAXNODE - 2; i++) {
		d = emu->nextdev[bus] + i;
		if (d >= MAXNODE)
			d = d - MAXNODE + 2;
		if (d < 2)
			d = 2;
		used = 0;
		for (n = emu->nodes; n != NULL; n = n->next)
			if (!n->gone && n->bus == bus && n->devnum == d)
				used = 1;
		if (!used) {
			emu->nextdev[bus] = d + 1;
			return (d);
		}
	}
	return (-1);
}

/* Write the record, attach the ioctl handler and let umockdev announce it. */
static int
add_node(struct emu *emu, struct node *n, const char *parentsys,
    const char *serial, int ss, char *err, size_t errlen)
{
	GString		*s;
	GError		*gerr = NULL;
	char		 num[32], *dot;
	size_t		 i;
	int		 ok;

	if (n->kind == NODE_ROOT)
		n->devnum = 1;
	else if ((n->devnum = alloc_devnum(emu, n->bus)) < 0)
		return (errf(err, errlen, "bus %d is full", n->bus));
	snprintf(n->syspath, sizeof(n->syspath), "%s/%s", parentsys, n->port);
	snprintf(n->devnode, sizeof(n->devnode), "/dev/bus/usb/%03d/%03d",
	    n->bus, n->devnum);

	s = g_string_new(NULL);
	g_string_append_printf(s, "P: %s\nN: %s\n", n->syspath,
	    n->devnode + 5);
	g_string_append_printf(s, "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\n"
	    "E: DRIVER=usb\nE: DEVNAME=%s\nE: BUSNUM=%03d\nE: DEVNUM=%03d\n",
	    n->devnode, n->bus, n->devnum);
	g_string_append_printf(s, "E: PRODUCT=%x/%x/%x\n",
	    n->desc[8] | n->desc[9] << 8, n->desc[10] | n->desc[11] << 8,
	    n->desc[12] | n->desc[13] << 8);
	snprintf(num, sizeof(num), "%d", n->bus);
	attr(s, "busnum", num);
	snprintf(num, sizeof(num), "%d", n->devnum);
	attr(s, "devnum", num);
	snprintf(num, sizeof(num), "%04x", n->desc[8] | n->desc[9] << 8);
	attr(s, "idVendor", num);
	snprintf(num, sizeof(num), "%04x", n->desc[10] | n->desc[11] << 8);
	attr(s, "idProduct", num);
	snprintf(num, sizeof(num), "%02x", n->desc[4]);
	attr(s, "bDeviceClass", num);
	attr(s, "bNumConfigurations", "1");
	attr(s, "bConfigurationValue", "1");
	attr(s, "speed", ss ? "5000" : "480");
	attr(s, "version", ss ? " 3.00" : " 2.00");
	if (n->kind == NODE_ROOT)
		attr(s, "devpath", "0");
	else if ((dot = strchr(n->port, '-')) != NULL)
		attr(s, "devpath", dot + 1);
	if (n->kind != NODE_APPLE) {
		snprintf(num, sizeof(num), "%d", n->nports);
		attr(s, "maxchild", num);
	}
	if (n->str[n->desc[14]] != NULL && n->desc[14] != 0)
		attr(s, "manufacturer", n->str[n->desc[14]]);
	if (n->str[n->desc[15]] != NULL && n->desc[15] != 0)
		attr(s, "product", n->str[n->desc[15]]);
	if (serial != NULL)
		attr(s, "serial", serial);
	g_string_append(s, "H: descriptors=");
	for (i = 0; i < n->desclen; i++)
		g_string_append_printf(s, "%02x", n->desc[i]);
	g_string_append(s, "\n");

	/* The handler must be there before the node exists; once per node. */
	if (!emu->attached[n->bus][n->devnum]) {
		if (!umockdev_testbed_attach_ioctl(emu->tb, n->devnode,
		    emu->handler, &gerr)) {
			errf(err, errlen, "attach_ioctl %s: %s", n->devnode,
			    gerr->message);
			g_error_free(gerr);
			g_string_free(s, TRUE);
			return (-1);
		}
		emu->attached[n->bus][n->devnum] = 1;
	}

	pthread_mutex_lock(&emu->lock);
	n->next = emu->nodes;
	emu->nodes = n;
	pthread_mutex_unlock(&emu->lock);

	ok = umockdev_testbed_add_from_string(emu->tb, s->str, &gerr);
	g_string_free(s, TRUE);
	if (!ok) {
		pthread_mutex_lock(&emu->lock);
		n->gone = 1;
		pthread_mutex_unlock(&emu->lock);
		errf(err, errlen, "umockdev: %s", gerr->message);
		g_error_free(gerr);
		return (-1);
	}
	return (0);
}

static struct node *
node_new(enum node_kind kind, const char *port, int bus)
{
	struct node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return (NULL);
	n->kind = kind;
	snprintf(n->port, sizeof(n->port), "%s", port);
	n->bus = bus;
	return (n);
}

static struct node *
ensure_root(struct emu *emu, int bus, char *err, size_t errlen)
{
	struct node	*n;
	char		 name[16];

	snprintf(name, sizeof(name), "usb%d", bus);
	if ((n = find_port(emu, name)) != NULL)
		return (n);
	if ((n = node_new(NODE_ROOT, name, bus)) == NULL)
		return (NULL);
	n->nports = 15;
	build_hub(n, 1, 0);
	/* add_node uses the port as the sysfs name: "usb1" under the HCD. */
	if (add_node(emu, n, SYSBASE, "0000:00:14.0", 0, err, errlen) != 0)
		return (NULL);
	return (n);
}

/* The hub a port hangs off, checked: exists and has that many ports. */
static struct node *
parent_of(struct emu *emu, const char *port, char *err, size_t errlen)
{
	struct node	*p;
	char		 up[SC_PORTLEN], *dot;
	int		 bus, ports[SC_MAXDEPTH], depth;

	if ((depth = scenario_port_split(port, &bus, ports)) < 0) {
		errf(err, errlen, "bad port path '%s'", port);
		return (NULL);
	}
	if (depth == 1) {
		if ((p = ensure_root(emu, bus, err, errlen)) == NULL)
			return (NULL);
	} else {
		snprintf(up, sizeof(up), "%s", port);
		dot = strrchr(up, '.');
		*dot = '\0';
		if ((p = find_port(emu, up)) == NULL || p->kind != NODE_HUB) {
			errf(err, errlen, "no hub at %s for port %s", up, port);
			return (NULL);
		}
	}
	if (ports[depth - 1] > p->nports) {
		errf(err, errlen, "hub %s has only %d ports (port %s)",
		    p->kind == NODE_ROOT ? p->port : up, p->nports, port);
		return (NULL);
	}
	if (find_port(emu, port) != NULL) {
		errf(err, errlen, "port %s is already in use", port);
		return (NULL);
	}
	return (p);
}

int
emu_add_hub(struct emu *emu, const char *port, int nports, char *err,
    size_t errlen)
{
	struct node	*p, *n;

	if ((p = parent_of(emu, port, err, errlen)) == NULL)
		return (-1);
	if ((n = node_new(NODE_HUB, port, p->bus)) == NULL)
		return (errf(err, errlen, "out of memory"));
	n->nports = nports;
	build_hub(n, 0, 0);
	return (add_node(emu, n, p->syspath, NULL, 0, err, errlen));
}

int
emu_add_ss_root(struct emu *emu)
{
	struct node	*n;
	char		 name[16], err[128];
	int		 bus;

	for (bus = 2; bus < 127; bus++) {
		snprintf(name, sizeof(name), "usb%d", bus);
		if (find_port(emu, name) == NULL)
			break;
	}
	if ((n = node_new(NODE_ROOT, name, bus)) == NULL)
		return (-1);
	n->nports = 4;
	build_hub(n, 1, 1);
	return (add_node(emu, n, SYSBASE, "0000:00:14.0", 1, err, sizeof(err)));
}

int
emu_plug(struct emu *emu, const char *port, enum sc_mode mode, uint64_t ecid,
    uint32_t cpid, uint32_t bdid, const char *serial, char *err, size_t errlen)
{
	struct node	*p, *n;
	char		 def[SC_SERIALLEN];

	if ((p = parent_of(emu, port, err, errlen)) == NULL)
		return (-1);
	if ((n = node_new(NODE_APPLE, port, p->bus)) == NULL)
		return (errf(err, errlen, "out of memory"));
	n->mode = mode;
	n->ecid = ecid;
	n->cpid = cpid;
	n->bdid = bdid;
	if (serial == NULL) {
		emu_serial(mode, ecid, cpid, bdid, def, sizeof(def));
		serial = def;
	}
	build_apple(n, serial);
	return (add_node(emu, n, p->syspath, serial, 0, err, errlen));
}

static void
unplug_node(struct emu *emu, struct node *n)
{
	struct node	*c;
	size_t		 len = strlen(n->port);
	char		 sys[sizeof(n->syspath) + 4];

	/* Children first, as the kernel announces them. */
	for (c = emu->nodes; c != NULL; c = c->next)
		if (!c->gone && c->bus == n->bus && c != n &&
		    strncmp(c->port, n->port, len) == 0 && c->port[len] == '.')
			unplug_node(emu, c);
	snprintf(sys, sizeof(sys), "/sys%s", n->syspath);
	umockdev_testbed_uevent(emu->tb, sys, "remove");
	pthread_mutex_lock(&emu->lock);
	n->gone = 1;
	pthread_mutex_unlock(&emu->lock);
	umockdev_testbed_remove_device(emu->tb, sys);
}

int
emu_unplug(struct emu *emu, const char *port, char *err, size_t errlen)
{
	struct node	*n;

	if ((n = find_port(emu, port)) == NULL || n->kind == NODE_ROOT)
		return (errf(err, errlen, "nothing plugged into %s", port));
	unplug_node(emu, n);
	return (0);
}

int
emu_occupied(struct emu *emu, const char *port)
{
	return (find_port(emu, port) != NULL);
}

int
emu_find_ecid(struct emu *emu, uint64_t ecid, char *port, size_t len,
    enum sc_mode *mode, uint32_t *cpid, uint32_t *bdid)
{
	struct node	*n;

	for (n = emu->nodes; n != NULL; n = n->next) {
		if (n->gone || n->kind != NODE_APPLE || n->ecid != ecid)
			continue;
		snprintf(port, len, "%s", n->port);
		*mode = n->mode;
		*cpid = n->cpid;
		*bdid = n->bdid;
		return (0);
	}
	return (-1);
}

/* ---- the ioctl side, on umockdev's worker thread ---- */

static void
client_free(gpointer p)
{
	struct client	*c = p;

	g_queue_clear(&c->done);
	g_queue_clear(&c->pending);
	free(c);
}

static struct client *
client_get(struct emu *emu, UMockdevIoctlClient *uc)
{
	struct client	*c;
	struct node	*n;
	const char	*devnode;

	if ((c = g_object_get_data(G_OBJECT(uc), "benchsim")) != NULL)
		return (c);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	g_queue_init(&c->done);
	g_queue_init(&c->pending);
	/* Bind the fd to the device incarnation it was opened on. */
	devnode = umockdev_ioctl_client_get_devnode(uc);
	pthread_mutex_lock(&emu->lock);
	for (n = emu->nodes; n != NULL; n = n->next)
		if (!n->gone && strcmp(n->devnode, devnode) == 0)
			break;
	pthread_mutex_unlock(&emu->lock);
	c->node = n;
	g_object_set_data_full(G_OBJECT(uc), "benchsim", c, client_free);
	return (c);
}

static int
string_desc(struct node *n, int index, uint8_t *out, int max)
{
	const unsigned char	*s;
	int			 len = 2;

	if (index == 0) {
		out[0] = 4;
		out[1] = 3;
		out[2] = 0x09;
		out[3] = 0x04;
		return (4);
	}
	if (index >= MAXSTR || n->str[index] == NULL)
		return (-1);
	(void)max;
	for (s = (const unsigned char *)n->str[index]; *s != '\0' &&
	    len + 2 <= 254; s++) {
		out[len++] = *s;
		out[len++] = 0;
	}
	out[0] = (uint8_t)len;
	out[1] = 3;
	return (len);
}

static const char *
getenv_answer(const char *cmd)
{
	if (strncmp(cmd, "getenv ", 7) != 0)
		return ("");
	cmd += 7;
	if (strcmp(cmd, "build-version") == 0)
		return ("iBoot-7459.140.15");
	if (strcmp(cmd, "build-style") == 0)
		return ("RELEASE");
	if (strcmp(cmd, "auto-boot") == 0)
		return ("false");
	return ("");
}

/*
 * Handle a control transfer. Returns the data stage length written into
 * data (IN) or consumed (OUT), or -errno for a stall.
 */
static int
control(struct emu *emu, struct client *c, uint8_t *setup, uint8_t *data,
    int max)
{
	struct node	*n = c->node;
	int		 type = setup[0], req = setup[1];
	int		 value = setup[2] | setup[3] << 8;
	int		 length = setup[6] | setup[7] << 8;
	char		 text[256];
	const char	*ans;
	int		 len, reboot = 0;

	if (length > max)
		length = max;
	switch (type) {
	case 0x80:
		if (req == 6) {		/* GET_DESCRIPTOR */
			switch (value >> 8) {
			case 1:
				len = 18;
				memcpy(data, n->desc, length < len ? length :
				    len);
				return (length < len ? length : len);
			case 2:
				len = (int)n->desclen - 18;
				memcpy(data, n->desc + 18, length < len ?
				    length : len);
				return (length < len ? length : len);
			case 3: {
				uint8_t	 buf[256];

				if ((len = string_desc(n, value & 0xff, buf,
				    sizeof(buf))) < 0)
					return (-EPIPE);
				memcpy(data, buf, length < len ? length : len);
				return (length < len ? length : len);
			}
			}
			return (-EPIPE);
		}
		if (req == 8 && length >= 1) {	/* GET_CONFIGURATION */
			data[0] = 1;
			return (1);
		}
		if (req == 0 && length >= 2) {	/* GET_STATUS */
			data[0] = data[1] = 0;
			return (2);
		}
		return (-EPIPE);
	case 0x00:
		if (req == 9 || req == 1 || req == 3)	/* SET_CONFIG, FEATURE */
			return (0);
		return (-EPIPE);
	case 0x40:
		if (req != 0 || n->kind != NODE_APPLE)
			return (-EPIPE);
		len = length < (int)sizeof(text) - 1 ? length :
		    (int)sizeof(text) - 1;
		memcpy(text, data, len);
		text[len] = '\0';
		snprintf(c->lastcmd, sizeof(c->lastcmd), "%s", text);
		pthread_mutex_lock(&emu->lock);
		if (strcmp(text, "setenv auto-boot true") == 0)
			n->autoboot = 1;
		else if (strcmp(text, "setenv auto-boot false") == 0)
			n->autoboot = 0;
		else if (strcmp(text, "reboot") == 0)
			reboot = n->autoboot ? 2 : 1;
		pthread_mutex_unlock(&emu->lock);
		if (emu->cb != NULL) {
			emu->cb(n->port, n->ecid, text, emu->cbarg);
			if (reboot)
				emu->cb(n->port, n->ecid, reboot == 2 ?
				    "<reboot-autoboot>" : "<reboot>",
				    emu->cbarg);
		}
		return (length);
	case 0xc0:
		if (req != 0 || n->kind != NODE_APPLE)
			return (-EPIPE);
		ans = getenv_answer(c->lastcmd);
		len = (int)strlen(ans) + 1;
		if (len > length)
			len = length;
		memcpy(data, ans, len);
		return (len);
	case 0x21:			/* DFU class OUT: DNLOAD, CLRSTATUS... */
		return (n->kind == NODE_APPLE ? length : -EPIPE);
	case 0xa1:
		if (n->kind != NODE_APPLE)
			return (-EPIPE);
		if (req == 3 && length >= 6) {	/* GETSTATUS */
			memset(data, 0, 6);
			data[4] = 5;		/* dfuDNLOAD-IDLE */
			return (6);
		}
		if (req == 5 && length >= 1) {	/* GETSTATE */
			data[0] = 2;		/* dfuIDLE */
			return (1);
		}
		return (-EPIPE);
	}
	return (-EPIPE);
}

static void
submit(struct emu *emu, struct client *c, UMockdevIoctlClient *uc,
    UMockdevIoctlData *arg)
{
	UMockdevIoctlData	*d, *b = NULL;
	struct usbdevfs_urb	*urb;
	GError			*gerr = NULL;
	int			 r;

	d = umockdev_ioctl_data_resolve(arg, 0, sizeof(*urb), &gerr);
	if (d == NULL) {
		g_clear_error(&gerr);
		umockdev_ioctl_client_complete(uc, -1, EFAULT);
		return;
	}
	urb = (struct usbdevfs_urb *)d->data;
	if (urb->buffer_length < 0 || urb->buffer_length > 65536 + 8) {
		umockdev_ioctl_data_unref(d);
		umockdev_ioctl_client_complete(uc, -1, EINVAL);
		return;
	}
	if (urb->buffer_length > 0) {
		b = umockdev_ioctl_data_resolve(d, offsetof(struct usbdevfs_urb,
		    buffer), urb->buffer_length, &gerr);
		if (b == NULL) {
			g_clear_error(&gerr);
			umockdev_ioctl_data_unref(d);
			umockdev_ioctl_client_complete(uc, -1, EFAULT);
			return;
		}
	}
	urb = (struct usbdevfs_urb *)d->data;
	urb->status = 0;
	urb->actual_length = 0;
	if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
		if (b == NULL || urb->buffer_length < 8) {
			urb->status = -EINVAL;
		} else {
			r = control(emu, c, b->data, b->data + 8,
			    urb->buffer_length - 8);
			if (r < 0)
				urb->status = r;
			else
				urb->actual_length = r;
		}
	} else if (urb->endpoint & 0x80) {
		/* Nothing ever arrives on IN pipes: wait for a discard. */
		g_queue_push_tail(&c->pending, (gpointer)d->client_addr);
		goto out;
	} else
		urb->actual_length = urb->buffer_length;	/* uploads */
	g_queue_push_tail(&c->done, (gpointer)d->client_addr);
out:
	if (b != NULL)
		umockdev_ioctl_data_unref(b);
	umockdev_ioctl_data_unref(d);
	umockdev_ioctl_client_complete(uc, 0, 0);
}

static void
reap(struct client *c, UMockdevIoctlClient *uc, UMockdevIoctlData *arg)
{
	UMockdevIoctlData	*p;
	GError			*gerr = NULL;
	gulong			 addr;

	if (g_queue_is_empty(&c->done)) {
		umockdev_ioctl_client_complete(uc, -1, EAGAIN);
		return;
	}
	p = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &gerr);
	if (p == NULL) {
		g_clear_error(&gerr);
		umockdev_ioctl_client_complete(uc, -1, EFAULT);
		return;
	}
	addr = (gulong)g_queue_pop_head(&c->done);
	memcpy(p->data, &addr, sizeof(addr));
	umockdev_ioctl_data_unref(p);
	umockdev_ioctl_client_complete(uc, 0, 0);
}

static void
discard(struct client *c, UMockdevIoctlClient *uc, UMockdevIoctlData *arg)
{
	UMockdevIoctlData	*d;
	struct usbdevfs_urb	*urb;
	GError			*gerr = NULL;
	gulong			 addr;

	memcpy(&addr, arg->data, sizeof(addr));
	if (!g_queue_remove(&c->pending, (gpointer)addr)) {
		umockdev_ioctl_client_complete(uc, -1, EINVAL);
		return;
	}
	if ((d = umockdev_ioctl_data_resolve(arg, 0, sizeof(*urb), &gerr)) ==
	    NULL) {
		g_clear_error(&gerr);
		umockdev_ioctl_client_complete(uc, -1, EFAULT);
		return;
	}
	urb = (struct usbdevfs_urb *)d->data;
	urb->status = -ENOENT;
	urb->actual_length = 0;
	g_queue_push_tail(&c->done, (gpointer)addr);
	umockdev_ioctl_data_unref(d);
	umockdev_ioctl_client_complete(uc, 0, 0);
}

static gboolean
ioctl_cb(UMockdevIoctlBase *h, UMockdevIoctlClient *uc, gpointer arg)
{
	struct emu		*emu = arg;
	struct client		*c;
	UMockdevIoctlData	*a, *d;
	GError			*gerr = NULL;
	gulong			 req;
	uint32_t		 caps;
	int			 gone;

	(void)h;
	req = umockdev_ioctl_client_get_request(uc);
	a = umockdev_ioctl_client_get_arg(uc);
	if ((c = client_get(emu, uc)) == NULL || c->node == NULL) {
		umockdev_ioctl_client_complete(uc, -1, ENODEV);
		return (TRUE);
	}
	pthread_mutex_lock(&emu->lock);
	gone = c->node->gone;
	pthread_mutex_unlock(&emu->lock);
	if (gone) {
		umockdev_ioctl_client_complete(uc, -1, ENODEV);
		return (TRUE);
	}
	switch (req) {
	case USBDEVFS_GET_CAPABILITIES:
		if ((d = umockdev_ioctl_data_resolve(a, 0, sizeof(caps),
		    &gerr)) == NULL) {
			g_clear_error(&gerr);
			umockdev_ioctl_client_complete(uc, -1, EFAULT);
			break;
		}
		caps = USBDEVFS_CAP_BULK_CONTINUATION |
		    USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
		    USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
		memcpy(d->data, &caps, sizeof(caps));
		umockdev_ioctl_data_unref(d);
		umockdev_ioctl_client_complete(uc, 0, 0);
		break;
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_RELEASEINTERFACE:
	case USBDEVFS_SETCONFIGURATION:
	case USBDEVFS_SETINTERFACE:
	case USBDEVFS_RESET:
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESETEP:
		umockdev_ioctl_client_complete(uc, 0, 0);
		break;
	case USBDEVFS_GETDRIVER:
		umockdev_ioctl_client_complete(uc, -1, ENODATA);
		break;
	case USBDEVFS_SUBMITURB:
		submit(emu, c, uc, a);
		break;
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY:
		reap(c, uc, a);
		break;
	case USBDEVFS_DISCARDURB:
		discard(c, uc, a);
		break;
	default:
		umockdev_ioctl_client_complete(uc, -1, ENOTTY);
		break;
	}
	return (TRUE);
}

struct emu *
emu_new(emu_ctrl_cb cb, void *arg)
{
	struct emu	*emu;

	if ((emu = calloc(1, sizeof(*emu))) == NULL)
		return (NULL);
	pthread_mutex_init(&emu->lock, NULL);
	emu->cb = cb;
	emu->cbarg = arg;
	if ((emu->tb = umockdev_testbed_new()) == NULL) {
		free(emu);
		return (NULL);
	}
	emu->root = umockdev_testbed_get_root_dir(emu->tb);
	emu->handler = umockdev_ioctl_base_new();
	g_signal_connect(emu->handler, "handle-ioctl", G_CALLBACK(ioctl_cb),
	    emu);
	return (emu);
}

const char *
emu_root(struct emu *emu)
{
	return (emu->root);
}

void
emu_free(struct emu *emu)
{
	struct node	*n;
	int		 i;

	if (emu == NULL)
		return;
	g_object_unref(emu->tb);
	g_object_unref(emu->handler);
	while ((n = emu->nodes) != NULL) {
		emu->nodes = n->next;
		for (i = 0; i < MAXSTR; i++)
			free(n->str[i]);
		free(n);
	}
	g_free(emu->root);
	pthread_mutex_destroy(&emu->lock);
	free(emu);
}
