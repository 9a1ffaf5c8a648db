#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Redis part of a /chat fan-out, alone: PUBLISH on one connection to the message's arrival
on a subscribed one (raw RESP over loopback, no client library), N times one after the other.

    redis_rtt.py PORT [N]     # default 2,000; prints one JSON line (p50/p99/max in microseconds)
"""
import json, socket, sys, time


def command(*parts: bytes) -> bytes:
    out = b"*%d\r\n" % len(parts)
    for p in parts:
        out += b"$%d\r\n%s\r\n" % (len(p), p)
    return out


def read_until(sock: socket.socket, buf: bytearray, marker: bytes) -> None:
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("redis_rtt: the server closed the connection")
        buf += chunk


def main() -> int:
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    sub = socket.create_connection(("127.0.0.1", port))
    pub = socket.create_connection(("127.0.0.1", port))
    for s in (sub, pub):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sub.sendall(command(b"SUBSCRIBE", b"ws:rtt"))
    sbuf, pbuf = bytearray(), bytearray()
    read_until(sub, sbuf, b":1\r\n")  # the subscription is confirmed
    sbuf.clear()
    samples = []
    for i in range(n):
        tag = b"m%08d" % i
        start = time.perf_counter_ns()
        pub.sendall(command(b"PUBLISH", b"ws:rtt", tag))
        read_until(sub, sbuf, tag + b"\r\n")
        samples.append(time.perf_counter_ns() - start)
        sbuf.clear()
        read_until(pub, pbuf, b"\r\n")  # PUBLISH's reply (receiver count)
        pbuf.clear()
    samples.sort()
    pct = lambda p: round(samples[min(n - 1, int(p * n))] / 1000, 1)
    print(json.dumps({"samples": n, "p50_us": pct(0.5), "p99_us": pct(0.99), "max_us": pct(1.0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
