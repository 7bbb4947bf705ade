/*
 * irecvfix.c: an LD_PRELOAD library for Debian 12's idevicerestore 1.0.0
 * children (built as libidevicebench-irecvfix.so; not part of the bench's
 * own binary, and it includes no library header on purpose).
 *
 * libirecovery 1.0.0's irecv_open_with_ecid() walks libusb's device list,
 * opens the first Apple device in recovery or DFU mode, frees the list and,
 * when that device has another ECID, goes on walking the freed list. On a
 * bench with two phones or more, a child whose phone is not the first Apple
 * device in the list therefore dies of SIGSEGV at its detect step (fixed
 * upstream in libirecovery ce1d31f, not in Debian 12; glibc's tcache setting
 * hides it only when the phone is alone on the bus). Here freeing a device
 * list does nothing: the list and its device references stay valid for the
 * walk. A restore leaks a few hundred bytes per device lookup, for the
 * lifetime of a process that ends with its restore.
 */
struct libusb_device;

void libusb_free_device_list(struct libusb_device **list, int unref_devices);

void
libusb_free_device_list(struct libusb_device **list, int unref_devices)
{
	(void)list;
	(void)unref_devices;
}
