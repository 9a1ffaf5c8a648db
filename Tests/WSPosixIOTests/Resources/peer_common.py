# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the interop peers (see Docs/Interop.md).

Every peer speaks the same small "command language" so that the Swift tests can drive any of
them the same way:

* A server peer echoes every message it receives (same type, same bytes), except text messages
  that start with ``!``, which are commands:

  - ``!close CODE REASON``     close the connection with that code and reason;
  - ``!fragments TYPE A|B|C``  send one message (``text`` or ``binary``) as fragments A, B, C
                               (binary fragments are given in hex);
  - ``!ping PAYLOAD``          send a ping with that payload, wait for its pong, then send the
                               text ``pong PAYLOAD``;
  - ``!pattern TYPE N``        send a deterministic message of N bytes (see ``pattern_bytes``).

* When a connection ends, a server peer prints one JSON line (a "report") describing it: the
  request path, the negotiated subprotocol, selected request headers, every message received
  and the close code and reason the peer received.

* A client peer runs a JSON script of steps given on the command line and prints one JSON
  report line at the end.

Large messages are summarised by length and CRC-32 (zlib's, the same as IEEE 802.3); messages
up to ``INLINE_LIMIT`` bytes are also given in full.
"""
import json
import sys
import zlib

INLINE_LIMIT = 4096


def pattern_bytes(n: int) -> bytes:
    """The deterministic binary payload of n bytes: byte i is (i * 31 + 7) mod 256."""
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


def pattern_text(unit: str, count: int) -> str:
    """The deterministic text payload: ``unit`` repeated ``count`` times."""
    return unit * count


def summary(message) -> dict:
    """A JSON-able description of a received message (str or bytes)."""
    if isinstance(message, str):
        raw = message.encode("utf-8")
        entry = {"type": "text", "len": len(raw), "crc32": zlib.crc32(raw)}
        if len(raw) <= INLINE_LIMIT:
            entry["data"] = message
    else:
        raw = bytes(message)
        entry = {"type": "binary", "len": len(raw), "crc32": zlib.crc32(raw)}
        if len(raw) <= INLINE_LIMIT:
            entry["data"] = raw.hex()
    return entry


def parse_command(text: str):
    """Parse a ``!command`` text message into (name, args) or return None."""
    if not text.startswith("!"):
        return None
    name, _, rest = text[1:].partition(" ")
    return name, rest


def fragments_of(rest: str):
    """Split ``TYPE A|B|C`` into the fragment list (str for text, bytes for binary)."""
    kind, _, parts = rest.partition(" ")
    pieces = parts.split("|")
    if kind == "binary":
        return [bytes.fromhex(p) for p in pieces]
    return pieces


def pattern_of(rest: str):
    """Turn ``TYPE N`` (or ``text N UNIT``) into the deterministic payload."""
    fields = rest.split(" ", 2)
    kind, n = fields[0], int(fields[1])
    if kind == "binary":
        return pattern_bytes(n)
    unit = fields[2] if len(fields) > 2 else "a"
    return pattern_text(unit, n)


def close_args(rest: str):
    code, _, reason = rest.partition(" ")
    return int(code), reason


def emit(obj) -> None:
    """Print one JSON line and flush, so the Swift test sees it at once."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
    sys.stdout.flush()
