// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// A server writes large payloads by reference (header in the outbound buffer, payload as its own
/// segment, one gathered write): every frame still arrives whole and in order, close last.
@Suite("Large server payloads without the outbound copy", .timeLimit(.minutes(1)))
struct LargePayloadTests {
    /// Small and large messages (below, at and far above the 16 KiB threshold), interleaved.
    static let script: [WebSocketEvent] = {
        var events: [WebSocketEvent] = []
        for (i, size) in [64 << 10, 1 << 20, 16 << 10, 16 << 20, (16 << 10) - 1, 64 << 10].enumerated() {
            events.append(.text("small \(i)"))
            events.append(.binary(Echo.bytes(count: size, seed: UInt64(i + 1))))
            events.append(.binary([UInt8(i)]))
        }
        events.append(.text(Echo.text(count: 64 << 10)))
        return events
    }()

    /// Echoes every data message; on the text "bye" closes right after the echoes (no wait).
    static func echo(_ ws: WebSocket, _ event: WebSocketEvent, inline: Bool) async {
        switch event {
        case .text("bye"):
            if inline { try? ws.close(code: .normalClosure, reason: "done") } else {
                try? ws.close(code: .normalClosure, reason: "done")
            }
        case .text(let t): if inline { try? ws.enqueue(.text(t)) } else { try? await ws.send(.text(t)) }
        case .binary(let b): if inline { try? ws.enqueue(.binary(b)) } else { try? await ws.send(.binary(b)) }
        default: break
        }
    }

    @Test("Echoes of 64 KiB, 1 MiB and 16 MiB messages among small ones arrive intact, in order, before the close",
          arguments: [false, true])
    func interleavedEchoThenClose(inline: Bool) async throws {
        let server: WebSocketServer
        if inline {
            server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
                switch event {
                case .text("bye"): try? ws.close(code: .normalClosure, reason: "done")
                case .text(let t): try? ws.enqueue(.text(t))
                case .binary(let b): try? ws.enqueue(.binary(b))
                default: break
                }
            })
        } else {
            server = try await WebSocketServer.bind(port: 0) { ws in
                for await event in ws { await Self.echo(ws, event, inline: false) }
            }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        // Everything is sent before anything is read: the replies queue up on the server.
        for event in Self.script {
            switch event {
            case .text(let t): try await ws.send(.text(t))
            case .binary(let b): try await ws.send(.binary(b))
            default: break
            }
        }
        try await ws.send(.text("bye"))
        var received: [WebSocketEvent] = []
        while let e = await it.next() {
            received.append(e)
            if case .closed = e { break }
        }
        try #require(received.count == Self.script.count + 1)
        for (index, expected) in Self.script.enumerated() where received[index] != expected {
            Issue.record("message \(index) differs")
        }
        guard case .closed(let info) = received.last else { Issue.record("no closed event"); return }
        #expect(info.code == .normalClosure)
        #expect(info.reason == "done")
        #expect(info.isClean)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("A slow reader: 1 MiB payloads are written in parts, counted while queued, and arrive whole")
    func slowReaderGetsWholePayloads() async throws {
        let total = 24
        let messages = (0..<total).map { Echo.bytes(count: 1 << 20, seed: UInt64(100 + $0)) }
        let progress = SendProgress((0, 0))
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.flowControl = FlowControl(highWaterMark: 256 << 10, lowWaterMark: 64 << 10)
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfig) { ws in
            for (i, message) in messages.enumerated() {
                do {
                    try await ws.send(.binary(message))
                    try await ws.send(.text("after \(i)"))
                } catch { break }
                let buffered = ws.bufferedAmount
                progress.withLock { $0.sent += 1; $0.maxBuffered = max($0.maxBuffered, buffered) }
            }
            try? ws.close(code: .normalClosure, reason: "sent all")
            for await _ in ws {}
        }
        var config = WebSocket.ClientConfiguration()
        config.flowControl = FlowControl(maxBufferedEvents: 2)
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        // Don't read until the server's sends stall (bounded wait).
        let stalled = try await progress.waitUntilStalled(ws, polling: .milliseconds(50))
        #expect(stalled.sent < total)
        // A stalled send returned only once the queue fell to the low-water mark; the segment
        // being written counts in bufferedAmount, so the most seen is at most one message above.
        #expect(progress.withLock { $0.maxBuffered } <= (256 << 10) + (1 << 20) + 64)
        // Read slowly, a little at a time: every payload arrives whole and in order.
        var it = ws.makeAsyncIterator()
        for i in 0..<total {
            if i % 4 == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let payload = await it.next()
            if payload != .binary(messages[i]) { Issue.record("payload \(i) corrupted or out of order"); return }
            let text = await it.next()
            if text != .text("after \(i)") { Issue.record("text \(i): \(String(describing: text))"); return }
        }
        let rest = await Echo.drain(&it)
        guard case .closed(let info)? = rest.last, rest.count == 1 else { Issue.record("after the data: \(rest.count) events"); return }
        #expect(info.code == .normalClosure)
        #expect(info.reason == "sent all")
        #expect(progress.withLock { $0.maxBuffered } <= (256 << 10) + (1 << 20) + 64)
        await server.shutdown(timeout: .seconds(1))
    }
}
