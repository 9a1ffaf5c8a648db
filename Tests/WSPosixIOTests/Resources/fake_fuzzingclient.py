# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the Autobahn|Testsuite fuzzing client (the testee is a WebSocket server that
echoes every message, such as `ws serve`'s /echo).

  python fake_fuzzingclient.py PORT [PATH]

Runs every case of fuzzing_cases.CASES on its own connection to ws://127.0.0.1:PORT/PATH,
offering permessage-deflate in the compressed cases (section 13's offers vary the parameters),
and prints one JSON line ``{"results": {"1.1.1": "OK", ...}}``.
"""
import asyncio
import base64
import os
import sys

from fuzzing_cases import CASES, Conn, Deflate, accept_key, parse_extensions, run_case
from peer_common import emit

DEFAULT_OFFER = "permessage-deflate; client_max_window_bits"


def allowed(offer: str, params: dict) -> bool:
    """Whether a response's parameters fit one of the elements offered (RFC 7692 §7.1)."""
    for name, offered in parse_extensions(offer):
        if name != "permessage-deflate":
            continue
        smwb = offered.get("server_max_window_bits")
        if smwb not in (None, True) and int(params.get("server_max_window_bits", 15)) > int(smwb):
            continue
        if "server_max_window_bits" in offered and "server_max_window_bits" not in params:
            continue
        if "client_max_window_bits" in params:
            cmwb = offered.get("client_max_window_bits")
            if cmwb is None or (cmwb is not True and int(params["client_max_window_bits"]) > int(cmwb)):
                continue
        if "server_no_context_takeover" in offered and "server_no_context_takeover" not in params:
            continue
        return True
    return False


async def run_one(port: int, path: str, case) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        offer = (case.get("offer") or DEFAULT_OFFER) if case.get("compressed") else None
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if offer:
            request += f"Sec-WebSocket-Extensions: {offer}\r\n"
        writer.write((request + "\r\n").encode())
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1")
        lines = head.split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            return f"FAILED: {lines[0]}"
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("sec-websocket-accept") != accept_key(key):
            return "FAILED: wrong Sec-WebSocket-Accept"
        deflate = None
        if "sec-websocket-extensions" in headers:
            negotiated = parse_extensions(headers["sec-websocket-extensions"])
            if len(negotiated) != 1 or negotiated[0][0] != "permessage-deflate" or not offer \
                    or not allowed(offer, negotiated[0][1]):
                return f"FAILED: answered {headers['sec-websocket-extensions']!r} to {offer!r}"
            deflate = Deflate(negotiated[0][1], "client")
        return await run_case(Conn(reader, writer, "client", deflate), case)
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError) as error:
        return f"FAILED: {type(error).__name__}"
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else "/echo"
    results = {}
    for case in CASES:
        results[case["id"]] = await run_one(port, path, case)
        if os.environ.get("WS_FUZZ_TRACE"):
            print(case["id"], results[case["id"]], file=sys.stderr, flush=True)
    emit({"results": results})


if __name__ == "__main__":
    asyncio.run(main())
