# SPDX-License-Identifier: Apache-2.0
"""picows (2.3.1) echo server for the end-to-end rows: frame-level callbacks on the standard
asyncio loop, echoing each data frame. Usage: picows_echo.py PORT"""
import asyncio
import sys

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server


class Echo(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        t = frame.msg_type
        if t == WSMsgType.TEXT or t == WSMsgType.BINARY or t == WSMsgType.CONTINUATION:
            transport.send(t, frame.get_payload_as_memoryview(), frame.fin)
        elif t == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code() or WSCloseCode.OK)
            transport.disconnect()


async def main(port: int) -> None:
    def factory(request: WSUpgradeRequest) -> WSListener:
        return Echo()

    server = await ws_create_server(factory, "127.0.0.1", port, max_frame_size=16 * 1024 * 1024, backlog=4096)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9004))
