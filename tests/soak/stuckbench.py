#!/usr/bin/env python3
"""A broken bench, to prove the soak's checker fails when it must.

Speaks just enough of `idevicebench --json` for soak.py: slot and device events
for the phones in the scenario next to the config, and for every update/erase a
queued, a running and a done event; but the job started SECOND is left running
for ever, its attempt row stays open, every job leaks a file descriptor, and
idevicebench.log gets a "lost track" line: the faults the soak exists to catch. Test use only
(tests/integration/soak.sh).
"""
import json
import os
import signal
import sqlite3
import sys
import threading
import time

signal.signal(signal.SIGHUP, signal.SIG_IGN)
args = sys.argv[1:]
conf = args[args.index("-c") + 1]
logdir = args[args.index("--log-dir") + 1]
dbpath = args[args.index("--db") + 1]
os.makedirs(logdir, exist_ok=True)
lock = threading.Lock()
db = sqlite3.connect(dbpath, check_same_thread=False)
db.execute("CREATE TABLE attempts (id INTEGER PRIMARY KEY, ecid INTEGER, port TEXT, action TEXT, "
           "started INTEGER, ended INTEGER, state TEXT)")
db.commit()


def emit(**e):
    e["time"] = time.time()
    with lock:
        sys.stdout.write(json.dumps(e) + "\n")
        sys.stdout.flush()


ecids = {}
with open(os.path.join(os.path.dirname(conf), "soak.scenario")) as f:
    for line in f:
        w = line.split()
        if w and w[0] == "plug":
            ecids[w[1]] = w[4]
for port in ecids:
    emit(event="slot", slot=port, port=port)
for port, ecid in ecids.items():
    emit(event="device", slot=port, port=port, mode="recovery", ecid=ecid)

busy = set()
started = 0
leaked = []


def run(port, action, row, stuck):
    emit(event="job", slot=port, ecid=ecids[port], action=action, state="running", step="detect", percent=0.0)
    with lock:
        leaked.append(open(os.devnull))
    if stuck:
        return
    time.sleep(0.3)
    with lock:
        db.execute("UPDATE attempts SET ended = ?, state = 'done' WHERE id = ?", (int(time.time()), row))
        db.commit()
        busy.discard(port)
    emit(event="job", slot=port, ecid=ecids[port], action=action, state="done")


for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    if w[0] == "quit":
        break
    if w[0] in ("update", "erase") and len(w) == 2 and w[1] in ecids and w[1] not in busy:
        started += 1
        busy.add(w[1])
        emit(event="job", slot=w[1], ecid=ecids[w[1]], action=w[0], state="queued", position=1)
        with lock:
            row = db.execute("INSERT INTO attempts (ecid, port, action, started, state) VALUES (?, ?, ?, ?, 'running')",
                             (int(ecids[w[1]], 16), w[1], w[0], int(time.time()))).lastrowid
            db.commit()
        threading.Thread(target=run, args=(w[1], w[0], row, started == 2), daemon=True).start()
    else:
        emit(event="error", text="%s: not handled here" % w[0])
with open(os.path.join(logdir, "idevicebench.log"), "a") as f:
    f.write("lost track of a job (test fake)\n")
sys.exit(0)
