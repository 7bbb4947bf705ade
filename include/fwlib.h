/*
 * fwlib.h: the firmware library, [firmware] dir (adapter: libzip, libplist,
 * libev). IPSW files and extracted IPSW folders, indexed by their build
 * identities; broken or hostile files are listed as unusable with a reason.
 */
#ifndef IDB_FWLIB_H
#define IDB_FWLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "fwchoose.h"

struct ev_loop;

/* One file or folder of the library. */
struct fwlib_entry {
	struct fw_build		 b;		/* b.usable false: see reason */
	char			 name[256];	/* file name, sanitized for display */
	bool			 is_dir;
	unsigned long long	 size;		/* bytes on disk (files) */
	time_t			 mtime;
	char			 reason[256];	/* why unusable, "" when usable */
	char			 sha1[41];	/* verified SHA1 (downloads, verify), "" unknown */
	bool			 downloaded;	/* fetched by us: counts against keep */
	time_t			 used;		/* last restore that used it (LRU) */
};

/* Largest number of entries a library lists; the rest are ignored with a warning. */
#define FWLIB_MAX	4096

/*
 * Scan dir once (blocking: call it off the loop thread, or from the command
 * line). prev/nprev: an earlier scan whose entries are reused when name,
 * size and mtime did not change. *out is malloc'ed. 0, or -1 with err.
 */
int fwlib_scan_dir(const char *dir, const struct fwlib_entry *prev, size_t nprev,
    struct fwlib_entry **out, size_t *n, char *err, size_t errlen);

/* Read an IPSW's version, build, product types and (ApChipID, ApBoardID) pairs. 0, or -1 with err. */
int fwlib_read_ipsw(const char *path, struct fw_build *, char *err, size_t errlen);

/*
 * The metadata we keep beside a downloaded or verified file (dir/.meta/NAME).
 * sha1 "bad": it failed verification; "suspect": a restore failed as if it did not fit.
 */
int fwlib_meta_write(const char *dir, const char *name, const char *sha1, bool downloaded);
/* Mark a file as used now (LRU for the keep budget). */
void fwlib_meta_touch(const char *dir, const char *name);

struct fwlib;
typedef void (*fwlib_changed_cb)(void *arg);

/*
 * A library watched from the loop: scans on a worker thread at start and
 * whenever the folder changes (ev_stat), then calls changed on the loop thread.
 */
struct fwlib *fwlib_new(struct ev_loop *, const char *dir, fwlib_changed_cb, void *arg);
/* Ask for a rescan (coalesced with one that is running). */
void fwlib_rescan(struct fwlib *);
/* True once the first scan finished. */
bool fwlib_ready(const struct fwlib *);
/* The entries of the last scan (valid until the next changed callback). */
const struct fwlib_entry *fwlib_entries(const struct fwlib *, size_t *n);
const char *fwlib_dir(const struct fwlib *);
void fwlib_free(struct fwlib *);

#endif
