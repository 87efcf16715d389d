#!/usr/bin/env python3
"""warden's demo job: shows what the sandbox looks like from inside."""
import ctypes
import os
import socket

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    return "?"

print("hello from inside warden")
print(f"  uid={os.getuid()} gid={os.getgid()} pid={os.getpid()} hostname={socket.gethostname()}")
print(f"  processes visible: {sorted(int(p) for p in os.listdir('/proc') if p.isdigit())}")
print(f"  network interfaces: {[name for _, name in socket.if_nameindex()]}")
print(f"  CapEff={status('CapEff')} NoNewPrivs={status('NoNewPrivs')} Seccomp={status('Seccomp')}")
for path in ("/etc/passwd-test", "/tmp/ok"):
    try:
        with open(path, "w") as f:
            f.write("x")
        print(f"  write {path}: allowed")
    except OSError as e:
        print(f"  write {path}: {e.strerror}")
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER
    print("  unshare(CLONE_NEWUSER): allowed")
else:
    print(f"  unshare(CLONE_NEWUSER): {os.strerror(ctypes.get_errno())}")
