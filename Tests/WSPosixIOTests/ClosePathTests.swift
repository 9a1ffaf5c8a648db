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
    /// hold, reaches the client before the close frame.
    @Test func bigMessagesQueuedBeforeCloseArriveFirst() async throws {
        let message = Echo.bytes(count: 4 << 20, seed: 11)
        let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
            if case .text("go") = event {
                for _ in 0..<4 { try? ws.enqueue(.binary(message)) }
                try? ws.close(code: CloseCode(4003), reason: "after the data")
            }
        })
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try await ws.send(.text("go"))
        // The server's buffer backs up (16 MiB queued before the close frame) before we read.
        #expect(try await Self.backlog(server, atLeast: 4 << 20))
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        #expect(events.count == 5)
        #expect(events.prefix(4).allSatisfy { $0 == .binary(message) })
        guard case .closed(let info)? = events.last else { Issue.record("no close"); return }
        #expect(info.code == CloseCode(4003))
        #expect(info.isClean)
        await server.shutdown(timeout: .seconds(1))
    }
}
