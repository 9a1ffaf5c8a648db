// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import ws
import WSPosixIO
import WSProtocol

@Suite("ws connect: the one line printed for a failed connect")
struct ConnectMessagesTests {
    /// A server whose answer is not HTTP, or too big, is at fault: the line says "response".
    @Test func aBadResponseIsNamedAsTheResponse() {
        #expect(ConnectCommand.describe(.handshakeFailed(.malformedHead("invalid HTTP version")))
                == "handshake failed: Malformed response: invalid HTTP version")
        #expect(ConnectCommand.describe(.handshakeFailed(.headTooLarge(limit: 16384)))
                == "handshake failed: Response head over 16384 bytes")
        #expect(ConnectCommand.describe(.handshakeFailed(.tooManyHeaders(limit: 100)))
                == "handshake failed: More than 100 header fields in the response")
        #expect(WebSocketError.handshakeFailed(.malformedHead("LF without CR")).description
                == "WebSocket handshake failed: Malformed response: LF without CR")
    }

    /// What the server sent is escaped once, when the line is printed: a `\` in a Location or a
    /// header shows as `\\` (it was escaped twice, `\\\\`, a tab `\\t`).
    @Test func peerTextIsEscapedOnce() {
        let refusal = WebSocketError.handshakeFailed(.refused(status: 302, reason: "Found",
                                                              headers: ["Location": "/a\\b\tc"], bodyPrefix: []))
        #expect(Terminal.escaped(ConnectCommand.describe(refusal)) == #"handshake failed: 302 Found (Location: /a\\b\tc)"#)
        let head = Array("HTTP/1.1 302 Found\r\nX-Path: C:\\dir\r\n\r\n".utf8)
        #expect(ConnectCommand.headLines("< ", head).map(Terminal.escaped) == ["< HTTP/1.1 302 Found", #"< X-Path: C:\\dir"#])
    }

    /// Lines read while no connection is open are dropped with one notice, not one per line.
    @Test func droppedLinesAreNoticedOnce() {
        let input = ConnectCommand.Input()
        #expect(input.noticeDroppedLine())
        #expect(!input.noticeDroppedLine())
        #expect(!input.noticeDroppedLine())
        input.current = nil  // still no connection: still quiet
        #expect(!input.noticeDroppedLine())
    }
}
