/*
 * ipsw_int.h: between the IPSW inspection (ipsw.c) and the pre-extraction
 * worker (ipsw_prep.c) only: reading members of an IPSW, zip or directory.
 */
#ifndef IDB_IPSW_INT_H
#define IDB_IPSW_INT_H

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

#include <zip.h>

#include "ipsw.h"

#define IPSW_MANIFEST		"BuildManifest.plist"
#define IPSW_MAX_OS_PATHS	8

/* The distinct OS images a manifest names; [0] is the one ipsw_info reports. */
struct ipsw_oslist {
	int			 n;
	char			 path[IPSW_MAX_OS_PATHS][256];
	unsigned long long	 size[IPSW_MAX_OS_PATHS];
};

/* An open IPSW: a zip archive, or an extracted directory. */
struct ipsw_src {
	zip_t		*zip;		/* NULL for a directory */
	const char	*path;
};

/* Open an IPSW (zip) or an extracted directory; is_dir says which. 0, or -1 with err. */
int	ipsw_src_open(struct ipsw_src *s, const char *path, bool *is_dir, char *err, size_t errlen);
/* Close what ipsw_src_open() opened. */
void	ipsw_src_close(struct ipsw_src *s);
/* Open a regular file of an extracted IPSW without following it into a FIFO or device. */
int	ipsw_dir_open(const struct ipsw_src *s, const char *name, struct stat *st, char *err, size_t errlen);
/* Find a member of the zip: its index and uncompressed size. 0, or -1 with err. */
int	ipsw_zip_entry(const struct ipsw_src *s, const char *name, zip_uint64_t *idx,
    unsigned long long *size, char *err, size_t errlen);
/* Open, read and parse; fills info and the OS list with sizes. */
int	ipsw_read_all(const char *path, struct ipsw_info *out, struct ipsw_oslist *l, char *err, size_t errlen);
/* Add an OS path of len bytes (checked) unless present; first when primary. 0, or -1 with err. */
int	ipsw_oslist_add(struct ipsw_oslist *l, const char *p, size_t len, bool primary, char *err,
    size_t errlen);
/* An ApChipID/ApBoardID string as the manifest gives it; > UINT32_MAX when malformed. */
unsigned long long ipsw_id_string(const char *s, size_t len);
/*
 * The manifest's version, build, product types, OS paths (sizes not filled)
 * and identities' (chip, board) pairs from its XML text without building a
 * tree: the same results as libplist and manifest_parse() give, or -1 (and
 * nothing reported to id) for whatever it does not read the same way for
 * certain, malformed or merely unusual; the caller then uses libplist.
 */
int	ipsw_xml_read(const char *buf, size_t len, struct ipsw_info *out, struct ipsw_oslist *l,
    ipsw_id_cb id, void *arg);
/* A manifest's bytes: version, build, product types, OS paths (no sizes), identities. 0, or -1 with err. */
int	ipsw_manifest_read(const char *buf, size_t len, struct ipsw_info *out, struct ipsw_oslist *l,
    ipsw_id_cb id, void *arg, char *err, size_t errlen);
/* Tests: true makes every read go through libplist. */
extern bool ipsw_xml_disabled;
/* Is that one OS image in the cache with exactly its size? */
bool	ipsw_cached_one(const char *ipsw, const char *cache_dir, const char *os_path, unsigned long long size);

#endif
