// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
import WSPosixIO
import WSProtocol

@Suite("RFC 6455 §5 Data and control frames, over loopback", .timeLimit(.minutes(1)))
struct MessagingTests {
    @Test func fragmentedMessagesAreReassembled() async throws {
        let server = try await Echo.server()
        var config = WebSocket.ClientConfiguration()
        config.connection.fragmentSize = 1000  // RFC 6455 §5.4: 65 frames for 64 KiB
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        var it = ws.makeAsyncIterator()
        let text = Echo.text(count: 64 << 10)
        try await ws.send(text: text)
        #expect(await Echo.nextData(&it) == .text(text))
        let bytes = Echo.bytes(count: 10_001, seed: 7)
        try await ws.send(binary: bytes)
        #expect(await Echo.nextData(&it) == .binary(bytes))
        try await ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func streamingModeDeliversFragments() async throws {
        let pieces = Mutex<[Fragment]>([])
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.connection.deliversFragments = true
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfig) { ws in
            for await e in ws { if case .fragment(let f) = e { pieces.withLock { $0.append(f) } } }
        }
        var config = WebSocket.ClientConfiguration()
        config.connection.fragmentSize = 4
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        try await ws.send(binary: Array(0..<10))
        try await ws.close()
        var it = ws.makeAsyncIterator()
        _ = await Echo.drain(&it)
        for _ in 0..<500 where pieces.withLock({ $0.last?.isFinal != true }) { try await Task.sleep(for: .milliseconds(2)) }
        let got = pieces.withLock { $0 }
        #expect(got.flatMap(\.bytes) == Array(0..<10))
        #expect(got.first?.isFirst == true)
        #expect(got.last?.isFinal == true)
        #expect(got.allSatisfy { $0.kind == .binary })
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func pingIsAnsweredWithItsPayload() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try await ws.ping([1, 2, 3])
        var it = ws.makeAsyncIterator()
        #expect(await it.next() == .pong([1, 2, 3]))
        await #expect(throws: WebSocketError.usage(.controlPayloadTooLong(126))) { try await ws.ping(Array(repeating: 0, count: 126)) }
        try await ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func serverPingReachesTheClientAndPongComesBack() async throws {
        let pong = Mutex<[UInt8]?>(nil)
        let server = try await WebSocketServer.bind(port: 0) { ws in
            try? await ws.ping(Array("are you there".utf8))
            for await e in ws { if case .pong(let p) = e { pong.withLock { $0 = p } } }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        #expect(await it.next() == .ping(Array("are you there".utf8)))
        for _ in 0..<500 where pong.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(2)) }
        #expect(pong.withLock { $0 } == Array("are you there".utf8))
        try await ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func rawBytesUseTheDefaultMessageKind() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        #expect(ws.defaultMessageKind == .binary)
        try await ws.send(Array("abc".utf8))
        #expect(await Echo.nextData(&it) == .binary(Array("abc".utf8)))
        ws.defaultMessageKind = .text
        try await ws.send(Array("abc".utf8))
        #expect(await Echo.nextData(&it) == .text("abc"))
        await #expect(throws: WebSocketError.usage(.invalidUTF8)) { try await ws.send([0xFF]) }
        try await ws.close()
        await #expect(throws: WebSocketError.closed) { try await ws.send(text: "too late") }
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func serverMessagesBeforeItsCloseAreDelivered() async throws {
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for i in 0..<500 { try? await ws.send(binary: [UInt8(i & 0xFF), UInt8(i >> 8)]) }
            try? await ws.close()
            for await _ in ws {}
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        #expect(events.count == 501)
        let expected: [WebSocketEvent] = (0..<500).map { (i: Int) -> WebSocketEvent in .binary([UInt8(i & 0xFF), UInt8(i >> 8)]) }
        #expect(Array(events.prefix(500)) == expected)
        if case .closed(let info)? = events.last { #expect(info.code == .normalClosure) } else { Issue.record("no close") }
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func cancellingTheConsumerEndsIteration() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let consumer = Task { () -> Int in
            var n = 0
            for await _ in ws { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        #expect(await consumer.value == 0)
        // The connection is still usable.
        try await ws.send(text: "still here")
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("still here"))
        try await ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
