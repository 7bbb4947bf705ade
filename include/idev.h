/*
 * idev.h: libimobiledevice and libirecovery calls (the only file that
 * includes their headers). Lockdown calls block, so they run on one worker
 * thread; results come back to the loop through ev_async.
 */
#ifndef IDB_IDEV_H
#define IDB_IDEV_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;

enum idev_request {
	IDEV_QUERY = 1,		/* UniqueChipID, ProductType, ProductVersion of a normal-mode device */
	IDEV_ENTER_RECOVERY	/* lockdownd EnterRecovery */
};

struct idev_result {
	enum idev_request req;
	char port[32];		/* the slot's port the request was made for */
	char udid[48];
	int err;		/* 0 ok */
	char msg[160];		/* why it failed, one line */
	uint64_t ecid;
	char product_type[32];
	char version[16];
};

typedef void (*idev_result_cb)(void *arg, const struct idev_result *);

struct idev;

/* Start the worker thread; results are delivered on the loop thread. */
struct idev *idev_new(struct ev_loop *, idev_result_cb, void *arg);
/* Stop the worker (waits for a call in progress to return). */
void idev_free(struct idev *);
/* Queue a request for the normal-mode device with this UDID on that port. */
int idev_submit(struct idev *, enum idev_request, const char *port, const char *udid);
/* Add libirecovery's model table to the core model table (models_add). */
size_t idev_load_models(void);
/* Is a usbmuxd daemon accepting connections? (plain socket check, never blocks long) */
bool idev_usbmuxd_running(void);

#endif
