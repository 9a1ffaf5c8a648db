# SPDX-License-Identifier: Apache-2.0
"""Python `websockets` echo server with its default compression (permessage-deflate, the
library's default settings), for the compression rows (Python/deflate_probe.py).
Usage: websockets_deflate_echo.py PORT"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, ping_interval=None, backlog=4096):
        print(f"listening on 127.0.0.1:{port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
