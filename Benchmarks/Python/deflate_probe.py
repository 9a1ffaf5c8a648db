# SPDX-License-Identifier: Apache-2.0
"""Compression rows that a load generator without zlib cannot take (issue 11, section 4).

  deflate_probe.py idle  PORT PATH PID [N]   N idle compressed connections (default 1,000):
      each negotiates permessage-deflate (the client's default offer), echoes one 1 KiB
      JSON-like text message (checked byte for byte), then stays open; prints the server's
      resident memory per connection (VmRSS after minus before, divided by N).
  deflate_probe.py bombs PORT PATH PID [N]   N connections (default 200), each sending one
      compressed "bomb": a message of 16 KiB on the wire that inflates to 64 MiB of zeros
      (4x the default 16 MiB message limit). The server must close each with 1009; prints
      the server's CPU time (user + system) per received compressed byte, next to the same
      figure for ordinary compressed traffic (the idle mode's echo) when given as BASELINE.

One `key=value` line on standard output; exit status 1 if any check failed (wrong echo, no
permessage-deflate, a bomb that was not refused with 1009)."""
import asyncio
import json
import os
import sys
import zlib

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def message(i: int) -> str:
    """About 1 KiB of JSON, different per connection, compressible like real payloads."""
    items = [{"id": i * 100 + k, "name": f"item-{k}", "price": k * 1.25, "tags": ["a", "b"]}
             for k in range(12)]
    return json.dumps({"connection": i, "items": items})[:1024]


async def idle(port: int, path: str, pid: int, n: int) -> int:
    before = rss_kib(pid)
    conns, errors = [], 0
    for i in range(n):
        ws = await connect(f"ws://127.0.0.1:{port}{path}", max_size=None, ping_interval=None)
        conns.append(ws)
        offered = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        if "permessage-deflate" not in offered:
            errors += 1
        text = message(i)
        await ws.send(text)
        if await ws.recv() != text:
            errors += 1
    await asyncio.sleep(1.0)  # let the server settle
    after = rss_kib(pid)
    print(f"conns={n} rss_before_kb={before} rss_after_kb={after} "
          f"bytes_per_conn={(after - before) * 1024 // n} errors={errors}", flush=True)
    for ws in conns:
        await ws.close()
    return 1 if errors else 0


def bomb() -> bytes:
    """16 KiB of raw deflate (no zlib header, the empty-block tail removed as RFC 7692 §7.2.1
    says) that inflates to 64 MiB of zeros."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    data = b"".join(c.compress(chunk) for _ in range(64)) + c.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def masked_frame(first: int, payload: bytes) -> bytes:
    """One client frame (RFC 6455 §5.2): `first` is FIN, RSV and opcode; the payload masked."""
    n = len(payload)
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    body = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return head + key + body


async def bombs(port: int, path: str, pid: int, n: int) -> int:
    payload = bomb()
    start = cpu_seconds(pid)
    refused = 0
    for _ in range(n):
        ws = await connect(f"ws://127.0.0.1:{port}{path}", max_size=None, ping_interval=None)
        # A binary frame with RSV1 set (compressed), written by hand (the client's own
        # compressor is bypassed: the bytes are already deflate).
        ws.transport.write(masked_frame(0xC2, payload))
        try:
            await asyncio.wait_for(ws.recv(), timeout=10)
        except ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code == 1009:
                refused += 1
        except asyncio.TimeoutError:
            pass
        await ws.close()
    spent = cpu_seconds(pid) - start
    wire = n * len(payload)
    print(f"bombs={n} wire_bytes_each={len(payload)} inflates_to={64 << 20} refused_1009={refused} "
          f"server_cpu_s={spent:.3f} server_ns_per_wire_byte={spent * 1e9 / wire:.1f}", flush=True)
    return 0 if refused == n else 1


async def plain(port: int, path: str, pid: int, m: int) -> int:
    ws = await connect(f"ws://127.0.0.1:{port}{path}", max_size=None, ping_interval=None)
    if "permessage-deflate" not in ws.response.headers.get("Sec-WebSocket-Extensions", ""):
        print("no permessage-deflate", file=sys.stderr)
        return 1
    texts = [message(i) for i in range(m)]
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    wire = sum(len(c.compress(t.encode()) + c.flush(zlib.Z_SYNC_FLUSH)) - 4 for t in texts)
    start = cpu_seconds(pid)
    errors = 0
    for t in texts:
        await ws.send(t)
        if await ws.recv() != t:
            errors += 1
    spent = cpu_seconds(pid) - start
    await ws.close()
    print(f"messages={m} wire_bytes={wire} errors={errors} server_cpu_s={spent:.3f} "
          f"server_ns_per_wire_byte={spent * 1e9 / wire:.1f}", flush=True)
    return 1 if errors else 0


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[1] not in ("idle", "bombs", "plain"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, port, path, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if mode == "idle":
        return asyncio.run(idle(port, path, pid, int(sys.argv[5]) if len(sys.argv) > 5 else 1000))
    if mode == "plain":
        return asyncio.run(plain(port, path, pid, int(sys.argv[5]) if len(sys.argv) > 5 else 5000))
    return asyncio.run(bombs(port, path, pid, int(sys.argv[5]) if len(sys.argv) > 5 else 200))


if __name__ == "__main__":
    sys.exit(main())
