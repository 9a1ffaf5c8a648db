// SPDX-License-Identifier: Apache-2.0
import NIOCore
import WSProtocol

/// Runs WSProtocol's opening handshake and ``WSProtocol/Connection`` on a NIO channel.
///
/// Put it first in a child channel's pipeline (raw `ByteBuffer`s in and out, no NIOHTTP1), and
/// your handler after it: your handler receives ``WSProtocol/Event``s (`InboundIn = Event`),
/// a ``WebSocketOpened`` user event once the handshake succeeded, and writes
/// ``WebSocketCommand``s (`OutboundOut = WebSocketCommand`).
///
/// How it drives the core (the steps of the core's driver guide):
/// - Inputs: every `channelRead` feeds the core straight from the `ByteBuffer`'s storage
///   (`withUnsafeReadableBytes`, no copy); `channelInactive` is the end of stream, and so is
///   `ChannelEvent.inputClosed` on a channel that allows half-closure; commands
///   arrive through `write`; the time is the event loop's `now`, so `EmbeddedEventLoop` moves it.
///   With `answerTimeout` set, every `channelReadComplete` reports the read's events answered
///   (`eventsAnswered(now:)`) once the later handlers have seen it.
/// - Outputs, in order: every byte to write (frames, pongs, handshake responses) is appended to
///   one reused `[UInt8]`, which goes to NIO as one `ByteBuffer` when the channel flushes (or
///   when it reaches 64 KiB), so a read that carries many messages costs one buffer and one
///   queued write, not one per message; that buffer is reused once NIO has written it.
///   (``WebSocketCommand/sendBuffer(_:kind:)`` frames straight from the caller's buffer,
///   without first making a `[UInt8]` of it.) Events go to `fireChannelRead`;
///   `.shutdownWrite` and `.closeTransport` close the channel's output or the channel.
/// - One timer: after every call, one task is scheduled on the event loop at the machine's
///   `nextDeadline` (rescheduled only when the deadline moves).
/// - Wall time: a server's responses carry a `Date` from ``ServerSettings/date`` (RFC 9110
///   §6.6.1), passed as the handshake's `date:`.
/// - Backpressure: every read request (the channel's own with `autoRead`, or a later handler's,
///   such as `NIOAsyncChannel`'s or ``WebSocketClient``'s event collector, which ask only while
///   their consumer keeps up) passes through
///   this handler, which forwards it only while the channel is writable (the peer is taking
///   what we write) and otherwise holds it until writability returns. So a peer that sends
///   but does not read is not read from either, and our memory stays bounded by NIO's
///   write-buffer watermarks plus one message.
public final class WebSocketChannelHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Event
    public typealias OutboundIn = WebSocketCommand
    public typealias OutboundOut = ByteBuffer

    /// Which side of the handshake this channel runs.
    /// (Its cases are `indirect`, a pointer in each handler instead of the settings inline.)
    public enum Mode: Sendable {
        /// Accept upgrades as ``ServerSettings`` decides.
        indirect case server(ServerSettings)
        /// Send the upgrade request these options describe.
        indirect case client(ClientHandshake.Options)
    }

    private enum Phase {
        case waitingForActive
        case serverHandshake
        case clientHandshake
        case open
        case closed
    }

    private let mode: Mode
    private var phase = Phase.waitingForActive
    // The machines live beside the phase (not in its payloads), so mutating one copies nothing.
    // The handshakes are boxed: inline, their optionals took about 900 bytes of every open
    // connection's handler (the client's even on servers).
    private var serverHandshake: Box<ServerHandshake>?
    private var clientHandshake: Box<ClientHandshake>?
    private var connection: Connection?
    private var outputs: [Connection.Output] = []
    /// Bytes to write, not yet handed to NIO (see ``writeOutbound(context:)``).
    private var outbound: [UInt8] = []
    /// The promises of the commands whose bytes are in `outbound`.
    private var outboundPromises: [EventLoopPromise<Void>] = []
    /// The last buffer handed to NIO, reused when NIO no longer holds it.
    private var spare: ByteBuffer?
    private var timer: (deadline: Instant, task: Scheduled<Void>)?
    private var linger: Scheduled<Void>?
    private var heldRead = false
    /// The peer half-closed (`ChannelEvent.inputClosed`): closing waits for our writes, not for
    /// the peer's end of stream.
    private var inputClosed = false
    /// Our output close waits for pending writes.
    private var closingOutput = false
    private var needsFlush = false

    /// Creates the handler for one channel.
    public init(mode: Mode) {
        self.mode = mode
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        dropOutbound()
        timer?.task.cancel()
        timer = nil
        linger?.cancel()
        linger = nil
    }

    /// How long a closing channel waits for the peer's end of stream after its own (see
    /// ``closeGracefully(context:)``). Default 2 s.
    public var lingerTimeout: TimeAmount = .seconds(2)

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard case .waitingForActive = phase else { return }
        let now = Self.now(context)
        switch mode {
        case .server(let settings):
            serverHandshake = Box(ServerHandshake(options: settings.handshake, now: now))
            phase = .serverHandshake
        case .client(let options):
            do {
                let handshake = try ClientHandshake(options: options, now: now, entropy: ChaChaRandomNumberGenerator())
                clientHandshake = Box(handshake)
                phase = .clientHandshake
                write(handshake.requestBytes, context: context)
                flushIfNeeded(context: context)
            } catch {
                failHandshake(error, response: [], context: context)
                return
            }
        }
        armTimer(context: context)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        dropOutbound()  // nothing can be written any more
        receiveEndOfStream(context: context)
        phase = .closed
        timer?.task.cancel()
        timer = nil
        linger?.cancel()
        linger = nil
        context.fireChannelInactive()
    }

    /// On a channel that allows half-closure (`ChannelOptions.allowRemoteHalfClosure`), the
    /// peer's end of stream comes as `ChannelEvent.inputClosed`, the channel staying active.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            receiveEndOfStream(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The peer's end of stream (`channelInactive`, or `ChannelEvent.inputClosed`): the core's
    /// end of stream while open or in a client handshake (a refusal's body may run to it);
    /// a server handshake has nothing to answer; a closing channel stops waiting for it.
    private func receiveEndOfStream(context: ChannelHandlerContext) {
        let now = Self.now(context)
        switch phase {
        case .open:
            outputs.append(contentsOf: connection!.receiveEndOfStream(now: now))
            performOutputs(context: context)
        case .clientHandshake:
            if case .failed(let error) = clientHandshake!.value.receiveEndOfStream(now: now) {
                failHandshake(error, response: [], context: context)
            }
        case .serverHandshake:
            closeGracefully(context: context)
        case .closed:
            // The linger's end: the peer has closed too. Close now, or once our output is
            // closed (a full close now would drop our last bytes).
            if !closingOutput { context.close(promise: nil) }
        case .waitingForActive:
            break
        }
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = Self.now(context)
        switch phase {
        case .open:
            buffer.withUnsafeReadableBytes { connection!.receive($0, now: now, into: &outputs) }
            performOutputs(context: context)
        case .serverHandshake:
            handleServer(serverHandshake!.value.receive(buffer.readableBytesView, now: now, date: date), context: context)
        case .clientHandshake:
            handleClient(clientHandshake!.value.receive(buffer.readableBytesView, now: now), context: context)
        case .waitingForActive, .closed:
            break  // nothing reads before activation; after closing, nothing more is wanted
        }
        armTimer(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
        eventsAnswered(context: context)
    }

    /// With ``WSProtocol/Connection/Configuration/answerTimeout`` set: the handlers after this
    /// one have handled what the read delivered (they run inside `fireChannelRead` and
    /// `fireChannelReadComplete`), so a close the core held for their answers goes out now,
    /// after them, not when the timeout passes. (A consumer that buffers events, such as
    /// `NIOAsyncChannel`, answers later: its answers then follow the close and are refused.)
    private func eventsAnswered(context: ChannelHandlerContext) {
        guard case .open = phase, connection!.configuration.answerTimeout != nil else { return }
        outputs.append(contentsOf: connection!.eventsAnswered(now: Self.now(context)))
        performOutputs(context: context)
        flushIfNeeded(context: context)
        armTimer(context: context)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if heldRead && context.channel.isWritable {
            heldRead = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A transport error (e.g. a reset): the channel closes, and channelInactive reports 1006.
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .open = phase else {
            promise?.fail(WebSocketNIOError.notOpen)
            return
        }
        let now = Self.now(context)
        var large: LargePayload?
        do {
            switch unwrapOutboundIn(data) {
            case .send(let message):
                if case .binary(let bytes) = message, bytes.count >= Self.largePayload,
                   try bytes.withUnsafeBytes({ try connection!.sendHeader(for: $0, kind: .binary, now: now, into: &outbound) }) {
                    large = .array(bytes)
                } else {
                    try connection!.send(message, now: now, into: &outbound)
                }
            case .sendBuffer(let payload, let kind):
                if payload.readableBytes >= Self.largePayload,
                   try payload.withUnsafeReadableBytes({ try connection!.sendHeader(for: $0, kind: kind, now: now, into: &outbound) }) {
                    large = .buffer(payload)
                } else {
                    try payload.withUnsafeReadableBytes { bytes throws(UsageError) in
                        try connection!.send(bytes, kind: kind, now: now, into: &outbound)
                    }
                }
            case .ping(let payload):
                outputs = try connection!.ping(payload, now: now)
            case .pong(let payload):
                outputs = try connection!.pong(payload, now: now)
            case .close(let code, let reason):
                outputs = try connection!.close(code: code, reason: reason, now: now)
            }
        } catch {
            outputs.removeAll(keepingCapacity: true)
            promise?.fail(error)
            return
        }
        switch large {
        case .array(let bytes)?:
            // The header is in `outbound`: the payload follows it into the same buffer.
            if let promise { outboundPromises.append(promise) }
            bytes.withUnsafeBytes { writeOutbound(context: context, appending: $0) }
            needsFlush = true
        case .buffer(let payload)?:
            // The header (and what was queued before it) in one buffer, the payload as it is.
            writeOutbound(context: context)
            context.write(wrapOutboundOut(payload), promise: promise)
            needsFlush = true
        case nil where outputs.isEmpty:
            // A message: its frames are in `outbound` already.
            if let promise { outboundPromises.append(promise) }
            queued(context: context)
        case nil:
            performOutputs(context: context, promise: promise)
        }
        armTimer(context: context)
    }

    public func flush(context: ChannelHandlerContext) {
        needsFlush = false
        writeOutbound(context: context)
        context.flush()
    }

    public func read(context: ChannelHandlerContext) {
        // Read only while the peer takes what we write; otherwise hold the request.
        guard context.channel.isWritable else {
            heldRead = true
            return
        }
        context.read()
    }

    // MARK: Handshakes

    private func handleServer(_ step: ServerHandshake.Step, context: ChannelHandlerContext) {
        guard case .server(let settings) = mode else { preconditionFailure("unreachable: server step on a client") }
        switch step {
        case .needMoreData:
            return
        case .upgradeRequest(let request):
            switch settings.decide(request) {
            case .accept(let subprotocol, let headers):
                do {
                    let (response, accepted, leftover) = try serverHandshake!.value.accept(
                        request, subprotocol: subprotocol, extensions: settings.extensions, headers: headers,
                        configuration: settings.configuration, now: Self.now(context), date: date)
                    write(response, context: context)
                    open(accepted, leftover: leftover,
                         event: WebSocketOpened(request: request, response: nil, subprotocol: subprotocol), context: context)
                } catch {
                    respondAndClose(ServerHandshake.errorResponse(for: .invalidArgument("\(error)"), date: date), context: context)
                }
            case .reject(let status, let headers, let body):
                do throws(HandshakeError) {
                    respondAndClose(try serverHandshake!.value.reject(status: status, headers: headers, body: body, date: date),
                                    context: context)
                } catch {
                    respondAndClose(ServerHandshake.errorResponse(for: error, date: date), context: context)  // e.g. a 1xx status
                }
            }
        case .notAnUpgrade(let head):
            respondAndClose(settings.respond(head).bytes(headOnly: head.method == "HEAD", date: date), context: context)
        case .invalid(_, let response):
            respondAndClose(response, context: context)
        }
    }

    private func handleClient(_ step: ClientHandshake.Step, context: ChannelHandlerContext) {
        switch step {
        case .needMoreData:
            return
        case .connected(let accepted, let leftover, let response):
            let subprotocol = response.headers.first(name: "Sec-WebSocket-Protocol")
            open(accepted, leftover: leftover,
                 event: WebSocketOpened(request: nil, response: response, subprotocol: subprotocol), context: context)
        case .failed(let error):
            failHandshake(error, response: [], context: context)
        }
    }

    private func open(_ accepted: Connection, leftover: [UInt8], event: WebSocketOpened, context: ChannelHandlerContext) {
        serverHandshake = nil
        clientHandshake = nil
        connection = accepted
        phase = .open
        context.fireUserInboundEventTriggered(event)
        if !leftover.isEmpty {
            leftover.withUnsafeBytes { connection!.receive($0, now: Self.now(context), into: &outputs) }
            performOutputs(context: context)
        }
    }

    private func failHandshake(_ error: HandshakeError, response: [UInt8], context: ChannelHandlerContext) {
        context.fireErrorCaught(WebSocketNIOError.handshakeFailed(error))
        respondAndClose(response, context: context)
    }

    private func respondAndClose(_ response: [UInt8], context: ChannelHandlerContext) {
        if !response.isEmpty { write(response, context: context) }
        closeGracefully(context: context)
    }

    /// Closes our side after pending writes (FIN), then discards what the peer still sends
    /// until it closes too or ``lingerTimeout`` passes, and closes the channel. Closing a socket
    /// with unread input sends a reset, which can destroy our last bytes (a 1009 close frame,
    /// a 404 response) before the peer reads them.
    private func closeGracefully(context: ChannelHandlerContext) {
        phase = .closed
        armTimer(context: context)  // no machine deadline any more: cancels the timer
        flushIfNeeded(context: context)
        if inputClosed {
            // The peer sends nothing more: close once what we wrote is out (NIO turns an output
            // close after the input's into a full close, which drops pending writes).
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            let halfClosed = context.eventLoop.makePromise(of: Void.self)
            closingOutput = true
            context.close(mode: .output, promise: halfClosed)
            halfClosed.futureResult.assumeIsolated().whenComplete { [self] result in
                closingOutput = false
                if case .failure = result { context.close(promise: nil) }
                else if inputClosed { context.close(promise: nil) }  // the peer's end came first
            }
        }
        linger = context.eventLoop.assumeIsolated().scheduleTask(in: lingerTimeout) { context.close(promise: nil) }
    }

    // MARK: Outputs

    /// Performs `outputs` in order. A command's `promise` goes with its last write (its
    /// frame), or with its last output when it writes nothing: a close that releases one held
    /// for answers ends in `.closed` and `.closeTransport`, after the write.
    private func performOutputs(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        var pending = outputs
        outputs = []  // performing may re-enter (an event handler writes a command)
        let promised = pending.lastIndex { if case .write = $0 { true } else { false } } ?? pending.count - 1
        for index in pending.indices {
            perform(pending[index], context: context, promise: index == promised ? promise : nil)
        }
        pending.removeAll(keepingCapacity: true)
        if outputs.isEmpty { outputs = pending }  // keep the capacity for the next call
    }

    private func perform(_ output: Connection.Output, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        switch output {
        case .write(let bytes):
            write(bytes, context: context, promise: promise)
            return
        case .deliver(let event):
            context.fireChannelRead(wrapInboundOut(event))
        case .shutdownWrite:
            flushIfNeeded(context: context)
            context.close(mode: .output, promise: nil)
        case .closeTransport:
            closeGracefully(context: context)
        }
        promise?.succeed()
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        outbound.append(contentsOf: bytes)
        if let promise { outboundPromises.append(promise) }
        queued(context: context)
    }

    /// Bytes were appended to `outbound`: they go out at the next flush, or now if they are many.
    private func queued(context: ChannelHandlerContext) {
        needsFlush = true
        if outbound.count >= Self.writeThreshold { writeOutbound(context: context) }
    }

    /// Hands `outbound` (then `extra`) to NIO as one `ByteBuffer` (copied once), with the
    /// promises of the commands in it. The buffer is the previous one when NIO has written and
    /// released it.
    private func writeOutbound(context: ChannelHandlerContext, appending extra: UnsafeRawBufferPointer? = nil) {
        let extraCount = extra?.count ?? 0
        guard !outbound.isEmpty || extraCount > 0 else {
            for promise in outboundPromises { promise.succeed() }
            outboundPromises.removeAll(keepingCapacity: true)
            return
        }
        var buffer: ByteBuffer
        if var reused = spare.take(), reused.modifyIfUniquelyOwned({ $0.clear() }) != nil {
            buffer = reused
        } else {
            buffer = context.channel.allocator.buffer(capacity: outbound.count + extraCount)
        }
        buffer.writeBytes(outbound)
        if let extra { buffer.writeBytes(extra) }
        outbound.removeAll(keepingCapacity: outbound.capacity <= Self.keptCapacity)
        let promise: EventLoopPromise<Void>?
        switch outboundPromises.count {
        case 0: promise = nil
        case 1: promise = outboundPromises[0]
        default:
            let all = context.eventLoop.makePromise(of: Void.self)
            for each in outboundPromises { all.futureResult.cascade(to: each) }
            promise = all
        }
        outboundPromises.removeAll(keepingCapacity: true)
        if buffer.capacity <= Self.keptCapacity { spare = buffer }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    /// The channel is gone: what was not handed to NIO is dropped, its promises failed.
    private func dropOutbound() {
        outbound = []
        spare = nil
        let promises = outboundPromises
        outboundPromises = []
        for promise in promises { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    /// A server's binary payload of at least this many bytes is not framed into `outbound`: the
    /// core appends only the header (when no extension or fragmentation needs the whole
    /// encoding), and the payload is copied once, into the buffer NIO writes (a `[UInt8]`), or
    /// written as it is (a `ByteBuffer`).
    private static let largePayload = 16 << 10
    /// A payload written after its header (see `largePayload`).
    private enum LargePayload {
        case array([UInt8])
        case buffer(ByteBuffer)
    }
    /// `outbound` goes to NIO without waiting for a flush once it holds this many bytes.
    private static let writeThreshold = 64 << 10
    /// The largest `outbound` capacity and reused buffer kept between writes (per connection).
    private static let keptCapacity = 128 << 10

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        writeOutbound(context: context)
        context.flush()
    }

    // MARK: Time

    private static func now(_ context: ChannelHandlerContext) -> Instant {
        Instant(nanoseconds: context.eventLoop.now.uptimeNanoseconds)
    }

    /// The wall-clock date for the `Date` field of a server's responses (``ServerSettings/date``);
    /// read only while the server handshake runs.
    private var date: HTTPDate? {
        guard case .server(let settings) = mode else { return nil }
        return settings.date()
    }

    private var nextDeadline: Instant? {
        switch phase {
        case .serverHandshake: return serverHandshake!.value.nextDeadline
        case .clientHandshake: return clientHandshake!.value.nextDeadline
        case .open: return connection!.nextDeadline
        case .waitingForActive, .closed: return nil
        }
    }

    /// Keeps one scheduled task at the machine's next deadline.
    private func armTimer(context: ChannelHandlerContext) {
        let deadline = nextDeadline
        if timer?.deadline == deadline { return }
        timer?.task.cancel()
        timer = nil
        guard let deadline else { return }
        let task = context.eventLoop.assumeIsolated().scheduleTask(
            deadline: NIODeadline.uptimeNanoseconds(deadline.nanoseconds)
        ) { [self] in
            timer = nil
            fire(context: context)
        }
        timer = (deadline, task)
    }

    private func fire(context: ChannelHandlerContext) {
        let now = Self.now(context)
        switch phase {
        case .open:
            outputs = connection!.handleTimeout(now: now)
            performOutputs(context: context)
        case .serverHandshake:
            if let step = serverHandshake!.value.handleTimeout(now: now, date: date) { handleServer(step, context: context) }
        case .clientHandshake:
            if let step = clientHandshake!.value.handleTimeout(now: now) { handleClient(step, context: context) }
        case .waitingForActive, .closed:
            break
        }
        flushIfNeeded(context: context)
        armTimer(context: context)
    }
}

@available(*, unavailable)
extension WebSocketChannelHandler: Sendable {}

/// A value kept on the heap, mutated in place (the handler's handshakes).
private final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}
