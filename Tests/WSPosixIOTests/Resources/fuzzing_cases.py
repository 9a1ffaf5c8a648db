# SPDX-License-Identifier: Apache-2.0
"""The case catalogue shared by the stand-in Autobahn fuzzing server and client.

Frames are written and read by hand (asyncio streams, no WebSocket library), so a case can
send what no conforming peer would, and see exactly what the testee sends back, in order.

Each case ends with one verdict, as Autobahn|Testsuite grades them:

  OK             the testee did what the case expects;
  NON-STRICT     it failed the connection as it should, but its close frame came before the
                 echo of a valid message that preceded the violation in the same write;
  UNIMPLEMENTED  a permessage-deflate case (sections 12 and 13) ran without the extension;
  FAILED: why    anything else.

Sections covered (the ground of Autobahn's, with fewer messages per case):
  1, 5, 9  echo of text, binary, fragmented, empty and 64 KiB messages;
  3, 4, 5, 6, 7  a valid text message followed, in the SAME write, by a frame that breaks
           RFC 6455 (reserved bits, reserved opcodes then a ping, a stray continuation, bad
           UTF-8, bad close payloads) or by a clean close: the echo must come first;
  12       compressed echo (RSV1, RFC 7692) of text, compressible binary and random binary at
           sizes 16 B to 128 KiB with the default offer / answer;
  13       compressed echo under each set of negotiated parameters: no_context_takeover either
           way, server_max_window_bits 8 to 15, client_max_window_bits with and without a
           value, several offers in one header.
The fuzzer inflates what the testee sends with the window the testee is bound to (2^bits),
and with a fresh inflater per message when the testee must not take over context, so a testee
that ignores a negotiated parameter fails.
"""
import asyncio
import base64
import hashlib
import os
import random
import struct
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TAIL = b"\x00\x00\xff\xff"
TIMEOUT = 10


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return payload
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, masked: bool = False) -> bytes:
    n = len(payload)
    bit = 0x80 if masked else 0
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if masked:
        key = os.urandom(4)
        return head + key + mask(payload, key)
    return head + payload


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


# ---------------------------------------------------------------------------------------------
# permessage-deflate (RFC 7692)

def parse_extensions(header: str):
    """`Sec-WebSocket-Extensions` → [(name, {param: value or True})]."""
    out = []
    for element in filter(None, (e.strip() for e in header.split(","))):
        parts = [p.strip() for p in element.split(";")]
        params = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
            elif p:
                params[p.lower()] = True
        out.append((parts[0].lower(), params))
    return out


class Deflate:
    """One end of permessage-deflate with negotiated `params`, playing `role` ('server'/'client')."""

    def __init__(self, params: dict, role: str):
        smwb = int(params.get("server_max_window_bits", 15))
        cmwb = params.get("client_max_window_bits", 15)
        cmwb = 15 if cmwb is True else int(cmwb)
        snct = "server_no_context_takeover" in params
        cnct = "client_no_context_takeover" in params
        mine, theirs = (smwb, cmwb) if role == "server" else (cmwb, smwb)
        self.send_bits = max(mine, 9)  # zlib cannot deflate raw with 8 (9 never refers further back)
        self.recv_bits = theirs        # the peer is bound to 2^theirs: inflate with exactly that
        self.send_reset, self.recv_reset = (snct, cnct) if role == "server" else (cnct, snct)
        self.compressor = None
        self.decompressor = None

    def compress(self, data: bytes) -> bytes:
        if self.compressor is None or self.send_reset:
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, -self.send_bits, 8)
        out = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(TAIL)
        return out[:-4]

    def decompress(self, data: bytes) -> bytes:
        if self.decompressor is None or self.recv_reset:
            self.decompressor = zlib.decompressobj(-self.recv_bits)
        return self.decompressor.decompress(data + TAIL)


# ---------------------------------------------------------------------------------------------
# Connections


class Failed(Exception):
    pass


class Conn:
    """The fuzzer's side of one connection. `fuzzer_role` is 'server' or 'client'."""

    def __init__(self, reader, writer, fuzzer_role: str, deflate):
        self.reader, self.writer = reader, writer
        self.role = fuzzer_role
        self.deflate = deflate

    def frame(self, opcode, payload=b"", fin=True, rsv=0, masked=None):
        return frame(opcode, payload, fin, rsv, self.role == "client" if masked is None else masked)

    async def write(self, data: bytes):
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self):
        h = await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT)
        fin, rsv, opcode = bool(h[0] & 0x80), h[0] & 0x70, h[0] & 0x0F
        masked, n = bool(h[1] & 0x80), h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        # RFC 6455 §5.1: a client masks every frame, a server none.
        if masked != (self.role == "server"):
            raise Failed(f"frame masked={masked} from the testee")
        key = await self.reader.readexactly(4) if masked else b""
        data = await asyncio.wait_for(self.reader.readexactly(n), TIMEOUT)
        return fin, rsv, opcode, mask(data, key) if masked else data

    async def read_event(self):
        """('message', opcode, data, compressed) | ('close', code) | ('pong', data); pings are answered."""
        parts, first = [], None
        while True:
            fin, rsv, opcode, data = await self.read_frame()
            if opcode == 0x9:
                await self.write(self.frame(0xA, data))
                continue
            if opcode == 0xA:
                return ("pong", data)
            if opcode == 0x8:
                return ("close", struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005)
            if opcode in (0x1, 0x2):
                if first is not None:
                    raise Failed("new message inside a fragmented one")
                first = (opcode, rsv)
            elif opcode != 0x0 or first is None:
                raise Failed(f"unexpected opcode {opcode}")
            parts.append(data)
            if fin:
                kind, rsv = first
                payload = b"".join(parts)
                if rsv & 0x40:
                    if self.deflate is None:
                        raise Failed("RSV1 without permessage-deflate")
                    try:
                        payload = self.deflate.decompress(payload)
                    except zlib.error as error:
                        raise Failed(f"inflate: {error}")
                return ("message", kind, payload, bool(rsv & 0x40))

    async def close(self, code=1000):
        try:
            await self.write(self.frame(0x8, close_payload(code)))
            while True:
                event = await self.read_event()
                if event[0] == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            pass


# ---------------------------------------------------------------------------------------------
# Cases

def json_text(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "widget", "price", "name", "tags", "id", "€uro"]
    out = bytearray()
    while len(out) < size:
        out += ('{"id": %d, "%s": "%s", "n": %d}, ' % (rng.randrange(1000), rng.choice(words),
                                                     rng.choice(words), rng.randrange(100))).encode()
    text = bytes(out[:size]).decode("utf-8", "ignore").encode()  # a cut character is dropped...
    return text + b" " * (size - len(text))                       # ...and made up with spaces


def low_entropy(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choices(b"\x00\x01\x02\x03\xff", k=size))


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


SIZES = [16, 64, 256, 1024, 4096, 16384, 65536, 131072]


def echo_case(cid, messages, compressed=False, offer=None, answer=None):
    return {"id": cid, "kind": "echo", "messages": messages, "compressed": compressed,
            "offer": offer, "answer": answer}


def strict_case(cid, violation, code, ping_after=False, echoes=(b"Hello",)):
    """"Hello", then `violation` (valid messages it starts with are in `echoes` too), in one write."""
    return {"id": cid, "kind": "strict", "violation": violation, "code": code, "ping_after": ping_after,
            "echoes": list(echoes)}


def build_cases():
    cases = [
        echo_case("1.1.1", [(0x1, "Hello, world".encode())]),
        echo_case("1.1.2", [(0x1, b"")]),
        echo_case("1.2.1", [(0x2, b"\x00\xff\x01")]),
        echo_case("1.2.2", [(0x2, b"")]),
        echo_case("5.6", [(0x1, ["frag", "ment", "ed \u20ac"])]),
        echo_case("9.1.1", [(0x2, bytes((i * 31 + 7) & 0xFF for i in range(65536)))]),
        # Violations after a valid message in the same write (the strict verdict).
        strict_case("3.2", lambda c: c.frame(0x1, b"bad", rsv=0x20), 1002),
        strict_case("3.3", lambda c: c.frame(0x1, b"bad", rsv=0x30), 1002, ping_after=True),
        strict_case("4.1.3", lambda c: c.frame(0x5, b""), 1002, ping_after=True),
        strict_case("4.1.4", lambda c: c.frame(0x6, b"reserved"), 1002, ping_after=True),
        strict_case("4.2.3", lambda c: c.frame(0xD, b""), 1002, ping_after=True),
        strict_case("4.2.4", lambda c: c.frame(0xE, b"reserved"), 1002, ping_after=True),
        strict_case("5.15", lambda c: c.frame(0x1, b"fragment1", fin=False) + c.frame(0x0, b"fragment2")
                    + c.frame(0x0, b"fragment3", fin=False) + c.frame(0x1, b"fragment4"), 1002,
                    echoes=(b"Hello", b"fragment1fragment2")),
        strict_case("5.18", lambda c: c.frame(0x1, b"fragment1", fin=False) + c.frame(0x1, b"fragment2"), 1002),
        strict_case("2.5", lambda c: c.frame(0x9, b"\xfe" * 126), 1002),
        strict_case("6.x", lambda c: c.frame(0x1, "κόσμε".encode() + b"\xed\xa0\x80edited"), 1007),
        strict_case("7.3.2", lambda c: c.frame(0x8, b"\x03"), 1002),
        strict_case("7.5.1", lambda c: c.frame(0x8, close_payload(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")), 1007),
        strict_case("7.9.1", lambda c: c.frame(0x8, close_payload(1005)), 1002),
        strict_case("7.9.9", lambda c: c.frame(0x8, close_payload(2999)), 1002),
        strict_case("7.1.x", lambda c: c.frame(0x8, close_payload(1000)), 1000),
    ]
    if os.environ.get("WS_FUZZ_STRICT_ONLY"):
        return cases
    # Section 12: compressed echo, default parameters.
    for group, (kind, make) in enumerate([(0x1, json_text), (0x2, low_entropy), (0x2, random_bytes)], start=1):
        for i, size in enumerate(SIZES, start=1):
            count = 10 if size <= 16384 else 3
            cases.append(echo_case(f"12.{group}.{i}", [(kind, make(size, seed)) for seed in range(count)],
                                   compressed=True))
    # Section 13: compressed echo under each set of parameters. `offer` is what a fuzzing client
    # offers (the testee is a server); `answer` is how a fuzzing server answers the testee's offer.
    variants = [
        ("permessage-deflate", {}),
        ("permessage-deflate; client_no_context_takeover; client_max_window_bits", {"client_no_context_takeover": True}),
        ("permessage-deflate; server_max_window_bits=8", {"server_max_window_bits": 8}),
        ("permessage-deflate; server_max_window_bits=15; client_max_window_bits", {"server_max_window_bits": 15}),
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=8",
         {"server_no_context_takeover": True, "server_max_window_bits": 8}),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15",
         {"server_no_context_takeover": True, "client_no_context_takeover": True}),
        ("permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits=9, permessage-deflate",
         {"client_max_window_bits": 9}),
        ("permessage-deflate; client_max_window_bits=9; server_max_window_bits=10",
         {"client_max_window_bits": 9, "server_max_window_bits": 10, "client_no_context_takeover": True}),
    ]
    for v, (offer, answer) in enumerate(variants, start=1):
        for i, size in enumerate([64, 4096, 65536], start=1):
            count = 8 if size <= 4096 else 3
            messages = [(0x1, json_text(size, seed)) if seed % 2 == 0 else (0x2, low_entropy(size, seed))
                        for seed in range(count)]
            cases.append(echo_case(f"13.{v}.{i}", messages, compressed=True, offer=offer, answer=answer))
    return cases


CASES = build_cases()


def server_answer(case, header):
    """The fuzzing server's permessage-deflate answer to the testee's offers, or None."""
    if not case.get("compressed"):
        return None
    want = case.get("answer") or {}
    for name, params in parse_extensions(header or ""):
        if name != "permessage-deflate":
            continue
        out = {}
        if "server_no_context_takeover" in params or want.get("server_no_context_takeover"):
            out["server_no_context_takeover"] = True
        if "client_no_context_takeover" in params or want.get("client_no_context_takeover"):
            out["client_no_context_takeover"] = True
        smwb = min(int(params.get("server_max_window_bits", 15)), int(want.get("server_max_window_bits", 15)))
        if "server_max_window_bits" in params or smwb < 15:
            out["server_max_window_bits"] = str(smwb)
        if "client_max_window_bits" in params:
            offered = params["client_max_window_bits"]
            limit = 15 if offered is True else int(offered)
            cmwb = min(limit, int(want.get("client_max_window_bits", limit)))
            if offered is not True or cmwb < 15:
                out["client_max_window_bits"] = str(cmwb)
        text = "permessage-deflate" + "".join(
            f"; {k}" if v is True else f"; {k}={v}" for k, v in out.items())
        return text, out
    return None


async def run_case(conn: Conn, case) -> str:
    try:
        if case["kind"] == "echo":
            return await run_echo(conn, case)
        return await run_strict(conn, case)
    except Failed as error:
        return f"FAILED: {error}"
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError) as error:
        return f"FAILED: {type(error).__name__}"


async def run_echo(conn: Conn, case) -> str:
    if case["compressed"] and conn.deflate is None:
        return "UNIMPLEMENTED"
    out = b""
    expected = []
    for kind, payload in case["messages"]:
        if isinstance(payload, list):
            pieces = [p.encode() for p in payload]
            for i, piece in enumerate(pieces):
                out += conn.frame(kind if i == 0 else 0x0, piece, fin=i == len(pieces) - 1)
            expected.append((kind, b"".join(pieces)))
        elif case["compressed"]:
            out += conn.frame(kind, conn.deflate.compress(payload), rsv=0x40)
            expected.append((kind, payload))
        else:
            out += conn.frame(kind, payload)
            expected.append((kind, payload))
    await conn.write(out + conn.frame(0x9, b"case"))
    got = []
    pong = False
    while len(got) < len(expected) or not pong:
        event = await conn.read_event()
        if event[0] == "pong":
            pong = pong or event[1] == b"case"
        elif event[0] == "message":
            got.append(event)
        else:
            raise Failed(f"closed {event[1]} before the echoes")
    for (kind, payload), (_, rkind, rdata, compressed) in zip(expected, got):
        if rkind != kind or rdata != payload:
            return f"FAILED: wrong echo ({len(rdata)} bytes for {len(payload)})"
        if case["compressed"] and len(payload) >= 64 and not compressed and kind == 0x1:
            return "FAILED: a compressible echo was sent uncompressed"
    await conn.close(1000)
    return "OK"


async def run_strict(conn: Conn, case) -> str:
    data = conn.frame(0x1, b"Hello") + case["violation"](conn)
    if case["ping_after"]:
        data += conn.frame(0x9, b"after")
    await conn.write(data)  # one write: the message and the violation arrive together
    echoes = list(case["echoes"])
    while True:
        try:
            event = await conn.read_event()
        except asyncio.IncompleteReadError:
            return "FAILED: the connection dropped without a close frame"
        if event[0] == "message":
            if not echoes or event[1] != 0x1 or event[2] != echoes[0]:
                return f"FAILED: unexpected message {event[2][:20]!r}"
            echoes.pop(0)
        elif event[0] == "pong":
            return "FAILED: a ping after the violation was answered"
        else:
            code = event[1]
            if code != case["code"]:
                return f"FAILED: closed with {code}, expected {case['code']}"
            break
    if conn.role == "client":
        # A server testee closes the TCP connection first (RFC 6455 §7.1.1).
        try:
            if await asyncio.wait_for(conn.reader.read(), TIMEOUT) != b"":
                return "FAILED: bytes after the close frame"
        except asyncio.TimeoutError:
            return "FAILED: the server did not close the TCP connection"
        except ConnectionError:
            pass
    if echoes and len(echoes) < len(case["echoes"]):
        return "FAILED: only some echoes came before the close frame"
    return "NON-STRICT" if echoes else "OK"
