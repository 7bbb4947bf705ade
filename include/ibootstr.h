/*
 * ibootstr.h: parse what an Apple device says about itself over USB (core).
 * The iBoot/SecureROM serial string of recovery and DFU devices, e.g.
 *   CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 ECID:001A2B3C4D5E6F70 IBFL:3D SRNM:[F4GT2K1ZHG7F]
 * and normal-mode UDIDs (new style "00008140-000115480AA2801C").
 * Input is hostile: length-checked, never trusted to be NUL-terminated.
 */
#ifndef IDB_IBOOTSTR_H
#define IDB_IBOOTSTR_H

#include <stddef.h>
#include <stdint.h>

#define IBOOT_HAVE_CPID	0x0001
#define IBOOT_HAVE_CPRV	0x0002
#define IBOOT_HAVE_CPFM	0x0004
#define IBOOT_HAVE_SCEP	0x0008
#define IBOOT_HAVE_BDID	0x0010
#define IBOOT_HAVE_ECID	0x0020
#define IBOOT_HAVE_IBFL	0x0040
#define IBOOT_HAVE_SRTG	0x0080
#define IBOOT_HAVE_SRNM	0x0100
#define IBOOT_HAVE_IMEI	0x0200
#define IBOOT_HAVE_PWND	0x0400
#define IBOOT_HAVE_SDOM	0x0800

struct iboot_info {
	unsigned have;		/* IBOOT_HAVE_* */
	uint32_t cpid, cprv, cpfm, scep, bdid, ibfl, sdom;
	uint64_t ecid;
	char srtg[48];		/* "iBoot-1704.10" */
	char srnm[32];
	char imei[24];
	char pwnd[32];
};

/*
 * Parse an iBoot serial string of at most len bytes (stops at a NUL).
 * Returns 0 when at least CPID and ECID were found and every field present
 * is well-formed; -1 otherwise (out is then zeroed except what was parsed).
 */
int ibootstr_parse(const char *s, size_t len, struct iboot_info *out);

/*
 * Parse a normal-mode UDID. New style "<CPID 8 hex>-<ECID 16 hex>" (also
 * without the dash, 24 hex) gives cpid and ecid and returns 1; an old 40-hex
 * UDID is valid but carries no ECID: returns 0. Anything else: -1.
 */
int udid_parse(const char *s, size_t len, uint32_t *cpid, uint64_t *ecid);

#endif
