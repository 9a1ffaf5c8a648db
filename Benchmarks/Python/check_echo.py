# SPDX-License-Identifier: Apache-2.0
"""Correctness gate before an echo server is measured: a `websockets` 17.4 client (written by
nobody here) connects, sends text and binary messages of several sizes (one fragmented), checks
each echo byte for byte, then closes cleanly. Exits non-zero on any difference.
With --tls it connects over wss:// (TLS through the standard library's ssl, the certificate
not verified: a benchmark's throwaway one).
Usage: check_echo.py [--tls] PORT [PATH]"""
import os
import ssl
import sys

from websockets.sync.client import connect


def main(port: int, path: str = "/", tls: bool = False) -> int:
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    url = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}{path}"
    with connect(url, compression=None, max_size=None, open_timeout=5, close_timeout=5, ssl=context) as ws:
        cases = [
            "hello", "caf\u00e9 \u4f60\u597d \U0001F600", "x" * 125, "y" * 126, "z" * 70000,
            b"", b"\x00\x01\x02", os.urandom(65536), os.urandom(1 << 20),
        ]
        for message in cases:
            ws.send(message)
            echo = ws.recv(timeout=10)
            if echo != message:
                print(f"echo differs for a {type(message).__name__} of {len(message)}", file=sys.stderr)
                return 1
        # A fragmented text message: the echo must be the whole message.
        ws.send(iter(["frag", "ment", "ed"]))
        echo = ws.recv(timeout=10)
        if echo != "fragmented":
            print(f"fragmented echo differs: {echo!r}", file=sys.stderr)
            return 1
        ws.close()
    print("echo check OK")
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--tls"]
    sys.exit(main(int(args[0]), args[1] if len(args) > 1 else "/", tls="--tls" in sys.argv[1:]))
