/*
 * fwsel.h: the bench's firmware service: the watched library, the index
 * answers, the downloads, and the choice of an IPSW for each phone
 * (DESIGN.md "Firmware library"). bench.c asks it; it never touches slots.
 */
#ifndef IDB_FWSEL_H
#define IDB_FWSEL_H

#include <stdbool.h>
#include <stddef.h>

#include "fwchoose.h"

struct ev_loop;
struct config;
struct fwdl_status;

enum fwsel_answer {
	FWSEL_READY,		/* out is filled: restore with it */
	FWSEL_WAIT,		/* a scan, index query or download for it runs */
	FWSEL_NONE		/* nothing to wait for: reason says why (names the model) */
};

struct fwsel_choice {
	char	 path[1024];
	char	 version[32];
	char	 build[32];
	char	 sha1[41];		/* "" when not verified */
	char	 desc[80];		/* "16.7.10 (20H350)" */
};

struct fwsel_cbs {
	void	(*changed_cb)(void *arg);			/* choices may have changed: reschedule */
	void	(*status_cb)(void *arg, const struct fwdl_status *);	/* a download moved */
	bool	(*in_use_cb)(void *arg, const char *path);	/* a queued or running job has it */
	void	*arg;
};

/* The service; global_ipsw is the [bench] ipsw / --ipsw (a pin for the models it supports) or "". */
struct fwsel *fwsel_new(struct ev_loop *, const struct config *, const char *global_ipsw,
    const struct fwsel_cbs *);
/* True when the library decides (a library folder with IPSWs, downloads or pins); false: legacy single IPSW. */
bool fwsel_active(const struct fwsel *);
/* Choose for a phone. retry: forget an earlier failure for its model (a technician asked again). */
enum fwsel_answer fwsel_choose(struct fwsel *, const struct fw_phone *, bool retry,
    struct fwsel_choice *, char *reason, size_t reasonlen);
/* A phone arrived: fetch what it will need, when downloads are on. */
void fwsel_prefetch(struct fwsel *, const struct fw_phone *);
/* A restore starts with this IPSW (LRU for the keep budget). */
void fwsel_used(struct fwsel *, const char *path);
/* A restore with this library file failed as if it did not fit: never choose it again. */
void fwsel_suspect(struct fwsel *, const char *path);
/*
 * An extraction of need bytes into the cache of the library file path is
 * about to start: evict others so that it fits in keep. 0, or the bytes
 * still over keep (nothing else may go).
 */
unsigned long long fwsel_make_room(struct fwsel *, const char *path, unsigned long long need);
/*
 * A download of need bytes is about to start (firmware fetch, outside the
 * bench's own choices): evict as for the bench's downloads. 0, or the
 * bytes still over keep (nothing else may go).
 */
unsigned long long fwsel_make_room_download(struct fwsel *, unsigned long long need);
/* True once the library's first scan is done. */
bool fwsel_ready(const struct fwsel *);
/* Bytes on disk of a library IPSW's extraction cache as keep counts it (also without a bench). */
unsigned long long fwsel_cache_bytes(const struct config *, const char *ipsw);
/* Usable builds in the library. */
size_t fwsel_usable(const struct fwsel *);
/* One line for the header while downloads run, "" otherwise. */
void fwsel_describe(const struct fwsel *, char *out, size_t outlen);
void fwsel_free(struct fwsel *);

/* Without a library: does the [bench] ipsw fit the phone? false with the reason when known not to. */
bool fwsel_global_fits(const struct fwsel *, const struct fw_phone *, char *reason, size_t reasonlen);

#endif
