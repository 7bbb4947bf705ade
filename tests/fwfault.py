#!/usr/bin/env python3
"""A scripted HTTP server on 127.0.0.1 for the firmware fault tests.

usage: fwfault.py PORTFILE FILEDIR LOG

Serves, for every IPSW in FILEDIR, an index and the file, misbehaving as the
path says. Index: /MODE/device/IDENTIFIER lists the IPSWs whose name starts
with IDENTIFIER + "_" (VERSION_BUILD_Restore.ipsw), with URLs /MODE/f/NAME.
MODE is one of:
  ok        Range honoured
  norange   the file ignores Range (always 200, whole file)
  zerorange a Range request gets 206 with the whole file, Content-Range from byte 0
  offrange  a Range request gets 206 starting 1000 bytes before the byte asked for
  cut       the first GET of a file sends half its bytes and closes; later ones honour Range
  stall     the file's headers, then nothing
  badsha    the index gives a wrong SHA1
  badsha256 the index gives the right SHA1 and a wrong SHA256
  404, 500  every request answers that status
  loop      every request redirects to itself
  redir     the index redirects once to /ok/...
  badjson   the index is not JSON
  huge      the index is 10 MB of JSON
  types     the index has entries of wrong types and hostile strings, and one good one
  wrongid   the index answers for another identifier
  unsigned  every firmware is "signed": false
Every request line (and its Range header) is appended to LOG.
"""
import hashlib
import http.server
import json
import os
import socketserver
import sys
import threading
import time

portfile, filedir, logpath = sys.argv[1:4]
cut_done = set()
lock = threading.Lock()


def log(line):
    with lock, open(logpath, "a") as f:
        f.write(line + "\n")


def entries(ident):
    out = []

    def key(n):
        return [int(x) for x in n.split("_")[1].split(".")]
    names = [n for n in os.listdir(filedir) if n.startswith(ident + "_") and n.endswith(".ipsw")]
    for name in sorted(names, key=key, reverse=True):
        if not name.startswith(ident + "_") or not name.endswith(".ipsw"):
            continue
        _, ver, build = name.split("_")[:3]
        data = open(os.path.join(filedir, name), "rb").read()
        out.append((name, ver, build, data))
    return out


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        log("%s %s range=%s" % (self.command, self.path, self.headers.get("Range", "")))
        parts = self.path.split("?")[0].strip("/").split("/")
        mode = parts[0]
        if mode == "404":
            return self.send(404, b"not here")
        if mode == "500":
            return self.send(500, b"oops")
        if mode == "loop":
            return self.send(302, b"", extra={"Location": self.path})
        if len(parts) >= 3 and parts[1] == "device":
            return self.index(mode, parts[2])
        if len(parts) >= 3 and parts[1] == "f":
            return self.file(mode, parts[2])
        return self.send(404, b"?")

    def index(self, mode, ident):
        base = "http://127.0.0.1:%d" % self.server.server_address[1]
        if mode == "redir":
            return self.send(301, b"", extra={"Location": "%s/ok/device/%s?type=ipsw" % (base, ident)})
        if mode == "badjson":
            return self.send(200, b'{"identifier": "' + ident.encode() + b'", "firmwares": [ {')
        if mode == "huge":
            pad = "x" * (10 * 1024 * 1024)
            return self.send(200, json.dumps({"identifier": ident, "pad": pad, "firmwares": []}).encode())
        fws = []
        fmode = "ok" if mode in ("redir", "types", "wrongid", "unsigned", "badsha", "badsha256") else mode
        for name, ver, build, data in entries(ident):
            fws.append({"identifier": ident, "version": ver, "buildid": build,
                        "sha1sum": "0" * 40 if mode == "badsha" else hashlib.sha1(data).hexdigest(),
                        "md5sum": hashlib.md5(data).hexdigest(),
                        "sha256sum": "0" * 64 if mode == "badsha256" else hashlib.sha256(data).hexdigest(),
                        "filesize": len(data), "url": "%s/%s/f/%s" % (base, fmode, name),
                        "releasedate": "2024-01-01T00:00:00Z", "uploaddate": "2024-01-01T00:00:00Z",
                        "signed": mode != "unsigned"})
        if mode == "types":
            good = fws[0] if fws else None
            bad = [
                dict(good, filesize="12345"),
                dict(good, signed="yes"),
                dict(good, version=17),
                dict(good, buildid="20H\x1b[2J350", version="99.0"),
                dict(good, url="file:///etc/passwd", version="99.1"),
                dict(good, url="http://x/\n../../etc", version="99.2"),
                dict(good, sha1sum="zz" * 20, version="99.3"),
                dict(good, identifier="iPhone1,1", version="99.4"),
                "not an object", 42, None,
            ]
            fws = bad + [good]
        body = {"name": "Phone\x1b]0;pwned\x07", "identifier": "iPhone99,9" if mode == "wrongid" else ident,
                "boardconfig": "x", "platform": "t", "cpid": 32789, "bdid": 14, "firmwares": fws}
        self.send(200, json.dumps(body).encode())

    def file(self, mode, name):
        path = os.path.join(filedir, name)
        if not os.path.isfile(path):
            return self.send(404, b"no such file")
        data = open(path, "rb").read()
        rng = self.headers.get("Range", "")
        start = 0
        if rng.startswith("bytes=") and mode in ("ok", "cut"):
            start = int(rng[6:].split("-")[0])
        if rng.startswith("bytes=") and mode in ("zerorange", "offrange"):
            asked = int(rng[6:].split("-")[0])
            first = 0 if mode == "zerorange" else max(asked - 1000, 0)
            return self.send(206, data[first:], "application/octet-stream",
                             {"Content-Range": "bytes %d-%d/%d" % (first, len(data) - 1, len(data))})
        if mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
            return
        if mode == "cut" and name not in cut_done and start == 0:
            cut_done.add(name)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if start:
            body = data[start:]
            self.send(206, body, "application/octet-stream",
                      {"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        else:
            self.send(200, data, "application/octet-stream")


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
