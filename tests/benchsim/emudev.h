/* emudev.h: an emulated USB bench (root hubs, hubs, Apple devices) on umockdev. */
#ifndef BENCHSIM_EMUDEV_H
#define BENCHSIM_EMUDEV_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

struct emu;

/*
 * Called on umockdev's worker thread for every iBoot command an Apple
 * device receives (the raw text, unsanitized, NUL-free) and with
 * "<reboot>" / "<reboot-autoboot>" when the device is told to reboot.
 */
typedef void (*emu_ctrl_cb)(const char *port, uint64_t ecid,
    const char *text, void *arg);

/* Create the testbed; sets UMOCKDEV_DIR. NULL on failure. */
struct emu	*emu_new(emu_ctrl_cb cb, void *arg);

/* Remove the testbed directory and free everything. */
void		 emu_free(struct emu *emu);

/* The testbed's root directory (the value of UMOCKDEV_DIR). */
const char	*emu_root(struct emu *emu);

/* Add a SuperSpeed root hub (1d6b:0003) on the first unused bus. */
int		 emu_add_ss_root(struct emu *emu);

/* Add a hub with nports downstream ports at port; 0 or -1 with err. */
int		 emu_add_hub(struct emu *emu, const char *port, int nports,
		     char *err, size_t errlen);

/* Plug an Apple device (serial may be NULL for the mode's default). */
int		 emu_plug(struct emu *emu, const char *port, enum sc_mode mode,
		     uint64_t ecid, uint32_t cpid, uint32_t bdid,
		     const char *serial, char *err, size_t errlen);

/* Unplug whatever is on port (children first); 0 or -1 with err. */
int		 emu_unplug(struct emu *emu, const char *port, char *err,
		     size_t errlen);

/* Find the port an Apple device with this ECID is plugged into. */
int		 emu_find_ecid(struct emu *emu, uint64_t ecid, char *port,
		     size_t len, enum sc_mode *mode, uint32_t *cpid,
		     uint32_t *bdid);

/* Is something plugged into port? */
int		 emu_occupied(struct emu *emu, const char *port);

/* Format the default serial string (sysfs `serial`) of a device. */
void		 emu_serial(enum sc_mode mode, uint64_t ecid, uint32_t cpid,
		     uint32_t bdid, char *buf, size_t len);

#endif
