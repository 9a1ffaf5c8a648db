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
}
