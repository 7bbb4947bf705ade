/*
 * fwdl_int.h: inside the download manager. fwdl.c runs the engine
 * (fwxfer.c) on its network thread; fwindex.c parses index answers.
 */
#ifndef IDB_FWDL_INT_H
#define IDB_FWDL_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "fwdl.h"

struct ev_loop;
struct fwdl_eng;

/* What a transfer reports, with the URL it fetches (the manager's key for it). */
typedef void (*fwdl_eng_status_cb)(void *arg, const struct fwdl_status *, const char *url);

/* The engine on loop: every call, and its callbacks, on that loop's thread only. */
struct fwdl_eng *fwdl_eng_new(struct ev_loop *, const char *dir, const char *index_url,
    const struct fwdl_options *, fwdl_eng_status_cb, void *arg);
void fwdl_eng_free(struct fwdl_eng *);
/* cb is called once, from the loop. 0, or -1 when the question could not be asked. */
int fwdl_eng_index_get(struct fwdl_eng *, const char *identifier, fwdl_index_cb, void *arg);
/*
 * Fetch fw into the library, or join the transfer of that URL. -1 with err
 * when it cannot start (nothing reported); once started, every outcome is
 * reported, ending with READY or FAILED.
 */
int fwdl_eng_fetch(struct fwdl_eng *, const char *model, const struct fw_index_fw *, char *err,
    size_t errlen);
/* True when the library dir has fw already, whole and recorded with its SHA1. Blocking, short. */
bool fwdl_eng_have(const char *dir, const struct fw_index_fw *);
/* Whether fw can be fetched into the library dir: its folders made, room for it. Blocking, short. */
int fwdl_eng_check(const char *dir, const struct fw_index_fw *, char *err, size_t errlen);

/* A model identifier as an index and a URL may carry it ("iPhone10,6"). */
bool fwdl_id_ok(const char *identifier);
#endif
