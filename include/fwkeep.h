/*
 * fwkeep.h: the keep budget of the firmware library (core, pure: no I/O).
 *
 * Downloaded IPSWs and their extraction caches count against [firmware]
 * keep; when a download or an extraction would go beyond it, the least
 * recently used IPSW that may go (not pinned, not in use) goes, with its
 * cache, until the rest fits.
 */
#ifndef IDB_FWKEEP_H
#define IDB_FWKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One downloaded IPSW as the budget sees it. */
struct fw_keep_item {
	unsigned long long	 size;		/* the IPSW on disk */
	unsigned long long	 cache;		/* its extraction cache on disk, 0 when none */
	time_t			 used;		/* last restore with it, else when it arrived */
	bool			 keep;		/* pinned or in use: never evicted */
};

/* Bytes the items take: each IPSW and its cache. */
unsigned long long fw_keep_total(const struct fw_keep_item *, size_t n);

/*
 * Which items go so that total + need fits in keep (keep 0: no budget).
 * Sets evict[i] for each (least recently used first, ties to the lower
 * index) and returns the bytes still over keep when nothing else may go,
 * 0 when everything fits. When need > 0 cannot fit whatever goes, nothing
 * is chosen (the download or extraction will not happen: no file is lost
 * for it); with need 0 the library is trimmed as far as it can be.
 */
unsigned long long fw_keep_plan(const struct fw_keep_item *, size_t n, unsigned long long keep,
    unsigned long long need, bool *evict);

#endif
