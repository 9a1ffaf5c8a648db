# SPDX-License-Identifier: Apache-2.0
"""Python `websockets` (17.4) echo server for the end-to-end rows: the asyncio implementation,
default settings except the size limit, echoing whole messages. With a certificate and key it
serves wss:// through the standard library's `ssl` (TLS 1.2 and 1.3, the system OpenSSL).
Usage: websockets_echo.py PORT [CERT KEY]"""
import asyncio
import ssl
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port: int, cert: str | None = None, key: str | None = None) -> None:
    context = None
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    async with serve(echo, "127.0.0.1", port, max_size=16 * 1024 * 1024, compression=None,
                     ping_interval=None, backlog=4096, ssl=context):
        print(f"listening on 127.0.0.1:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9003, *sys.argv[2:4]))
