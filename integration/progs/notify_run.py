#!/usr/bin/env python3
"""Starts a program the way systemd starts a Type=notify service, and
returns once it says READY=1.

    notify_run.py LOG -- PROGRAM ARGS...

Binds a datagram socket, runs PROGRAM with NOTIFY_SOCKET naming it (stdin
/dev/null, stdout and stderr appended to LOG, in a session of its own so
that it outlives this script), and waits for its notification. On READY=1
prints "PID MS", MS being the milliseconds from the exec to READY=1, and
exits 0 with the program still running. If the program exits first, prints
its exit status and exits 1. The wait is bounded (120 s) only as a guard
against a hang.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    log = sys.argv[1]
    argv = sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="warden-notify.")
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    try:
        with open(log, "ab") as out:
            start = time.monotonic()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    env=env, start_new_session=True, pass_fds=())
        deadline = start + 120
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                data = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                if proc.poll() is not None:
                    print("exited %d" % proc.returncode)
                    return 1
                continue
            if "READY=1" in data.split("\n"):
                ms = (time.monotonic() - start) * 1000
                print("%d %.1f" % (proc.pid, ms))
                return 0
        print("no READY=1 within 120 s")
        proc.kill()
        return 1
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
