// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTestSupport

/// `WebSocket.AsyncIterator.next(message:)`: data messages borrowed by an async consumer, lent
/// in place from the loop's read buffer when the consumer runs on the connection's loop
/// (`Channel+InPlace.swift`), copied into events otherwise, always in arrival order.
@Suite("Messages borrowed in place by an async consumer", .timeLimit(.minutes(1)))
struct InPlaceAsyncTests {
    static func masked(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        InPlaceMessageTests.masked(opcode, payload, fin: fin)
    }
    static func frames(_ bytes: [UInt8]) -> [(opcode: UInt8, payload: [UInt8])] { InPlaceMessageTests.frames(bytes) }

    /// What one message looked like to the consumer: its kind and text, and whether its bytes
    /// lay in the loop's read buffer.
    static func describe(_ ws: WebSocket, _ kind: Message.Kind, _ bytes: UnsafeRawBufferPointer) -> String {
        let buffer = UnsafeRawBufferPointer(ws.eventLoop.readBuffer)
        let lent = bytes.count > 0 && bytes.baseAddress! >= buffer.baseAddress!
            && bytes.baseAddress! + bytes.count <= buffer.baseAddress! + buffer.count
        let text = kind == .text ? String(decoding: bytes, as: UTF8.self) : bytes.map { String($0, radix: 16) }.joined()
        return "\(kind):\(text)\(lent ? "" : " (copied)")"
    }

    static func describe(_ event: WebSocketEvent) -> String {
        switch event {
        case .ping(let p): return "ping:\(String(decoding: p, as: UTF8.self))"
        case .closed(let info): return "closed:\(info.code.rawValue)"
        default: return "event:\(event)"
        }
    }

    /// Says "ready" to the client: the task sending it waits in `next(message:)` before the
    /// loop reads again, so what the client sends after reading it finds the task waiting.
    static func ready(_ ws: WebSocket) { try? ws.enqueue(.text("ready")) }

    /// Upgrades a raw client and reads the server's "ready".
    static func upgradeWhenReady(_ address: SocketAddress) async throws -> RawTCP {
        let raw = try await RawTCP.connect(address)
        try raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let reply = try await raw.read(until: { bytes in
            guard let end = bytes.firstRange(of: [13, 10, 13, 10])?.upperBound else { return false }
            return !frames(Array(bytes[end...])).isEmpty
        }, timeout: .seconds(10))
        let end = try #require(reply.firstRange(of: [13, 10, 13, 10])?.upperBound)
        #expect(String(decoding: reply[..<end], as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
        #expect(frames(Array(reply[end...])).map(\.payload) == [Array("ready".utf8)])
        return raw
    }

    /// An echo server whose connection tasks read with `next(message:)` and log what they saw.
    static func loggingEchoServer(_ log: HandlerLog, closed: Signal) async throws -> WebSocketServer {
        try await WebSocketServer.bind(port: 0, onConnection: { ws in
            ready(ws)
            var events = ws.makeAsyncIterator()
            while let next = await events.next(message: { kind, bytes in
                log.add(describe(ws, kind, bytes))
                try? ws.enqueue(kind, bytes: bytes)
            }) {
                if case .event(let event) = next { log.add(describe(event)) }
            }
            closed.fire()
        })
    }

    /// An echo server whose connection tasks read with `next(message:)` and echo with
    /// `enqueue(_:bytes:)`; `closed` fires when a task's iteration ends.
    static func echoServer(_ configuration: WebSocketServer.Configuration, closed: Signal) async throws -> WebSocketServer {
        try await WebSocketServer.bind(port: 0, configuration: configuration, onConnection: { ws in
            ready(ws)
            var events = ws.makeAsyncIterator()
            while await events.next(message: { kind, bytes in try? ws.enqueue(kind, bytes: bytes) }) != nil {}
            closed.fire()
        })
    }

    /// One message at a time: each is lent where it lies in the read buffer (no copy) and
    /// echoed intact. Fails when the driver does not read in place for a waiting task.
    @Test func messagesOneAtATimeAreLentFromTheReadBuffer() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.loggingEchoServer(log, closed: closed)
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        var expected: [String] = []
        for i in 0..<20 {
            let text = "message \(i)"
            try raw.write(bytes: i % 2 == 0 ? Self.masked(0x1, Array(text.utf8)) : Self.masked(0x2, [UInt8(i), 0xFF]))
            let reply = try await raw.read(until: { Self.frames($0).count == 1 }, timeout: .seconds(10))
            let frame = try #require(Self.frames(reply).first)
            #expect(frame.opcode == (i % 2 == 0 ? 0x1 : 0x2))
            #expect(frame.payload == (i % 2 == 0 ? Array(text.utf8) : [UInt8(i), 0xFF]))
            expected.append(i % 2 == 0 ? "text:\(text)" : "binary:\(String(i, radix: 16))ff")
        }
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        #expect(log.all == expected + ["closed:1000"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Messages among other events in one read (a ping, a fragmented message): copied into
    /// events, in arrival order, the data ones still handed to the closure.
    @Test func messagesAmongOtherEventsArriveInOrder() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.loggingEchoServer(log, closed: closed)
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        try raw.write(bytes: InPlaceMessageTests.mixedBurst)
        let reply = try await raw.read(until: { Self.frames($0).count >= 4 }, timeout: .seconds(10))
        #expect(Self.frames(reply).filter { $0.opcode != 0xA }.map { "\($0.opcode):\($0.payload)" } == [
            "1:\(Array("a".utf8))", "2:[1, 2, 3]", "1:\(Array("fragment".utf8))",
        ])
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        #expect(log.all == ["text:a (copied)", "ping:p", "binary:123 (copied)", "text:fragment (copied)", "closed:1000"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Far more small messages than one read buffer holds, piled up in the kernel while the
    /// loop is held, so that its reads fill the buffer: every echo intact and in order. The
    /// driver must not read into the buffer again before the task has taken, or the loop has
    /// copied, what was lent from it (reading on after a lend loses or corrupts messages).
    @Test func aBurstLargerThanTheReadBufferEchoesIntact() async throws {
        let group = EventLoopGroup(threadCount: 1)  // a loop of its own, held below
        var configuration = WebSocketServer.Configuration()
        configuration.group = group
        let closed = Signal()
        let server = try await Self.echoServer(configuration, closed: closed)
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        let count = 30_000  // 38 B frames: 1.1 MB, more than four 256 KiB reads
        let payloads = (0..<count).map { i in
            let id = [UInt8(i & 0xFF), UInt8(i >> 8 & 0xFF), UInt8(i >> 16)]
            return (0..<32).map { id[$0 % 3] ^ UInt8($0) }
        }
        let input = payloads.reduce(into: [UInt8]()) { $0 += Self.masked(0x2, $1) }
        let expectedLength = count * (2 + 32)
        let release = DispatchSemaphore(value: 0), holding = Signal()
        try group.loops[0].execute { holding.fire(); release.wait() }
        #expect(await holding.wait())
        var offset = 0
        func writeSome() throws -> Int {
            let n = try input.withUnsafeBytes { try Sys.write(raw.descriptor, UnsafeRawBufferPointer(rebasing: $0[offset...])) } ?? 0
            offset += n
            return n
        }
        while offset < input.count, try writeSome() > 0 {}  // until the kernel's buffers are full
        #expect(offset >= 2 * EventLoop.readBufferSize, "only \(offset) bytes waiting for the loop")
        release.signal()
        async let echoed = raw.read(until: { $0.count >= expectedLength }, timeout: .seconds(30))
        while offset < input.count {
            if try writeSome() == 0 { try await Task.sleep(for: .milliseconds(1)) }  // full: the server catches up
        }
        let reply = try await echoed
        #expect(reply.count == expectedLength)
        let frames = Self.frames(reply)
        #expect(frames.count == count)
        #expect(frames.indices.first { frames[$0].opcode != 0x2 || frames[$0].payload != payloads[$0] } == nil)
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        await server.shutdown(timeout: .seconds(1))
    }

    /// The consumer takes the first of three lent messages, then waits on something else while
    /// another connection on the same loop is read into the same buffer: the two messages it
    /// had not taken were copied out before that read, and reach it intact. Fails without the
    /// loop's spill (the task would read the other connection's bytes).
    @Test func lentMessagesNotTakenAreCopiedBeforeTheBufferIsReused() async throws {
        let group = EventLoopGroup(threadCount: 1)  // both connections on one loop, one read buffer
        var configuration = WebSocketServer.Configuration()
        configuration.group = group
        let log = HandlerLog(), tookFirst = Signal(), gate = Signal(), closedA = Signal()
        let order = Lock(0)
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration, onConnection: { ws in
            let isA = order.withLock { n -> Bool in n += 1; return n == 1 }
            var events = ws.makeAsyncIterator()
            if isA {
                Self.ready(ws)
                _ = await events.next(message: { kind, bytes in log.add(Self.describe(ws, kind, bytes)) })
                tookFirst.fire()
                _ = await gate.wait()
                while let next = await events.next(message: { kind, bytes in log.add(Self.describe(ws, kind, bytes)) }) {
                    if case .event(let event) = next { log.add(Self.describe(event)) }
                }
                closedA.fire()
            } else {
                while await events.next(message: { kind, bytes in try? ws.enqueue(kind, bytes: bytes) }) != nil {}
            }
        })
        let a = try await Self.upgradeWhenReady(server.localAddress)
        try a.write(bytes: Self.masked(0x1, Array("one!".utf8)) + Self.masked(0x1, Array("two!".utf8))
                    + Self.masked(0x1, Array("six!".utf8)))
        #expect(await tookFirst.wait())
        let b = try await BoundsTests.rawUpgrade(server.localAddress)
        // B's frames (and its upgrade before them) land where A's lay in the shared buffer.
        try b.write(bytes: Self.masked(0x1, Array("BBBB".utf8)) + Self.masked(0x1, Array("CCCC".utf8))
                    + Self.masked(0x1, Array("DDDD".utf8)))
        let echo = try await b.read(until: { Self.frames($0).count == 3 }, timeout: .seconds(10))
        #expect(Self.frames(echo).map { String(decoding: $0.payload, as: UTF8.self) } == ["BBBB", "CCCC", "DDDD"])
        gate.fire()
        try a.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closedA.wait())
        #expect(log.all == ["text:one!", "text:two! (copied)", "text:six! (copied)", "closed:1000"])
        await server.shutdown(timeout: .seconds(1))

    }

    /// An echo server whose tasks take the first message with `next(message:)` and the rest
    /// with `next()`, logging what they saw.
    static func mixedEchoServer(_ log: HandlerLog, closed: Signal) async throws -> WebSocketServer {
        try await WebSocketServer.bind(port: 0, onConnection: { ws in
            Self.ready(ws)
            var events = ws.makeAsyncIterator()
            _ = await events.next(message: { kind, bytes in
                log.add(Self.describe(ws, kind, bytes))
                try? ws.enqueue(kind, bytes: bytes)
            })
            while let event = await events.next() {
                switch event {
                case .text(let text):
                    log.add("event text:\(text)")
                    try? ws.enqueue(.text(text))
                default: log.add(Self.describe(event))
                }
            }
            closed.fire()
        })
    }

    static func texts(_ frames: [(opcode: UInt8, payload: [UInt8])]) -> [String] {
        frames.map { "\($0.opcode):\($0.opcode == 0x8 ? "\($0.payload)" : String(decoding: $0.payload, as: UTF8.self))" }
    }

    /// A consumer that takes one lent message with `next(message:)` and the rest with `next()`
    /// gets them all, in order, as events, and every echo goes out before our close.
    @Test func lentMessagesReachAPlainIteratorInOrder() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.mixedEchoServer(log, closed: closed)
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        try raw.write(bytes: Self.masked(0x1, Array("first".utf8)) + Self.masked(0x1, Array("second".utf8))
                      + Self.masked(0x1, Array("third".utf8)))
        let echoes = try await raw.read(until: { Self.frames($0).count == 3 }, timeout: .seconds(10))
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        let (rest, eof) = try await raw.readToEnd(timeout: .seconds(10))
        #expect(eof)
        #expect(Self.texts(Self.frames(echoes + rest)) == ["1:first", "1:second", "1:third", "8:[3, 232]"])
        #expect(await closed.wait())
        #expect(log.all == ["text:first", "event text:second", "event text:third", "closed:1000"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// The server's handler task that took the last lent message waits at once on its next
    /// call (one lock round, `parkFirst`); that wait still reports the messages answered, so
    /// the peer's close that follows the echoes is answered at once, not held for the answer
    /// timeout (50 s here; the read below gives up after 10).
    @Test func aCloseAfterTheLastLentMessageIsAnsweredAtOnce() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.connection.answerTimeout = .seconds(50)
        let closed = Signal()
        let server = try await Self.echoServer(configuration, closed: closed)
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        for i in 0..<3 {
            try raw.write(bytes: Self.masked(0x1, Array("message \(i)".utf8)))
            let echo = try await raw.read(until: { Self.frames($0).count == 1 }, timeout: .seconds(10))
            #expect(Self.texts(Self.frames(echo)) == ["1:message \(i)"])
        }
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        let reply = try await raw.read(until: { Self.frames($0).count == 1 }, timeout: .seconds(10))
        #expect(Self.texts(Self.frames(reply)) == ["8:[3, 232]"])
        #expect(await closed.wait())
        await server.shutdown(timeout: .seconds(1))
    }

    /// Messages and the peer's close frame in one read: not lent (the close is an output after
    /// them), queued in order, and their echoes precede our close (held until the consumer has
    /// come back for more with nothing left).
    @Test func messagesReadWithTheCloseAreEchoedBeforeOurClose() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.mixedEchoServer(log, closed: closed)
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        try raw.write(bytes: Self.masked(0x1, Array("first".utf8)) + Self.masked(0x1, Array("second".utf8))
                      + Self.masked(0x1, Array("third".utf8)) + Self.masked(0x8, [0x03, 0xE8]))
        let (reply, eof) = try await raw.readToEnd(timeout: .seconds(10))
        #expect(eof)
        #expect(Self.texts(Self.frames(reply)) == ["1:first", "1:second", "1:third", "8:[3, 232]"])
        #expect(await closed.wait())
        #expect(log.all == ["text:first (copied)", "event text:second", "event text:third", "closed:1000"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Large binary messages, one assembled from fragments and one whole in a read (16 KiB or
    /// more: not read in place, its array made by the unmask's copy), reach the closure
    /// borrowed from their arrays and echo intact; while the closure runs, a send of exactly
    /// those bytes on the loop finds the array (to write it by reference), a send of other
    /// bytes does not, and nothing is lent after the closure.
    @Test func aLargeAssembledMessageIsLentFromItsArray() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await WebSocketServer.bind(port: 0, onConnection: { ws in
            Self.ready(ws)
            var events = ws.makeAsyncIterator()
            while let next = await events.next(message: { kind, bytes in
                let lent = ws.channel.lentArray(matching: bytes)
                let sameStorage = lent?.withUnsafeBytes { $0.baseAddress == bytes.baseAddress } ?? false
                let part = ws.channel.lentArray(matching: UnsafeRawBufferPointer(rebasing: bytes[1...])) == nil
                let copy = [UInt8](bytes)
                let other = copy.withUnsafeBytes { ws.channel.lentArray(matching: $0) } == nil
                log.add("\(kind) \(bytes.count) lent:\(sameStorage) part:\(part) copy:\(other)")
                try? ws.enqueue(kind, bytes: bytes)
                return bytes
            }) {
                if case .message(let bytes) = next {
                    log.add("after: \(ws.channel.lentArray(matching: bytes) == nil)")
                }
            }
            closed.fire()
        })
        let raw = try await Self.upgradeWhenReady(server.localAddress)
        let payload = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try raw.write(bytes: Self.masked(0x2, Array(payload[..<25_000]), fin: false) + Self.masked(0x0, Array(payload[25_000...])))
        let reply = try await raw.read(until: { Self.frames($0).count == 1 }, timeout: .seconds(10))
        #expect(Self.frames(reply).map(\.opcode) == [0x2])
        #expect(Self.frames(reply).first?.payload == payload)
        let whole = Array(payload[..<(16 << 10)])
        try raw.write(bytes: Self.masked(0x2, whole))
        let second = try await raw.read(until: { Self.frames($0).count == 1 }, timeout: .seconds(10))
        #expect(Self.frames(second).first?.payload == whole)
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        #expect(log.all == ["binary 40000 lent:true part:true copy:true", "after: true",
                            "binary 16384 lent:true part:true copy:true", "after: true"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// A client task (not on the connection's loop) gets messages copied, intact, in order;
    /// cancelling it while it waits ends its iteration with `nil`.
    @Test func aConsumerOffTheLoopGetsCopiesAndCanBeCancelled() async throws {
        let server = try await WebSocketServer.bind(port: 0, onConnection: { ws in
            for await event in ws {
                if let message = event.message { try? await ws.send(message) }
            }
        })
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/")
        try await ws.send(.text("héllo"))
        try await ws.send(.binary([0, 1, 2]))
        var events = ws.makeAsyncIterator()
        var seen: [String] = []
        for _ in 0..<2 {
            if case .message(let description)? = await events.next(message: { kind, bytes in Self.describe(ws, kind, bytes) }) {
                seen.append(description)
            }
        }
        #expect(seen == ["text:héllo (copied)", "binary:012 (copied)"])
        let waiting = Task { [events] in
            var events = events
            return await events.next(message: { _, _ in 0 }) == nil
        }
        waiting.cancel()
        #expect(await waiting.value)
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
