#!/usr/bin/env python3
"""Chaos soak runner: one seed's bench (gen.py's files in DIR) under benchsim
against the real idevicebench --json; plays the script, then checks:

  1. every job that ran reaches a final state, and never goes silent longer
     than max(stall_timeout, reconnect_window) + kill_grace + GRACE seconds
     while it is not final (a silent running job is a stuck job); one that
     ends connection-lost/no-device does so within reconnect_window +
     kill_grace + GRACE of its previous event;
  2. the queue drains: once the script is over, every job ends, and a queued
     job never waits while nothing runs;
  3. after quit, no attempt row in the history is left open;
  4. the bench's open fds and RSS do not grow: fds once drained <= fds before
     the first job + FD_SLACK; RSS at the end <= RSS once the first quarter of
     the jobs ended + max(RSS_SLACK_KB, RSS_SLACK_PCT) (SOAK_RSS=0: not the RSS,
     for sanitizer builds, whose RSS is the allocator's quarantine);
  5. idevicebench.log has no "lost track" line (the defence-in-depth check
     firing means the race it guards against is back);
  6. the bench exits 0 on quit.

usage: soak.py BUILD_BINARY DIR
Writes DIR/events.jsonl, DIR/summary.json; prints "# ..." lines and, for each
failed invariant, "FAIL: ..." lines (with the slot's event history).
Exit status 0 when every invariant holds, 1 otherwise.
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCHSIM = os.path.join(TOP, "tests", "benchsim", "benchsim")
GRACE = float(os.environ.get("SOAK_GRACE", "4"))
FD_SLACK = 3
RSS_SLACK_KB = 4096
RSS_SLACK_PCT = 0.20
FINAL = ("done", "failed", "cancelled")


def conf_value(path, key, default):
    with open(path) as f:
        for line in f:
            w = line.split(";")[0].split("=")
            if len(w) == 2 and w[0].strip() == key:
                return float(w[1])
    return default


class Bench:
    def __init__(self, binary, d):
        self.d = d
        self.lock = threading.Lock()
        self.events = []                # (arrival monotonic, event)
        self.slots = {}                 # slot -> {"state", "last", "ecid", "mode", "present"}
        self.failures = []
        self.samples = []               # (t, fds, rss_kb, finals, running, anon_kb, file_kb, shmem_kb)
        self.ctl = os.path.join(d, "ctl.sock")
        env = dict(os.environ)
        home = os.path.join(d, "home")
        os.makedirs(home, exist_ok=True)
        env.update(HOME=home, XDG_CONFIG_HOME=home + "/.config", XDG_DATA_HOME=home + "/.local/share",
                   XDG_STATE_HOME=home + "/.local/state", XDG_CACHE_HOME=home + "/.cache")
        self.evf = open(os.path.join(d, "events.jsonl"), "w")
        self.proc = subprocess.Popen(
            [BENCHSIM, "--log", os.path.join(d, "sim.log"), "--log-time", "--ctl", self.ctl,
             os.path.join(d, "soak.scenario"), "--",
             binary, "--json", "-c", os.path.join(d, "soak.conf"), "--ipsw", os.path.join(d, "fw.ipsw"),
             "--log-dir", os.path.join(d, "logs"), "--db", os.path.join(d, "history.db")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(d, "bench.err"), "w"),
            env=env, cwd=d)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        self.pid = None

    def read(self):
        for raw in self.proc.stdout:
            try:
                e = json.loads(raw)
            except ValueError:
                continue
            now = time.monotonic()
            self.evf.write(raw.decode("utf-8", "replace"))
            self.evf.flush()
            with self.lock:
                self.events.append((now, e))
                s = e.get("slot")
                if s is None:
                    continue
                st = self.slots.setdefault(s, {"state": None, "last": now, "present": False})
                ev = e["event"]
                if ev == "device":
                    st.update(present=True, mode=e.get("mode"), ecid=e.get("ecid"))
                elif ev == "gone":
                    st["present"] = False
                elif ev == "job":
                    st["state"] = e["state"]
                    st["last"] = now

    def bench_pid(self):
        """idevicebench: benchsim's child."""
        if self.pid is None:
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = f.read().split()
                self.pid = int(kids[0]) if kids else None
            except OSError:
                pass
        return self.pid

    def kill_tree(self):
        """SIGKILL the bench, what it forked and benchsim, each by its pid."""
        def kids(pid):
            out = []
            try:
                for t in os.listdir("/proc/%d/task" % pid):
                    with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                        out += [int(k) for k in f.read().split()]
            except OSError:
                pass
            return out
        bench = self.bench_pid()
        victims = ([bench] + kids(bench)) if bench else []
        for pid in victims + [self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def ctl_send(self, line):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(self.ctl)
            s.sendall((line + "\n").encode())
            reply = s.makefile().readline().strip()
            s.close()
            return reply
        except OSError as e:
            return "err %s" % e

    def sample(self):
        pid = self.bench_pid()
        if pid is None:
            return
        try:
            fds = len(os.listdir("/proc/%d/fd" % pid))
            mem = {}
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith(("VmRSS:", "RssAnon:", "RssFile:", "RssShmem:")):
                        mem[line.split(":")[0]] = int(line.split()[1])
            rss = mem.get("VmRSS", 0)
        except OSError:
            return
        with self.lock:
            finals = sum(1 for _, e in self.events if e.get("event") == "job" and e.get("state") in FINAL)
            running = sum(1 for s in self.slots.values() if s["state"] == "running")
        self.samples.append((time.monotonic(), fds, rss, finals, running,
                             mem.get("RssAnon", 0), mem.get("RssFile", 0), mem.get("RssShmem", 0)))


def jobs_of(events):
    """Split job events into jobs: per slot, queued/running ... final."""
    jobs, cur = [], {}
    for t, e in events:
        if e.get("event") != "job":
            continue
        s = e["slot"]
        j = cur.get(s)
        if j is None:
            j = {"slot": s, "ecid": e.get("ecid"), "action": e.get("action"), "events": [],
                 "ran": False, "final": None}
            cur[s] = j
            jobs.append(j)
        j["events"].append((t, e))
        if e["state"] == "running":
            j["ran"] = True
        if e["state"] in FINAL:
            j["final"] = e
            del cur[s]
    return jobs


def history(events, slot, since=None):
    out = []
    for t, e in events:
        if e.get("slot") == slot or (e.get("event") == "error" and slot in e.get("text", "")):
            out.append("    %.2f %s" % (t - since if since else t, json.dumps(e)[:300]))
    return "\n".join(out[-40:])


def main():
    binary, d = sys.argv[1], os.path.abspath(sys.argv[2])
    conf = os.path.join(d, "soak.conf")
    stall = conf_value(conf, "stall_timeout", 900)
    window = conf_value(conf, "reconnect_window", 120)
    kgrace = conf_value(conf, "kill_grace", 5)
    bound = max(stall, window) + kgrace + GRACE
    script = []
    with open(os.path.join(d, "script.txt")) as f:
        for line in f:
            t, rest = line.split(" ", 1)
            script.append((float(t), rest.split()))

    b = Bench(binary, d)
    t0 = time.monotonic()
    failures = []
    # wait for the phones (every plug in the scenario seen)
    nplugs = sum(1 for line in open(os.path.join(d, "soak.scenario")) if line.startswith("plug "))
    while time.monotonic() - t0 < 30:
        with b.lock:
            if sum(1 for s in b.slots.values() if s["present"]) >= nplugs:
                break
        time.sleep(0.1)
    else:
        failures.append("only %d of %d phones arrived in 30 s"
                        % (sum(1 for s in b.slots.values() if s["present"]), nplugs))
    time.sleep(0.5)
    b.sample()
    base_fds = b.samples[-1][1] if b.samples else None
    start = time.monotonic()
    last_sample = 0.0
    actions = 0
    for t, w in script:
        while True:
            now = time.monotonic()
            if now - last_sample >= 1.0:
                b.sample()
                last_sample = now
            if now - start >= t:
                break
            time.sleep(min(0.05, t - (now - start)))
        actions += 1
        verb = w[0]
        if verb == "send":
            b.send(" ".join(w[1:]))
        elif verb == "plan":
            b.ctl_send("restore %s" % " ".join(w[1:]))
        elif verb == "yank":
            b.ctl_send("unplug %s" % w[1])
        elif verb == "plug":
            port, mode, ecid, cpid, bdid = w[1:6]
            b.ctl_send("plug %s %s ecid %s cpid %s bdid %s" % (port, mode, ecid, cpid, bdid))
        elif verb == "reseat":
            ecid, port, mode, cpid, bdid = w[1:6]
            with b.lock:
                st = dict(b.slots.get(port, {"state": None, "present": False}))
            if st["state"] in ("queued", "running"):
                continue
            if st["present"] and st.get("mode") in ("recovery", "dfu", "normal") and \
                    int(st.get("ecid") or "0", 16) == int(ecid, 16):
                continue
            if st["present"]:
                b.ctl_send("unplug %s" % port)
                time.sleep(0.3)
            b.ctl_send("plug %s %s ecid %s cpid %s bdid %s" % (port, mode, ecid, cpid, bdid))
        elif verb == "hup":
            pid = b.bench_pid()
            if pid:
                os.kill(pid, signal.SIGHUP)
        if b.proc.poll() is not None:
            failures.append("the bench exited during the run (status %s)" % b.proc.returncode)
            break
    script_end = time.monotonic()

    # drain: every job ends; nothing silent past the bound; no queue without a runner
    idle_since = None
    stuck = set()
    while b.proc.poll() is None:
        now = time.monotonic()
        if now - last_sample >= 1.0:
            b.sample()
            last_sample = now
        with b.lock:
            open_slots = {s: dict(v) for s, v in b.slots.items() if v["state"] in ("queued", "running")}
        if not open_slots:
            break
        for s, v in open_slots.items():
            if v["state"] == "running" and now - v["last"] > bound:
                stuck.add(s)
        running = [s for s, v in open_slots.items() if v["state"] == "running" and s not in stuck]
        if not running:
            idle_since = idle_since or now
            if now - idle_since > GRACE + 2:
                stuck.update(open_slots)
        else:
            idle_since = None
        if stuck and not running:
            break
        if now - script_end > 600:
            stuck.update(open_slots)
            break
        time.sleep(0.2)
    drained = time.monotonic()
    time.sleep(1.0)
    b.sample()
    end_fds = b.samples[-1][1] if b.samples else None
    b.send("quit")
    try:
        rc = b.proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        failures.append("the bench did not exit within 40 s of quit")
        b.kill_tree()
        rc = b.proc.wait()
    b.reader.join(timeout=5)
    events = list(b.events)

    jobs = jobs_of(events)
    ran = [j for j in jobs if j["ran"]]
    finals = {}
    classes = {}
    max_gap = 0.0
    max_dur = 0.0
    tails = {}
    for j in jobs:
        f = j["final"]
        if f is not None:
            finals[f["state"]] = finals.get(f["state"], 0) + 1
            if f["state"] == "failed":
                classes[f.get("class")] = classes.get(f.get("class"), 0) + 1
        if not j["ran"]:
            continue
        times = [t for t, e in j["events"] if e["state"] != "queued"]
        gap = max([c - a for a, c in zip(times, times[1:])] + [0.0])
        max_gap = max(max_gap, gap)
        if gap > bound:
            stuck.add(j["slot"])
            failures.append("slot %s: %.1f s between two events of a running %s job (bound %.1f s)"
                            % (j["slot"], gap, j["action"], bound))
        if f is not None and len(times) > 1:
            # the last silence, by how the job ended: a lost device ends within
            # the reconnect window, a stall within the stall timeout
            key = f["state"] + ("/" + f["class"] if f.get("class") and f["state"] == "failed" else "")
            tail = times[-1] - times[-2]
            tails[key] = max(tails.get(key, 0.0), tail)
            lim = window + kgrace + GRACE if f.get("class") in ("connection-lost", "no-device") else bound
            if tail > lim:
                stuck.add(j["slot"])
                failures.append("slot %s: %s %.1f s after the job's previous event (bound %.1f s)"
                                % (j["slot"], key, tail, lim))
        end = times[-1] if f is not None else drained
        max_dur = max(max_dur, end - times[0])
        if f is None:
            stuck.add(j["slot"])
    for j in jobs:
        if j["final"] is None:
            failures.append("slot %s: %s job (%s) never reached a final state; last: %s"
                            % (j["slot"], j["action"], "ran" if j["ran"] else "queued only",
                               json.dumps(j["events"][-1][1])[:200]))
    for s in sorted(stuck):
        print("# --- event history of slot %s (seconds from start) ---" % s)
        print(history(events, s, t0))

    # the history, after quit
    try:
        db = sqlite3.connect(os.path.join(d, "history.db"))
        open_rows = db.execute("SELECT id, ecid, port, action, state FROM attempts "
                               "WHERE ended IS NULL OR state = 'running'").fetchall()
        n_rows = db.execute("SELECT count(*) FROM attempts").fetchone()[0]
        db.close()
    except sqlite3.Error as e:
        open_rows, n_rows = [("db error", str(e))], 0
    if open_rows:
        failures.append("%d attempt row(s) left open after quit: %s" % (len(open_rows), open_rows[:5]))
    if n_rows < len(ran):
        failures.append("history has %d attempts for %d jobs that ran" % (n_rows, len(ran)))

    # the log: the defence-in-depth line means the root race is back
    lost = []
    try:
        with open(os.path.join(d, "logs", "idevicebench.log"), errors="replace") as f:
            lost = [line.rstrip() for line in f if "lost track" in line]
    except OSError:
        failures.append("no idevicebench.log")
    for line in lost[:10]:
        failures.append("idevicebench.log: %s" % line)

    # fds and RSS
    s = b.samples
    nfin = max((x[3] for x in s), default=0)
    early = [x for x in s if x[3] >= nfin // 4]
    rss_early = early[0][2] if early else None
    rss_end = s[-1][2] if s else None
    if base_fds is not None and end_fds is not None and end_fds > base_fds + FD_SLACK:
        failures.append("open fds grew: %d before the first job, %d once drained" % (base_fds, end_fds))
    if os.environ.get("SOAK_RSS", "1") != "0" and rss_early and rss_end and rss_end > rss_early + max(RSS_SLACK_KB, rss_early * RSS_SLACK_PCT):
        failures.append("RSS grew: %d KiB after a quarter of the jobs, %d KiB at the end" % (rss_early, rss_end))
    if rc != 0:
        failures.append("the bench exited %d on quit" % rc)

    summary = {
        "jobs": len(jobs), "ran": len(ran), "finals": finals, "failed_classes": classes,
        "max_gap": round(max_gap, 2), "final_after": {k: round(v, 2) for k, v in sorted(tails.items())}, "bound": bound, "max_job_secs": round(max_dur, 2),
        "drain_secs": round(drained - script_end, 2), "actions": actions,
        "attempt_rows": n_rows, "fds": [base_fds, end_fds, max((x[1] for x in s), default=None)],
        "rss_kb": [rss_early, rss_end, max((x[2] for x in s), default=None)],
        "run_secs": round(time.monotonic() - t0, 1), "lost_track": len(lost),
        "failures": failures,
    }
    with open(os.path.join(d, "samples.tsv"), "w") as f:
        f.write("secs\tfds\trss_kb\tfinals\trunning\tanon_kb\tfile_kb\tshmem_kb\n")
        for x in s:
            f.write("%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n" % ((x[0] - t0,) + x[1:]))
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    for m in failures:
        print("FAIL: %s" % m)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
