// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// Holds handlers until the test lets them go (bounded, so nothing outlives the test).
final class Gate: Sendable {
    let open = Atomic<Bool>(false)
    let entered = Atomic<Int>(0)
    func wait() async {
        entered.add(1, ordering: .relaxed)
        for _ in 0..<5000 where !open.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(2)) }
    }
}

@Suite("Server: the application's decision has a deadline", .timeLimit(.minutes(1)))
struct DecisionTimeoutTests {
    @Test func anUndecidedUpgradeGets503AndCloses() async throws {
        let gate = Gate()
        let opened = Atomic<Int>(0)
        var config = WebSocketServer.Configuration()
        config.decisionTimeout = .milliseconds(200)
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onUpgrade: { _ in
            await gate.wait()
            return .accept()
        }) { ws in
            opened.add(1, ordering: .relaxed)
            for await _ in ws {}
        }
        let start = MonotonicClock.now()
        do {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
            Issue.record("connected although the handler never decided")
        } catch {
            #expect(error.status == 503)
        }
        #expect(MonotonicClock.now().nanoseconds - start.nanoseconds >= 150_000_000)
        #expect(gate.entered.load(ordering: .relaxed) == 1)
        for _ in 0..<1000 where server.connectionCount > 0 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(server.connectionCount == 0)
        // The late decision is ignored.
        gate.open.store(true, ordering: .releasing)
        try await Task.sleep(for: .milliseconds(50))
        #expect(opened.load(ordering: .relaxed) == 0)
        #expect(server.connectionCount == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func anUnansweredHTTPRequestGets503() async throws {
        let gate = Gate()
        var config = WebSocketServer.Configuration()
        config.decisionTimeout = .milliseconds(200)
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onHTTPRequest: { _ in
            await gate.wait()
            return HTTPResponse(status: 200, text: "too late")
        }) { _ in }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        gate.open.store(true, ordering: .releasing)
        #expect(eof)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(!text.contains("too late"))
        await server.shutdown(timeout: .seconds(1))
    }

    /// The decision deadline ends with the decision: an accepted connection outlives it.
    @Test func anAcceptedConnectionOutlivesTheDecisionTimeout() async throws {
        var config = WebSocketServer.Configuration()
        config.decisionTimeout = .milliseconds(100)
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onUpgrade: { _ in .accept() }) { ws in
            for await e in ws { if case .text(let t) = e { try? await ws.send(text: t) } }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try await Task.sleep(for: .milliseconds(400))
        var it = ws.makeAsyncIterator()
        try await ws.send(text: "still here")
        #expect(await it.next() == .text("still here"))
        try await ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
