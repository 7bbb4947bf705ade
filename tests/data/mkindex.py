#!/usr/bin/env python3
"""Write a firmware index of the ipsw.me v4 shape for tests: the answer to
GET {index}/device/{identifier}?type=ipsw, as the static file
ROOT/device/IDENTIFIER, listing the given IPSWs (newest first as given) with
their real size, SHA1 and SHA256 and a URL under BASE.

usage: mkindex.py ROOT BASE IDENTIFIER CPID BDID FILE:VERSION:BUILD:SIGNED ...
       (SIGNED: 1 or 0; FILE is relative to ROOT)
"""
import hashlib
import json
import os
import sys

root, base, ident, cpid, bdid = sys.argv[1:6]
fws = []
for spec in sys.argv[6:]:
    f, ver, build, signed = spec.rsplit(":", 3)
    data = open(os.path.join(root, f), "rb").read()
    fws.append({
        "identifier": ident, "version": ver, "buildid": build,
        "sha1sum": hashlib.sha1(data).hexdigest(), "md5sum": hashlib.md5(data).hexdigest(),
        "sha256sum": hashlib.sha256(data).hexdigest(), "filesize": len(data),
        "url": base + "/" + f, "releasedate": "2024-01-01T00:00:00Z",
        "uploaddate": "2024-01-01T00:00:00Z", "signed": signed == "1",
    })
doc = {"name": ident, "identifier": ident, "boardconfig": "x", "platform": "t",
       "cpid": int(cpid, 16), "bdid": int(bdid, 16), "firmwares": fws}
os.makedirs(os.path.join(root, "device"), exist_ok=True)
with open(os.path.join(root, "device", ident), "w") as out:
    json.dump(doc, out)
