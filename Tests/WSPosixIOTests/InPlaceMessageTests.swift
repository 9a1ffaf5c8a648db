// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTestSupport

/// The server's message handler (`bind(onMessage:onEvent:)`): data messages borrowed, in place
/// in the read buffer when they arrived whole, in arrival order with the other events.
/// What the handlers saw, in order.
final class HandlerLog: Sendable {
    private let entries = Lock<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

@Suite("Messages borrowed in place by the server's message handler", .timeLimit(.minutes(1)))
struct InPlaceMessageTests {
    /// The frames in `bytes` as a server sends them (unmasked), and whether the last one is whole.
    static func frames(_ bytes: [UInt8]) -> [(opcode: UInt8, payload: [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var i = 0
        while bytes.count - i >= 2 {
            var length = Int(bytes[i + 1] & 0x7F), header = 2
            if length == 126 {
                guard bytes.count - i >= 4 else { break }
                length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]); header = 4
            } else if length == 127 {
                guard bytes.count - i >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[i + 2 + $1]) }; header = 10
            }
            guard bytes.count - i >= header + length else { break }
            result.append((bytes[i] & 0x0F, Array(bytes[i + header ..< i + header + length])))
            i += header + length
        }
        return result
    }

    /// The largest size the kernel may give a TCP socket buffer (`net.ipv4.tcp_rmem` or
    /// `tcp_wmem`, their third field), 32 MiB when it cannot be read.
    static func largestSocketBuffer(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8),
              let last = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).last,
              let value = Int(last) else { return 32 << 20 }
        return value
    }

    /// A client frame masked with a non-zero key (so that unmasking in place is exercised).
    static func masked(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        BoundsTests.masked(opcode, payload, fin: fin, key: [0x37, 0xFA, 0x21, 0x3D])
    }

    /// Data messages among other events, as one client write: text "a", a ping "p", binary
    /// [1, 2, 3], and "fragment" in two frames.
    static let mixedBurst = masked(0x1, Array("a".utf8)) + masked(0x9, Array("p".utf8)) + masked(0x2, [1, 2, 3])
        + masked(0x1, Array("frag".utf8), fin: false) + masked(0x0, Array("ment".utf8))

    /// An echo server on the message handler that logs what each handler saw, in order.
    static func loggingEchoServer(_ log: HandlerLog, closed: Signal,
                                  configuration: WebSocketServer.Configuration = .init()) async throws -> WebSocketServer {
        try await WebSocketServer.bind(port: 0, configuration: configuration, onMessage: { ws, kind, bytes in
            let text = kind == .text ? String(decoding: bytes, as: UTF8.self) : bytes.map { String($0, radix: 16) }.joined()
            log.add("\(kind):\(text)")
            if text == "bad" {
                do {
                    try [UInt8]([0xC0]).withUnsafeBytes { try ws.enqueue(.text, bytes: $0) }
                } catch {
                    log.add("error:\(error)")
                }
            }
            try? ws.enqueue(kind, bytes: bytes)
        }, onEvent: { _, event in
            switch event {
            case .ping(let p): log.add("ping:\(String(decoding: p, as: UTF8.self))")
            case .closed(let info):
                log.add("closed:\(info.code.rawValue)")
                closed.fire()
            default: log.add("event:\(event)")
            }
        })
    }

    @Test func messagesAndEventsArriveInOrderAndEchoIntact() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.loggingEchoServer(log, closed: closed)
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        try raw.write(bytes: Self.mixedBurst + Self.masked(0x1, Array("bad".utf8)))
        let reply = try await raw.read(until: { Self.frames($0).count >= 5 }, timeout: .seconds(10))
        let frames = Self.frames(reply)
        // The data echoes in order (the pong goes out with the read that carried the ping).
        #expect(frames.filter { $0.opcode != 0xA }.map { "\($0.opcode):\($0.payload)" } == [
            "1:\(Array("a".utf8))", "2:[1, 2, 3]", "1:\(Array("fragment".utf8))", "1:\(Array("bad".utf8))",
        ])
        #expect(frames.filter { $0.opcode == 0xA }.map(\.payload) == [Array("p".utf8)])
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        let (rest, eof) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(eof)
        #expect(Self.frames(rest).map(\.opcode) == [0x8])
        #expect(await closed.wait())
        #expect(log.all == [
            "text:a", "ping:p", "binary:123", "text:fragment", "text:bad",
            "error:\(WebSocketError.usage(.invalidUTF8))", "closed:1000",
        ])
        await server.shutdown(timeout: .seconds(1))
    }

    /// A reply after the handler's own close throws `.closed` (the handlers' replies take lanes
    /// of their own, `Channel.sendBorrowed` and `Channel.sendMessage`) and puts nothing after the
    /// close frame: the message handler's borrowed reply, and the event handler's `Message`.
    @Test("A reply after the handler's own close throws .closed", arguments: [true, false])
    func aReplyAfterTheHandlersOwnCloseThrowsClosed(messageHandler: Bool) async throws {
        let log = HandlerLog(), closed = Signal()
        @Sendable func reply(_ send: () throws(WebSocketError) -> Void) {
            do {
                try send()
                log.add("sent")
            } catch {
                log.add("error:\(error)")
            }
        }
        let server: WebSocketServer
        if messageHandler {
            server = try await WebSocketServer.bind(port: 0, onMessage: { ws, kind, bytes in
                try? ws.close()
                reply { () throws(WebSocketError) in try ws.enqueue(kind, bytes: bytes) }
            }, onEvent: { _, event in
                if case .closed = event { closed.fire() }
            })
        } else {
            server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
                switch event {
                case .text(let text):
                    try? ws.close()
                    reply { () throws(WebSocketError) in try ws.enqueue(.text(text)) }
                case .closed: closed.fire()
                default: break
                }
            })
        }
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        try raw.write(bytes: Self.masked(0x1, Array("x".utf8)))
        let reply = try await raw.read(until: { !Self.frames($0).isEmpty }, timeout: .seconds(10))
        #expect(Self.frames(reply).map(\.opcode) == [0x8])
        #expect(log.all == ["error:\(WebSocketError.closed)"])
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        await server.shutdown(timeout: .seconds(1))
    }

    /// A read that ends inside a frame, after a whole message the handler answers, still gets
    /// the message timeout (which comes before the keepalive's): settling after the handler's
    /// replies skips the timer only between messages.
    @Test func aFrameLeftHalfReadAfterAnEchoTimesOut() async throws {
        let log = HandlerLog(), closed = Signal()
        var configuration = WebSocketServer.Configuration()
        configuration.connection.keepalive = .init(interval: .seconds(120), timeout: .seconds(20))
        configuration.connection.messageTimeout = .milliseconds(400)
        let server = try await Self.loggingEchoServer(log, closed: closed, configuration: configuration)
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        try raw.write(bytes: Self.masked(0x1, Array("hi".utf8)) + Array(Self.masked(0x1, Array("never ends".utf8)).prefix(5)))
        // Well before any other deadline (the handshake's 10 s, the keepalive's 120 s).
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(bytes == [0x81, 2] + Array("hi".utf8) + [0x88, 17, 0x03, 0xF0] + Array("message timeout".utf8))
        #expect(eof)
        #expect(await closed.wait())
        #expect(log.all == ["text:hi", "closed:1008"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Frames that arrive in the same read as the upgrade request (a client that does not wait
    /// for the 101) reach the message handler too, through the event path, and in order.
    @Test func framesReadWithTheUpgradeRequestReachTheHandler() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.loggingEchoServer(log, closed: closed)
        let raw = try await RawTCP.connect(server.localAddress)
        var request = Array(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        request += Self.masked(0x1, Array("early".utf8))
        request += Self.masked(0x2, [0xAB])
        try raw.write(bytes: request)
        let reply = try await raw.read(until: { bytes in
            guard let end = bytes.firstRange(of: [13, 10, 13, 10])?.upperBound else { return false }
            return Self.frames(Array(bytes[end...])).count >= 2
        }, timeout: .seconds(10))
        let end = try #require(reply.firstRange(of: [13, 10, 13, 10])?.upperBound)
        #expect(String(decoding: reply[..<end], as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
        #expect(Self.frames(Array(reply[end...])).map { "\($0.opcode):\($0.payload)" } == ["1:\(Array("early".utf8))", "2:[171]"])
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        #expect(log.all == ["text:early", "binary:ab", "closed:1000"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Far more small messages than one read buffer holds, written at once while the echoes
    /// are read: every echo is intact and in order. The driver must not read into the buffer
    /// again before the handler has seen the messages lying in it.
    /// The echoes of a burst come back whole and in order, read as they come, or only once the
    /// server has stopped reading because it holds replies the socket would not take (written
    /// in part or not at all, the rest when it drains, nothing twice).
    @Test(arguments: [false, true])
    func aBurstLargerThanTheReadBufferEchoesIntact(readLate: Bool) async throws {
        let closed = Signal()
        var configuration = WebSocketServer.Configuration()
        configuration.connection.keepalive = nil  // no ping among the echoes while the reader waits
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration, onMessage: { ws, kind, bytes in
            try? ws.enqueue(kind, bytes: bytes)
        }, onEvent: { _, event in if case .closed = event { closed.fire() } })
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        if readLate {
            // A small receive buffer (the kernel's may grow to 32 MiB), so that the replies fill it.
            var size: Int32 = 16 << 10
            setsockopt(raw.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        // 32 B messages, 38 B frames: 1.1 MB, more than four 256 KiB reads. Read late: 26 B
        // messages, 32 B frames (so that full reads end between frames and take the path of whole
        // messages, down to the handler's replies), 9.6 MB, more than the kernel holds for a
        // peer that does not read.
        let count = readLate ? 300_000 : 30_000
        let size = readLate ? 26 : 32
        let payloads = (0..<count).map { i in
            let id = [UInt8(i & 0xFF), UInt8(i >> 8 & 0xFF), UInt8(i >> 16)]
            return (0..<size).map { id[$0 % 3] ^ UInt8($0) }
        }
        let input = payloads.reduce(into: [UInt8]()) { $0 += Self.masked(0x2, $1) }
        let expectedLength = count * (2 + size)
        async let echoed = {
            if readLate {
                // Until the server holds replies the socket would not take (it counts them in
                // 64 KiB steps), or 30 s.
                let deadline = ContinuousClock.now + .seconds(30)
                while server.bufferedBytes == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                #expect(server.bufferedBytes > 0, "the server's replies never met a full socket")
            }
            return try await raw.read(until: { $0.count >= expectedLength }, timeout: .seconds(60))
        }()
        var offset = 0
        while offset < input.count {
            let n = try input.withUnsafeBytes { try Sys.write(raw.descriptor, UnsafeRawBufferPointer(rebasing: $0[offset...])) } ?? 0
            offset += n
            if n == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        let reply = try await echoed
        #expect(reply.count == expectedLength)
        let frames = Self.frames(reply)
        #expect(frames.count == count)
        let firstBad = frames.indices.first { frames[$0].opcode != 0x2 || frames[$0].payload != payloads[$0] }
        #expect(firstBad == nil)
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        await server.shutdown(timeout: .seconds(1))
    }

    /// A peer that sends small messages without end and never reads the echoes: the handler's
    /// replies go over the high-water mark, reading stops, the peer's writes stall in the
    /// kernel, and what the server holds stays near the mark plus one read's replies.
    @Test func echoesNobodyReadsStopTheReading() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.flowControl = FlowControl(highWaterMark: 64 << 10, lowWaterMark: 16 << 10)
        configuration.flowControl.sendTimeout = nil
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration, onMessage: { ws, kind, bytes in
            try? ws.enqueue(kind, bytes: bytes)
        }, onEvent: { _, _ in })
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        let burst = (0..<1000).reduce(into: [UInt8]()) { b, i in b += Self.masked(0x2, [UInt8](repeating: UInt8(i % 256), count: 32)) }
        // More than the kernel's buffers on both sides can take: the server's receive buffer
        // alone may grow to `tcp_rmem`'s maximum (32 MiB on the development machine), the send
        // buffers to `tcp_wmem`'s; twice their sum and 16 MiB more, at least 76 MB.
        let kernel = Self.largestSocketBuffer("tcp_rmem") + 2 * Self.largestSocketBuffer("tcp_wmem")
        let offered = max(2000, (2 * kernel + (16 << 20)) / burst.count + 1)
        let written = try await BoundsTests.writeUntilBlocked(raw, frame: burst, count: offered) {
            server.bufferedBytes > 0  // echoes held: it reached its mark (the count moves in 64 KiB steps)
        }
        let highest = try await BoundsTests.settle { server.bufferedBytes }
        #expect(written.stopped, "the server read \(written.frames) bursts: it never stopped reading")
        // The mark, one read's echoes (a 256 KiB read of 38-byte frames makes 34-byte echoes; an
        // in-place read is the last of its wakeup), and the 64 KiB granularity of the count.
        #expect(highest <= (64 << 10) + (256 << 10) + ServerContext.accountingGranule, "the server buffered \(highest) bytes")
        await server.shutdown(timeout: .seconds(1))
    }

    /// A message of 16 KiB or more is not read in place (the unmask's copy makes its array,
    /// which goes out by reference): the handler borrows it from that array, and while it runs
    /// a send of exactly those bytes finds the array; a small message lies in the read buffer.
    @Test func largeMessagesAreLentFromTheirArrays() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await WebSocketServer.bind(port: 0, onMessage: { ws, kind, bytes in
            let buffer = UnsafeRawBufferPointer(ws.eventLoop.readBuffer)
            let inBuffer = bytes.baseAddress! >= buffer.baseAddress! && bytes.baseAddress! < buffer.baseAddress! + buffer.count
            log.add("\(bytes.count) in buffer:\(inBuffer) lent:\(ws.channel.lentArray(matching: bytes) != nil)")
            try? ws.enqueue(kind, bytes: bytes)
        }, onEvent: { _, event in if case .closed = event { closed.fire() } })
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        let small = [UInt8](repeating: 1, count: 100), large = (0..<(16 << 10)).map { UInt8(truncatingIfNeeded: $0) }
        try raw.write(bytes: Self.masked(0x2, small) + Self.masked(0x2, large))
        let reply = try await raw.read(until: { Self.frames($0).count == 2 }, timeout: .seconds(10))
        #expect(Self.frames(reply).map(\.payload) == [small, large])
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        #expect(log.all == ["100 in buffer:true lent:false", "16384 in buffer:false lent:true"])
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func invalidTextInPlaceClosesWith1007AfterTheMessagesBeforeIt() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.loggingEchoServer(log, closed: closed)
        let raw = try await BoundsTests.rawUpgrade(server.localAddress)
        try raw.write(bytes: Self.masked(0x2, [9]) + Self.masked(0x1, [0x61, 0xED, 0xA0, 0x80]) + Self.masked(0x2, [8]))
        let (reply, eof) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(eof)
        let frames = Self.frames(reply)
        // The handler's echo of the message before the bad one goes out first (the driver
        // writes what the handler queued for the batch before the close frame), then the close.
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload == [9])
        #expect(frames.last?.payload == [0x03, 0xEF] + Array("invalid UTF-8".utf8))
        #expect(await closed.wait())
        // The message after the bad one was never read.
        #expect(log.all == ["binary:9", "closed:1007"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Large messages over plain TCP, in place when they arrive whole in one read and through
    /// the event path when they span reads; the echo copies a large borrowed payload once and
    /// sends it by reference. Every size comes back intact.
    @Test func largeMessagesEchoIntact() async throws {
        let server = try await WebSocketServer.bind(port: 0, onMessage: { ws, kind, bytes in
            try? ws.enqueue(kind, bytes: bytes)
        }, onEvent: { _, _ in })
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        for size in [(16 << 10) - 1, 16 << 10, 100_000, 1 << 20, 4 << 20] {
            let bytes = Echo.bytes(count: size, seed: UInt64(size))
            try await ws.send(.binary(bytes))
            #expect(await Echo.nextData(&it) == .binary(bytes), "\(size) bytes")
        }
        let text = Echo.text(count: 70_000)
        try await ws.send(.text(text))
        #expect(await Echo.nextData(&it) == .text(text))
        try ws.close()
        _ = await Echo.drain(&it)
        await server.shutdown(timeout: .seconds(1))
    }

    /// With permessage-deflate, a compressed message (RSV1) is inflated into an array and
    /// reaches the message handler borrowed from it; an uncompressed one in the same read is
    /// read in place. Both in order; the echoes go out compressed.
    @Test func compressedAndPlainMessagesReachTheHandlerInOrder() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.compression = .default
        let log = HandlerLog(), closed = Signal()
        let server = try await Self.loggingEchoServer(log, closed: closed, configuration: configuration)
        let (raw, head, _) = try await CompressionTests.rawUpgrade(server.localAddress, extensions: "permessage-deflate")
        #expect(CompressionTests.extensionsHeader(head) == "permessage-deflate; server_max_window_bits=12")
        // "Hello" compressed (RFC 7692 §7.2.3.1's example), then "go" uncompressed, masked with a zero key.
        try raw.write(bytes: [0xC1, 0x87, 0, 0, 0, 0, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
                      + [0x81, 0x82, 0, 0, 0, 0, 0x67, 0x6F])
        let reply = try await raw.read(until: { Self.frames($0).count >= 2 }, timeout: .seconds(10))
        // The first echo is the example's bytes again (a fresh context on our side too).
        #expect(Array(reply.prefix(9)) == [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(reply.count > 9 && reply[9] == 0xC1)  // the second echo is compressed too
        try raw.write(bytes: Self.masked(0x8, [0x03, 0xE8]))
        #expect(await closed.wait())
        #expect(log.all == ["text:Hello", "text:go", "closed:1000"])
        await server.shutdown(timeout: .seconds(1))
    }

    /// Over TLS the plaintext is not the read buffer: messages come through the event path
    /// and still reach the message handler, borrowed from their arrays.
    @Test func overTLSMessagesReachTheMessageHandler() async throws {
        let log = HandlerLog(), closed = Signal()
        let server = try await WebSocketServer.bind(port: 0, configuration: TLSLoopbackTests.serverConfiguration(), onMessage: { ws, kind, bytes in
            log.add("\(kind):\(bytes.count)")
            try? ws.enqueue(kind, bytes: bytes)
        }, onEvent: { _, event in if case .closed = event { closed.fire() } })
        let ws = try await WebSocket.connect(to: "wss://localhost:\(server.port)/",
                                             configuration: TLSLoopbackTests.clientConfiguration())
        var it = ws.makeAsyncIterator()
        for size in [0, 125, 70_000] {
            let bytes = Echo.bytes(count: size, seed: UInt64(size))
            try await ws.send(.binary(bytes))
            #expect(await Echo.nextData(&it) == .binary(bytes))
        }
        try await ws.send(.text("héllo"))
        #expect(await Echo.nextData(&it) == .text("héllo"))
        try ws.close()
        _ = await Echo.drain(&it)
        #expect(await closed.wait())
        #expect(log.all == ["binary:0", "binary:125", "binary:70000", "text:6"])
        await server.shutdown(timeout: .seconds(1))
    }
}
