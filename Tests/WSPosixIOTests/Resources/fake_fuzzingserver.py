# SPDX-License-Identifier: Apache-2.0
"""A tiny stand-in for the Autobahn|Testsuite fuzzing server, built on Python websockets.

It speaks the same URL protocol as the real fuzzing server, so `ws autobahn-client` can be
tested without it:

  /getCaseCount                       sends the number of cases as one text message, closes
  /runCase?case=N&agent=A             runs case N: sends messages, expects each echoed back
                                      unchanged (same type, same bytes), closes with 1000
  /updateReports?agent=A              closes; prints the JSON report line

Prints ``PORT <n>`` first, then one JSON line ``{"agent": A, "results": {"1": "OK", ...}}``
when the reports are updated. A case that gets a wrong echo, or none, is recorded as FAILED.
"""
import asyncio
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from peer_common import emit, pattern_bytes

# Each case: list of (how to send, what the echo must be). A list of str/bytes is sent as
# fragments of one message.
CASES = [
    [("Hello, world", "Hello, world"), (b"\x00\xff\x01", b"\x00\xff\x01")],
    [(["frag", "ment", "ed \u20ac"], "fragmented \u20ac"), ("", "")],
    [(pattern_bytes(65536), pattern_bytes(65536)), (b"", b"")],
]

results = {}
agents = []


async def run_case(ws, number):
    case = CASES[number - 1]
    try:
        for sent, expected in case:
            await ws.send(sent)
            waiter = await ws.ping(b"case")
            echo = await asyncio.wait_for(ws.recv(), 5)
            await asyncio.wait_for(waiter, 5)
            if echo != expected or type(echo) is not type(expected):
                results[str(number)] = f"FAILED: got {echo!r:.80}"
                await ws.close(1002, "wrong echo")
                return
        results[str(number)] = "OK"
        await ws.close(1000)
    except (asyncio.TimeoutError, ConnectionClosed) as error:
        results[str(number)] = f"FAILED: {type(error).__name__}"


async def handle(ws):
    url = urlsplit(ws.request.path)
    query = parse_qs(url.query)
    if url.path == "/getCaseCount":
        await ws.send(str(len(CASES)))
        await ws.close(1000)
    elif url.path == "/runCase":
        agents.append(query.get("agent", ["?"])[0])
        await run_case(ws, int(query["case"][0]))
    elif url.path == "/updateReports":
        await ws.close(1000)
        emit({"agent": query.get("agent", ["?"])[0], "agents": sorted(set(agents)),
              "results": results})
    else:
        await ws.close(1008, "unknown path")


async def main():
    async with serve(handle, "127.0.0.1", 0, max_size=None, compression=None) as server:
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
