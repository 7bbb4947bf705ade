/*
 * usblist: print every USB device libusb sees, one line each, sorted by port:
 *   PORT VID:PID class=CC parent=PORT|- [product "..."]
 * A tiny lsusb for the benchsim tests (runs under the umockdev preload).
 * -s also reads the product string through the device (ioctl handler).
 * -w N waits for N hotplug events (at most 20 s) and prints them:
 *   arrived PORT VID:PID | left PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libusb.h>

#include "text.h"

static void
port_path(libusb_device *dev, char *buf, size_t len)
{
	uint8_t	 ports[8];
	int	 n, i;
	size_t	 off;

	n = libusb_get_port_numbers(dev, ports, sizeof(ports));
	if (n <= 0) {
		snprintf(buf, len, "usb%d", libusb_get_bus_number(dev));
		return;
	}
	off = (size_t)snprintf(buf, len, "%d-", libusb_get_bus_number(dev));
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d",
		    i ? "." : "", ports[i]);
}

static int
cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

struct seen {
	libusb_device	*dev;
	char		 path[64];
};

static struct seen	 seen[256];
static int		 nseen, events;

static int
hotplug_cb(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev,
    void *arg)
{
	struct libusb_device_descriptor	 dd;
	char				 path[64];
	int				 i;

	(void)ctx;
	(void)arg;
	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
		port_path(dev, path, sizeof(path));
		libusb_get_device_descriptor(dev, &dd);
		printf("arrived %s %04x:%04x\n", path, dd.idVendor,
		    dd.idProduct);
		if (nseen < 256) {
			seen[nseen].dev = dev;
			snprintf(seen[nseen++].path, sizeof(path), "%s", path);
		}
	} else {
		/* On departure only the pointer is safe: use what arrival saw. */
		snprintf(path, sizeof(path), "?");
		for (i = 0; i < nseen; i++)
			if (seen[i].dev == dev)
				snprintf(path, sizeof(path), "%s",
				    seen[i].path);
		printf("left %s\n", path);
	}
	fflush(stdout);
	events++;
	return (0);
}

static int
watch(libusb_context *ctx, int want)
{
	struct timeval	 tv = { 0, 100000 };
	time_t		 end = time(NULL) + 20;
	libusb_device	**list;
	ssize_t		 i, n;

	/* Remember the devices already there, to name them when they leave. */
	if ((n = libusb_get_device_list(ctx, &list)) > 0) {
		for (i = 0; i < n && nseen < 256; i++) {
			seen[nseen].dev = list[i];
			port_path(list[i], seen[nseen++].path, 64);
		}
		libusb_free_device_list(list, 0);
	}

	if (libusb_hotplug_register_callback(ctx,
	    LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
	    0, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
	    LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, NULL, NULL) != 0) {
		fprintf(stderr, "usblist: no hotplug\n");
		return (1);
	}
	printf("watching\n");
	fflush(stdout);
	while (events < want && time(NULL) < end)
		libusb_handle_events_timeout_completed(ctx, &tv, NULL);
	libusb_exit(ctx);
	return (events < want);
}

int
main(int argc, char **argv)
{
	libusb_context			*ctx;
	libusb_device			**list, *parent;
	libusb_device_handle		*h;
	struct libusb_device_descriptor	 dd;
	char				 path[64], ppath[64], line[512], str[256];
	char				 clean[256], **lines;
	int				 strings = argc > 1 && strcmp(argv[1], "-s") == 0;
	ssize_t				 n, i;
	int				 r;

	if (libusb_init(&ctx) != 0) {
		fprintf(stderr, "usblist: libusb_init failed\n");
		return (1);
	}
	if (argc > 2 && strcmp(argv[1], "-w") == 0)
		return (watch(ctx, atoi(argv[2])));
	if ((n = libusb_get_device_list(ctx, &list)) < 0) {
		fprintf(stderr, "usblist: no device list\n");
		return (1);
	}
	if ((lines = calloc((size_t)n + 1, sizeof(*lines))) == NULL)
		return (1);
	for (i = 0; i < n; i++) {
		libusb_get_device_descriptor(list[i], &dd);
		port_path(list[i], path, sizeof(path));
		if ((parent = libusb_get_parent(list[i])) != NULL)
			port_path(parent, ppath, sizeof(ppath));
		else
			snprintf(ppath, sizeof(ppath), "-");
		r = snprintf(line, sizeof(line), "%s %04x:%04x class=%02x "
		    "parent=%s", path, dd.idVendor, dd.idProduct,
		    dd.bDeviceClass, ppath);
		if (strings && dd.iProduct != 0 &&
		    libusb_open(list[i], &h) == 0) {
			if (libusb_get_string_descriptor_ascii(h, dd.iProduct,
			    (unsigned char *)str, sizeof(str)) > 0) {
				text_sanitize(clean, sizeof(clean), str,
				    strlen(str));
				snprintf(line + r, sizeof(line) - (size_t)r,
				    " product \"%s\"", clean);
			}
			libusb_close(h);
		}
		lines[i] = strdup(line);
	}
	qsort(lines, (size_t)n, sizeof(*lines), cmp);
	for (i = 0; i < n; i++) {
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	return (0);
}
