# SPDX-License-Identifier: Apache-2.0
"""An interop CLIENT peer built on Python websockets (asyncio).

Usage: websockets_client.py URL SCRIPT_JSON [--subprotocol P]... [--header 'Name: value']...
                            [--cafile FILE] [--tls-version 1.2|1.3]

A wss:// URL is verified against --cafile only (Python's ``ssl``); --tls-version allows only
that version. The report then carries the negotiated version as ``tls``.

SCRIPT_JSON is a list of steps, run in order:

  {"send": "text", "data": "héllo"}             one text message
  {"send": "binary", "hex": "0102ff"}           one binary message
  {"send": "binary", "pattern": N}              N bytes of peer_common.pattern_bytes
  {"send": "text", "unit": "ab€", "count": N}   the unit repeated N times
  {"fragments": "text", "parts": ["a", "b"]}    one message sent as fragments (binary: hex)
  {"ping": "payload"}                           ping, wait for the pong
  {"expect": N}                                 receive N messages
  {"close": CODE, "reason": "bye"}              close and wait for the close handshake
  {"wait_close": true}                          wait until the server closes

Prints one JSON report line: subprotocol, received messages, pongs, and the close code and
reason received from the server (or "error").
"""
import argparse
import asyncio
import json
import ssl

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from peer_common import emit, pattern_bytes, pattern_text, summary


def payload_of(step):
    if step["send"] == "binary":
        if "pattern" in step:
            return pattern_bytes(step["pattern"])
        return bytes.fromhex(step["hex"])
    if "unit" in step:
        return pattern_text(step["unit"], step["count"])
    return step["data"]


async def run(args, script):
    report = {"peer": "websockets", "received": [], "pongs": []}
    headers = [tuple(h.split(": ", 1)) for h in args.header]
    context = None
    if args.url.startswith("wss://"):
        context = ssl.create_default_context(cafile=args.cafile)
        if args.tls_version:
            version = ssl.TLSVersion.TLSv1_2 if args.tls_version == "1.2" else ssl.TLSVersion.TLSv1_3
            context.minimum_version = context.maximum_version = version
    try:
        async with connect(args.url, subprotocols=args.subprotocol or None, ssl=context,
                           additional_headers=headers, max_size=None, compression=None,
                           open_timeout=10, close_timeout=10, ping_interval=None) as ws:
            report["subprotocol"] = ws.subprotocol
            ssl_object = ws.transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                report["tls"] = ssl_object.version()
            try:
                for step in script:
                    if "send" in step:
                        await ws.send(payload_of(step))
                    elif "fragments" in step:
                        parts = step["parts"]
                        if step["fragments"] == "binary":
                            parts = [bytes.fromhex(p) for p in parts]
                        await ws.send(parts)
                    elif "ping" in step:
                        waiter = await ws.ping(step["ping"])
                        await asyncio.wait_for(waiter, 10)
                        report["pongs"].append(step["ping"])
                    elif "expect" in step:
                        for _ in range(step["expect"]):
                            message = await asyncio.wait_for(ws.recv(), 10)
                            report["received"].append(summary(message))
                    elif "close" in step:
                        await ws.close(step["close"], step.get("reason", ""))
                    elif "wait_close" in step:
                        await asyncio.wait_for(ws.wait_closed(), 10)
            except ConnectionClosed:
                pass
        report["close_code"] = ws.close_code
        report["close_reason"] = ws.close_reason
    except InvalidStatus as error:
        report["error"] = f"status {error.response.status_code}"
    except Exception as error:  # report, never hang: the Swift test asserts on this line
        report["error"] = f"{type(error).__name__}: {error}"
    emit(report)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("script")
    parser.add_argument("--subprotocol", action="append", default=[])
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--cafile")
    parser.add_argument("--tls-version", choices=["1.2", "1.3"])
    args = parser.parse_args()
    asyncio.run(run(args, json.loads(args.script)))


if __name__ == "__main__":
    main()
