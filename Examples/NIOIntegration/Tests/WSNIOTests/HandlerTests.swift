// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOEmbedded
import Testing
import WSNIO
import WSProtocol

/// The handler on an `EmbeddedChannel`: exact bytes out, exact events in, time moved by the
/// embedded loop (`advanceTime`), reads counted.
@Suite("WebSocketChannelHandler on EmbeddedChannel")
struct HandlerTests {
    /// RFC 6455 §1.3's sample request (key `dGhlIHNhbXBsZSBub25jZQ==`).
    static let request = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    static let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    /// The date of every response in these tests (RFC 9110 §5.6.7's example, Sun, 06 Nov 1994 08:49:37 GMT).
    static let date = HTTPDate(secondsSince1970: 784_111_777)
    /// RFC 6455 §5.7: a masked text frame "Hello".
    static let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]

    /// An open server channel: handshake done, its 101 response read, the opened event seen.
    static func openServer(_ settings: ServerSettings = ServerSettings()) throws -> (EmbeddedChannel, Recorder) {
        var settings = settings
        settings.date = { Self.date }
        let recorder = Recorder()
        let channel = EmbeddedChannel(handlers: [ReadCounter(), WebSocketChannelHandler(mode: .server(settings)), recorder])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: request))
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == response)
        #expect(recorder.openedPaths == ["/chat"])
        return (channel, recorder)
    }

    static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    @Test("The RFC 6455 §1.3 handshake, then §5.7's masked Hello delivered as one text message")
    func handshakeAndMessage() throws {
        let (channel, recorder) = try Self.openServer()
        try channel.writeInbound(ByteBuffer(bytes: Self.maskedHello))
        #expect(recorder.events == [.message(.text("Hello"))])
        #expect(try Self.written(channel) == [])
    }

    @Test("Commands become exact frames, a ByteBuffer payload too")
    func commands() throws {
        let (channel, _) = try Self.openServer()
        try channel.writeOutbound(WebSocketCommand.send(.text("Hi")))
        #expect(try Self.written(channel) == [0x81, 0x02, 0x48, 0x69])
        try channel.writeOutbound(WebSocketCommand.ping([1, 2]))
        #expect(try Self.written(channel) == [0x89, 0x02, 1, 2])
        try channel.writeOutbound(WebSocketCommand.sendBuffer(ByteBuffer(bytes: [9, 8, 7]), kind: .binary))
        #expect(try Self.written(channel) == [0x82, 0x03, 9, 8, 7])
    }

    @Test("The echoes of one read go out as one buffer at the flush, in order, their promises kept")
    func coalescedWrites() throws {
        let (channel, recorder) = try Self.openServer()
        let echo = PromisingEcho()
        try channel.pipeline.syncOperations.addHandler(echo, position: .before(recorder))
        var two = ByteBuffer(bytes: Self.maskedHello)
        two.writeBytes(Self.maskedHello)
        try channel.writeInbound(two)
        let hello: [UInt8] = [0x81, 0x05] + Array("Hello".utf8)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == hello + hello)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(echo.results == [true, true])
    }

    @Test("A 16 KiB payload follows its header: copied once from a [UInt8], a ByteBuffer written as it is")
    func largePayloads() throws {
        let (channel, _) = try Self.openServer()
        let payload = (0..<(16 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let header: [UInt8] = [0x82, 0x7E, 0x40, 0x00]  // binary, FIN, 16-bit length 16384 (RFC 6455 §5.2)
        try channel.writeOutbound(WebSocketCommand.send(.binary(payload)))
        #expect(try Self.written(channel) == header + payload)
        let buffer = ByteBuffer(bytes: payload)
        try channel.writeOutbound(WebSocketCommand.sendBuffer(buffer, kind: .binary))
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == header)
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(written == buffer)
        let sameStorage = written.withUnsafeReadableBytes { w in buffer.withUnsafeReadableBytes { $0.baseAddress == w.baseAddress } }
        #expect(sameStorage)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test("Bytes still held when the channel closes are dropped and their promises failed")
    func unflushedAtClose() throws {
        let (channel, _) = try Self.openServer()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        var failure: (any Error)?
        promise.futureResult.assumeIsolated().whenFailure { failure = $0 }
        channel.write(WebSocketCommand.send(.text("never flushed")), promise: promise)
        try channel.close().wait()
        #expect(failure as? ChannelError == .ioOnClosedChannel)
    }

    @Test("A command fits NIOAny's inline storage (24 bytes): writing one allocates no box")
    func commandFitsInline() {
        #expect(MemoryLayout<WebSocketCommand>.size <= 24, "\(MemoryLayout<WebSocketCommand>.size) bytes")
        #expect(MemoryLayout<Event>.size <= 24, "\(MemoryLayout<Event>.size) bytes")
    }

    @Test("A command before the handshake, or after close, fails its promise and writes nothing")
    func misuse() throws {
        let channel = EmbeddedChannel(handlers: [WebSocketChannelHandler(mode: .server(ServerSettings()))])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        #expect(throws: WebSocketNIOError.notOpen) { try channel.writeOutbound(WebSocketCommand.send(.text("early"))) }
        let (open, _) = try Self.openServer()
        try open.writeOutbound(WebSocketCommand.close(code: .normalClosure, reason: ""))
        #expect(try Self.written(open) == [0x88, 0x02, 0x03, 0xE8])
        #expect(throws: UsageError.sendAfterClose) { try open.writeOutbound(WebSocketCommand.send(.text("late"))) }
    }

    @Test("The close timeout fires from the event loop's clock: 1006 after closeTimeout without an answer")
    func closeTimeout() throws {
        var configuration = Connection.Configuration()
        configuration.closeTimeout = .seconds(2)
        let (channel, recorder) = try Self.openServer(ServerSettings(configuration: configuration))
        try channel.writeOutbound(WebSocketCommand.close(code: .goingAway, reason: ""))
        _ = try Self.written(channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1999))
        #expect(recorder.events == [])
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(recorder.events == [.closed(.timedOut(.closeHandshake))])
        #expect(!channel.isActive)
    }

    @Test("A request head that never completes gets 408 at the handshake deadline")
    func handshakeTimeout() throws {
        let settings = ServerSettings(handshake: .init(timeout: .seconds(3)))
        let channel = EmbeddedChannel(handlers: [WebSocketChannelHandler(mode: .server(settings))])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        let answer = String(decoding: try Self.written(channel), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(!channel.isActive)
    }

    @Test("A message over maxMessageSize is refused with 1009 and the channel closes")
    func messageLimit() throws {
        var configuration = Connection.Configuration()
        configuration.maxMessageSize = 4
        let (channel, recorder) = try Self.openServer(ServerSettings(configuration: configuration))
        try channel.writeInbound(ByteBuffer(bytes: Self.maskedHello))  // 5 bytes
        let closeFrame = try Self.written(channel)
        #expect(closeFrame == [0x88, 0x11, 0x03, 0xF1] + Array("message too big".utf8))
        #expect(recorder.events.map { $0.closeCode } == [1009])
        #expect(!channel.isActive)
    }

    @Test("Backpressure: reads are held while the channel is not writable and released when it is")
    func backpressure() throws {
        let (channel, _) = try Self.openServer()
        let counter = try channel.pipeline.syncOperations.handler(type: ReadCounter.self)
        let before = counter.reads
        channel.read()
        #expect(counter.reads == before + 1)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.read()
        channel.read()
        #expect(counter.reads == before + 1)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == before + 2)
    }

    @Test("A plain HTTP request gets the settings' answer, then the channel closes")
    func plainHTTP() throws {
        let (answer, active) = try Self.plainAnswer(to: "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(answer == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            + "Connection: close\r\n"
            + "Content-Length: 7\r\n\r\npage /x")
        #expect(!active)
    }

    @Test("A HEAD request gets the answer's head alone, with the body's Content-Length (RFC 9110 §9.3.2)")
    func plainHEAD() throws {
        let (answer, active) = try Self.plainAnswer(to: "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(answer == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            + "Connection: close\r\n"
            + "Content-Length: 7\r\n\r\n")
        #expect(!active)
    }

    /// What a server whose settings answer every plain request 200 "page PATH" writes for
    /// `request`, and whether its channel is still active after.
    static func plainAnswer(to request: String) throws -> (String, Bool) {
        let settings = ServerSettings(respond: { head in HTTPAnswer(status: 200, text: "page \(head.path)") }, date: { Self.date })
        let channel = EmbeddedChannel(handlers: [WebSocketChannelHandler(mode: .server(settings))])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: request))
        return (String(decoding: try Self.written(channel), as: UTF8.self), channel.isActive)
    }
}

extension HandlerTests {
    /// RFC 6455 §5.5.1: a masked close frame, code 1000, no reason (masking key zero).
    static let maskedClose: [UInt8] = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]

    @Test("With answerTimeout set, the close reply goes out at the end of the read, after the application's answers")
    func answersBeforeClose() throws {
        var configuration = Connection.Configuration()
        configuration.answerTimeout = .seconds(10)
        let (channel, recorder) = try Self.openServer(ServerSettings(configuration: configuration))
        let echo = PromisingEcho()
        try channel.pipeline.syncOperations.addHandler(echo, position: .before(recorder))
        var bytes = ByteBuffer(bytes: Self.maskedHello)
        bytes.writeBytes(Self.maskedClose)
        try channel.writeInbound(bytes)
        // No time passes: the echo, then our close reply, then the channel closes.
        #expect(try Self.written(channel) == [0x81, 0x05] + Array("Hello".utf8) + [0x88, 0x02, 0x03, 0xE8])
        let peer = CloseFrame(code: .normalClosure)
        #expect(recorder.events == [.message(.text("Hello")), .closeReceived(peer),
                                    .closed(.handshakeCompleted(peer: peer, initiatedLocally: false))])
        #expect(echo.results == [true])
        #expect(!channel.isActive)
    }
}

extension HandlerTests {
    @Test("A close command that releases a close held for answers completes its promise with the close frame's write")
    func heldClosePromise() throws {
        var configuration = Connection.Configuration()
        configuration.answerTimeout = .seconds(10)
        let (channel, recorder) = try Self.openServer(ServerSettings(configuration: configuration))
        let holder = WriteHolder()
        try channel.pipeline.syncOperations.addHandler(holder, position: .first)
        let closer = CloserOnMessage()
        try channel.pipeline.syncOperations.addHandler(closer, position: .before(recorder))
        var bytes = ByteBuffer(bytes: Self.maskedHello)
        bytes.writeBytes(Self.maskedClose)
        try channel.writeInbound(bytes)
        // The held close went out on the command (its code, 1000, not the command's 1001), and
        // the command's promise waits for that write.
        #expect(holder.written == [0x88, 0x02, 0x03, 0xE8])
        #expect(closer.result == nil)
        holder.complete()
        #expect(closer.result == true)
    }
}

/// On the first message, writes a close command (1001) and records its promise's outcome.
final class CloserOnMessage: ChannelInboundHandler {
    typealias InboundIn = Event
    typealias OutboundOut = WebSocketCommand
    var result: Bool?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        guard case .message = unwrapInboundIn(data) else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] outcome in
            if case .success = outcome { result = true } else { result = false }
        }
        context.writeAndFlush(wrapOutboundOut(.close(code: .goingAway, reason: "")), promise: promise)
    }
}

/// Keeps the writes that reach it, with their promises, until ``complete()``.
final class WriteHolder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var written: [UInt8] = []
    private var promises: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        written += unwrapOutboundIn(data).readableBytesView
        if let promise { promises.append(promise) }
    }

    func complete() {
        let held = promises
        promises = []
        for promise in held { promise.succeed() }
    }
}

/// The peer's half-closure on a channel that allows it (`ChannelOptions.allowRemoteHalfClosure`):
/// NIO reports it as `ChannelEvent.inputClosed`, not `channelInactive`.
@Suite("WebSocketChannelHandler: the peer's half-closure")
struct HalfClosureTests {
    @Test("Open: the peer's end of stream is 1006 and the channel closes")
    func open() throws {
        let (channel, recorder) = try HandlerTests.openServer()
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(recorder.events == [.closed(.abnormal)])
        #expect(try HandlerTests.written(channel) == [])
        #expect(!channel.isActive)
    }

    @Test("Closing: our output closed, the peer's end of stream ends the linger at once")
    func linger() throws {
        let (channel, recorder) = try HandlerTests.openServer()
        let closer = OutputCloser()
        try channel.pipeline.syncOperations.addHandler(closer, position: .first)
        try channel.writeInbound(ByteBuffer(bytes: HandlerTests.maskedClose))
        #expect(try HandlerTests.written(channel) == [0x88, 0x02, 0x03, 0xE8])
        let peer = CloseFrame(code: .normalClosure)
        #expect(recorder.events == [.closeReceived(peer), .closed(.handshakeCompleted(peer: peer, initiatedLocally: false))])
        #expect(closer.outputCloses == 1)
        #expect(channel.isActive)  // waiting for the peer's end of stream
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
    }

    @Test("Client handshake: a refusal whose body runs to the end of stream is reported then, not at the timeout")
    func refusalBody() throws {
        let errors = ErrorRecorder()
        let options = try ClientHandshake.Options(url: "ws://127.0.0.1:1/chat")
        let channel = EmbeddedChannel(handlers: [WebSocketChannelHandler(mode: .client(options)), errors])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        _ = try HandlerTests.written(channel)  // the request
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 403 Forbidden\r\n\r\nno"))
        #expect(errors.errors.isEmpty)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(errors.errors == [.handshakeFailed(.refused(status: 403, reason: "Forbidden", headers: [:], bodyPrefix: Array("no".utf8)))])
        #expect(!channel.isActive)
    }
}

/// Stands in for a socket's half-closure, which `EmbeddedChannel` lacks (it closes the whole
/// channel): counts `close(mode: .output)` and succeeds it, the channel staying open.
final class OutputCloser: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var outputCloses = 0

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else { return context.close(mode: mode, promise: promise) }
        outputCloses += 1
        promise?.succeed()
    }
}

/// Records the handler's errors.
final class ErrorRecorder: ChannelInboundHandler {
    typealias InboundIn = Event
    var errors: [WebSocketNIOError] = []

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? WebSocketNIOError { errors.append(error) }
    }
}

/// Records what the WebSocket handler delivers.
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = Event
    var events: [Event] = []
    var openedPaths: [String] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { events.append(unwrapInboundIn(data)) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let opened = event as? WebSocketOpened { openedPaths.append(opened.request?.path ?? "?") }
    }
}

/// Echoes each message with a promise, flushes once per read batch, and records the outcomes;
/// passes every event on.
final class PromisingEcho: ChannelInboundHandler {
    typealias InboundIn = Event
    typealias OutboundOut = WebSocketCommand
    var results: [Bool] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        guard case .message(let message) = unwrapInboundIn(data) else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] result in
            if case .success = result { results.append(true) } else { results.append(false) }
        }
        context.write(wrapOutboundOut(.send(message)), promise: promise)
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

/// Counts the read requests that reach the head of the pipeline.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

extension Event {
    /// The close code of a `.closed` event (nil for other events).
    var closeCode: UInt16? {
        if case .closed(let reason) = self { return reason.code.rawValue }
        return nil
    }
}
