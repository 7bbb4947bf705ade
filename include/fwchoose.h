/*
 * fwchoose.h: which IPSW a phone gets (core, pure: no I/O).
 *
 * DESIGN.md "Firmware library": chip and board first (BuildManifest
 * ApChipID/ApBoardID against the phone's CPID/BDID), ProductType as well
 * when the phone is in normal mode; newest build unless pinned; never a
 * build the index marks unsigned while the index answers.
 */
#ifndef IDB_FWCHOOSE_H
#define IDB_FWCHOOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FW_MAX_IDS	64		/* distinct (chip, board) pairs kept per build */

enum fw_signed { FW_SIGNED_UNKNOWN = 0, FW_SIGNED_YES, FW_SIGNED_NO };

/* One (ApChipID, ApBoardID) pair of a build identity. */
struct fw_id {
	uint32_t cpid, bdid;
};

/* A build in the library (one IPSW file or extracted folder). */
struct fw_build {
	char		version[32];		/* "16.7.10" */
	char		build[32];		/* "20H350" */
	char		path[1024];		/* the IPSW */
	char		product_types[256];	/* SupportedProductTypes, space separated */
	struct fw_id	ids[FW_MAX_IDS];
	size_t		nids;
	enum fw_signed	signed_state;		/* from the index; UNKNOWN when it did not answer */
	bool		usable;			/* false: broken, suspect or failed verification */
	bool		global_pin;		/* the [bench] ipsw = / --ipsw file */
};

/* The phone to restore. product_type is "" unless the phone said it (normal mode). */
struct fw_phone {
	uint32_t	cpid, bdid;
	char		product_type[32];	/* from the phone in normal mode, else "" */
	char		model[32];		/* product type for pins and messages (from the model table), or "" */
};

/* A [pin] entry: model = version, build or IPSW path. */
struct fw_pin {
	char	model[32];
	char	value[512];
};

/* strcmp-like comparison of dotted versions: "16.7.10" > "16.7.9", "17" < "17.0.1". */
int fw_version_cmp(const char *, const char *);
/* strcmp-like comparison of build ids: "20H350" > "20H343" > "20G75", "19H386" < "20A362". */
int fw_build_cmp(const char *, const char *);
/* True when the build has an identity for this phone's chip and board (and product type if known). */
bool fw_build_fits(const struct fw_build *, const struct fw_phone *);
/* True when a pin value names an IPSW path rather than a version or build. */
bool fw_pin_is_path(const char *value);
/* The [pin] entry for the phone's model, or NULL. */
const struct fw_pin *fw_pin_find(const struct fw_pin *, size_t npins, const struct fw_phone *);

/*
 * Choose the IPSW for a phone among n builds: the index chosen, or -1 with
 * a one-line reason ("no firmware for iPhone10,6 (CPID 0x8015 BDID 0x0a)").
 */
int fw_choose(const struct fw_build *, size_t n, const struct fw_phone *,
    const struct fw_pin *, size_t npins, char *reason, size_t reasonlen);

/* "iPhone10,6 (CPID 0x8015 BDID 0x0a)", or "CPID 0x8015 BDID 0x0a" without a model. */
void fw_phone_name(const struct fw_phone *, char *out, size_t outlen);

#endif
