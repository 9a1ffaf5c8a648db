#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the handcrafted seed inputs under FuzzTesting/Corpora/<target>/ (run from anywhere)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # the masking key of RFC 6455 §5.7


def mask(payload, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload, fin=True, rsv=0, masked=False):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, (0x80 if masked else 0) | n])
    elif n < 65536:
        head = bytes([b0, (0x80 if masked else 0) | 126, n >> 8, n & 0xFF])
    else:
        head = bytes([b0, (0x80 if masked else 0) | 127]) + n.to_bytes(8, "big")
    return head + (KEY + mask(payload) if masked else payload)


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def connection_seeds(target, masked):
    f = lambda *a, **k: frame(*a, masked=masked, **k)
    # RFC 6455 §5.7 examples (masked for the server target).
    write(target, "single-text", b"\x00\x03" + f(1, b"Hello"))
    write(target, "fragmented-text", b"\x00\x02" + f(1, b"Hel", fin=False) + f(0, b"lo"))
    write(target, "ping-pong", b"\x00\x05" + f(9, b"Hello") + f(10, b"Hello"))
    write(target, "binary-256", b"\x00\x06" + f(2, bytes(range(256))))
    write(target, "close-1000", b"\x00\x01" + f(1, b"bye") + f(8, b"\x03\xe8done"))
    write(target, "interleaved-ping", b"\x01\x04" + f(1, b"ab", fin=False) + f(9, b"") + f(0, "é".encode()))
    write(target, "small-limits", b"\x02\x07\x05\x03" + f(2, b"12345678"))
    write(target, "fragment-size", b"\x04\x07\x03" + f(1, b"abc"))
    # Run-length extension on RSV1: (3, 'a') → "aaa".
    write(target, "extension", b"\x08\x02" + f(1, b"\x03a", rsv=0x40) + f(2, b"\x02\x00", rsv=0x40))
    # Command mode: receive a text frame, send text, ping, advance time, close, receive close, EOF.
    recv = f(1, b"hi")
    close = f(8, b"\x03\xe8")
    cmds = bytes([0, len(recv)]) + recv + bytes([8, 2]) + b"yo" + bytes([3, 1, 0x41]) + bytes([6, 40]) \
        + bytes([5, 0x03, 0xE8, 2]) + bytes([0, len(close)]) + close + bytes([7])
    write(target, "commands", b"\x90\x03" + cmds)


connection_seeds("FuzzServerConnection", masked=True)
connection_seeds("FuzzClientConnection", masked=False)

REQUEST = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n"
           b"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
write("FuzzHTTPHead", "request", b"\x00\x03" + REQUEST + b"\x81\x00")
write("FuzzHTTPHead", "response", b"\x01\x00" + RESPONSE)
write("FuzzHTTPHead", "response-404", b"\x01\x05HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!")
write("FuzzHTTPHead", "request-small-limits", b"\x02\x01\x20\x03\x40GET / HTTP/1.1\r\nHost: a\r\n\r\n")

write("FuzzServerHandshake", "upgrade", b"\x03\x02" + REQUEST + frame(1, b"Hello", masked=True))
write("FuzzServerHandshake", "upgrade-deflate-prefs", b"\x0b\x04\xc5" + REQUEST)
write("FuzzServerHandshake", "plain-get", b"\x00\x00GET / HTTP/1.1\r\nHost: a\r\n\r\n")
write("FuzzServerHandshake", "bad-version", b"\x00\x01" + REQUEST.replace(b"Version: 13", b"Version: 8"))

ACCEPTED = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: {accept}\r\n")
write("FuzzClientHandshake", "connected", b"\x00\x02" + ACCEPTED + b"\r\n" + frame(1, b"Hello"))
write("FuzzClientHandshake", "subprotocol", b"\x01\x03" + ACCEPTED + b"Sec-WebSocket-Protocol: chat\r\n\r\n")
write("FuzzClientHandshake", "deflate", b"\x02\x04\x00" + ACCEPTED
      + b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n" + frame(1, b"\x02a", rsv=0x40))
write("FuzzClientHandshake", "refused", b"\x04\x01HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden")
write("FuzzClientHandshake", "url", b"\x80\x00ws://example.com:8080/chat?room=1")
write("FuzzClientHandshake", "url-ipv6", b"\x80\x00wss://[::1]/")

write("FuzzExtensionHeader", "deflate-offers", b"\x00permessage-deflate; client_max_window_bits, permessage-deflate")
write("FuzzExtensionHeader", "deflate-params", b"\x5dpermessage-deflate; server_no_context_takeover; "
      b"client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=\"12\"")
write("FuzzExtensionHeader", "several-fields", b"\x00x-foo; a=1\x00 , permessage-deflate ;client_max_window_bits=15")

write("FuzzUTF8", "ascii", b"\x03Hello, world! plain ASCII text of some length")
write("FuzzUTF8", "multibyte", b"\x05" + "κόσμε €𝄞 \u00e9\u0800\uffff\U0010ffff".encode())
write("FuzzUTF8", "invalid", b"\x00" + b"ab\xed\xa0\x80cd\xf4\x90\x80\x80\xc0\xaf")
write("FuzzUTF8", "truncated", b"\x01" + "𝄞".encode()[:3])

# Linked pair: commands (0/1 client sends binary/text, 2/3 server sends, 4 ping, 5/6 close).
write("FuzzLinkedPair", "messages-then-close", b"\x00\x03" + b"\x00\x05hello" + b"\x01\x03h\xc3\xa9" + b"\x02\x02ok"
      + b"\x04\x03abc" + b"\x05\x00\x02by")
write("FuzzLinkedPair", "fragmented-extension", b"\x0f\x05\x03\x04" + b"\x01\x0caaaabbbbcccc" + b"\x03\x07\xe2\x82\xacxyzw"
      + b"\x06\x04\x00")
write("FuzzLinkedPair", "streaming", b"\x18\x01" + b"\x00\x20" + bytes(range(32)) + b"\x03\x03abc")


# PROXY protocol headers (byte 0 flags, byte 1 chunking), the spec's v1 example and v2 forms.
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
write("FuzzProxyHeader", "v1-tcp4", b"\x00\x03PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n\r\n")
write("FuzzProxyHeader", "v1-tcp6", b"\x00\x05PROXY TCP6 2001:db8::1 ::1 51000 8080\r\n")
write("FuzzProxyHeader", "v1-unknown", b"\x00\x00PROXY UNKNOWN\r\n")
write("FuzzProxyHeader", "v2-inet", b"\x00\x02" + SIG + b"\x21\x11\x00\x0c" + bytes([192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 1, 0xBB]) + b"GET")
write("FuzzProxyHeader", "v2-inet6-tlv", b"\x01\x07\x40" + SIG + b"\x21\x21\x00\x2a" + bytes(15) + b"\x01" + bytes(15) + b"\x01\x12\x34\x00\x50\x04\x00\x03\x00\x00\x00")
write("FuzzProxyHeader", "v2-local", b"\x00\x01" + SIG + b"\x20\x00\x00\x00")
write("FuzzProxyHeader", "forwarded", b"\x02\x00for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\"")


# permessage-deflate (FuzzInflate, FuzzInflateNoContext): byte 0 flags, byte 1 chunking, then
# messages (header: bit 0 text, bits 1-2 frames - 1, bit 3 no RSV1) of length-prefixed frames.
import zlib


def deflate_raw(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def lp(data):
    return bytes([len(data)]) if len(data) < 255 else b"\xff" + len(data).to_bytes(2, "big")


hello = deflate_raw(b"Hello")  # RFC 7692 §7.2.3.1: f2 48 cd c9 c9 07 00
for target in ["FuzzInflate", "FuzzInflateNoContext"]:
    write(target, "hello-text", b"\x00\x01" + b"\x01" + lp(hello))
    write(target, "hello-twice", b"\x00\x02" + b"\x01" + lp(hello) + b"\x01" + lp(hello))
    write(target, "fragmented", b"\x00\x03" + b"\x03" + lp(hello[:3]) + lp(hello[3:]))
    write(target, "uncompressed-frame", b"\x00\x00" + b"\x08" + lp(b"plain"))
    big = deflate_raw(bytes(range(256)) * 8)
    write(target, "binary-2k-limit", b"\x01\x04\x04\x00" + b"\x00" + lp(big))
    write(target, "window-9", b"\x02\x05\x00" + b"\x01" + lp(deflate_raw(b"abcabcabc" * 20)))
    write(target, "stored-block", b"\x00\x06" + b"\x00" + lp(b"\x01\x03\x00\xfc\xffabc"))

# TLS client (FuzzTLSClient): byte 0 chunking, byte 1 bit 0 end of stream, then "server" bytes:
# a handshake record header with a truncated ServerHello, an alert, and plain HTTP.
write("FuzzTLSClient", "server-hello-head", b"\x03\x01" + b"\x16\x03\x03\x00\x31\x02\x00\x00\x2d\x03\x03" + bytes(32) + b"\x00\x13\x01\x00")
write("FuzzTLSClient", "alert", b"\x00\x00" + b"\x15\x03\x03\x00\x02\x02\x28")
write("FuzzTLSClient", "http", b"\x05\x01" + b"HTTP/1.1 400 Bad Request\r\n\r\n")
# An empty message after a compressed one: zlib's output is the bare sync marker, so the sender
# sends it uncompressed (found by FuzzInflate: the round-trip oracle must allow that).
for target in ["FuzzInflate", "FuzzInflateNoContext"]:
    write(target, "empty-after-message", b"\x00\x01" + b"\x00\x01\x01" + b"\x07")
