/*
 * fwdl.h: firmware index and downloads (adapter: libcurl multi interface
 * driven by libev, OpenSSL EVP for the hashes, jansson for the index).
 */
#ifndef IDB_FWDL_H
#define IDB_FWDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

/* One firmware of an index answer (the ipsw.me v4 shape). Strings are checked and sanitized. */
struct fw_index_fw {
	char			 identifier[32];
	char			 version[32];
	char			 build[32];
	char			 sha1[41];		/* lower-case hex */
	char			 sha256[65];		/* "" when the index gives none */
	char			 url[1024];
	unsigned long long	 size;
	bool			 is_signed;
};

/* GET {index}/device/{identifier}?type=ipsw */
struct fw_index {
	char			 identifier[32];
	char			 name[64];
	uint32_t		 cpid, bdid;
	struct fw_index_fw	*fw;			/* newest first, as served */
	size_t			 n;
};

#define FWDL_MAX_INDEX	(8UL * 1024 * 1024)	/* larger answers are refused */
#define FWDL_MAX_FW	4096

/* Parse an index answer for the identifier asked. 0, or -1 with a one-line err. */
int fwdl_index_parse(const char *json, size_t len, const char *want, struct fw_index *, char *err, size_t errlen);
void fwdl_index_clear(struct fw_index *);
/* The newest signed firmware of an index (or the one with that version or build), or NULL. */
const struct fw_index_fw *fwdl_index_pick(const struct fw_index *, const char *version_or_build);

enum fwdl_state { FWDL_QUEUED, FWDL_DOWNLOADING, FWDL_VERIFYING, FWDL_READY, FWDL_FAILED };
const char *fwdl_state_name(enum fwdl_state);

/* What a download reports (the JSON "firmware" event and the header line). */
struct fwdl_status {
	char			 model[32];
	char			 version[32];
	char			 build[32];
	enum fwdl_state		 state;
	double			 percent;
	unsigned long long	 bytes, total;
	double			 rate;			/* bytes/s, smoothed */
	double			 eta;			/* seconds left, -1 unknown */
	char			 path[1024];		/* READY: the file in the library */
	char			 sha1[41];
	char			 message[256];		/* FAILED: why */
};

struct fwdl;
typedef void (*fwdl_status_cb)(void *arg, const struct fwdl_status *);
typedef void (*fwdl_index_cb)(void *arg, const char *identifier, const struct fw_index *, const char *err);

struct fwdl_options {
	double	 stall_secs;		/* no byte for this long: the transfer is dropped (default 60) */
	double	 connect_secs;		/* default 20 */
	int	 max_redirs;		/* default 5 */
	int	 retries;		/* resumes after a drop (default 5) */
};

/* A download manager on the loop. dir is the library (dir/.partial/ for transfers). */
struct fwdl *fwdl_new(struct ev_loop *, const char *dir, const char *index_url,
    const struct fwdl_options *, fwdl_status_cb, void *arg);
/* Ask the index about a model; cb is called once on the loop (never from inside this call). */
int fwdl_index_get(struct fwdl *, const char *identifier, fwdl_index_cb, void *arg);
/*
 * Fetch one firmware into the library, once: a second call for the same
 * URL while it runs joins it. 0, or -1 with err.
 */
int fwdl_fetch(struct fwdl *, const char *model, const struct fw_index_fw *, char *err, size_t errlen);
/* True when the library has fw already (a fetch of it is ready at once, nothing to make room for). */
bool fwdl_have(const struct fwdl *, const struct fw_index_fw *);
/* True when a download of this build is queued or running. */
bool fwdl_busy(const struct fwdl *, const char *build);
/* Number of transfers (index and files) in flight. */
int fwdl_active(const struct fwdl *);
void fwdl_free(struct fwdl *);

/* SHA1 (and SHA256 when want256) of a file, lower-case hex. 0, or -1 with err. Blocking. */
int fwdl_hash_file(const char *path, char sha1[41], char sha256[65], char *err, size_t errlen);

#endif
