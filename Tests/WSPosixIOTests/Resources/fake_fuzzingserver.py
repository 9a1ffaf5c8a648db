# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the Autobahn|Testsuite fuzzing server (the testee is a WebSocket client).

It speaks the real fuzzing server's URL protocol, so `ws autobahn-client` can be tested
without it:

  /getCaseCount                       sends the number of cases as one text message, closes
  /runCase?case=N&agent=A             runs case N of fuzzing_cases.CASES (1-based)
  /updateReports?agent=A              closes; prints the JSON report line

Frames are handled by hand (see fuzzing_cases.py) so the cases can break the protocol on
purpose. Prints ``PORT <n>`` first, then one JSON line
``{"agent": A, "agents": [...], "results": {"1.1.1": "OK", ...}}`` when the reports are updated.
WS_FUZZ_STRICT_ONLY=1 runs only the uncompressed cases.
"""
import asyncio
from urllib.parse import parse_qs, urlsplit

from fuzzing_cases import CASES, Conn, Deflate, accept_key, close_payload, frame, run_case, server_answer
from peer_common import emit

results = {}
agents = []


async def read_head(reader):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            headers[name] = headers[name] + ", " + value.strip() if name in headers else value.strip()
    return path, headers


async def handle(reader, writer):
    try:
        path, headers = await read_head(reader)
        url = urlsplit(path)
        query = parse_qs(url.query)
        case = None
        if url.path == "/runCase":
            case = CASES[int(query["case"][0]) - 1]
        answer = server_answer(case, headers.get("sec-websocket-extensions")) if case else None
        response = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept_key(headers['sec-websocket-key'])}\r\n")
        if answer:
            response += f"Sec-WebSocket-Extensions: {answer[0]}\r\n"
        writer.write((response + "\r\n").encode())
        conn = Conn(reader, writer, "server", Deflate(answer[1], "server") if answer else None)
        if url.path == "/getCaseCount":
            await conn.write(frame(0x1, str(len(CASES)).encode()))
            await conn.close(1000)
        elif url.path == "/runCase":
            agents.append(query.get("agent", ["?"])[0])
            results[case["id"]] = await run_case(conn, case)
        elif url.path == "/updateReports":
            await conn.close(1000)
            emit({"agent": query.get("agent", ["?"])[0], "agents": sorted(set(agents)), "results": results})
        else:
            await conn.write(frame(0x8, close_payload(1008)))
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, KeyError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 20)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
