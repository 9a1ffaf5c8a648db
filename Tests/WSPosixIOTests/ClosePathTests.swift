// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Close paths: nothing queued is lost, nothing hangs", .timeLimit(.minutes(1)))
struct ClosePathTests {
    /// Waits (bounded: 10 s) until the server holds at least `bytes` it could not write yet:
    /// the explicit sign that the peer is not reading and the kernel's buffers are full.
    static func backlog(_ server: WebSocketServer, atLeast bytes: Int) async throws -> Bool {
        for _ in 0..<5000 {
            if server.bufferedBytes >= bytes { return true }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// A response far bigger than the socket buffers reaches a reader that starts late (the
    /// 2 s linger only starts once everything is written).
    @Test func aLargeHTTPResponseReachesASlowReader() async throws {
        let body = [UInt8](repeating: 0x61, count: 24 << 20)
        let server = try await WebSocketServer.bind(port: 0, onHTTPRequest: { _ in
            HTTPResponse(status: 200, body: body)
        }) { _ in }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        // The response backs up (24 MiB against a few MiB of socket buffers)...
        #expect(try await Self.backlog(server, atLeast: 8 << 20))
        // ...and stays queued, connection open, for longer than the 2 s linger: the linger has
        // not started while bytes wait. (This wait is the duration under test, not a guess
        // that something has happened: both sides of it are checked.)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(server.bufferedBytes >= 8 << 20)
        #expect(server.connectionCount == 1)
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(eof)
        let head = Array("HTTP/1.1 200 OK\r\n".utf8)
        #expect(Array(bytes.prefix(head.count)) == head)
        let split = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound ?? bytes.count
        #expect(bytes.count - split == body.count)
        await server.shutdown(timeout: .seconds(1))
    }

    /// A client that half-closes after its request still gets the whole response.
    @Test func aHalfClosedClientGetsTheWholeResponse() async throws {
        let body = [UInt8](repeating: 0x62, count: 16 << 20)
        let server = try await WebSocketServer.bind(port: 0, onHTTPRequest: { _ in
            HTTPResponse(status: 200, body: body)
        }) { _ in }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.shutdownWrite()
        // The server saw the half-close with most of the response still queued.
        #expect(try await Self.backlog(server, atLeast: 4 << 20))
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(eof)
        let split = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound ?? bytes.count
        #expect(bytes.count - split == body.count)
        await server.shutdown(timeout: .seconds(1))
    }

    /// Shutdown answers a request still waiting for the application's decision with 503.
    @Test func shutdownAnswersAPendingUpgradeWith503() async throws {
        let entered = Signal(), release = Signal()
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { _ in
            entered.fire()
            _ = await release.wait(timeout: .seconds(30))
            return .accept()
        }) { ws in for await _ in ws {} }
        let attempt = Task { () -> Int? in
            do {
                _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
                return 101
            } catch {
                return (error as? WebSocketError)?.status
            }
        }
        #expect(await entered.wait())
        await server.shutdown(timeout: .seconds(2))
        #expect(await attempt.value == 503)
        release.fire()
        #expect(server.connectionCount == 0)
    }

    /// Everything queued before the server's close, even far more than the socket buffers
    /// hold, reaches the client before the close frame, byte for byte.
    ///
    /// The peer is a bare socket with a fixed 64 KiB receive buffer that reads nothing until
    /// the server holds 8 MiB it could not write: with the kernel's receive buffer fixed (no
    /// autotuning, which may grow to `tcp_rmem`'s maximum, 32 MiB on some machines, and would
    /// take the whole 16 MiB) and the send buffer at most 4 MiB, at least 11.8 MiB stay queued.
    /// (With `WebSocket.connect` as the peer, its reads and the kernel's autotuning decided
    /// whether that backlog ever formed: the test failed once in a full run.)
    @Test func bigMessagesQueuedBeforeCloseArriveFirst() async throws {
        let message = Echo.bytes(count: 4 << 20, seed: 11)
        let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
            if case .text("go") = event {
                for _ in 0..<4 { try? ws.enqueue(.binary(message)) }
                try? ws.close(code: CloseCode(4003), reason: "after the data")
            }
        })
        let raw = try await RawTCP.connect(server.localAddress, receiveBuffer: 64 << 10)
        try raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let head = try await raw.read(until: { $0.count >= 4 && $0.suffix(4) == [13, 10, 13, 10] }, timeout: .seconds(5))
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
        // "go", masked with the zero key (the payload is unchanged).
        try raw.write(bytes: [0x81, 0x82, 0, 0, 0, 0] + Array("go".utf8))
        #expect(try await Self.backlog(server, atLeast: 8 << 20))
        // Four binary frames (64-bit length), then the close frame: nothing else, in this order.
        var expected: [UInt8] = []
        for _ in 0..<4 {
            expected += [0x82, 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: message.count >> ($0 * 8)) }
            expected += message
        }
        let reason = Array("after the data".utf8)
        expected += [0x88, UInt8(2 + reason.count), UInt8(4003 >> 8), UInt8(4003 & 0xFF)] + reason
        let received = try await raw.read(until: { $0.count >= expected.count }, timeout: .seconds(20))
        #expect(received.count == expected.count)
        // Compared whole first (the standard library's optimised ==): an index loop over 16 MiB
        // in a debug build took 2 s alone, and long enough under a parallel run to fail it.
        let same = received == expected
        #expect(same)
        if !same {
            let firstDifference = (0..<min(received.count, expected.count)).first { received[$0] != expected[$0] }
            #expect(firstDifference == nil)
        }
        // The close handshake completes: our masked close reply, then the server closes the TCP
        // connection with nothing more.
        try raw.write(bytes: [0x88, 0x82, 0, 0, 0, 0, UInt8(4003 >> 8), UInt8(4003 & 0xFF)])
        let (rest, eof) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(rest.isEmpty)
        #expect(eof)
        await server.shutdown(timeout: .seconds(1))
    }
}
