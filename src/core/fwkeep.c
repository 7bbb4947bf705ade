/*
 * fwkeep.c: what leaves the firmware library when the keep budget is
 * exceeded (core, pure). The adapter (fwsel.c) measures the files and
 * caches and deletes what this chooses.
 */
#include <stdbool.h>
#include <stddef.h>

#include "fwkeep.h"

/* Bytes the items take: each IPSW and its cache. */
unsigned long long
fw_keep_total(const struct fw_keep_item *it, size_t n)
{
	unsigned long long	 t = 0;
	size_t			 i;

	for (i = 0; i < n; i++)
		t += it[i].size + it[i].cache;
	return (t);
}

/*
 * Which items go so that total + need fits in keep; the bytes that cannot
 * be freed. A download or extraction that cannot fit anyway takes nothing
 * with it: files are lost only when that makes room.
 */
unsigned long long
fw_keep_plan(const struct fw_keep_item *it, size_t n, unsigned long long keep,
    unsigned long long need, bool *evict)
{
	unsigned long long	 total;
	size_t			 i;

	for (i = 0; i < n; i++)
		evict[i] = false;
	if (keep == 0)
		return (0);
	total = fw_keep_total(it, n) + need;
	while (total > keep) {
		size_t	 best = n;

		for (i = 0; i < n; i++) {
			if (evict[i] || it[i].keep)
				continue;
			if (best == n || it[i].used < it[best].used)
				best = i;
		}
		if (best == n) {
			if (need > 0)
				for (i = 0; i < n; i++)
					evict[i] = false;
			return (total - keep);
		}
		evict[best] = true;
		total -= it[best].size + it[best].cache;
	}
	return (0);
}
