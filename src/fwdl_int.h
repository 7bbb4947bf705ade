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

/* The engine on loop: every call, and its callbacks, on that loop's thread (or under its lock). */
struct fwdl_eng *fwdl_eng_new(struct ev_loop *, const char *dir, const char *index_url,
    const struct fwdl_options *, fwdl_status_cb, void *arg);
void fwdl_eng_free(struct fwdl_eng *);
int fwdl_eng_index_get(struct fwdl_eng *, const char *identifier, fwdl_index_cb, void *arg);
int fwdl_eng_fetch(struct fwdl_eng *, const char *model, const struct fw_index_fw *, char *err,
    size_t errlen);
bool fwdl_eng_busy(const struct fwdl_eng *, const char *build);
int fwdl_eng_active(const struct fwdl_eng *);

/* A model identifier as an index and a URL may carry it ("iPhone10,6"). */
bool fwdl_id_ok(const char *identifier);
#endif
