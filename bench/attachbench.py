#!/usr/bin/env python3
"""attachbench.py: one bench, many consoles (issue 17), under benchsim.

usage: attachbench.py [--build DIR] [--restores 48] [--consoles 4] [--secs 30] [--slots 256]

1. `idevicebench serve` with 48 fake restores running (ticking every 0.2 s)
   and 4 consoles attached (`idevicebench attach`, 160x50 ptys owned by this
   program) plus one JSON client: CPU of the bench and of each console over
   the window (utime+stime from /proc), and the delay from an event's "time"
   stamp to its arrival at the JSON client on the same socket (p50/p99/max).
2. A bench of 256 idle phones: from connect to the whole snapshot at a JSON
   client, and from start to the first full frame of an attached console.

Prints Markdown; nothing here asserts a time (this is `make bench`).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsbench  # noqa: E402  (Pty, Setup, write_phones, proc_cpu)


def serve(s, a, scen, conf, sock):
	argv = s.benchsim(scen) + [a.prog, "serve", "-c", conf, "--socket", sock,
	    "--log-dir", os.path.join(s.dir, "logs"), "--db", os.path.join(s.dir, "h.db")]
	err = open(os.path.join(s.dir, "serve.err"), "w")
	p = subprocess.Popen(argv, env=s.env, stdout=subprocess.DEVNULL, stderr=err)
	for _ in range(300):
		try:
			c = socket.socket(socket.AF_UNIX)
			c.connect(sock)
			c.close()
			break
		except OSError:
			time.sleep(0.1)
	pid = None
	for _ in range(50):
		out = subprocess.run(["pgrep", "-f", "^%s serve -c %s" % (a.prog, conf)],
		    capture_output=True, text=True).stdout.split()
		if out:
			pid = int(out[0])
			break
		time.sleep(0.1)
	return p, pid


class JsonClient(threading.Thread):
	"""Reads events; keeps (arrival - stamp) of job events and counts running jobs."""

	def __init__(self, sock):
		super().__init__(daemon=True)
		self.s = socket.socket(socket.AF_UNIX)
		self.s.connect(sock)
		self.delays = []
		self.running = {}
		self.measure = False
		self.stop = False

	def send(self, line):
		self.s.sendall((line + "\n").encode())

	def run(self):
		buf = b""
		while not self.stop:
			try:
				data = self.s.recv(65536)
			except OSError:
				return
			if not data:
				return
			now = time.time()
			buf += data
			*lines, buf = buf.split(b"\n")
			for line in lines:
				try:
					ev = json.loads(line)
				except ValueError:
					continue
				if ev.get("event") == "job":
					self.running[ev["slot"]] = ev.get("state") == "running"
					if self.measure:
						self.delays.append(now - ev["time"])


def pct(v, q):
	v = sorted(v)
	return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def pump_forever(p, stop):
	while not stop.is_set():
		p.read_once(0.2)


def run_load(a):
	s = wsbench.Setup(a, "attach")
	hubs = (a.restores + 7) // 8
	scen = os.path.join(s.dir, "bench.scenario")
	n = wsbench.write_phones(scen, hubs, 8, a.restore_secs)
	conf = os.path.join(s.dir, "bench.conf")
	with open(conf, "w") as f:
		f.write("[bench]\nipsw = %s\nmax_jobs = %d\nmax_jobs_per_root = 8\nstall_timeout = 900\n"
		    % (s.ipsw, a.restores))
	sock = os.path.join(s.dir, "bench.sock")
	p, pid = serve(s, a, scen, conf, sock)
	cons, stop = [], threading.Event()
	try:
		jc = JsonClient(sock)
		jc.start()
		time.sleep(2)
		i = 0
		for h in range(1, hubs + 1):
			for q in range(1, 9):
				if i < a.restores:
					jc.send("update 1-%d.%d" % (h, q))
				i += 1
		for _ in range(a.consoles):
			c = wsbench.Pty([a.prog, "attach", "--socket", sock], s.env, 160, 50)
			threading.Thread(target=pump_forever, args=(c, stop), daemon=True).start()
			cons.append(c)
		end = time.monotonic() + 120
		while time.monotonic() < end and sum(jc.running.values()) < a.restores:
			time.sleep(0.5)
		running = sum(jc.running.values())
		# every phone back in restore mode, the fake restores ticking through upload_fs...
		end = time.monotonic() + 180
		while time.monotonic() < end and len(wsbench.restore_plugs(s.sim_log)) < a.restores:
			time.sleep(0.5)
		in_restore = len(wsbench.restore_plugs(s.sim_log))
		# the fake restore spends its first 5% in restore mode before it ticks (as wsbench.py)
		lag = max(wsbench.restore_plugs(s.sim_log) or [time.time()]) + 0.05 * a.restore_secs + 1.0 - time.time()
		time.sleep(max(lag, 0))
		c0 = wsbench.proc_cpu(pid)
		cc0 = [wsbench.proc_cpu(c.pid) for c in cons]
		jc.measure = True
		t0 = time.monotonic()
		time.sleep(a.secs)
		jc.measure = False
		dt = time.monotonic() - t0
		bench_cpu = (wsbench.proc_cpu(pid) - c0) / dt * 100
		con_cpu = [(wsbench.proc_cpu(c.pid) - x) / dt * 100 for c, x in zip(cons, cc0)]
		jc.send("quit")
		p.wait(30)
		return dict(phones=n, running=running, in_restore=in_restore, bench_cpu=bench_cpu, console_cpu=con_cpu,
		    events=len(jc.delays), p50=pct(jc.delays, 0.5) * 1000, p99=pct(jc.delays, 0.99) * 1000,
		    max=max(jc.delays) * 1000 if jc.delays else float("nan"))
	finally:
		stop.set()
		for c in cons:
			c.close()
		if p.poll() is None:
			p.kill()
		s.cleanup()


def run_attach(a):
	s = wsbench.Setup(a, "attach256")
	# umockdev's sysfs for 256 phones is built faster in memory (as wsbench.py scale)
	if os.access("/dev/shm", os.W_OK):
		s.env["TMPDIR"] = "/dev/shm"
	scen = os.path.join(s.dir, "bench.scenario")
	ports = []
	with open(scen, "w") as f:
		# as wsbench.py scale: 16-port hubs of two 8-port hubs, four per bus
		for h in range((a.slots + 15) // 16):
			top = "%d-%d" % (h // 4 + 1, h % 4 + 1)
			f.write("hub %s ports 2\n" % top)
			for half in (1, 2):
				f.write("hub %s.%d ports 8\n" % (top, half))
				for q in range(1, 9):
					ports.append("%s.%d.%d" % (top, half, q))
		for i, port in enumerate(ports):
			f.write("plug %s recovery ecid 0x%016x cpid 0x8010 bdid 0x08\n" % (port, 0xc0000000 + i))
	n = len(ports)
	last = ports[-1]
	conf = os.path.join(s.dir, "bench.conf")
	with open(conf, "w") as f:
		f.write("[bench]\nipsw = %s\n" % s.ipsw)
	sock = os.path.join(s.dir, "bench.sock")
	p, pid = serve(s, a, scen, conf, sock)
	snaps, frames, sizes = [], [], []
	try:
		# every phone known to the bench first
		for _ in range(300):
			c = socket.socket(socket.AF_UNIX)
			c.connect(sock)
			f = c.makefile("rb")
			count = 0
			for line in f:
				ev = json.loads(line)
				if ev["event"] == "device":
					count += 1
				if ev["event"] == "detail" and ev["port"] == last:
					break
			c.close()
			if count >= n:
				break
			time.sleep(0.2)
		for _ in range(a.rounds):
			t0 = time.monotonic()
			c = socket.socket(socket.AF_UNIX)
			c.connect(sock)
			f = c.makefile("rb")
			size = 0
			for line in f:
				size += len(line)
				if b'"event":"detail"' in line and json.loads(line)["port"] == last:
					break
			snaps.append((time.monotonic() - t0) * 1000)
			sizes.append(size)
			c.close()
			t0 = time.monotonic()
			con = wsbench.Pty([a.prog, "attach", "--socket", sock], s.env, 160, 50)
			seen = b""
			t_frame = None
			end = t0 + 10
			while time.monotonic() < end:
				r = con.read_once(0.05)
				if r is None:
					if t_frame is not None:
						break	# quiet for 50 ms after the full header: the frame is out
					continue
				seen += r[1]
				if t_frame is None and b"%d slots" % n in seen and b"%d slots 0 run" % n in seen:
					t_frame = r[0]
				elif t_frame is not None:
					t_frame = r[0]
			frames.append(((t_frame or time.monotonic()) - t0) * 1000)
			con.send(b"q")
			con.wait(5)
			con.close()
		subprocess.run([a.prog, "attach", "--json", "--socket", sock], input=b"quit\n",
		    stdout=subprocess.DEVNULL, timeout=30)
		p.wait(30)
		return dict(slots=n, snap=sorted(snaps)[len(snaps) // 2], snap_max=max(snaps),
		    frame=sorted(frames)[len(frames) // 2], frame_max=max(frames), size=sizes[0])
	finally:
		if p.poll() is None:
			p.kill()
		s.cleanup()


def main():
	ap = argparse.ArgumentParser(description=__doc__,
	    formatter_class=argparse.RawDescriptionHelpFormatter)
	ap.add_argument("--top", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	ap.add_argument("--build", default=None)
	ap.add_argument("--restores", type=int, default=48)
	ap.add_argument("--consoles", type=int, default=4)
	ap.add_argument("--secs", type=float, default=30)
	ap.add_argument("--slots", type=int, default=256)
	ap.add_argument("--rounds", type=int, default=5)
	ap.add_argument("--tick", type=float, default=0.2)
	ap.add_argument("--restore-secs", type=float, default=150)
	ap.add_argument("--keep", action="store_true")
	ap.add_argument("--only", choices=["load", "attach"])
	a = ap.parse_args()
	a.build = os.path.abspath(a.build or os.path.join(a.top, "build"))
	a.prog = os.path.join(a.build, "idevicebench")
	load = run_load(a) if a.only != "attach" else None
	att = run_attach(a) if a.only != "load" else None
	print("| figure | goal | measured |")
	print("|---|---|---|")
	if load:
		print_load(a, load)
	if att:
		print_attach(a, att)


def print_load(a, load):
	print("| restores running (of %d phones), back in restore mode | %d | %d, %d |"
	    % (load["phones"], a.restores, load["running"], load["in_restore"]))
	print("| bench CPU, %d restores, %d consoles + 1 JSON client | < 1.5%% | %.2f%% |"
	    % (a.restores, a.consoles, load["bench_cpu"]))
	print("| each console's CPU | < 1%% | %s |" % ", ".join("%.2f%%" % c for c in load["console_cpu"]))
	print("| event stamp -> JSON client on the socket, p50 / p99 / max (%d job events) | p99 < 100 ms "
	    "| %.1f / %.1f / %.1f ms |" % (load["events"], load["p50"], load["p99"], load["max"]))


def print_attach(a, att):
	print("| attach at %d slots: whole snapshot at a JSON client (median / max of %d, %d KiB) "
	    "| | %.0f / %.0f ms |" % (att["slots"], a.rounds, att["size"] // 1024, att["snap"], att["snap_max"]))
	print("| attach at %d slots: console's first full frame, 160x50 (median / max) | < 200 ms "
	    "| %.0f / %.0f ms |" % (att["slots"], att["frame"], att["frame_max"]))


if __name__ == "__main__":
	main()
