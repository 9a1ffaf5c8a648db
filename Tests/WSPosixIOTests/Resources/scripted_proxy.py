# SPDX-License-Identifier: Apache-2.0
"""A fake proxy for the replies real proxies never send (see ProxyInteropTests.swift).

Listens on 127.0.0.1 (port chosen by the system), prints ``PORT <n>``, then for each
connection: reads what the client sends first (one read), prints ``GOT <hex>``, writes the
reply given as hex with ``--reply``, and then closes (``--then close``) or keeps the connection
open until the client closes it (``--then hang``). Stops after ``--connections`` connections
(default 1) or when its standard input closes.
"""
import argparse
import select
import socket
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reply", default="")
    parser.add_argument("--then", choices=["close", "hang"], default="close")
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    print("PORT", listener.getsockname()[1], flush=True)
    for _ in range(args.connections):
        ready, _, _ = select.select([listener, sys.stdin], [], [], 60)
        if listener not in ready:
            return
        conn, _ = listener.accept()
        conn.settimeout(30)
        first = conn.recv(4096)
        print("GOT", first.hex(), flush=True)
        conn.sendall(bytes.fromhex(args.reply))
        if args.then == "hang":
            while conn.recv(4096):
                pass
        conn.close()


if __name__ == "__main__":
    main()
