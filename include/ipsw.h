/* ipsw.h: IPSW inspection and one-time pre-extraction of the root filesystem (libzip adapter). */
#ifndef IDB_IPSW_H
#define IDB_IPSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

/*
 * What the bench needs to know about an IPSW. Every string is sanitized
 * (no control characters) and NUL-terminated.
 *
 * os_path is the "OS" component of the first build identity whose
 * RestoreBehavior is "Erase" (the one idevicerestore uses for erase, for DFU
 * and as the fallback of an update), or of the first identity when none says
 * Erase. Real IPSWs give every identity the same OS image; ipsw_prepare_start()
 * nevertheless extracts every distinct OS path the manifest names.
 */
struct ipsw_info {
	bool is_dir;			/* an extracted IPSW directory */
	char product_version[32];	/* "15.8.3" */
	char build[32];			/* "19H386" */
	char product_types[128];	/* "iPhone9,1 iPhone9,3" (SupportedProductTypes, space separated) */
	char os_path[256];		/* the root filesystem image inside the IPSW, "" if none */
	unsigned long long os_size;	/* its uncompressed size */
};

/* Largest BuildManifest.plist and OS image accepted; anything bigger is hostile or broken. */
#define IPSW_MAX_MANIFEST	(32UL * 1024 * 1024)
#define IPSW_MAX_OS_SIZE	(64ULL * 1024 * 1024 * 1024)

/* Read BuildManifest.plist of an IPSW (zip) or an extracted directory. 0, or -1 with a one-line err. */
int ipsw_read_info(const char *path, struct ipsw_info *out, char *err, size_t errlen);
/* One build identity's (ApChipID, ApBoardID). */
typedef void (*ipsw_id_cb)(void *arg, uint32_t cpid, uint32_t bdid);
/* As ipsw_read_info, and id(arg, chip, board) for each build identity that names both, in order. */
int ipsw_read_info_ids(const char *path, struct ipsw_info *out, ipsw_id_cb id, void *arg,
    char *err, size_t errlen);

/*
 * Where idevicerestore 1.0.0 run with -C cache_dir looks for the extracted
 * filesystem: <cache_dir>/<basename of ipsw, extension of up to 5 characters
 * stripped unless it is a directory>/<os_path>. A NULL or empty cache_dir means
 * no -C (beside the IPSW). 0, or -1 when os_path or the name is unsafe or too long.
 */
int ipsw_cache_path(const char *ipsw, const char *cache_dir, const char *os_path, char *out, size_t outlen);

/* True when that file exists with the right size (nothing to do). */
bool ipsw_cached(const char *ipsw, const char *cache_dir, const struct ipsw_info *);

/*
 * An IPSW's own folder under cache_dir (<cache_dir>/<name without its
 * extension>), which holds what idevicerestore 1.0.0 and the bench extract
 * from it. 0, or -1 without a cache_dir (beside the IPSW: no folder of its own).
 */
int ipsw_cache_folder(const char *ipsw, const char *cache_dir, char *out, size_t outlen);
/* Bytes on disk (st_blocks * 512) of the files in a cache folder, subfolders too; 0 when none. */
unsigned long long ipsw_cache_size(const char *folder);
/* Delete a cache folder and what it holds, never following a symbolic link. 0, or -1 with errno. */
int ipsw_cache_remove(const char *folder);
/* The IPSW the bench extracted a cache folder for (its IPSW_CACHE_MARK file). 0, or -1. */
int ipsw_cache_owner(const char *folder, char *out, size_t outlen);

/* Written into a cache folder by ipsw_prepare_start(): "ipsw PATH\n". */
#define IPSW_CACHE_MARK		".idevicebench-ipsw"

struct ipsw_prep;
typedef void (*ipsw_progress_cb)(void *arg, double percent);
typedef void (*ipsw_done_cb)(void *arg, int err, const char *msg);

/*
 * Extract the filesystem into the cache on a worker thread (write to
 * <path>.extract, then rename, honouring 1.0.0's <path>.lock/.extract
 * convention so a child that starts meanwhile does not clash); progress and
 * done are delivered on the loop thread via ev_async (at most ~4 progress calls
 * a second). Never blocks the loop. Free only after done, and not from inside
 * the progress callback. err in done is 0 on success (msg says what was done),
 * else an errno value (ENOSPC: disk full, EINVAL: a broken IPSW, ...).
 * A NULL or empty cache_dir extracts beside the IPSW, as idevicerestore does
 * without -C.
 */
struct ipsw_prep *ipsw_prepare_start(struct ev_loop *, const char *ipsw, const char *cache_dir,
    const struct ipsw_info *, ipsw_progress_cb, ipsw_done_cb, void *arg, char *err, size_t errlen);

/* Cancels (and cleans up the partial file) if still running; the done callback is then not called. */
void ipsw_prepare_free(struct ipsw_prep *);

#endif
