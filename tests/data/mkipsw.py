#!/usr/bin/env python3
"""Build a small, well-formed IPSW for tests: a zip with BuildManifest.plist,
Restore.plist and tiny dummy payloads at every path the manifest names.
Nothing in it is real firmware; it only has to satisfy idevicerestore's
parsing so a run reaches the signing request.

usage: mkipsw.py OUT.ipsw [--product iPhone9,1] [--cpid 0x8010] [--bdid 0x08] [--board d10ap]
"""
import argparse
import hashlib
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
    "OS": "038-00002-001.dmg",
    "RestoreLogo": "Firmware/all_flash/applelogo@2x~iphone.s5l8960xfw.im4p",
    "AppleLogo": "Firmware/all_flash/applelogo@2x~iphone.s5l8960xfw.im4p",
}


def payload(path):
    return ("dummy payload for %s\n" % path).encode() * 8


def identity(behavior, variant, ramdisk):
    manifest = {}
    for name, path in components.items():
        p = ramdisk if name == "RestoreRamDisk" else path
        manifest[name] = {
            "Digest": hashlib.sha384(payload(p)).digest(),
            "Info": {"Path": p, "IsFTAB": False, "Personalize": True},
            "Trusted": True,
        }
    return {
        "ApBoardID": a.bdid,
        "ApChipID": a.cpid,
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


manifest = {
    "BuildIdentities": [
        identity("Erase", "Customer Erase Install (IPSW)", "038-00001-001.dmg"),
        identity("Update", "Customer Upgrade Install (IPSW)", "038-00003-001.dmg"),
    ],
    "ManifestVersion": 0,
    "ProductBuildVersion": a.build,
    "ProductVersion": a.version,
    "SupportedProductTypes": [a.product],
}
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

with zipfile.ZipFile(a.out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("BuildManifest.plist", plistlib.dumps(manifest))
    z.writestr("Restore.plist", plistlib.dumps(restore))
    done = set()
    for path in list(components.values()) + ["038-00003-001.dmg"]:
        if path not in done:
            z.writestr(path, payload(path))
            done.add(path)
