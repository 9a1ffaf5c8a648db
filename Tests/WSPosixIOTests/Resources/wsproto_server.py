# SPDX-License-Identifier: Apache-2.0
"""An interop SERVER peer built on wsproto (sans-I/O) over plain blocking sockets.

Usage: wsproto_server.py [--subprotocol P]...

Binds 127.0.0.1 on an ephemeral port and prints ``PORT <n>`` as its first line. Speaks the
command language of peer_common.py and prints one JSON report per connection.
"""
import argparse
import socket
import threading

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping,
                            Pong, Request, TextMessage)

from peer_common import (close_args, emit, fragments_of, parse_command, pattern_of,
                         summary)

REPORTED_HEADERS = (b"origin", b"x-interop", b"user-agent", b"host")


class Session:
    """One server connection: reads bytes, feeds wsproto, performs the command language."""

    def __init__(self, sock, subprotocols):
        self.sock = sock
        self.ws = WSConnection(ConnectionType.SERVER)
        self.subprotocols = subprotocols
        self.report = {"peer": "wsproto", "received": [], "pongs": [],
                       "close_code": None, "close_reason": None}
        self.pending_ping = None
        self.parts = []

    def send(self, event):
        closing = (ConnectionState.LOCAL_CLOSING, ConnectionState.REMOTE_CLOSING, ConnectionState.CLOSED)
        if self.ws.state in closing and not isinstance(event, CloseConnection):
            return  # the close handshake has begun: no more data (RFC 6455 §5.5.1)
        self.sock.sendall(self.ws.send(event))

    def send_message(self, data):
        if isinstance(data, str):
            self.send(TextMessage(data=data))
        else:
            self.send(BytesMessage(data=data))

    def run(self):
        try:
            while self.ws.state is not ConnectionState.CLOSED:
                data = self.sock.recv(65536)
                if not data:
                    self.ws.receive_data(None)
                else:
                    self.ws.receive_data(data)
                for event in self.ws.events():
                    self.on_event(event)
                if not data:
                    break
        except (ConnectionError, OSError) as error:
            self.report["error"] = str(error)
        finally:
            self.sock.close()
            emit(self.report)

    def on_event(self, event):
        if isinstance(event, Request):
            offered = event.subprotocols
            chosen = next((p for p in self.subprotocols if p in offered), None)
            self.report["path"] = event.target
            self.report["subprotocol"] = chosen
            self.report["headers"] = {k.decode(): v.decode() for k, v in event.extra_headers
                                      if k.lower() in REPORTED_HEADERS}
            self.report["headers"]["host"] = event.host
            self.send(AcceptConnection(subprotocol=chosen))
        elif isinstance(event, Message):
            self.parts.append(event.data)
            if not event.message_finished:
                return
            message = ("" if isinstance(event, TextMessage) else b"").join(self.parts)
            self.parts = []
            self.on_message(message)
        elif isinstance(event, Ping):
            self.send(event.response())
        elif isinstance(event, Pong):
            payload = bytes(event.payload).decode("utf-8", "replace")
            self.report["pongs"].append(payload)
            self.send(TextMessage(data="pong " + payload))
        elif isinstance(event, CloseConnection):
            self.report["close_code"] = event.code
            self.report["close_reason"] = event.reason
            if self.ws.state is ConnectionState.REMOTE_CLOSING:
                self.sock.sendall(self.ws.send(event.response()))
            # The server closes the TCP connection first (RFC 6455 §7.1.1).
            self.sock.shutdown(socket.SHUT_RDWR)

    def on_message(self, message):
        self.report["received"].append(summary(message))
        command = parse_command(message) if isinstance(message, str) else None
        if command is None:
            self.send_message(message)
            return
        name, rest = command
        if name == "close":
            code, reason = close_args(rest)
            self.send(CloseConnection(code=code, reason=reason))
        elif name == "fragments":
            pieces = fragments_of(rest)
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                if isinstance(piece, str):
                    self.send(TextMessage(data=piece, message_finished=last))
                else:
                    self.send(BytesMessage(data=piece, message_finished=last))
        elif name == "ping":
            self.send(Ping(payload=rest.encode("utf-8")))
        elif name == "pattern":
            self.send_message(pattern_of(rest))
        else:
            self.send_message(message)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subprotocol", action="append", default=[])
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    while True:
        sock, _ = listener.accept()
        session = Session(sock, args.subprotocol)
        threading.Thread(target=session.run, daemon=True).start()


if __name__ == "__main__":
    main()
