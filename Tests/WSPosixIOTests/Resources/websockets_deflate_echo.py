# SPDX-License-Identifier: Apache-2.0
"""permessage-deflate interop peer built on Python websockets (asyncio), compression ON.

Usage:
  websockets_deflate_echo.py server [--server-max-window-bits N] [--client-max-window-bits N]
                                    [--server-no-context-takeover] [--client-no-context-takeover]
  websockets_deflate_echo.py client URL

server: binds 127.0.0.1 on an ephemeral port, prints ``PORT <n>``, echoes every message and
prints one JSON report per connection (see peer_common.py) with two extra keys: ``offer`` (the
client's Sec-WebSocket-Extensions) and ``extensions`` (the server's answer). Without options it
uses websockets' default compression (server_max_window_bits=12, client_max_window_bits=12).

client: connects with websockets' default compression, sends the messages of ``messages()``
one by one, expects each echoed unchanged, closes with 1000 and prints one JSON report:
``extensions`` (the server's answer), ``received``, ``mismatches`` (indexes of echoes that
differ), ``close_code``, or ``error``.
"""
import argparse
import asyncio

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from peer_common import emit, pattern_bytes, pattern_text, summary


def messages():
    """The client's messages: text and binary, empty to 1 MiB, compressible and not."""
    return [
        "héllo wörld ✓ 世界 🎉",
        "",
        b"",
        bytes.fromhex("00ff01"),
        pattern_text("Grüße, 世界! ", 60000),
        pattern_bytes(1 << 20),
        bytes(1 << 20),
        "Hello",
        "Hello",
    ]


async def serve_forever(args):
    async def handle(ws):
        report = {"peer": "websockets", "path": ws.request.path,
                  "offer": ws.request.headers.get("Sec-WebSocket-Extensions"),
                  "extensions": ws.response.headers.get("Sec-WebSocket-Extensions"),
                  "received": []}
        try:
            async for message in ws:
                report["received"].append(summary(message))
                await ws.send(message)
        except ConnectionClosed:
            pass
        report["close_code"] = ws.close_code
        report["close_reason"] = ws.close_reason
        emit(report)

    if any([args.server_max_window_bits, args.client_max_window_bits,
            args.server_no_context_takeover, args.client_no_context_takeover]):
        options = {"extensions": [ServerPerMessageDeflateFactory(
            server_no_context_takeover=args.server_no_context_takeover,
            client_no_context_takeover=args.client_no_context_takeover,
            server_max_window_bits=args.server_max_window_bits,
            client_max_window_bits=args.client_max_window_bits)], "compression": None}
    else:
        options = {}  # websockets' default: compression="deflate"
    async with serve(handle, "127.0.0.1", 0, max_size=None, **options) as server:
        emit_port(server.sockets[0].getsockname()[1])
        await server.serve_forever()


def emit_port(port):
    print(f"PORT {port}", flush=True)


async def run_client(url):
    report = {"peer": "websockets", "received": [], "mismatches": []}
    try:
        async with connect(url, max_size=None, open_timeout=10, close_timeout=10,
                           ping_interval=None) as ws:
            report["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
            for index, message in enumerate(messages()):
                await ws.send(message)
                echo = await asyncio.wait_for(ws.recv(), 20)
                report["received"].append(summary(echo))
                if echo != message or type(echo) is not type(message):
                    report["mismatches"].append(index)
            await ws.close(1000)
        report["close_code"] = ws.close_code
    except Exception as error:  # reported, never raised: the Swift test reads the report
        report["error"] = f"{type(error).__name__}: {error}"
    emit(report)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["server", "client"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--server-max-window-bits", type=int)
    parser.add_argument("--client-max-window-bits", type=int)
    parser.add_argument("--server-no-context-takeover", action="store_true")
    parser.add_argument("--client-no-context-takeover", action="store_true")
    args = parser.parse_args()
    if args.mode == "server":
        asyncio.run(serve_forever(args))
    else:
        asyncio.run(run_client(args.url))


if __name__ == "__main__":
    main()
