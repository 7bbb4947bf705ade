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
	/* for the scan: what the file was when its manifest was read */
	char			 key[128];	/* stat fields (dev, inode, size, mtime in ns) */
	bool			 read_ok;	/* the manifest read well (before .meta's verdicts) */
	bool			 cached;	/* stored in dir/.meta/.scan/ */
};

/* What one scan did: entries read from their manifest, from the cache, from the last scan. */
struct fwlib_scan_stats {
	size_t	 parsed;
	size_t	 cached;
	size_t	 reused;
	size_t	 stored;			/* cache records written */
	double	 secs;				/* wall time of the scan */
};

/* Largest number of entries a library lists; the rest are ignored with a warning. */
#define FWLIB_MAX	4096

/*
 * Scan dir once (blocking: call it off the loop thread, or from the command
 * line). prev/nprev: an earlier scan whose entries are reused when the file's
 * device, inode, size and mtime did not change; what each file's manifest
 * said is also kept in dir/.meta/.scan/NAME under the same key, so another
 * process (or the next start) does not parse it again. Manifests still to
 * read are parsed on up to FWLIB_SCAN_THREADS threads. *out is malloc'ed.
 * stats may be NULL. 0, or -1 with err.
 */
int fwlib_scan(const char *dir, const struct fwlib_entry *prev, size_t nprev,
    struct fwlib_entry **out, size_t *n, struct fwlib_scan_stats *stats, char *err, size_t errlen);
/* fwlib_scan() without stats. */
int fwlib_scan_dir(const char *dir, const struct fwlib_entry *prev, size_t nprev,
    struct fwlib_entry **out, size_t *n, char *err, size_t errlen);

/* Most threads a scan parses manifests on (never more than the CPUs online). */
#define FWLIB_SCAN_THREADS	4

/* Read an IPSW's version, build, product types and (ApChipID, ApBoardID) pairs. 0, or -1 with err. */
int fwlib_read_ipsw(const char *path, struct fw_build *, char *err, size_t errlen);

/*
 * The metadata we keep beside a downloaded or verified file (dir/.meta/NAME).
 * sha1 "bad": it failed verification; "suspect": a restore failed as if it did not fit.
 */
int fwlib_meta_write(const char *dir, const char *name, const char *sha1, bool downloaded);
/* Mark a file as used now (LRU for the keep budget). */
void fwlib_meta_touch(const char *dir, const char *name);
/*
 * The SHA1 recorded for dir/NAME when the record stands for the file as it
 * is: a regular file of size bytes, not changed since the record was
 * written, not marked bad or suspect. False otherwise.
 */
bool fwlib_meta_sha1(const char *dir, const char *name, unsigned long long size, char sha1[41]);

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
/* What the last finished scan did. */
const struct fwlib_scan_stats *fwlib_stats(const struct fwlib *);
/* The entries of the last scan (valid until the next changed callback). */
const struct fwlib_entry *fwlib_entries(const struct fwlib *, size_t *n);
const char *fwlib_dir(const struct fwlib *);
void fwlib_free(struct fwlib *);

#endif
