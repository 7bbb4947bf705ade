#!/usr/bin/env python3
"""Raw clients of the bench's control socket, for the attach tests.

usage: benchclient.py SOCK probe              connect, print the first line (or the errno name), exit 0/1
       benchclient.py SOCK flood SECONDS      send bad commands without ever reading; exit 0 once the
                                              bench drops us, 1 if it has not within SECONDS
       benchclient.py SOCK cycles N           N times: connect, read the snapshot's first line, close
       benchclient.py SOCK longline N         send one N-byte line, then "bogus"; print the replies' texts
"""
import errno
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def readline(s, timeout):
    s.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf.decode("utf-8", "replace").rstrip("\n")


def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "probe":
        try:
            s = connect(path)
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
            return 1
        try:
            print(readline(s, 5))
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
            return 1
        return 0
    if what == "flood":
        s = connect(path)
        s.setblocking(False)
        line = b"bogus-command-that-the-bench-refuses\n" * 64
        end = time.time() + float(sys.argv[3])
        while time.time() < end:
            try:
                s.send(line)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                print("dropped")
                return 0
        return 1
    if what == "cycles":
        for _ in range(int(sys.argv[3])):
            s = connect(path)
            if not readline(s, 5).startswith('{"event":"bench"'):
                return 1
            s.close()
        return 0
    if what == "longline":
        s = connect(path)
        s.sendall(b"x" * int(sys.argv[3]) + b"\nbogus\n")
        s.settimeout(5)
        found = 0
        while found < 2:
            line = readline(s, 5)
            if not line:
                return 1
            if '"event":"error"' in line:
                print(line)
                found += 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
