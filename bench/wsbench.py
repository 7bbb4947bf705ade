#!/usr/bin/env python3
"""wsbench.py: whole-system benchmarks of idevicebench (performance issue #7).

usage: wsbench.py console [options]   items 1, 2 and 5: the console under 64
                                      fake restores, tmux as the peer, keys
       wsbench.py scale [options]     item 3: 256 phones plugged in one second

Everything runs under tests/benchsim/benchsim with the fake idevicerestore.
Figures come from /proc: CPU = utime+stime of the measured process only (not
its children), peak RSS = VmHWM. Terminal bytes are counted on the master
side of a pty this program owns (the console, or the tmux client, is its
slave). Prints Markdown on stdout; progress notes go to stderr. Nothing here
asserts a time: this is `make bench`, never `make check`.
"""
import argparse
import fcntl
import glob
import json
import os
import pty
import random
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
KEY_RIGHT = b"\x1bOC"	# keypad mode (smkx) arrows, as ncurses asks xterm for
KEY_LEFT = b"\x1bOD"


def note(msg):
	print("wsbench: " + msg, file=sys.stderr, flush=True)


def loadavg():
	with open("/proc/loadavg") as f:
		return " ".join(f.read().split()[:3])


def proc_cpu(pid):
	"""utime+stime of pid (all its threads, not its children), seconds."""
	with open("/proc/%d/stat" % pid) as f:
		rest = f.read().rsplit(")", 1)[1].split()
	return (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_status(pid, key):
	"""A kB figure from /proc/PID/status (VmHWM, VmRSS)."""
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith(key + ":"):
				return int(line.split()[1])
	return 0


def proc_io(pid):
	"""read and write system calls so far, and voluntary context switches (wakeups)."""
	out = {}
	with open("/proc/%d/io" % pid) as f:
		for line in f:
			k, v = line.split(":")
			out[k] = int(v)
	return out["syscr"], out["syscw"], proc_status(pid, "voluntary_ctxt_switches")


def proc_children(pid):
	try:
		with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
			return [int(x) for x in f.read().split()]
	except OSError:
		return []


def proc_comm(pid):
	try:
		with open("/proc/%d/comm" % pid) as f:
			return f.read().strip()
	except OSError:
		return ""


def alive(pid):
	try:
		os.kill(pid, 0)
		return True
	except OSError:
		return False


class Pty:
	"""A command on the slave side of a pty of COLSxROWS; counts what it writes."""

	def __init__(self, argv, env, cols, rows):
		self.pid, self.fd = pty.fork()
		if self.pid == 0:
			try:
				fcntl.ioctl(0, termios.TIOCSWINSZ,
				    struct.pack("HHHH", rows, cols, 0, 0))
				os.execvpe(argv[0], argv, env)
			finally:
				os._exit(127)
		self.bytes = 0
		self.status = None
		self.marks = []		# times of reads holding the selection marker

	def pump(self, secs):
		"""Read everything the slave writes for secs seconds."""
		end = time.monotonic() + secs
		while True:
			left = end - time.monotonic()
			if left <= 0:
				return
			self.read_once(left)

	def read_once(self, timeout):
		"""One read (or none within timeout); returns (time, data)."""
		r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
		if not r:
			return None
		try:
			data = os.read(self.fd, 65536)
		except OSError:
			data = b""
		now = time.monotonic()
		if not data:
			time.sleep(min(timeout, 0.05))	# the slave closed
			return None
		self.bytes += len(data)
		return (now, data)

	def send(self, data):
		os.write(self.fd, data)

	def wait(self, secs):
		"""Pump until the child exits or secs pass; True when it exited."""
		end = time.monotonic() + secs
		while time.monotonic() < end:
			pid, st = os.waitpid(self.pid, os.WNOHANG)
			if pid == self.pid:
				self.status = st
				return True
			self.read_once(0.1)
		return False

	def close(self):
		if self.status is None:
			for sig in (signal.SIGTERM, signal.SIGKILL):
				if not alive(self.pid):
					break
				os.kill(self.pid, sig)
				if self.wait(10):
					break
		os.close(self.fd)


def ecid_of(i):
	return 0xb0000000 + i


def write_phones(path, hubs, ports, restore_secs, scen_extra=""):
	"""hubs x ports recovery phones on bus 1, one root port per hub."""
	with open(path, "w") as f:
		f.write(scen_extra)
		for h in range(1, hubs + 1):
			f.write("hub 1-%d ports %d\n" % (h, ports))
		i = 0
		for h in range(1, hubs + 1):
			for p in range(1, ports + 1):
				f.write("plug 1-%d.%d recovery ecid 0x%016x cpid 0x8010 bdid 0x08\n"
				    % (h, p, ecid_of(i)))
				if restore_secs:
					f.write("restore 0x%016x ok %g\n" % (ecid_of(i), restore_secs))
				i += 1
	return i


def sim_log_times(path, word):
	"""(time, rest) of the --log-time lines whose directive is word."""
	out = []
	try:
		with open(path) as f:
			for line in f:
				parts = line.split()
				if len(parts) >= 3 and parts[1] == word:
					out.append((float(parts[0]), parts[2:]))
	except OSError:
		pass
	return out


def restore_plugs(sim_log):
	"""Wall times at which each phone came back in restore mode."""
	return [t for t, rest in sim_log_times(sim_log, "plug") if len(rest) >= 2 and
	    rest[1] == "restore"]


class Setup:
	def __init__(self, a, name):
		self.a = a
		self.dir = tempfile.mkdtemp(prefix="idb-wsbench-%s." % name)
		self.home = os.path.join(self.dir, "home")
		os.makedirs(self.home)
		self.ipsw = os.path.join(self.dir, "test.ipsw")
		subprocess.run([sys.executable, os.path.join(a.top, "tests/data/mkipsw.py"),
		    "--any-board", self.ipsw], check=True, stdout=subprocess.DEVNULL)
		self.sim_log = os.path.join(self.dir, "sim.log")
		self.ctl = os.path.join(self.dir, "ctl.sock")
		self.env = dict(os.environ)
		for k in ("LD_PRELOAD", "TMUX", "TMUX_PANE", "IDEVICEBENCH_RESTORE_CMD",
		    "BENCHSIM_CTL", "NO_COLOR"):
			self.env.pop(k, None)
		self.env.update(HOME=self.home, XDG_CONFIG_HOME=self.home + "/.config",
		    XDG_DATA_HOME=self.home + "/.local/share",
		    XDG_STATE_HOME=self.home + "/.local/state",
		    XDG_CACHE_HOME=self.home + "/.cache", LANG="C.UTF-8", LC_ALL="",
		    TERM="xterm-256color", FAKERESTORE_TICK="%g" % a.tick)

	def benchsim(self, scen):
		return [os.path.join(self.a.build, "tests/benchsim/benchsim"), "--log", self.sim_log,
		    "--log-time", "--ctl", self.ctl, scen, "--"]

	def cleanup(self):
		if not self.a.keep:
			shutil.rmtree(self.dir, ignore_errors=True)
		else:
			note("kept " + self.dir)


def wait_steady(p, s, n, restore_secs, timeout):
	"""
	Pump until every phone is back in restore mode and a little more: the
	fake restore then ticks through upload_fs, verify_fs, flash_fw... without
	pause. Returns the spread of the restore-mode arrivals (seconds).
	"""
	end = time.monotonic() + timeout
	while time.monotonic() < end:
		p.pump(0.5)
		ts = restore_plugs(s.sim_log)
		if len(ts) >= n:
			lag = max(ts) + 0.05 * restore_secs + 1.0 - time.time()
			if lag > 0:
				p.pump(lag)
			return max(ts) - min(ts)
	raise RuntimeError("only %d of %d phones reached restore mode in %d s"
	    % (len(restore_plugs(s.sim_log)), n, timeout))


def window(p, pid, secs):
	"""CPU seconds, terminal bytes and selection-marker reads over secs."""
	c0, b0, t0 = proc_cpu(pid), p.bytes, time.monotonic()
	io0 = proc_io(pid)
	marks = 0
	end = t0 + secs
	while True:
		left = end - time.monotonic()
		if left <= 0:
			break
		r = p.read_once(left)
		if r is not None and b">" in r[1]:
			marks += 1
	c1, b1, t1 = proc_cpu(pid), p.bytes, time.monotonic()
	io1 = proc_io(pid)
	return dict(cpu=c1 - c0, bytes=b1 - b0, secs=t1 - t0, marks=marks,
	    reads=io1[0] - io0[0], writes=io1[1] - io0[1], wakeups=io1[2] - io0[2])


def key_latency(p, samples):
	"""
	Right and Left in turn; each moves the selection, so the console must
	write a new selection marker ('>', which nothing else on this screen
	writes: checked by the window's "marks" count). Latency = key written to
	the pty until the first read that holds a '>'.
	"""
	lat, missed = [], 0
	for i in range(samples):
		p.pump(random.uniform(0.15, 0.35))
		p.send(KEY_RIGHT if i % 2 == 0 else KEY_LEFT)
		t0 = time.monotonic()
		end = t0 + 2.0
		got = None
		while got is None and time.monotonic() < end:
			r = p.read_once(end - time.monotonic())
			if r is not None and b">" in r[1]:
				got = r[0] - t0
		if got is None:
			missed += 1
		else:
			lat.append(got * 1000.0)
	return lat, missed


def console_run(a, round_no):
	"""Item 1 (and 5): the real console under the workload, in our pty."""
	s = Setup(a, "console")
	try:
		scen = os.path.join(s.dir, "bench.scenario")
		n = write_phones(scen, a.hubs, a.ports, a.restore_secs)
		conf = os.path.join(s.dir, "bench.conf")
		with open(conf, "w") as f:
			f.write("[bench]\nmax_jobs = %d\nmax_jobs_per_root = %d\non_recovery = update\n"
			    "stall_timeout = 900\n" % (n, a.ports))
		argv = s.benchsim(scen) + [a.idevicebench, "-c", conf, "--ipsw", s.ipsw,
		    "--log-dir", os.path.join(s.dir, "logs"), "--db",
		    os.path.join(s.dir, "history.db")]
		env = dict(s.env, IDEVICEBENCH_UI_STDERR=os.path.join(s.dir, "ui.err"))
		load = loadavg()
		p = Pty(argv, env, a.cols, a.rows)
		try:
			spread = wait_steady(p, s, n, a.restore_secs, 120)
			kids = [k for k in proc_children(p.pid) if proc_comm(k) == "idevicebench"]
			if not kids:
				raise RuntimeError("idevicebench is not running under benchsim")
			pid = kids[0]
			jobs = len(proc_children(pid))
			prof = None
			if a.perf:	# profile the window (perf record of the console only)
				prof = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-g", "-p",
				    str(pid), "-o", a.perf, "--", "sleep", str(a.secs)],
				    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
			w = window(p, pid, a.secs)
			if prof is not None:
				prof.wait()
			hwm = proc_status(pid, "VmHWM")
			lat, missed = key_latency(p, a.keys) if a.keys else ([], 0)
			jobs_end = len(proc_children(pid))
			fakes = proc_children(pid)
		finally:
			p.close()
		for k in fakes:		# the jobs' own process groups, if any survived
			if alive(k):
				os.kill(k, signal.SIGKILL)
		return dict(kind="idevicebench", round=round_no, load=load, spread=spread,
		    jobs=jobs, jobs_end=jobs_end, rss_kib=hwm, lat=lat, missed=missed, **w)
	finally:
		s.cleanup()


def tmux_run(a, round_no, panes):
	"""Item 2: the same restores in the panes of a private tmux server."""
	s = Setup(a, "tmux")
	sock = "idb-wsbench-%d-%d" % (os.getpid(), round_no)
	tm = ["tmux", "-L", sock, "-f", "/dev/null"]
	sim = None
	try:
		scen = os.path.join(s.dir, "bench.scenario")
		n = write_phones(scen, a.hubs, a.ports, a.restore_secs)
		if panes > n:
			panes = n
		# benchsim only answers the fake restores' questions here
		sim = subprocess.Popen(s.benchsim(scen) + ["sleep", "100000"], env=s.env,
		    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
		    stderr=open(os.path.join(s.dir, "sim.err"), "w"), start_new_session=True)
		for _ in range(100):
			if os.path.exists(s.ctl):
				break
			time.sleep(0.1)
		fake = os.path.join(a.build, "tests/benchsim/fakerestore")
		env = dict(s.env, BENCHSIM_CTL=s.ctl)
		cmds = []
		for i in range(panes):
			wd = os.path.join(s.dir, "work", "%016X" % ecid_of(i))
			os.makedirs(wd)
			# the arguments idevicebench gives, less -P: the default bars
			cmds.append("cd %s && exec %s -i 0x%x -y -C %s %s" % (wd, fake, ecid_of(i),
			    os.path.join(s.dir, "cache"), s.ipsw))
		# a few panes per tmux command: one command line for 64 is "too long"
		seq = ["new-session", "-d", "-s", "peer", "-x", str(a.cols), "-y", str(a.rows),
		    cmds[0]]
		errs = ""
		for k, c in enumerate(cmds[1:]):
			seq += [";", "split-window", "-t", "peer", c, ";", "select-layout", "-t",
			    "peer", "tiled"]
			if k % 8 == 7 or k == len(cmds) - 2:
				r = subprocess.run(tm + seq[1:] if seq[0] == ";" else tm + seq, env=env,
				    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
				errs += r.stderr
				seq = []
		if len(cmds) == 1:
			errs += subprocess.run(tm + seq, env=env, stdout=subprocess.DEVNULL,
			    stderr=subprocess.PIPE, text=True).stderr
		got = subprocess.run(tm + ["list-panes", "-t", "peer"], env=env,
		    capture_output=True, text=True).stdout.count("\n")
		if got != panes:
			raise RuntimeError("tmux made %d of %d panes: %s" % (got, panes,
			    errs.strip()))
		server = int(subprocess.run(tm + ["display-message", "-p", "-t", "peer", "#{pid}"],
		    env=env, capture_output=True, text=True).stdout)
		load = loadavg()
		p = Pty(tm + ["attach-session", "-t", "peer"], env, a.cols, a.rows)
		try:
			spread = wait_steady(p, s, panes, a.restore_secs, 120)
			c0 = proc_cpu(p.pid)
			w = window(p, server, a.secs)
			client_cpu = proc_cpu(p.pid) - c0
			hwm = proc_status(server, "VmHWM")
		finally:
			subprocess.run(tm + ["kill-server"], env=env, stderr=subprocess.DEVNULL)
			p.close()
		return dict(kind="tmux", round=round_no, load=load, spread=spread, panes=panes,
		    rss_kib=hwm, client_cpu=client_cpu, **w)
	finally:
		subprocess.run(tm + ["kill-server"], env=s.env, stderr=subprocess.DEVNULL,
		    stdout=subprocess.DEVNULL)
		if sim is not None:
			sim.terminate()
			try:
				sim.wait(15)
			except subprocess.TimeoutExpired:
				sim.kill()
				sim.wait()
		s.cleanup()


def pct(v, q):
	"""Nearest-rank percentile."""
	v = sorted(v)
	if not v:
		return float("nan")
	k = max(0, min(len(v) - 1, int(round(q / 100.0 * len(v) + 0.5)) - 1))
	return v[k]


def fig(r):
	cpu = 100.0 * r["cpu"] / r["secs"]
	return cpu, r["rss_kib"] / 1024.0, r["bytes"] / r["secs"] / 1024.0


def cmd_console(a):
	panes = a.panes
	rows = []
	for rnd in range(1, a.runs + 1):
		order = ["idevicebench", "tmux"] if rnd % 2 else ["tmux", "idevicebench"]
		pair = {}
		for kind in order:
			note("round %d/%d: %s" % (rnd, a.runs, kind))
			if kind == "idevicebench":
				pair[kind] = console_run(a, rnd)
			elif not a.no_tmux:
				try:
					pair[kind] = tmux_run(a, rnd, panes)
				except RuntimeError as e:
					if panes <= 16:
						raise
					note("%s; falling back to 16 panes" % e)
					panes = 16
					pair[kind] = tmux_run(a, rnd, panes)
		rows.append(pair)
	if a.json:
		json.dump(rows, sys.stdout)
		print()
		return 0
	report_console(a, rows)
	return 0


def report_console(a, rows):
	n = a.hubs * a.ports
	print("Workload: %d phones on %d hubs of %d ports, each a fake restore of %g s "
	    "(FAKERESTORE_TICK=%g: a progress line every %g s through upload_fs, verify_fs, "
	    "flash_fw, flash_bb, fud); the window of %g s opens once every phone is in "
	    "restore mode and ticking. idevicebench: console at %dx%d, TERM=xterm-256color, "
	    "LANG=C.UTF-8, max_jobs %d, on_recovery = update. %d rounds; in each, both "
	    "programs ran one after the other (order alternating), so ratios compare runs "
	    "of the same round." % (n, a.hubs, a.ports, a.restore_secs, a.tick, a.tick,
	    a.secs, a.cols, a.rows, n, a.runs))
	print()
	print("| round | program | load avg at start | CPU % of one core | peak RSS MiB | "
	    "terminal KiB/s | wakeups/s | read+write calls/s | jobs running (start/end) |")
	print("|---|---|---|---|---|---|---|---|---|")
	for pr in rows:
		for kind in ("idevicebench", "tmux"):
			r = pr.get(kind)
			if r is None:
				continue
			cpu, rss, kbs = fig(r)
			extra = ("%d/%d" % (r["jobs"], r["jobs_end"]) if kind == "idevicebench" else
			    "%d panes; client CPU %.2f%%" % (r["panes"], 100.0 * r["client_cpu"] / r["secs"]))
			print("| %d | %s | %s | %.2f | %.1f | %.2f | %.0f | %.0f | %s |" % (r["round"],
			    kind if kind != "tmux" else "tmux server", r["load"], cpu, rss, kbs,
			    r["wakeups"] / r["secs"], (r["reads"] + r["writes"]) / r["secs"], extra))
	print()
	ib = [fig(pr["idevicebench"]) for pr in rows]
	cpu = statistics.median(x[0] for x in ib)
	rss = statistics.median(x[1] for x in ib)
	kbs = statistics.median(x[2] for x in ib)
	print("Item 1, medians of %d runs: CPU %.2f%% of one core (goal < 1%%: %s), peak RSS "
	    "%.1f MiB (goal < 16 MiB: %s), terminal output %.2f KiB/s (goal < 4 KiB/s: %s)."
	    % (len(ib), cpu, "met" if cpu < 1 else "MISSED", rss, "met" if rss < 16 else
	    "MISSED", kbs, "met" if kbs < 4 else "MISSED"))
	marks = sum(pr["idevicebench"]["marks"] for pr in rows)
	print()
	if any("tmux" in pr for pr in rows):
		rc = [fig(pr["idevicebench"])[0] / fig(pr["tmux"])[0] for pr in rows if "tmux" in pr]
		rb = [fig(pr["idevicebench"])[2] / fig(pr["tmux"])[2] for pr in rows if "tmux" in pr]
		tc = statistics.median(fig(pr["tmux"])[0] for pr in rows if "tmux" in pr)
		tb = statistics.median(fig(pr["tmux"])[2] for pr in rows if "tmux" in pr)
		mc, mb = statistics.median(rc), statistics.median(rb)
		print("Item 2, tmux server with %d panes (tiled, one window, every pane on screen), "
		    "medians: CPU %.2f%%, terminal output %.2f KiB/s. Ratios idevicebench/tmux, "
		    "per round: CPU %s, bytes %s; median CPU ratio %.3f = 1/%.0f (goal at most "
		    "1/5: %s), median bytes ratio %.3f = 1/%.0f (goal at most 1/10: %s)."
		    % (rows[0]["tmux"]["panes"], tc, tb, ", ".join("%.3f" % x for x in rc),
		    ", ".join("%.3f" % x for x in rb), mc, 1 / mc if mc > 0 else float("inf"),
		    "met" if mc <= 0.2 else "MISSED", mb, 1 / mb if mb > 0 else float("inf"),
		    "met" if mb <= 0.1 else "MISSED"))
		print()
	lat = [x for pr in rows for x in pr["idevicebench"]["lat"]]
	missed = sum(pr["idevicebench"]["missed"] for pr in rows)
	if lat:
		per = [pct(pr["idevicebench"]["lat"], 99) for pr in rows]
		print("Item 5, key latency under this workload (Right and Left in turn, "
		    "%d samples a round, 0.15-0.35 s apart, after the window): median %.1f ms, "
		    "p90 %.1f ms, p99 %.1f ms, max %.1f ms over %d samples (p99 per round: %s; "
		    "goal p99 < 30 ms: %s); %d keys got no screen change within 2 s; %d reads "
		    "in the windows without a key held a '>' (0 means the marker is a clean "
		    "signal)." % (a.keys, statistics.median(lat), pct(lat, 90), pct(lat, 99),
		    max(lat), len(lat), ", ".join("%.1f" % x for x in per),
		    "met" if pct(lat, 99) < 30 and missed == 0 else "MISSED", missed, marks))


def scale_run(a, round_no, console):
	"""Item 3: hubs of hubs, 256 phones plugged within one second."""
	s = Setup(a, "scale")
	try:
		scen = os.path.join(s.dir, "scale.scenario")
		ports = []
		with open(scen, "w") as f:
			# a 16-port hub is an upstream hub with two 8-port hubs below it
			# (the benchsim hubs have at most 15 ports, as real hub chips);
			# four hubs per bus keep each bus below 127 device numbers
			for h in range(a.scale_hubs):
				bus, root = h // 4 + 1, h % 4 + 1
				top = "%d-%d" % (bus, root)
				f.write("hub %s ports 2\n" % top)
				for half in (1, 2):
					f.write("hub %s.%d ports 8\n" % (top, half))
					for p in range(1, 9):
						ports.append("%s.%d.%d" % (top, half, p))
			order = list(range(len(ports)))
			random.Random(round_no).shuffle(order)
			for k, i in enumerate(order):
				f.write("at %.4f plug %s recovery ecid 0x%016x cpid 0x8010 bdid 0x08\n"
				    % (a.plug_at + k / float(len(ports)), ports[i], 0xc0000000 + i))
		n = len(ports)
		# umockdev builds its sysfs under TMPDIR: on the ext4 /tmp, 256 plugs
		# took benchsim 1.3-2 s of inode creation alone. (Only here: with the
		# restores' mode switches, benchsim under /dev/shm died after ~10 s.)
		env = dict(s.env)
		if os.access("/dev/shm", os.W_OK):
			env["TMPDIR"] = "/dev/shm"
		load = loadavg()
		common = ["-c", "/dev/null", "--ipsw", s.ipsw, "--log-dir",
		    os.path.join(s.dir, "logs"), "--db", os.path.join(s.dir, "history.db")]
		if not console:
			ev = os.path.join(s.dir, "events.jsonl")
			fifo = os.path.join(s.dir, "cmd.fifo")
			os.mkfifo(fifo)
			proc = subprocess.Popen(s.benchsim(scen) + [a.idevicebench, "--json"] + common,
			    env=env, stdin=subprocess.PIPE, stdout=open(ev, "w"),
			    stderr=open(os.path.join(s.dir, "bench.err"), "w"))
			end = time.monotonic() + a.plug_at + 30
			devs = {}
			while time.monotonic() < end and len(devs) < n:
				time.sleep(0.5)
				devs = {}
				with open(ev) as f:
					for line in f:
						try:
							e = json.loads(line)
						except ValueError:
							continue
						if e.get("event") == "device" and e.get("port") not in devs:
							devs[e["port"]] = e["time"]
			time.sleep(1.0)
			kids = [k for k in proc_children(proc.pid) if proc_comm(k) == "idevicebench"]
			hwm = proc_status(kids[0], "VmHWM") if kids else 0
			rss = proc_status(kids[0], "VmRSS") if kids else 0
			slots = 0
			with open(ev) as f:
				for line in f:
					if '"event":"slot"' in line.replace(" ", ""):
						slots += 1
			proc.stdin.write(b"quit\n")
			proc.stdin.flush()
			try:
				proc.wait(20)
			except subprocess.TimeoutExpired:
				proc.kill()
				proc.wait()
			plugs = {rest[0]: t for t, rest in sim_log_times(s.sim_log, "plug")}
			lat = [1000.0 * (devs[p] - plugs[p]) for p in plugs if p in devs]
			span = max(plugs.values()) - min(plugs.values()) if plugs else float("nan")
			return dict(round=round_no, load=load, n=n, plugged=len(plugs),
			    shown=len(devs), slots=slots, lat=lat, span=span, rss_kib=rss,
			    hwm_kib=hwm)
		# the console at 160x50: the header must count every slot and phone
		argv = s.benchsim(scen) + [a.idevicebench] + common
		p = Pty(argv, dict(env, IDEVICEBENCH_UI_STDERR=os.path.join(s.dir, "ui.err")),
		    a.cols, a.rows)
		try:
			p.pump(a.plug_at + 1.0)
			end = time.monotonic() + 30
			while time.monotonic() < end and len(sim_log_times(s.sim_log, "plug")) < n:
				p.pump(0.5)
			p.pump(3.0)
			kids = [k for k in proc_children(p.pid) if proc_comm(k) == "idevicebench"]
			hwm = proc_status(kids[0], "VmHWM") if kids else 0
			rss = proc_status(kids[0], "VmRSS") if kids else 0
		finally:
			p.close()
		return dict(round=round_no, load=load, n=n, rss_kib=rss, hwm_kib=hwm)
	finally:
		s.cleanup()


def cmd_scale(a):
	runs = []
	for rnd in range(1, a.runs + 1):
		note("scale round %d/%d" % (rnd, a.runs))
		runs.append(scale_run(a, rnd, False))
	con = []
	for rnd in range(1, a.runs + 1):
		note("scale console round %d/%d" % (rnd, a.runs))
		con.append(scale_run(a, rnd, True))
	if a.json:
		json.dump(dict(json=runs, console=con), sys.stdout)
		print()
		return 0
	n = runs[0]["n"]
	print("Bench: %d hubs of 16 ports (each an upstream hub with two 8-port hubs, %d hubs "
	    "in all, four 16-port hubs per bus on buses 1-%d), %d slots; %d recovery-mode "
	    "phones plugged in a random order, one every 1/%d s, from %g s after start. "
	    "Latency: benchsim's --log-time stamp of each plug (taken when the emulated "
	    "device and its uevent are in place, CLOCK_REALTIME) to the \"time\" of the "
	    "first \"device\" event for that port on idevicebench's --json output."
	    % (a.scale_hubs, 3 * a.scale_hubs, (a.scale_hubs + 3) // 4, n, n, n, a.plug_at))
	print()
	print("| round | load avg at start | plugs took s | phones shown / plugged | slot events "
	    "| median ms | p99 ms | max ms | RSS MiB (--json) | peak RSS MiB (--json) | peak RSS MiB "
	    "(console 160x50) |")
	print("|---|---|---|---|---|---|---|---|---|---|---|")
	for r, c in zip(runs, con):
		print("| %d | %s | %.2f | %d / %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
		    r["round"], r["load"], r["span"], r["shown"], r["plugged"], r["slots"],
		    statistics.median(r["lat"]) if r["lat"] else float("nan"), pct(r["lat"], 99),
		    max(r["lat"]) if r["lat"] else float("nan"), r["rss_kib"] / 1024.0,
		    r["hwm_kib"] / 1024.0, c["hwm_kib"] / 1024.0))
	print()
	lat = [x for r in runs for x in r["lat"]]
	lost = sum(r["plugged"] - r["shown"] for r in runs)
	p99 = statistics.median(pct(r["lat"], 99) for r in runs)
	print("Medians of %d runs: uevent to JSON event median %.1f ms, p99 %.1f ms (goal "
	    "p99 < 50 ms: %s; all %d samples pooled: p99 %.1f ms); phones lost: %d (goal 0: "
	    "%s); RSS at %d slots %.1f MiB (--json), peak %.1f MiB in the console."
	    % (len(runs), statistics.median(statistics.median(r["lat"]) for r in runs), p99,
	    "met" if p99 < 50 else "MISSED", len(lat), pct(lat, 99), lost,
	    "met" if lost == 0 else "MISSED", n, statistics.median(r["hwm_kib"] for r in runs)
	    / 1024.0, statistics.median(c["hwm_kib"] for c in con) / 1024.0))
	return 0


def main():
	ap = argparse.ArgumentParser(description=__doc__,
	    formatter_class=argparse.RawDescriptionHelpFormatter)
	ap.add_argument("what", choices=["console", "scale"])
	ap.add_argument("--top", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
	ap.add_argument("--build", default=None, help="build dir (default TOP/build)")
	ap.add_argument("--runs", type=int, default=3, help="rounds (medians over them)")
	ap.add_argument("--secs", type=float, default=60, help="measurement window")
	ap.add_argument("--hubs", type=int, default=8)
	ap.add_argument("--ports", type=int, default=8)
	ap.add_argument("--restore-secs", type=float, default=150,
	    help="each fake restore's length (its ticking part is 71%%)")
	ap.add_argument("--tick", type=float, default=0.2, help="progress interval, s")
	ap.add_argument("--cols", type=int, default=160)
	ap.add_argument("--rows", type=int, default=50)
	ap.add_argument("--keys", type=int, default=120, help="key samples a round (0: none)")
	ap.add_argument("--panes", type=int, default=64, help="tmux panes (16 if 64 do not fit)")
	ap.add_argument("--no-tmux", action="store_true", help="skip the tmux peer")
	ap.add_argument("--scale-hubs", type=int, default=16)
	ap.add_argument("--plug-at", type=float, default=3.0)
	ap.add_argument("--json", action="store_true", help="raw figures, not Markdown")
	ap.add_argument("--idevicebench", metavar="PROG", help="the binary (default BUILD/idevicebench)")
	ap.add_argument("--perf", metavar="FILE", help="perf record the console's window into FILE")
	ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
	a = ap.parse_args()
	if a.build is None:
		a.build = os.path.join(a.top, "build")
	if a.idevicebench is None:
		a.idevicebench = os.path.join(a.build, "idevicebench")
	if not shutil.which("tmux") and a.what == "console":
		a.no_tmux = True
	random.seed(7)
	# a plain kill still runs the finally blocks that stop what we started
	signal.signal(signal.SIGTERM, lambda sig, frm: sys.exit(1))
	return cmd_console(a) if a.what == "console" else cmd_scale(a)


if __name__ == "__main__":
	sys.exit(main())
