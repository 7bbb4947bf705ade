/*
 * ipswprep: drive src/ipsw.c from the shell (tests/integration/ipsw_*.sh).
 *
 * ipswprep [-n] IPSW [CACHE_DIR]
 * Prints what ipsw_read_info() found and where the cache copy goes, then
 * (without -n) runs ipsw_prepare_start() on a libev loop and prints its
 * progress and done callbacks. Exit 0 when everything succeeded.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "ipsw.h"

static int	 result = -1;

static void
progress_cb(void *arg, double pct)
{
	(void)arg;
	printf("progress %.1f\n", pct);
}

static void
done_cb(void *arg, int err, const char *msg)
{
	struct ev_loop	*loop = arg;

	printf("done %d %s\n", err, msg);
	result = err;
	ev_break(loop, EVBREAK_ALL);
}

int
main(int argc, char **argv)
{
	struct ipsw_info	 info;
	struct ipsw_prep	*p;
	struct ev_loop		*loop;
	const char		*ipsw, *cache;
	char			 err[512], path[4096];
	bool			 info_only = false;
	int			 ch;

	while ((ch = getopt(argc, argv, "n")) != -1) {
		if (ch == 'n')
			info_only = true;
		else
			return (2);
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2) {
		fprintf(stderr, "usage: ipswprep [-n] IPSW [CACHE_DIR]\n");
		return (2);
	}
	ipsw = argv[0];
	cache = argc > 1 ? argv[1] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (ipsw_read_info(ipsw, &info, err, sizeof(err)) != 0) {
		printf("error %s\n", err);
		return (1);
	}
	printf("is_dir %d\nversion %s\nbuild %s\ntypes %s\nos_path %s\nos_size %llu\n",
	    info.is_dir, info.product_version, info.build, info.product_types,
	    info.os_path, info.os_size);
	if (info.os_path[0] != '\0' &&
	    ipsw_cache_path(ipsw, cache, info.os_path, path, sizeof(path)) == 0)
		printf("cache_path %s\n", path);
	printf("cached %s\n", ipsw_cached(ipsw, cache, &info) ? "yes" : "no");
	if (info_only)
		return (0);

	loop = ev_default_loop(0);
	p = ipsw_prepare_start(loop, ipsw, cache, &info, progress_cb, done_cb, loop,
	    err, sizeof(err));
	if (p == NULL) {
		printf("error %s\n", err);
		return (1);
	}
	ev_run(loop, 0);
	ipsw_prepare_free(p);
	printf("cached %s\n", ipsw_cached(ipsw, cache, &info) ? "yes" : "no");
	return (result == 0 ? 0 : 1);
}
