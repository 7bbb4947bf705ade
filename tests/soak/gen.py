#!/usr/bin/env python3
"""Chaos soak generator: SEED -> a bench scenario, a config and a timed script.

usage: gen.py SEED OUTDIR [--rounds N] [--round-secs S]

Same seed, same files (random.Random(seed), nothing else). Writes:
  OUTDIR/soak.scenario  hubs on several buses, 20-40 phones of real models
                        (CPID/BDID pairs from config/models.tsv), flaky ports
  OUTDIR/soak.conf      short stall_timeout and reconnect_window, small max_jobs
  OUTDIR/script.txt     one action a line, "SECONDS VERB ARGS...", real seconds
                        from the moment the phones are seen:
    plan ECID OUTCOME...        the restore outcome of that phone's next attempts
                                (a benchsim `restore` line, sent on its control socket)
    reseat ECID PORT MODE CPID BDID   the technician makes sure the phone is on PORT,
                                in a mode a restore can start from (skipped while
                                the phone's slot has a job that is not final)
    send COMMAND...             a line on the bench's stdin (update/erase/cancel)
    yank PORT                   pull whatever is on PORT
    plug PORT MODE ECID CPID BDID   plug a phone (back, or into another port)
    hup                         SIGHUP to the console
The runner (soak.py) plays the script and checks the invariants.
"""
import argparse
import os
import random

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STEPS = ["prepare", "upload_fs", "verify_fs", "flash_fw", "flash_bb", "upload_img"]
STATUSES = [6, 9, 14, 21, 40, 53, 1015, 4014]


def models():
    out = []
    with open(os.path.join(TOP, "config", "models.tsv")) as f:
        for line in f:
            w = line.split()
            if len(w) >= 3 and not line.startswith("#") and w[1].startswith("0x"):
                out.append((int(w[1], 16), int(w[2], 16)))
    return sorted(set(out))


def outcome(rng, speed):
    """A restore line's tail, times in simulated seconds."""
    secs = rng.randint(8, 50) * speed // 10
    r = rng.random()
    if r < 0.40:
        return "ok %d" % secs
    step = rng.choice(STEPS)
    pct = rng.randint(0, 99)
    if r < 0.58:
        s = "fail %s %d disconnect" % (step, pct)
    elif r < 0.68:
        s = "fail %s %d status %d" % (step, pct, rng.choice(STATUSES))
    elif r < 0.75:
        s = "fail prepare 0 tss"
    elif r < 0.85:
        s = "crash %s %d" % (step, pct)
    else:
        s = "hang %s %d" % (step, pct)
    if s.startswith("fail") and rng.random() < 0.3:
        s += " times %d" % rng.randint(1, 2)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("outdir")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--round-secs", type=float, default=16.0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    speed = 10

    roots = ["1-1", "1-2", "1-3", "2-1", "2-2", "3-1", "3-2", "4-1"]
    nphones = rng.randint(20, 40)
    hubs, nports, ports = [], {}, []
    for h in rng.sample(roots, len(roots)):
        if len(hubs) >= 3 and len(ports) >= nphones + 4:
            break
        hubs.append(h)
        nports[h] = rng.randint(4, 7)
        ports += ["%s.%d" % (h, p) for p in range(1, nports[h] + 1)]
    hubs.sort()
    nphones = min(nphones, len(ports) - 4)
    home = rng.sample(ports, nphones)
    table = models()
    phones = []
    for i, port in enumerate(home):
        cpid, bdid = rng.choice(table)
        ecid = 0x5EE0000000 + (a.seed % 0xFFFF) * 0x1000 + i + 1
        mode = "dfu" if rng.random() < 0.25 else "recovery"
        phones.append({"ecid": ecid, "port": port, "cpid": cpid, "bdid": bdid, "mode": mode})
    free = [p for p in ports if p not in home]
    # a port a phone left is free again two rounds later: by then it has left for sure
    cooling = []
    flaky = rng.sample(ports, rng.randint(1, 2))

    with open(os.path.join(a.outdir, "soak.scenario"), "w") as f:
        f.write("# chaos soak, seed %d: %d phones on %d hubs (gen.py)\n" % (a.seed, nphones, len(hubs)))
        f.write("speed %d\n" % speed)
        if rng.random() < 0.5:
            f.write("dialect master\n")
        for h in hubs:
            f.write("hub %s ports %d\n" % (h, nports[h]))
        for p in phones:
            f.write("plug %s %s ecid 0x%016x cpid 0x%04x bdid 0x%02x\n"
                    % (p["port"], p["mode"], p["ecid"], p["cpid"], p["bdid"]))
        for p in phones:
            f.write("restore 0x%016x %s\n" % (p["ecid"], outcome(rng, speed)))
        for p in flaky:
            f.write("port %s flaky\n" % p)

    with open(os.path.join(a.outdir, "soak.conf"), "w") as f:
        f.write("[bench]\nmax_jobs = %d\nmax_jobs_per_root = %d\nstall_timeout = 8\n"
                "reconnect_window = 5\nkill_grace = 1\n"
                % (rng.randint(6, 10), rng.randint(3, 4)))

    script = []

    def at(t, *words):
        script.append((round(max(t, 0.0), 2), len(script), " ".join(str(w) for w in words)))

    def dev(p):
        return "0x%016x %s recovery 0x%04x 0x%02x" % (p["ecid"], p["port"], p["cpid"], p["bdid"])

    def plug(p, port):
        return "plug %s recovery 0x%016x 0x%04x 0x%02x" % (port, p["ecid"], p["cpid"], p["bdid"])

    # a move at generation time keeps every phone on a port of its own
    for r in range(a.rounds):
        free += [port for when, port in cooling if when == r]
        base = r * a.round_secs + 1.0
        for p in rng.sample(phones, len(phones)):
            t = base + rng.uniform(0, a.round_secs * 0.4)
            if r > 0:
                at(t - 0.8, "plan 0x%016x %s" % (p["ecid"], outcome(rng, speed)))
                at(t - 0.6, "reseat", dev(p))
            if rng.random() < 0.05:
                # yanked before its job: the command meets an empty port
                at(t - 0.2, "yank", p["port"])
                at(t + rng.uniform(1, 3), plug(p, p["port"]))
            at(t, "send", rng.choice(["update", "update", "erase"]), p["port"])
            if rng.random() < 0.15:
                at(t + rng.uniform(0.1, 4), "send update", p["port"])
            if rng.random() < 0.12:
                at(t + rng.uniform(0, 5), "send cancel", p["port"])
            if rng.random() < 0.08:
                # yanked during its job, then back on the same port or another one
                ty = t + rng.uniform(0.3, 4)
                at(ty, "yank", p["port"])
                back = ty + rng.uniform(0.5, 7)
                if free and rng.random() < 0.5:
                    dst = rng.choice(free)
                    free.remove(dst)
                    cooling.append((r + 2, p["port"]))
                    p["port"] = dst
                at(back, plug(p, p["port"]))
            elif free and rng.random() < 0.05:
                # replugged into another port between two jobs
                tm = t + a.round_secs * rng.uniform(0.7, 0.9)
                at(tm, "yank", p["port"])
                dst = rng.choice(free)
                free.remove(dst)
                cooling.append((r + 2, p["port"]))
                p["port"] = dst
                at(tm + rng.uniform(0.3, 2), plug(p, p["port"]))
        for _ in range(rng.randint(0, 2)):
            at(base + rng.uniform(0, a.round_secs), "hup")
    script.sort()
    with open(os.path.join(a.outdir, "script.txt"), "w") as f:
        for t, _, line in script:
            f.write("%.2f %s\n" % (t, line))


if __name__ == "__main__":
    main()
