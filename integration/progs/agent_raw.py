#!/usr/bin/env python3
"""Speaks the agent's wire protocol by hand (src/agent/api.proto, framing
in src/agent/frame.h), to send it what no well-behaved client would.

    agent_raw.py SOCKET CASE [N]

Cases (each prints one line per reply: "error CODE" or "ok FIELD"):
    hello        a correct handshake, then a Stats request
    garbage      a handshake, then a frame that is not a Request
    empty        a handshake, then a Request with no body (an unknown one)
    oversized    a handshake, then a frame announcing 64 MiB
    truncated    a handshake, then half a frame, then close
    nohello      a Stats request without the handshake
    badversion   a handshake with version 99
    conns N      N connections at once, each with a handshake; prints
                 "served S refused R other O" (R: TOO_MANY_CONNECTIONS)
Exits 0 unless the socket cannot be reached.
"""
import socket
import struct
import sys

ERROR_NAMES = {0: "OK", 1: "BAD_REQUEST", 2: "UNAUTHORIZED", 3: "NOT_FOUND", 4: "QUEUE_FULL",
               5: "TOO_LARGE", 6: "TOO_MANY_CONNECTIONS", 7: "IDLE", 8: "UNAVAILABLE",
               9: "NO_SPACE", 10: "INTERNAL", 11: "NEVER_FITS", 12: "VERSION_MISMATCH"}


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire, payload):
    key = varint(num << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def request(req_id, body_field, body):
    return field(1, 0, req_id) + field(body_field, 2, body)


def hello(version=1):
    return request(1, 2, field(1, 0, version) + field(2, 2, b"agent_raw.py"))


def stats(req_id=2):
    return request(req_id, 10, b"")


def frame(msg):
    return struct.pack("<I", len(msg)) + msg


def read_varint(buf, i):
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(buf):
    i = 0
    out = {}
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 2:
            ln, i = read_varint(buf, i)
            v = buf[i:i + ln]
            i += ln
        elif wire == 5:
            v = buf[i:i + 4]
            i += 4
        elif wire == 1:
            v = buf[i:i + 8]
            i += 8
        else:
            raise ValueError("wire type %d" % wire)
        out[num] = v
    return out


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_reply(s):
    """Returns "error NAME", "ok FIELDNUM" or "closed"."""
    try:
        head = recv_exact(s, 4)
    except ConnectionResetError:
        return "closed"

    if head is None:
        return "closed"
    (ln,) = struct.unpack("<I", head)
    try:
        body = recv_exact(s, ln)
    except ConnectionResetError:
        return "closed"
    if body is None:
        return "closed"
    f = fields(body)
    if 3 in f:
        code = fields(f[3]).get(1, 0)
        return "error " + ERROR_NAMES.get(code, str(code))
    bodies = [k for k in f if k >= 4]
    return "ok %s" % (bodies[0] if bodies else "-")


def send(s, data):
    """Sends data; a peer that already closed (an agent that refused the
    connection at accept) is no error here: its reply is read next."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    return s


def main():
    path, case = sys.argv[1], sys.argv[2]
    if case == "conns":
        n = int(sys.argv[3])
        socks = []
        for _ in range(n):
            s = connect(path)
            send(s, frame(hello()))
            socks.append(s)
        served = refused = other = 0
        for s in socks:
            r = read_reply(s)
            if r.startswith("ok"):
                served += 1
            elif r == "error TOO_MANY_CONNECTIONS":
                refused += 1
            else:
                other += 1
        print("served %d refused %d other %d" % (served, refused, other))
        for s in socks:
            s.close()
        return 0
    s = connect(path)
    if case == "nohello":
        send(s, frame(stats()))
        print(read_reply(s))
        print(read_reply(s))
        return 0
    if case == "badversion":
        send(s, frame(hello(99)))
        print(read_reply(s))
        print(read_reply(s))
        return 0
    send(s, frame(hello()))
    print(read_reply(s))
    if case == "hello":
        send(s, frame(stats()))
        print(read_reply(s))
    elif case == "garbage":
        send(s, frame(b"\xff\xff\xff\xff\x0f garbage"))
        print(read_reply(s))
        send(s, frame(stats(3)))  # the connection still serves
        print(read_reply(s))
    elif case == "empty":
        send(s, frame(field(1, 0, 7)))
        print(read_reply(s))
        send(s, frame(stats(8)))
        print(read_reply(s))
    elif case == "oversized":
        send(s, struct.pack("<I", 64 << 20) + b"x" * 1024)
        print(read_reply(s))
        print(read_reply(s))
    elif case == "truncated":
        msg = frame(stats())
        send(s, msg[: len(msg) // 2])
        s.close()
        print("sent half")
    else:
        print("unknown case " + case)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
