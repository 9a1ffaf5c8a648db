#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The load side of Scripts/soak: many mostly idle WebSocket connections, churn, slow readers
and large messages against one server on loopback, with the server's RSS, file descriptors and
threads sampled at intervals and judged at the end. Standard library only (asyncio); every
loop ends at the deadline and every wait has a timeout.

Exit status: 0 when the server stayed flat after warm-up and the traffic behaved, 1 otherwise.
"""
import argparse, asyncio, base64, hashlib, os, random, socket, struct, sys, time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Stats:
    def __init__(self):
        self.idle_open = 0
        self.idle_lost = 0
        self.churn_cycles = 0
        self.churn_resets = 0
        self.churn_failures = 0
        self.large_messages = 0
        self.large_failures = 0
        self.slow_cycles = 0
        self.slow_failures = 0
        self.failure_notes = []

    def note(self, what):
        if len(self.failure_notes) < 10:
            self.failure_notes.append(what)


def mask(payload, key):
    if key == b"\x00\x00\x00\x00" or not payload:
        return payload
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def client_frame(opcode, payload, zero_key=False):
    key = b"\x00\x00\x00\x00" if zero_key else os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + mask(payload, key)


class Conn:
    """One raw WebSocket client connection (RFC 6455 framing, no extensions)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port, path, timeout=10):
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, limit=1 << 16), timeout)
        key = base64.b64encode(os.urandom(16))
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if not head.startswith(b"HTTP/1.1 101") or accept not in head:
            writer.close()
            raise ConnectionError("handshake: " + head.split(b"\r\n")[0].decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, opcode, payload, zero_key=False):
        self.writer.write(client_frame(opcode, payload, zero_key))
        await self.writer.drain()

    async def frame(self):
        """The next frame (opcode, payload); answers pings on the way."""
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:
                await self.send(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            return opcode, payload, bool(b0 & 0x80)

    async def message(self):
        opcode, payload, fin = await self.frame()
        while not fin:
            _, more, fin = await self.frame()
            payload += more
        return opcode, payload

    async def close(self, timeout=10):
        """The close handshake: our close frame, the server's reply, then its TCP close."""
        await self.send(0x8, struct.pack("!H", 1000))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            opcode, _, _ = await asyncio.wait_for(self.frame(), max(deadline - time.monotonic(), 0.01))
            if opcode == 0x8:
                break
        await asyncio.wait_for(self.reader.read(), max(deadline - time.monotonic(), 0.01))
        self.writer.close()

    def reset(self):
        """Closes with a TCP reset (SO_LINGER 0), no close handshake."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


async def idle_connection(args, stats, ready, stop):
    try:
        conn = await Conn.open(args.port, "/echo")
    except Exception as error:
        stats.idle_lost += 1
        stats.note(f"idle open: {error!r}")
        ready.release()
        return
    stats.idle_open += 1
    ready.release()
    reader = asyncio.ensure_future(conn.frame())
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([reader, stopper], return_when=asyncio.FIRST_COMPLETED)
    if reader in done:
        stats.idle_lost += 1  # the server closed (or sent) on an idle connection
        stats.note(f"idle connection ended: {reader.exception() or reader.result()!r}")
        stopper.cancel()
        return
    reader.cancel()
    conn.reset()


async def churn_worker(args, stats, deadline, rng):
    while time.monotonic() < deadline:
        try:
            conn = await Conn.open(args.port, "/echo")
            for i in range(rng.randint(1, 5)):
                text = f"churn {i} {rng.random()}".encode()
                await conn.send(0x1, text)
                opcode, echo = await asyncio.wait_for(conn.message(), 10)
                if (opcode, echo) != (0x1, text):
                    raise ValueError("wrong echo")
            if rng.random() < 0.5:
                await conn.close()
            else:
                conn.reset()
                stats.churn_resets += 1
            stats.churn_cycles += 1
        except Exception as error:
            stats.churn_failures += 1
            stats.note(f"churn: {error!r}")
            await asyncio.sleep(0.1)


async def large_worker(args, stats, deadline, rng):
    payload = bytes(rng.getrandbits(8) for _ in range(4096)) * (args.large_size // 4096)
    digest = hashlib.sha256(payload).digest()
    while time.monotonic() < deadline:
        try:
            conn = await Conn.open(args.port, "/echo")
            for _ in range(3):
                await asyncio.wait_for(conn.send(0x2, payload, zero_key=True), 60)
                opcode, echo = await asyncio.wait_for(conn.message(), 60)
                if opcode != 0x2 or hashlib.sha256(echo).digest() != digest:
                    raise ValueError(f"wrong echo of {len(payload)} bytes ({len(echo)} back)")
                stats.large_messages += 1
            await conn.close()
        except Exception as error:
            stats.large_failures += 1
            stats.note(f"large: {error!r}")
            await asyncio.sleep(0.5)


async def slow_reader(args, stats, deadline, rng):
    """Sends 1 MiB messages and reads their echoes 16 KiB at a time, 20 reads a second: the
    server must hold back (its buffers are bounded), not grow."""
    payload = b"s" * (1 << 20)
    while time.monotonic() < deadline:
        try:
            conn = await Conn.open(args.port, "/echo")
            sender = asyncio.ensure_future(asyncio.wait_for(
                _send_many(conn, payload, 8), max(min(30, deadline - time.monotonic()), 1)))
            got = 0
            until = min(time.monotonic() + 20, deadline)
            while time.monotonic() < until:
                chunk = await asyncio.wait_for(conn.reader.read(16 << 10), 10)
                if not chunk:
                    break
                got += len(chunk)
                await asyncio.sleep(0.05)
            sender.cancel()
            conn.reset()
            stats.slow_cycles += 1
        except Exception as error:
            stats.slow_failures += 1
            stats.note(f"slow: {error!r}")
            await asyncio.sleep(0.5)


async def _send_many(conn, payload, count):
    for _ in range(count):
        await conn.send(0x2, payload, zero_key=True)


def sample(pid):
    status = open(f"/proc/{pid}/status").read()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]) * 1024
    threads = int(next(l for l in status.splitlines() if l.startswith("Threads:")).split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds, threads


def judge(samples, warmup, args):
    """Flat after warm-up: RSS of the last third within 10% + 16 MiB of the first post-warm-up
    third; fds within what the active workers can hold open; threads constant."""
    post = [s for s in samples if s[0] >= warmup]
    if len(post) < 3:
        return [f"only {len(post)} samples after warm-up"]
    third = max(len(post) // 3, 1)
    early, late = post[:third], post[-third:]
    problems = []
    early_rss, late_rss = max(s[1] for s in early), max(s[1] for s in late)
    if late_rss > early_rss * 1.10 + (16 << 20):
        problems.append(f"RSS grew after warm-up: {early_rss >> 20} MiB -> {late_rss >> 20} MiB")
    active = args.churn + args.slow + args.large + 16
    fds = [s[2] for s in post]
    if max(fds) - min(fds) > active:
        problems.append(f"fds moved by {max(fds) - min(fds)} after warm-up (more than {active})")
    threads = [s[3] for s in post]
    if max(threads) - min(threads) > 1:
        problems.append(f"threads moved {min(threads)} -> {max(threads)} after warm-up")
    return problems


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--idle", type=int, default=9700)
    parser.add_argument("--churn", type=int, default=40)
    parser.add_argument("--slow", type=int, default=8)
    parser.add_argument("--large", type=int, default=4)
    parser.add_argument("--large-size", type=int, default=4 << 20)
    parser.add_argument("--interval", type=float, default=10)
    args = parser.parse_args()
    rng = random.Random(20261204)
    stats = Stats()
    start = time.monotonic()
    deadline = start + args.duration
    warmup = max(args.duration * 0.25, 20)
    stop = asyncio.Event()
    samples = []

    def report(label):
        rss, fds, threads = sample(args.pid)
        t = time.monotonic() - start
        samples.append((t, rss, fds, threads))
        print(f"{label} t={t:6.0f}s rss={rss / (1 << 20):7.1f}MiB fds={fds:6} threads={threads:3} "
              f"idle={stats.idle_open - stats.idle_lost} churn={stats.churn_cycles} (resets {stats.churn_resets}, "
              f"failed {stats.churn_failures}) large={stats.large_messages} slow={stats.slow_cycles} "
              f"failures: idle-lost {stats.idle_lost} large {stats.large_failures} slow {stats.slow_failures}", flush=True)

    report("start ")
    # Idle connections, opened 100 at a time (the server's listen backlog is 1024).
    ready = asyncio.Semaphore(100)
    idle_tasks = []
    for _ in range(args.idle):
        await ready.acquire()
        idle_tasks.append(asyncio.ensure_future(idle_connection(args, stats, ready, stop)))
        if time.monotonic() > deadline:
            break
    for _ in range(100):
        await ready.acquire()
    report("opened")
    workers = ([asyncio.ensure_future(churn_worker(args, stats, deadline, random.Random(rng.random()))) for _ in range(args.churn)]
               + [asyncio.ensure_future(slow_reader(args, stats, deadline, random.Random(rng.random()))) for _ in range(args.slow)]
               + [asyncio.ensure_future(large_worker(args, stats, deadline, random.Random(rng.random()))) for _ in range(args.large)])
    while time.monotonic() < deadline:
        await asyncio.sleep(min(args.interval, max(deadline - time.monotonic(), 0)))
        report("sample")
    done, pending = await asyncio.wait(workers, timeout=90)
    for task in pending:
        task.cancel()
    stop.set()
    await asyncio.wait(idle_tasks, timeout=60)
    await asyncio.sleep(2)
    report("end   ")
    problems = judge(samples[:-1], warmup, args)
    if stats.idle_lost:
        problems.append(f"{stats.idle_lost} idle connections failed or were dropped")
    if stats.churn_cycles == 0 or stats.churn_failures > max(stats.churn_cycles // 100, 5):
        problems.append(f"churn: {stats.churn_cycles} cycles, {stats.churn_failures} failures")
    if stats.large_messages == 0 or stats.large_failures:
        problems.append(f"large: {stats.large_messages} echoed, {stats.large_failures} failures")
    if stats.slow_cycles == 0 and args.slow:
        problems.append("slow readers: no cycle completed")
    if pending:
        problems.append(f"{len(pending)} workers did not stop by themselves")
    for note in stats.failure_notes:
        print("  note:", note)
    if problems:
        for p in problems:
            print("SOAK FAIL:", p)
        return 1
    print(f"SOAK PASS: flat after {warmup:.0f} s of warm-up over {args.duration:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
