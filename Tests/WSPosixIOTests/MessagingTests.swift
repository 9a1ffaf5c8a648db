// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("RFC 6455 §5 Data and control frames, over loopback", .timeLimit(.minutes(1)))
struct MessagingTests {
    @Test("An event's message: text and binary carry one, the other events none")
    func eventMessage() {
        #expect(WebSocketEvent.text("hé").message == .text("hé"))
        #expect(WebSocketEvent.binary([0, 255]).message == .binary([0, 255]))
        #expect(WebSocketEvent.fragment(Fragment(kind: .text, bytes: [0x61], isFirst: true, isFinal: false)).message == nil)
        #expect(WebSocketEvent.ping([1]).message == nil)
        #expect(WebSocketEvent.pong([1]).message == nil)
        #expect(WebSocketEvent.closed(CloseInfo(code: .normalClosure)).message == nil)
    }

    @Test func fragmentedMessagesAreReassembled() async throws {
        let server = try await Echo.server()
        var config = WebSocket.ClientConfiguration()
        config.connection.fragmentSize = 1000  // RFC 6455 §5.4: 65 frames for 64 KiB
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        var it = ws.makeAsyncIterator()
        let text = Echo.text(count: 64 << 10)
        try await ws.send(.text(text))
        #expect(await Echo.nextData(&it) == .text(text))
        let bytes = Echo.bytes(count: 10_001, seed: 7)
        try await ws.send(.binary(bytes))
        #expect(await Echo.nextData(&it) == .binary(bytes))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func streamingModeDeliversFragments() async throws {
        let pieces = Lock<[Fragment]>([])
        let finalPiece = Signal()
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.connection.deliversFragments = true
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfig) { ws in
            for await e in ws {
                guard case .fragment(let f) = e else { continue }
                pieces.withLock { $0.append(f) }
                if f.isFinal { finalPiece.fire() }
            }
        }
        var config = WebSocket.ClientConfiguration()
        config.connection.fragmentSize = 4
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        try await ws.send(.binary(Array(0..<10)))
        try ws.close()
        var it = ws.makeAsyncIterator()
        _ = await Echo.drain(&it)
        #expect(await finalPiece.wait())
        // Four-byte frames arrive as four-byte fragments (RFC 6455 §5.4), first and last marked.
        #expect(pieces.withLock { $0 } == [
            Fragment(kind: .binary, bytes: [0, 1, 2, 3], isFirst: true, isFinal: false),
            Fragment(kind: .binary, bytes: [4, 5, 6, 7], isFirst: false, isFinal: false),
            Fragment(kind: .binary, bytes: [8, 9], isFirst: false, isFinal: true),
        ])
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func pingIsAnsweredWithItsPayload() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try ws.ping([1, 2, 3])
        var it = ws.makeAsyncIterator()
        #expect(await it.next() == .pong([1, 2, 3]))
        #expect(throws: WebSocketError.usage(.controlPayloadTooLong(126))) { try ws.ping(Array(repeating: 0, count: 126)) }
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func serverPingReachesTheClientAndPongComesBack() async throws {
        let pongs = Lock<[[UInt8]]>([])
        let ponged = Signal()
        let server = try await WebSocketServer.bind(port: 0) { ws in
            do { try ws.ping(Array("are you there".utf8)) } catch { Issue.record("server ping: \(error)") }
            for await e in ws {
                guard case .pong(let p) = e else { continue }
                pongs.withLock { $0.append(p) }
                ponged.fire()
            }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        #expect(await it.next() == .ping(Array("are you there".utf8)))
        #expect(await ponged.wait())
        #expect(pongs.withLock { $0 } == [Array("are you there".utf8)])
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func serverMessagesBeforeItsCloseAreDelivered() async throws {
        let server = try await WebSocketServer.bind(port: 0) { ws in
            do {
                for i in 0..<500 { try await ws.send(.binary([UInt8(i & 0xFF), UInt8(i >> 8)])) }
                try ws.close()
            } catch {
                Issue.record("the server could not send: \(error)")
            }
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

    /// A consumer parked in `next()` (no event to take) is woken by its task's cancellation and
    /// its iteration ends; the connection stays open.
    @Test func cancellingTheConsumerEndsIteration() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let ended = Signal()
        let consumer = Task { () -> Int in
            var n = 0
            for await _ in ws { n += 1 }
            ended.fire()
            return n
        }
        // Wait (bounded) until the consumer is parked waiting for an event, then cancel it.
        for _ in 0..<5000 where !ws.hasParkedConsumer { await Task.yield(); try await Task.sleep(for: .milliseconds(1)) }
        #expect(ws.hasParkedConsumer)
        consumer.cancel()
        #expect(await ended.wait(timeout: .seconds(10)), "cancellation did not wake the parked consumer")
        #expect(await consumer.value == 0)
        #expect(!ws.hasParkedConsumer)
        // The connection is still usable.
        try await ws.send(.text("still here"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("still here"))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    /// Events have one consumer at a time: a second task that comes to wait while another is
    /// parked gets `nil` (its iteration ends) from `next()` and `next(message:)`, instead of
    /// stopping the process; the parked consumer keeps every event.
    @Test func aSecondWaitingConsumerEndsInsteadOfTrapping() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let first = Task { () -> [WebSocketEvent] in
            var all: [WebSocketEvent] = []
            for await e in ws { all.append(e) }
            return all
        }
        for _ in 0..<5000 where !ws.hasParkedConsumer { await Task.yield(); try await Task.sleep(for: .milliseconds(1)) }
        #expect(ws.hasParkedConsumer)
        var second = ws.makeAsyncIterator()
        #expect(await second.next() == nil)
        #expect(await second.next(message: { _, bytes in bytes.count }) == nil)
        #expect(ws.hasParkedConsumer)
        try await Self.expectEchoThenClose(ws, to: first, server)
    }

    /// A second consumer that came to wait in the same moment as the first (its look found no
    /// one waiting, then the first parked) and is cancelled before it parks gets `nil` and
    /// leaves the first parked: the first still gets the next message and `.closed`. Before,
    /// its cancellation handler resumed whichever waiter was parked, so the first's iteration
    /// ended with the connection open. `inPlace`: the second waits as `next(message:)` does.
    @Test(arguments: [false, true])
    func aCancelledSecondConsumerLeavesTheFirstWaiting(inPlace: Bool) async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let channel = ws.channel
        // The second consumer's look, as `next()` and `next(message:)` begin: nothing to take, no one waiting.
        let looked: Bool
        if inPlace {
            if case .queued(.wait) = channel.takeInPlace() { looked = true } else { looked = false }
        } else {
            if case .wait = channel.takeEvent() { looked = true } else { looked = false }
        }
        #expect(looked, "the second consumer was not told to wait")
        let first = Task { () -> [WebSocketEvent] in
            var all: [WebSocketEvent] = []
            for await e in ws { all.append(e) }
            return all
        }
        let deadline = MonotonicClock.now() + .seconds(20)
        while !ws.hasParkedConsumer && MonotonicClock.now() < deadline { await Task.yield() }
        #expect(ws.hasParkedConsumer)
        // The second goes on to wait, cancelled: its handler runs as it enters the wait.
        let second = Task { () -> WebSocketEvent? in
            withUnsafeCurrentTask { $0?.cancel() }
            return inPlace ? await channel.waitInPlace() : await channel.nextEvent(after: .wait)
        }
        #expect(await second.value == nil)
        #expect(ws.hasParkedConsumer, "the second consumer's cancellation resumed the first")
        try await Self.expectEchoThenClose(ws, to: first, server)
    }

    /// Sends "one" through the echo server and closes: the consumer `first` must get exactly
    /// the echo, then `.closed` with 1000.
    static func expectEchoThenClose(_ ws: WebSocket, to first: Task<[WebSocketEvent], Never>, _ server: WebSocketServer,
                                    sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await ws.send(.text("one"))
        try ws.close()
        let events = await first.value
        #expect(events.count == 2, sourceLocation: sourceLocation)
        #expect(events.first == .text("one"), sourceLocation: sourceLocation)
        if case .closed(let info)? = events.last {
            #expect(info.code == .normalClosure, sourceLocation: sourceLocation)
        } else {
            Issue.record("no close", sourceLocation: sourceLocation)
        }
        await server.shutdown(timeout: .seconds(1))
    }
}

extension WebSocket {
    /// A consumer is suspended in `next()`, waiting for an event.
    var hasParkedConsumer: Bool { channel.state.withLock { $0.eventWaiter != nil } }
    /// The calling task is the one the server started for this connection's handler.
    var isServerHandlerTask: Bool {
        let current = channel.currentTask
        return current != 0 && channel.state.withLock { $0.handlerTask } == current
    }
    /// Some task is recorded as the server's handler task.
    var hasServerHandlerTask: Bool { channel.state.withLock { $0.handlerTask != 0 } }
}

/// The server's own handler task waits for events without a cancellation handler per wait
/// (nothing outside can cancel it); any other task keeps one, so cancelling it still ends its
/// iteration.
@Suite("The server's handler task", .timeLimit(.minutes(1)))
struct HandlerTaskTests {
    @Test func onlyTheHandlersOwnTaskSkipsTheCancellationHandler() async throws {
        struct Seen { var inHandler = false, inOtherTask = true, otherTaskEnded = false, otherCount = -1 }
        let seen = Lock(Seen())
        let handlerReturned = Signal()
        let otherDone = Signal()
        let socketHolder = Lock<WebSocket?>(nil)
        let server = try await WebSocketServer.bind(port: 0) { ws in
            socketHolder.withLock { $0 = ws }
            let mine = ws.isServerHandlerTask
            // Another task iterating the same connection: parked, then cancelled; it must wake.
            let other = Task { () -> (Bool, Int) in
                let flag = ws.isServerHandlerTask
                var n = 0
                for await _ in ws { n += 1 }
                return (flag, n)
            }
            for _ in 0..<5000 where !ws.hasParkedConsumer { await Task.yield(); try? await Task.sleep(for: .milliseconds(1)) }
            other.cancel()
            let (flag, n) = await other.value
            seen.withLock { $0 = Seen(inHandler: mine, inOtherTask: flag, otherTaskEnded: true, otherCount: n) }
            otherDone.fire()
            // Then the handler's own iteration: the echo of one message, until the close.
            for await event in ws {
                if case .text(let t) = event { try? await ws.send(.text(t)) }
            }
            handlerReturned.fire()
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        // Nothing is sent before the other task's iteration ended (it would take the message).
        #expect(await otherDone.wait(timeout: .seconds(10)))
        try await ws.send(.text("after the other task"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("after the other task"))
        let s = seen.withLock { $0 }
        #expect(s.inHandler)
        #expect(!s.inOtherTask)
        #expect(s.otherTaskEnded)
        #expect(s.otherCount == 0)
        try ws.close()
        #expect(await handlerReturned.wait(timeout: .seconds(10)))
        // The record ends with the handler (a finished task's identity may be reused).
        let serverSide = try #require(socketHolder.withLock { $0 })
        for _ in 0..<5000 where serverSide.hasServerHandlerTask { try await Task.sleep(for: .milliseconds(1)) }
        #expect(!serverSide.hasServerHandlerTask)
        await server.shutdown(timeout: .seconds(1))
    }
}

@Suite("Control frames from a loop-thread event handler", .timeLimit(.minutes(1)))
struct EnqueueControlTests {
    /// What the handler's calls threw, in order (`nil`: succeeded).
    static func attempt(_ body: () throws(WebSocketError) -> Void) -> WebSocketError? {
        do { try body(); return nil } catch { return error }
    }

    @Test func handlerPingsPongsAndClosesWithoutSuspending() async throws {
        let results = Lock<[String: [WebSocketError?]]>([:])
        let serverPongs = Lock<[[UInt8]]>([])
        let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
            switch event {
            case .text("ping"):
                let r = [Self.attempt { () throws(WebSocketError) in try ws.ping([1, 2, 3]) },
                         Self.attempt { () throws(WebSocketError) in try ws.ping([UInt8](repeating: 0, count: 126)) }]
                results.withLock { $0["ping"] = r }
            case .text("pong"):
                results.withLock { $0["pong"] = [Self.attempt { () throws(WebSocketError) in try ws.pong([9]) }] }
            case .text("close"):
                let r = [Self.attempt { () throws(WebSocketError) in try ws.enqueue(.text("last")) },
                         Self.attempt { () throws(WebSocketError) in try ws.close(code: CloseCode(4002), reason: "done") },
                         Self.attempt { () throws(WebSocketError) in try ws.close() },
                         Self.attempt { () throws(WebSocketError) in try ws.ping() },
                         Self.attempt { () throws(WebSocketError) in try ws.pong() }]
                results.withLock { $0["close"] = r }
            case .pong(let p):
                serverPongs.withLock { $0.append(p) }
            default:
                break
            }
        })
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        try await ws.send(.text("ping"))
        #expect(await it.next() == .ping([1, 2, 3]))  // the client's core answers it with a pong
        try await ws.send(.text("pong"))
        #expect(await it.next() == .pong([9]))
        try await ws.send(.text("close"))
        #expect(await it.next() == .text("last"))     // queued before the close frame
        guard case .closed(let info)? = await it.next() else { Issue.record("no close"); return }
        #expect(info.code == CloseCode(4002))
        #expect(info.reason == "done")
        #expect(info.isClean)
        #expect(await it.next() == nil)
        let r = results.withLock { $0 }
        #expect(r["ping"] == [nil, .usage(.controlPayloadTooLong(126))])
        #expect(r["pong"] == [nil])
        #expect(r["close"] == [nil, nil, .closed, .closed, .closed])
        #expect(serverPongs.withLock { $0 } == [[1, 2, 3]])
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func invalidCloseCodeIsAUsageError() async throws {
        let result = Lock<WebSocketError??>(nil)
        let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
            if case .text = event {
                let e = EnqueueControlTests.attempt { () throws(WebSocketError) in try ws.close(code: CloseCode(1005)) }
                result.withLock { $0 = .some(e) }
                do { try ws.enqueue(.text("ok")) } catch { Issue.record("enqueue: \(error)") }
            }
        })
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        try await ws.send(.text("x"))
        #expect(await it.next() == .text("ok"))  // the connection stays open
        #expect(result.withLock { $0 } == .some(.usage(.invalidCloseCode(1005))))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
