# SPDX-License-Identifier: Apache-2.0
"""An interop SERVER peer built on Python websockets (asyncio).

Usage: websockets_server.py [--subprotocol P]... [--reject-status CODE]
                            [--tls-cert FILE --tls-key FILE [--tls-version 1.2|1.3]]

Binds 127.0.0.1 on an ephemeral port and prints ``PORT <n>`` as its first line. Speaks the
command language of peer_common.py and prints one JSON report per connection. With
``--reject-status`` it refuses every handshake with that HTTP status instead. With
``--tls-cert`` and ``--tls-key`` it serves over TLS (Python's ``ssl``), only the given version
when ``--tls-version`` is set; reports then carry the negotiated version as ``tls``.
"""
import argparse
import asyncio
import http
import ssl

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from peer_common import (close_args, emit, fragments_of, parse_command, pattern_of,
                         summary)

REPORTED_HEADERS = ("origin", "x-interop", "sec-websocket-protocol", "sec-websocket-extensions",
                    "user-agent", "host")


async def handle(ws):
    report = {"peer": "websockets", "path": ws.request.path, "subprotocol": ws.subprotocol,
              "headers": {k: ws.request.headers.get(k) for k in REPORTED_HEADERS
                          if k in ws.request.headers},
              "received": [], "pongs": []}
    ssl_object = ws.transport.get_extra_info("ssl_object")
    if ssl_object is not None:
        report["tls"] = ssl_object.version()
    try:
        async for message in ws:
            report["received"].append(summary(message))
            command = parse_command(message) if isinstance(message, str) else None
            if command is None:
                await ws.send(message)
                continue
            name, rest = command
            if name == "close":
                code, reason = close_args(rest)
                await ws.close(code, reason)
            elif name == "fragments":
                await ws.send(fragments_of(rest))
            elif name == "ping":
                waiter = await ws.ping(rest)
                await waiter
                report["pongs"].append(rest)
                await ws.send("pong " + rest)
            elif name == "pattern":
                await ws.send(pattern_of(rest))
            else:
                await ws.send(message)
    except ConnectionClosed:
        pass
    report["close_code"] = ws.close_code
    report["close_reason"] = ws.close_reason
    emit(report)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subprotocol", action="append", default=[])
    parser.add_argument("--reject-status", type=int)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-version", choices=["1.2", "1.3"])
    args = parser.parse_args()
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_version:
            version = ssl.TLSVersion.TLSv1_2 if args.tls_version == "1.2" else ssl.TLSVersion.TLSv1_3
            context.minimum_version = context.maximum_version = version

    def select(connection, offered):
        for proposal in args.subprotocol:
            if proposal in offered:
                return proposal
        return None

    def process_request(connection, request):
        if args.reject_status:
            status = http.HTTPStatus(args.reject_status)
            return connection.respond(status, "rejected by test\n")
        return None

    async def run():
        async with serve(handle, "127.0.0.1", 0, select_subprotocol=select,
                         process_request=process_request, max_size=None,
                         compression=None, ssl=context) as server:
            port = server.sockets[0].getsockname()[1]
            print(f"PORT {port}", flush=True)
            await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
