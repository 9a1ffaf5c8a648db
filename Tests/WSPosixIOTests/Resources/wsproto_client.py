# SPDX-License-Identifier: Apache-2.0
"""An interop CLIENT peer built on wsproto (sans-I/O) over a plain blocking socket.

Usage: wsproto_client.py URL SCRIPT_JSON [--subprotocol P]... [--header 'Name: value']...

Runs the same JSON script as websockets_client.py and prints the same kind of report.
"""
import argparse
import json
import socket
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping,
                            Pong, RejectConnection, Request, TextMessage)

from peer_common import emit, pattern_bytes, pattern_text, summary


class Closed(Exception):
    pass


class Client:
    def __init__(self, url, subprotocols, headers):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.report = {"peer": "wsproto", "received": [], "pongs": [],
                       "close_code": None, "close_reason": None}
        self.queue = []          # events not consumed yet
        self.parts = []
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        extra = [(n.encode(), v.encode()) for n, v in headers]
        self.sock.sendall(self.ws.send(Request(host=f"{parts.hostname}:{parts.port}",
                                               target=target, subprotocols=subprotocols,
                                               extra_headers=extra)))
        event = self.next_event()
        if isinstance(event, RejectConnection):
            raise RuntimeError(f"status {event.status_code}")
        if not isinstance(event, AcceptConnection):
            raise RuntimeError(f"unexpected {event!r}")
        self.report["subprotocol"] = event.subprotocol

    def next_event(self):
        while not self.queue:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.queue.extend(self.ws.events())
            if not data and not self.queue:
                raise Closed()
        return self.queue.pop(0)

    def handle_control(self, event):
        """Answers pings and close frames; returns True when the event was consumed."""
        if isinstance(event, Ping):
            self.sock.sendall(self.ws.send(event.response()))
            return True
        if isinstance(event, CloseConnection):
            self.report["close_code"] = event.code
            self.report["close_reason"] = event.reason
            if self.ws.state is ConnectionState.REMOTE_CLOSING:
                self.sock.sendall(self.ws.send(event.response()))
            raise Closed()
        return False

    def receive_message(self):
        while True:
            event = self.next_event()
            if self.handle_control(event):
                continue
            if isinstance(event, Message):
                self.parts.append(event.data)
                if event.message_finished:
                    empty = "" if isinstance(event, TextMessage) else b""
                    message, self.parts = empty.join(self.parts), []
                    return message

    def wait_pong(self, payload):
        while True:
            event = self.next_event()
            if self.handle_control(event):
                continue
            if isinstance(event, Pong):
                self.report["pongs"].append(bytes(event.payload).decode("utf-8", "replace"))
                return
            self.queue.insert(0, event)   # keep messages for a later "expect"
            raise RuntimeError(f"message before pong: {event!r}")

    def wait_closed(self):
        try:
            while True:
                self.handle_control(self.next_event())
        except Closed:
            pass

    def send(self, event):
        self.sock.sendall(self.ws.send(event))

    def run(self, script):
        try:
            for step in script:
                if "send" in step:
                    if step["send"] == "binary":
                        data = (pattern_bytes(step["pattern"]) if "pattern" in step
                                else bytes.fromhex(step["hex"]))
                        self.send(BytesMessage(data=data))
                    else:
                        data = (pattern_text(step["unit"], step["count"]) if "unit" in step
                                else step["data"])
                        self.send(TextMessage(data=data))
                elif "fragments" in step:
                    parts = step["parts"]
                    for index, part in enumerate(parts):
                        last = index == len(parts) - 1
                        if step["fragments"] == "binary":
                            self.send(BytesMessage(data=bytes.fromhex(part), message_finished=last))
                        else:
                            self.send(TextMessage(data=part, message_finished=last))
                elif "ping" in step:
                    self.send(Ping(payload=step["ping"].encode("utf-8")))
                    self.wait_pong(step["ping"])
                elif "expect" in step:
                    for _ in range(step["expect"]):
                        self.report["received"].append(summary(self.receive_message()))
                elif "close" in step:
                    self.send(CloseConnection(code=step["close"], reason=step.get("reason", "")))
                    self.wait_closed()
                elif "wait_close" in step:
                    self.wait_closed()
        except Closed:
            pass
        finally:
            self.sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("script")
    parser.add_argument("--subprotocol", action="append", default=[])
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = [tuple(h.split(": ", 1)) for h in args.header]
    report = {"peer": "wsproto"}
    try:
        client = Client(args.url, args.subprotocol, headers)
        report = client.report
        client.run(json.loads(args.script))
    except Exception as error:  # report, never hang: the Swift test asserts on this line
        report["error"] = f"{type(error).__name__}: {error}" if not str(error).startswith(
            "status ") else str(error)
    emit(report)


if __name__ == "__main__":
    main()
