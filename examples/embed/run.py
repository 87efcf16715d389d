#!/usr/bin/env python3
"""run.py: sandboxed jobs from Python through warden's C interface and ctypes.

Loads libwarden.so.0 (found as the dynamic linker finds it: LD_LIBRARY_PATH,
ld.so.cache; or the path in $WARDEN_LIBRARY), starts a few jobs at once,
waits for them and prints each one's status, exit code and output.
Needs root, as every warden job does.

    sudo LD_LIBRARY_PATH=/usr/local/lib python3 run.py [PROGRAM ARG...]

Every call returns 0 or a negative error code; warden_last_error() says
what failed and what to do. Handles are opaque pointers (c_void_p).
"""
import ctypes
import os
import sys

WARDEN_OK = 0
WARDEN_STDOUT = 1


def load():
    lib = ctypes.CDLL(os.environ.get("WARDEN_LIBRARY", "libwarden.so.0"))
    vp, pp, c, i = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p, ctypes.c_int
    signatures = {
        "warden_last_error": (c, []),
        "warden_version": (c, []),
        "warden_abi_version": (i, []),
        "warden_error_name": (c, [i]),
        "warden_free": (i, [vp]),
        "warden_launcher_options_new": (i, [pp]),
        "warden_launcher_options_set_cache_dir": (i, [vp, c]),
        "warden_launcher_options_free": (i, [vp]),
        "warden_launcher_new": (i, [vp, pp]),
        "warden_launcher_free": (i, [vp]),
        "warden_job_spec_new": (i, [pp]),
        "warden_job_spec_free": (i, [vp]),
        "warden_job_spec_set_argv": (i, [vp, ctypes.c_size_t, ctypes.POINTER(c)]),
        "warden_job_spec_set_stdio_capture": (i, [vp, i, ctypes.c_uint64]),
        "warden_job_start": (i, [vp, vp, pp]),
        "warden_job_wait": (i, [vp, i]),
        "warden_job_status": (i, [vp, ctypes.POINTER(i)]),
        "warden_job_status_name": (c, [i]),
        "warden_job_exit_code": (i, [vp, ctypes.POINTER(i)]),
        "warden_job_output": (i, [vp, i, ctypes.POINTER(vp), ctypes.POINTER(ctypes.c_size_t)]),
        "warden_job_id": (c, [vp]),
        "warden_job_free": (i, [vp]),
    }
    for name, (restype, argtypes) in signatures.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    return lib


class WardenError(Exception):
    pass


def check(lib, rc):
    if rc < 0:
        raise WardenError("%s: %s" % (lib.warden_error_name(rc).decode(),
                                      lib.warden_last_error().decode()))
    return rc


def start(lib, launcher, argv):
    spec = ctypes.c_void_p()
    check(lib, lib.warden_job_spec_new(ctypes.byref(spec)))
    try:
        args = (ctypes.c_char_p * len(argv))(*[a.encode() for a in argv])
        check(lib, lib.warden_job_spec_set_argv(spec, len(argv), args))
        check(lib, lib.warden_job_spec_set_stdio_capture(spec, WARDEN_STDOUT, 1 << 20))
        job = ctypes.c_void_p()
        check(lib, lib.warden_job_start(launcher, spec, ctypes.byref(job)))
        return job
    finally:
        lib.warden_job_spec_free(spec)


def result(lib, job):
    """(status name, exit code, stdout) of an ended job."""
    check(lib, lib.warden_job_wait(job, -1))
    status, code = ctypes.c_int(), ctypes.c_int()
    check(lib, lib.warden_job_status(job, ctypes.byref(status)))
    check(lib, lib.warden_job_exit_code(job, ctypes.byref(code)))
    data, size = ctypes.c_void_p(), ctypes.c_size_t()
    check(lib, lib.warden_job_output(job, WARDEN_STDOUT, ctypes.byref(data), ctypes.byref(size)))
    out = ctypes.string_at(data, size.value).decode(errors="replace")
    lib.warden_free(data)
    return lib.warden_job_status_name(status.value).decode(), code.value, out


def main():
    lib = load()
    print("libwarden %s, interface %d" % (lib.warden_version().decode(), lib.warden_abi_version()))
    options = ctypes.c_void_p()
    check(lib, lib.warden_launcher_options_new(ctypes.byref(options)))
    cache = os.environ.get("WARDEN_CACHE_DIR")
    if cache:
        check(lib, lib.warden_launcher_options_set_cache_dir(options, cache.encode()))
    launcher = ctypes.c_void_p()
    try:
        check(lib, lib.warden_launcher_new(options, ctypes.byref(launcher)))
    finally:
        lib.warden_launcher_options_free(options)

    commands = [sys.argv[1:]] if len(sys.argv) > 1 else [
        ["/bin/echo", "hello from a sandbox"],
        ["/usr/bin/id", "-u"],
        ["/bin/hostname"],
    ]
    failed = 0
    try:
        jobs = [(argv, start(lib, launcher, argv)) for argv in commands]
        for argv, job in jobs:
            try:
                status, code, out = result(lib, job)
                print("%s: %s exit %d output %r" % (" ".join(argv), status, code, out))
                failed += status != "ok"
            finally:
                lib.warden_job_free(job)
    finally:
        lib.warden_launcher_free(launcher)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except WardenError as e:
        print("run.py: %s" % e, file=sys.stderr)
        sys.exit(2)
