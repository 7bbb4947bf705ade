/*
 * usbid.c: Apple's USB product ids, once: which mode each one means, and
 * which modes take iBoot commands. The bench, the slot rules and the USB
 * watcher all ask here.
 */
#include <stdbool.h>
#include <stdint.h>

#include "slot.h"

/*
 * Mode from an Apple USB product id (MODE_NONE if not an Apple phone id).
 * Normal and restore mode share 0x1290-0x12af: which one it is, only the
 * bench knows (a restore is running for that ECID), so this says normal.
 */
enum dev_mode
slot_mode_from_pid(uint16_t pid)
{
	if (pid >= 0x1280 && pid <= 0x1283)
		return MODE_RECOVERY;
	if (pid == 0x1227)
		return MODE_DFU;
	if (pid == 0x1222)
		return MODE_WTF;
	if (pid == 0xf014)
		return MODE_PORTDFU;
	if (pid >= 0x1290 && pid <= 0x12af)
		return MODE_NORMAL;
	return MODE_NONE;
}

/* Does a device with this product id take iBoot commands (recovery, DFU, WTF)? */
bool
slot_pid_speaks_iboot(uint16_t pid)
{
	enum dev_mode	m = slot_mode_from_pid(pid);

	return m == MODE_RECOVERY || m == MODE_DFU || m == MODE_WTF;
}
