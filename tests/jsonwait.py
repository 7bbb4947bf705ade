#!/usr/bin/env python3
"""Wait for (or count) JSON-lines events whose fields match key=value pairs.

usage: jsonwait.py FILE TIMEOUT key=value...   (exit 0 when found, prints the line)
       jsonwait.py --count FILE key=value...   (prints the number of matches)
A value of `*` matches any value (the key must exist), `null` matches JSON null,
`~text` matches a string containing text.
"""
import json
import sys
import time


def match(ev, conds):
    for k, v in conds:
        if k not in ev:
            return False
        x = ev[k]
        if v == "*":
            continue
        if v == "null":
            if x is not None:
                return False
        elif v.startswith("~"):
            if not isinstance(x, str) or v[1:] not in x:
                return False
        elif isinstance(x, bool):
            if str(x).lower() != v:
                return False
        elif isinstance(x, (int, float)):
            try:
                if float(v) != float(x):
                    return False
            except ValueError:
                return False
        elif x != v:
            return False
    return True


def events(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line), line
                except ValueError:
                    yield {"event": "__bad__", "line": line}, line
    except FileNotFoundError:
        return


def conds_of(args):
    out = []
    for a in args:
        k, _, v = a.partition("=")
        out.append((k, v))
    return out


def main():
    a = sys.argv[1:]
    if a and a[0] == "--count":
        conds = conds_of(a[2:])
        print(sum(1 for ev, _ in events(a[1]) if match(ev, conds)))
        return 0
    path, timeout, conds = a[0], float(a[1]), conds_of(a[2:])
    end = time.time() + timeout
    while True:
        for ev, line in events(path):
            if match(ev, conds):
                print(line)
                return 0
        if time.time() > end:
            sys.stderr.write("timeout waiting for %s\n" % " ".join(a[2:]))
            return 1
        time.sleep(0.1)


sys.exit(main())
