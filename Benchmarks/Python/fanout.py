#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fan-out on /chat: MEMBERS clients join one room (spread round-robin over the given URLs);
one of them sends messages carrying their send time; every member's receipt is a delivery.

    fanout.py [--members 100] [--messages 2000] [--window 16] [--latency-messages 200]
              [--latency-rate 50] [--watch LABEL=PID ...] URL [URL ...]

Two phases, one JSON line out:
- throughput: MESSAGES messages, at most WINDOW not yet back at the sender (a closed loop, so
  the room is never flooded past what it delivers); deliveries per second over the phase;
- latency: LATENCY_MESSAGES at LATENCY_RATE per second (an open loop well under capacity);
  p50/p99/max of send-to-receipt over every delivery.
With --watch, the CPU time (user + system, from /proc) each watched process spent during the
throughput phase is reported per delivery (`cpu_us_per_delivery`), next to the generator's own
(`client`): where the time goes, and whether the generator was the limit (its CPU near 1 s
per second of the phase).
The generator is one asyncio process (the Python websockets client): on a small machine it
may be the limit; compare configurations measured in the same run, not absolute numbers.
"""
import argparse, asyncio, json, os, struct, sys, time

import websockets


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--latency-messages", type=int, default=200)
    ap.add_argument("--latency-rate", type=float, default=50.0)
    ap.add_argument("--watch", action="append", default=[], metavar="LABEL=PID")
    a = ap.parse_args()
    watched = {}
    for item in a.watch:
        label, _, pid = item.partition("=")
        if not label or not pid.isdigit():
            ap.error(f"--watch {item!r} is not LABEL=PID")
        watched[label] = int(pid)

    def cpu_seconds():
        out = {"client": time.process_time()}
        ticks = os.sysconf("SC_CLK_TCK")
        for label, pid in watched.items():
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[label] = (int(fields[11]) + int(fields[12])) / ticks
        return out

    members = []
    for i in range(a.members):
        url = a.urls[i % len(a.urls)]
        members.append(await websockets.connect(url, compression=None, max_size=1 << 20, ping_interval=None))
    # Join barrier: the sender's hello must reach everyone before measuring.
    sender = members[0]
    latencies = []
    counts = {"deliveries": 0}
    back = asyncio.Queue()

    async def receive(ws, is_sender):
        async for data in ws:
            if isinstance(data, str):
                continue  # hello
            sent, = struct.unpack_from("<q", data)
            now = time.perf_counter_ns()
            counts["deliveries"] += 1
            if counts.get("record"):
                latencies.append(now - sent)
            if is_sender:
                back.put_nowait(sent)

    async def hello():
        waiting = [m for m in members]
        await sender.send("hello")
        for m in waiting:
            while True:
                msg = await asyncio.wait_for(m.recv(), 10)
                if msg == "hello":
                    break

    await hello()
    tasks = [asyncio.create_task(receive(m, m is sender)) for m in members]
    payload_pad = b"x" * 24

    # Throughput (closed loop with a window).
    cpu_start = cpu_seconds()
    start = time.perf_counter_ns()
    counts["deliveries"] = 0
    in_flight = 0
    sent = 0
    while sent < a.messages or in_flight:
        while sent < a.messages and in_flight < a.window:
            await sender.send(struct.pack("<q", time.perf_counter_ns()) + payload_pad)
            sent += 1
            in_flight += 1
        await asyncio.wait_for(back.get(), 30)
        in_flight -= 1
    expected = a.messages * a.members
    deadline = time.monotonic() + 30
    while counts["deliveries"] < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    delivered = counts["deliveries"]
    cpu_end = cpu_seconds()
    cpu = {k: cpu_end[k] - cpu_start[k] for k in cpu_end}

    # Latency (open loop, well under capacity).
    counts["record"] = True
    for _ in range(a.latency_messages):
        await sender.send(struct.pack("<q", time.perf_counter_ns()) + payload_pad)
        await asyncio.sleep(1 / a.latency_rate)
    deadline = time.monotonic() + 10
    while len(latencies) < a.latency_messages * a.members and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] / 1e6, 3) if latencies else None

    print(json.dumps({
        "members": a.members, "urls": len(a.urls), "messages": a.messages,
        "deliveries": delivered, "expected": expected, "seconds": round(elapsed, 3),
        "deliveries_per_s": round(delivered / elapsed), "messages_per_s": round(delivered / elapsed / a.members),
        "latency_samples": len(latencies), "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "cpu_cores": {k: round(v / elapsed, 2) for k, v in cpu.items()},
        "cpu_us_per_delivery": {k: round(v * 1e6 / max(delivered, 1), 2) for k, v in cpu.items()},
    }))
    for t in tasks:
        t.cancel()
    for m in members:
        await m.close()


if __name__ == "__main__":
    asyncio.run(main())
