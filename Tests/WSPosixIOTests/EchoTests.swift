// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Dispatch
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Loopback: our client against our server", .timeLimit(.minutes(1)))
struct EchoTests {
    @Test("Text and binary messages echo intact", arguments: [0, 125, 64 << 10, 1 << 20, 16 << 20])
    func echo(size: Int) async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        let text = Echo.text(count: size)
        try await ws.send(.text(text))
        #expect(await Echo.nextData(&it) == .text(text))
        let bytes = Echo.bytes(count: size, seed: UInt64(size))
        try await ws.send(.binary(bytes))
        #expect(await Echo.nextData(&it) == .binary(bytes))
        try ws.close()
        let rest = await Echo.drain(&it)
        guard case .closed(let info)? = rest.last else { Issue.record("no closed event: \(rest)"); return }
        #expect(info.code == .normalClosure)
        #expect(info.isClean)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("An event handler on the loop thread echoes too", arguments: [0, 125, 64 << 10, 1 << 20])
    func inlineEcho(size: Int) async throws {
        let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
            switch event {
            case .text(let t): try? ws.enqueue(.text(t))
            case .binary(let b): try? ws.enqueue(.binary(b))
            default: break
            }
        })
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        // Several messages in a row: the replies of one batch go out together, in order.
        let texts = (0..<5).map { Echo.text(count: size) + "\($0)" }
        for t in texts { try await ws.send(.text(t)) }
        for t in texts { #expect(await Echo.nextData(&it) == .text(t)) }
        let bytes = Echo.bytes(count: size, seed: 9)
        try await ws.send(.binary(bytes))
        #expect(await Echo.nextData(&it) == .binary(bytes))
        try ws.close()
        let rest = await Echo.drain(&it)
        guard case .closed(let info)? = rest.last else { Issue.record("no closed event: \(rest)"); return }
        #expect(info.code == .normalClosure)
        for _ in 0..<500 where server.connectionCount > 0 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(server.connectionCount == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("Random mixes of sizes, kinds, fragmentation and pings echo intact", arguments: [1, 2, 3] as [UInt64])
    func randomMix(seed: UInt64) async throws {
        var rng = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int((rng >> 33) % UInt64(bound))
        }
        let server = try await Echo.server()
        var config = WebSocket.ClientConfiguration()
        config.connection.fragmentSize = [nil, 1, 7, 1000, 65536][next(5)]
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        var it = ws.makeAsyncIterator()
        var expected: [WebSocketEvent] = []
        for k in 0..<60 {
            let size = [0, 1, 125, 126, 65535, 65536, next(200_000)][next(7)]
            if next(2) == 0 {
                let t = Echo.text(count: size)
                try await ws.send(.text(t))
                expected.append(.text(t))
            } else {
                let b = Echo.bytes(count: size, seed: seed &+ UInt64(k))
                try await ws.send(.binary(b))
                expected.append(.binary(b))
            }
            if next(4) == 0 { try ws.ping([UInt8(k)]) }
        }
        var received: [WebSocketEvent] = []
        while received.count < expected.count, let e = await Echo.nextData(&it) { received.append(e) }
        #expect(received == expected, "seed \(seed)")
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func clientTaskOnItsLoopRunsOnTheLoopThread() async throws {
        let onLoop = Lock<[Bool]>([])
        let server = try await WebSocketServer.bind(port: 0) { ws in
            onLoop.withLock { $0.append(ws.eventLoop.inEventLoop) }  // server handlers run on the loop
            for await e in ws { if case .text(let t) = e { try? await ws.send(.text(t)) } }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let replies = try await Task(executorPreference: ws.eventLoop) { () async throws -> [WebSocketEvent?] in
            var it = ws.makeAsyncIterator()
            var out: [WebSocketEvent?] = []
            for k in 0..<100 {
                try await ws.send(.text("m\(k)"))
                out.append(await it.next())
                onLoop.withLock { $0.append(ws.eventLoop.inEventLoop) }
            }
            return out
        }.value
        #expect(replies == (0..<100).map { Optional(WebSocketEvent.text("m\($0)")) })
        #expect(onLoop.withLock { $0.count == 101 && $0.allSatisfy { $0 } })
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    /// An actor iterating a connection stays on its own executor after every wait, whichever
    /// form it calls (`next()`, the `for await` requirement `next(isolation:)`,
    /// `next(message:)`): the waits resume on the loop that delivers, and the iterator hops back.
    @Test func anActorConsumerStaysOnItsExecutor() async throws {
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await e in ws { if case .text(let t) = e { try? await ws.send(.text(t)) } }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let consumer = QueueBoundConsumer()
        #expect(!QueueBoundConsumer.onAQueue)  // the check tells
        let seen = try await consumer.consume(ws, rounds: 30)
        #expect(seen.replies == (0..<90).map { "m\($0)" })
        #expect(seen.onQueue == Array(repeating: true, count: 90))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}

/// An actor whose jobs run on a dispatch queue it can recognise (a queue-specific value), so a
/// test can tell, without trapping, whether its code runs where its isolation says.
actor QueueBoundConsumer {
    final class QueueExecutor: SerialExecutor {
        let queue = DispatchQueue(label: "QueueBoundConsumer")
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
        }
    }
    private static let key = DispatchSpecificKey<Int>()
    private let executor = QueueExecutor()
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    init() { executor.queue.setSpecific(key: Self.key, value: 1) }

    /// Whether the caller runs on a consumer's queue (any of them).
    nonisolated static var onAQueue: Bool { DispatchQueue.getSpecific(key: key) == 1 }
    private var onItsQueue: Bool { Self.onAQueue }

    func consume(_ ws: WebSocket, rounds: Int) async throws -> (replies: [String], onQueue: [Bool]) {
        var it = ws.makeAsyncIterator()
        var replies: [String] = []
        var onQueue: [Bool] = []
        for k in 0..<rounds {
            try await ws.send(.text("m\(3 * k)"))
            if case .text(let t)? = await it.next() { replies.append(t) }
            onQueue.append(onItsQueue)
            try await ws.send(.text("m\(3 * k + 1)"))
            if case .text(let t)? = await it.next(isolation: self) { replies.append(t) }
            onQueue.append(onItsQueue)
            try await ws.send(.text("m\(3 * k + 2)"))
            if case .message(let t)? = await it.next(message: { _, bytes in String(decoding: bytes, as: UTF8.self) }) {
                replies.append(t)
            }
            onQueue.append(onItsQueue)
        }
        return (replies, onQueue)
    }
}
