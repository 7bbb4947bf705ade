/*
 * usbwatch.h: the libusb adapter. Watches every hub and every Apple device
 * on the machine from the libev loop (hotplug, or polling where libusb has
 * no hotplug) and sends iBoot commands to recovery/DFU devices.
 *
 * What is reported: every non-root hub (bDeviceClass 9, any vendor), so its
 * ports can be shown as empty slots, and every Apple device (vendor 0x05ac,
 * any class). Root hubs ("usb1" in sysfs) are NOT reported: they have no
 * port path, and a device on a root port says so with hub "" and its
 * root_port. Other devices (keyboards, disks) are not reported either.
 *
 * A device is named by its port path ("1-2.3", the sysfs name), never by
 * its address. Arrivals come parents first within one batch; when a hub
 * leaves, everything below it is reported LEFT first (children before the
 * hub), even if the kernel forgot to say so. An arrival on a port that
 * already holds the same device is dropped; a departure of something never
 * reported is dropped.
 *
 * Everything happens on the loop's thread; callbacks come from the loop,
 * never from inside usbwatch_new() or usbwatch_free().
 */
#ifndef IDB_USBWATCH_H
#define IDB_USBWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define USBWATCH_APPLE_VID	0x05ac

struct usbwatch_dev {
	char port[32];		/* "1-2.3" (bus-ports, like sysfs); "usb1" style names are never used */
	char hub[32];		/* parent hub's path, "" when on a root port */
	int bus, root_port;	/* root_port = first port number in the path */
	uint16_t vid, pid;
	int speed;		/* Mbit/s: 1 (low, 1.5), 12, 480, 5000, 10000, 20000, or 0 unknown */
	bool is_hub;
	int nports;		/* hubs: downstream port count (sysfs maxchild), 0 if unknown */
	char serial[256];	/* iSerialNumber read from sysfs /sys/bus/usb/devices/<port>/serial,
				   trailing \n stripped, NOT sanitized (the core parses it; the UI
				   sanitizes); "" when the device has none */
};

enum usbwatch_event { USBWATCH_ARRIVED, USBWATCH_LEFT };

/* On LEFT the record is the one reported at arrival (nothing is re-read). */
typedef void (*usbwatch_cb)(void *arg, enum usbwatch_event, const struct usbwatch_dev *);

/* iBoot command completion: err 0, or a negative errno with a one-line message. */
typedef void (*usbwatch_done_cb)(void *arg, const char *port, int err, const char *msg);

struct usbwatch;

/*
 * Start watching: the devices already present are reported as ARRIVED from
 * the loop as soon as it runs, then hot events. Polls (1 s) when libusb has
 * no hotplug or IDEVICEBENCH_USB_POLL=1. Returns NULL with a reason in err.
 */
struct usbwatch *usbwatch_new(struct ev_loop *loop, usbwatch_cb cb, void *arg, char *err,
    size_t errlen);

/* Stop watching; requests still in flight are cancelled without calling back. */
void usbwatch_free(struct usbwatch *);

/* Did we get hotplug, or are we polling? */
bool usbwatch_polling(const struct usbwatch *);

/*
 * Send iBoot commands (e.g. "setenv auto-boot true", "saveenv", "reboot") as
 * vendor control transfers (0x40, bRequest 0, wValue 0, wIndex 0, data =
 * text + NUL) to the Apple recovery/DFU/WTF device on exactly that port, one
 * after the other, asynchronously from the loop. The handle is opened per
 * request and closed before done_cb runs. A failure of a "reboot" command
 * counts as success (the device resets under it); any other failure stops
 * the sequence. Returns 0 when started (done_cb will be called exactly
 * once), or a negative errno without calling done_cb: -EINVAL bad arguments
 * (1..16 commands of 1..255 bytes), -ENODEV nothing reported on that port,
 * -ENXIO the device there is not in recovery/DFU/WTF mode, -EBUSY a request
 * for that port is still running, -EIO/-EACCES/-ENOMEM the open failed.
 */
int usbwatch_iboot_send(struct usbwatch *, const char *port, const char *const *cmds,
    size_t ncmds, usbwatch_done_cb done_cb, void *arg);


#endif
