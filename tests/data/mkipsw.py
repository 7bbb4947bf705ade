#!/usr/bin/env python3
"""Build a small, well-formed IPSW for tests: a zip with BuildManifest.plist,
Restore.plist and tiny dummy payloads at every path the manifest names.
Nothing in it is real firmware; it only has to satisfy idevicerestore's
parsing so a run reaches the signing request.

usage: mkipsw.py OUT.ipsw [--product iPhone9,1] [--cpid 0x8010] [--bdid 0x08] [--board d10ap]
                 [--also-product iPhone9,3 ...] [--os-path 038-00002-001.dmg] [--os-bytes N]
                 [--update-os-path PATH] [--binary] [--stored] [--claim-os-size N]

Test options (defaults keep the IPSW above): --also-product adds product types;
--os-path renames the root filesystem image (hostile names welcome: the zip entry
gets the same name); --os-bytes makes it N bytes of incompressible data;
--update-os-path gives the Update identity its own OS image; --binary writes a
binary BuildManifest.plist; --stored stores instead of deflating; --claim-os-size
patches the central directory so the OS entry claims N bytes (zip64).
"""
import argparse
import hashlib
import os
import plistlib
import zipfile

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--product", default="iPhone9,1")
ap.add_argument("--cpid", default="0x8010")
ap.add_argument("--bdid", default="0x08")
ap.add_argument("--board", default="d10ap")
ap.add_argument("--version", default="15.8.3")
ap.add_argument("--build", default="19H386")
ap.add_argument("--also-product", action="append", default=[])
# more chips in one IPSW, as Apple's own cover several boards: CPID:BDID, e.g. 0x8015:0x06
ap.add_argument("--also-id", action="append", default=[])
# a test IPSW for mixed benches: an identity for every chip and board of config/models.tsv
ap.add_argument("--any-board", action="store_true")
ap.add_argument("--os-path", default="038-00002-001.dmg")
ap.add_argument("--os-bytes", type=int, default=0)
ap.add_argument("--update-os-path", default="")
ap.add_argument("--binary", action="store_true")
ap.add_argument("--stored", action="store_true")
ap.add_argument("--claim-os-size", type=int, default=0)
# a manifest of real size: N more build identities (other boards of the chip, BDID 0x80 +
# i), each with 60 more components, as Apple's carry (hundreds of kB to a few MB)
ap.add_argument("--extra-identities", type=int, default=0)
a = ap.parse_args()

short = a.board[:-2] if a.board.endswith("ap") else a.board
components = {
    "iBSS": "Firmware/dfu/iBSS.%s.RELEASE.im4p" % short,
    "iBEC": "Firmware/dfu/iBEC.%s.RELEASE.im4p" % short,
    "LLB": "Firmware/all_flash/LLB.%s.RELEASE.im4p" % short,
    "iBoot": "Firmware/all_flash/iBoot.%s.RELEASE.im4p" % short,
    "DeviceTree": "Firmware/all_flash/DeviceTree.%s.im4p" % a.board,
    "KernelCache": "kernelcache.release.%s" % short,
    "RestoreKernelCache": "kernelcache.release.%s" % short,
    "RestoreDeviceTree": "Firmware/all_flash/DeviceTree.%s.im4p" % a.board,
    "SEP": "Firmware/all_flash/sep-firmware.%s.RELEASE.im4p" % short,
    "RestoreSEP": "Firmware/all_flash/sep-firmware.%s.RELEASE.im4p" % short,
    "RestoreRamDisk": "038-00001-001.dmg",
    "OS": a.os_path,
    "RestoreLogo": "Firmware/all_flash/applelogo@2x~iphone.s5l8960xfw.im4p",
    "AppleLogo": "Firmware/all_flash/applelogo@2x~iphone.s5l8960xfw.im4p",
}


def payload(path):
    if a.os_bytes and path in (a.os_path, a.update_os_path):
        return hashlib.shake_256(path.encode()).digest(a.os_bytes)
    return ("dummy payload for %s\n" % path).encode() * 8


def identity(behavior, variant, ramdisk, os_path=None, cpid=None, bdid=None):
    manifest = {}
    for name, path in components.items():
        p = ramdisk if name == "RestoreRamDisk" else path
        if name == "OS" and os_path:
            p = os_path
        manifest[name] = {
            "Digest": hashlib.sha384(payload(p)).digest(),
            "Info": {"Path": p, "IsFTAB": False, "Personalize": True},
            "Trusted": True,
        }
    return {
        "ApBoardID": bdid or a.bdid,
        "ApChipID": cpid or a.cpid,
        "ApSecurityDomain": "0x01",
        "ApProductionMode": True,
        "UniqueBuildID": hashlib.sha1((behavior + a.build).encode()).digest(),
        "Info": {
            "BuildNumber": a.build,
            "DeviceClass": a.board,
            "FDRSupport": True,
            "MinimumSystemPartition": 4000,
            "OSVarContentSize": 0,
            "RestoreBehavior": behavior,
            "Variant": variant,
            "VariantContents": {},
        },
        "Manifest": manifest,
    }


if a.any_board:
    tsv = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config", "models.tsv")
    for line in open(tsv):
        f = line.split()
        if len(f) >= 3 and not f[0].startswith("#") and f[1].startswith("0x"):
            pair = "%s:%s" % (f[1], f[2])
            if pair != "%s:%s" % (a.cpid, a.bdid) and pair not in a.also_id:
                a.also_id.append(pair)
                if f[0] not in a.also_product and f[0] != a.product:
                    a.also_product.append(f[0])

identities = [
    identity("Erase", "Customer Erase Install (IPSW)", "038-00001-001.dmg"),
    identity("Update", "Customer Upgrade Install (IPSW)", "038-00003-001.dmg", a.update_os_path),
]
for pair in a.also_id:
    c, b = pair.split(":")
    identities.append(identity("Erase", "Customer Erase Install (IPSW)", "038-00001-001.dmg",
                               cpid=c, bdid=b))
    identities.append(identity("Update", "Customer Upgrade Install (IPSW)", "038-00003-001.dmg",
                               a.update_os_path, cpid=c, bdid=b))
manifest = {
    "BuildIdentities": identities,
    "ManifestVersion": 0,
    "ProductBuildVersion": a.build,
    "ProductVersion": a.version,
    "SupportedProductTypes": [a.product] + a.also_product,
}
for i in range(a.extra_identities):
    x = identity("Erase" if i % 2 == 0 else "Update", "Customer Erase Install (IPSW)",
                 "038-00001-001.dmg")
    x["ApBoardID"] = "0x%02x" % (0x80 + i)
    for k in range(60):
        x["Manifest"]["Ap,Component%d" % k] = {
            "Digest": hashlib.sha384(b"%d/%d" % (i, k)).digest(),
            "Info": {"Path": "Firmware/all_flash/component%d.b%d.im4p" % (k, i),
                     "IsFTAB": False, "Personalize": True, "IsLoadedByiBoot": True},
            "Trusted": True, "EPRO": True, "ESEC": True,
        }
    manifest["BuildIdentities"].append(x)
restore = {
    "DeviceClass": a.board,
    "ProductBuildVersion": a.build,
    "ProductVersion": a.version,
    "ProductType": a.product,
    "SupportedProductTypes": [a.product],
    "SystemRestoreImages": {"User": "038-00002-001.dmg"},
    "RestoreRamDisks": {"User": "038-00001-001.dmg", "Update": "038-00003-001.dmg"},
    "DeviceMap": [{"BDID": int(a.bdid, 16), "CPID": int(a.cpid, 16), "BoardConfig": a.board,
                   "Platform": "t%x" % int(a.cpid, 16), "SCEP": 1, "SDOM": 1}],
}

fmt = plistlib.FMT_BINARY if a.binary else plistlib.FMT_XML
method = zipfile.ZIP_STORED if a.stored else zipfile.ZIP_DEFLATED
with zipfile.ZipFile(a.out, "w", method) as z:
    z.writestr("BuildManifest.plist", plistlib.dumps(manifest, fmt=fmt))
    z.writestr("Restore.plist", plistlib.dumps(restore))
    done = set()
    extra = [a.update_os_path] if a.update_os_path else []
    for path in list(components.values()) + ["038-00003-001.dmg"] + extra:
        if path not in done:
            z.writestr(path, payload(path))
            done.add(path)


def claim_size(fname, entry, size):
    """Rewrite the central directory so ENTRY claims SIZE uncompressed bytes
    through a zip64 extra field (the local header is left alone)."""
    import struct
    data = open(fname, "rb").read()
    eocd = data.rfind(b"PK\x05\x06")
    n, cd_size, cd_off = struct.unpack("<HII", data[eocd + 10:eocd + 20])
    pos, out = cd_off, b""
    for _ in range(n):
        hdr = bytearray(data[pos:pos + 46])
        nlen, xlen, clen = struct.unpack("<HHH", hdr[28:34])
        name = data[pos + 46:pos + 46 + nlen]
        extra = data[pos + 46 + nlen:pos + 46 + nlen + xlen]
        comment = data[pos + 46 + nlen + xlen:pos + 46 + nlen + xlen + clen]
        if name.decode("utf-8", "surrogateescape") == entry:
            hdr[24:28] = struct.pack("<I", 0xFFFFFFFF)
            extra += struct.pack("<HHQ", 1, 8, size)
            hdr[30:32] = struct.pack("<H", len(extra))
        out += bytes(hdr) + name + extra + comment
        pos += 46 + nlen + xlen + clen
    tail = bytearray(data[eocd:])
    tail[12:16] = struct.pack("<I", len(out))
    open(fname, "wb").write(data[:cd_off] + out + bytes(tail))


if a.claim_os_size:
    claim_size(a.out, a.os_path, a.claim_os_size)
