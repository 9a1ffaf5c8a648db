// SPDX-License-Identifier: Apache-2.0
import NIOCore
import WSProtocol

/// An async client on ``WebSocketChannelHandler``: connect, send commands, iterate events.
public final class WebSocketClient: Sendable {
    /// The channel (its pipeline: the WebSocket handler, then the event collector).
    public let channel: any Channel
    /// What the handshake negotiated.
    public let opened: WebSocketOpened
    /// Every event, in order, ending after `.closed`; one iterator only. Bounded: see ``Events``.
    public let events: Events

    private init(channel: any Channel, opened: WebSocketOpened, events: Events) {
        self.channel = channel; self.opened = opened; self.events = events
    }

    /// Connects to a `ws://` URL and completes the opening handshake.
    /// - Parameter backPressureStrategy: When the channel stops and resumes reading for
    ///   ``events``: NIO's default for `NIOAsyncChannel`, stop at 10 unconsumed events and
    ///   read again at 2 (see ``Events`` for the bound it gives).
    /// - Throws: ``WebSocketNIOError/handshakeFailed(_:)`` (refused, timed out, invalid response),
    ///   or NIO's connect error.
    public static func connect(url: String, group: any EventLoopGroup, subprotocols: [String] = [],
                               configuration: Connection.Configuration = .init(),
                               timeout: Duration = .seconds(10),
                               backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark
                                   = .init(lowWatermark: 2, highWatermark: 10)) async throws -> WebSocketClient {
        var options = try ClientHandshake.Options(url: url, subprotocols: subprotocols)
        options.configuration = configuration
        options.timeout = timeout
        let eventLoop = group.next()
        // The collector is made on the event loop (in the channel initializer); the producer's
        // delegate reaches it through this box, filled there.
        let collector = NIOLoopBoundBox.makeEmptyBox(valueType: EventCollector.self, eventLoop: eventLoop)
        let made = NIOAsyncSequenceProducer.makeSequence(
            elementType: Event.self, backPressureStrategy: backPressureStrategy, finishOnDeinit: false,
            delegate: EventCollector.Delegate(collector: collector))
        // Only the client holds the sequence (the initializer captures the source alone): once
        // it is gone unread, the producer terminates (see ``Events``).
        let source = made.source, events = Events(producer: made.sequence)
        let opened = eventLoop.makePromise(of: WebSocketOpened.self)
        let channel = try await WebSocketBootstrap.connect(group: eventLoop, options: options) {
            let handler = EventCollector(opened: opened, source: source)
            collector.value = handler
            return handler
        }.get()
        do {
            return WebSocketClient(channel: channel, opened: try await opened.futureResult.get(), events: events)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Sends a message; returns once it was written to the socket.
    public func send(_ message: Message) async throws {
        try await channel.writeAndFlush(WebSocketCommand.send(message))
    }

    /// Sends a ping.
    public func ping(_ payload: [UInt8] = []) async throws {
        try await channel.writeAndFlush(WebSocketCommand.ping(payload))
    }

    /// Starts the close handshake; the events end with `.closed`.
    ///
    /// The peer's answer is read after the events before it, so iterate ``events`` to the end
    /// (an application that does not leaves the close to ``WSProtocol/Connection/Configuration/closeTimeout``).
    public func close(code: CloseCode = .normalClosure, reason: String = "") async throws {
        try await channel.writeAndFlush(WebSocketCommand.close(code: code, reason: reason))
    }

    /// The client's events, an `AsyncSequence` with one iterator (a second one is a fatal error).
    ///
    /// Bounded, with backpressure to the socket: once the application leaves
    /// `highWatermark` events unconsumed (see ``WebSocketClient/connect(url:group:subprotocols:configuration:timeout:backPressureStrategy:)``),
    /// the channel stops reading, so the server's TCP window closes and its writes stall;
    /// when the application has taken all but `lowWatermark`, reading resumes. At most
    /// `highWatermark` events wait, plus those of the read that reached it (one read is at
    /// most 4 × 64 KiB of frames: NIO's `maxMessagesPerRead` and largest receive buffer); the
    /// core holds at most one incomplete message besides (`maxMessageSize`, 16 MiB by default).
    /// The channel's timers keep running meanwhile: a keepalive or close timeout can fail the
    /// connection while the application is behind, and the events then end with `.closed`.
    ///
    /// Ending the iteration early (leaving the loop, dropping the iterator, cancelling its task),
    /// or dropping the client without ever iterating, tells the server we are going away: the
    /// client sends a close frame with 1001 (RFC 6455 §7.4.1), reads and drops what is still
    /// coming, and the connection closes with the close handshake (or after `closeTimeout`).
    public struct Events: AsyncSequence, Sendable {
        public typealias Element = Event
        public typealias Failure = Never

        fileprivate let producer: NIOAsyncSequenceProducer<
            Event, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, EventCollector.Delegate>

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: producer.makeAsyncIterator())
        }

        /// The only iterator of ``WebSocketClient/Events``; nil after `.closed` (or once the
        /// task is cancelled).
        public struct AsyncIterator: AsyncIteratorProtocol {
            fileprivate let base: NIOAsyncSequenceProducer<
                Event, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, EventCollector.Delegate>.AsyncIterator

            public mutating func next() async -> Event? {
                await base.next()
            }
        }
    }
}

extension WebSocketClient {
    /// What the client's collector has done so far (for tests): how many events it has yielded
    /// (those the application has not taken are buffered), and whether it holds a read.
    package struct EventFlow: Sendable, Equatable {
        package var yielded: Int
        package var readHeld: Bool
    }

    /// The collector's ``EventFlow``, read on the event loop; nil once the channel has closed
    /// (and its handlers are gone).
    package func eventFlow() async throws -> EventFlow? {
        try await channel.eventLoop.submit { [channel] in
            let collector = try? channel.pipeline.syncOperations.handler(type: EventCollector.self)
            return collector.map { EventFlow(yielded: $0.yielded, readHeld: $0.state == .heldRead) }
        }.get()
    }
}

/// Yields the events to the client's `NIOAsyncSequenceProducer`, holds the channel's reads
/// while the producer's strategy says stop (as `NIOAsyncChannel`'s handler does), completes the
/// `opened` promise, and sends a 1001 close when the application stops iterating.
final class EventCollector: ChannelDuplexHandler {
    typealias InboundIn = Event
    typealias OutboundIn = WebSocketCommand
    typealias OutboundOut = WebSocketCommand
    typealias Source = NIOAsyncSequenceProducer<
        Event, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Delegate>.Source

    enum State: Equatable {
        /// Reads pass through.
        case reading
        /// The application is behind: the next read request waits.
        case paused
        /// A read request waits for ``produceMore()``.
        case heldRead
        /// The application stopped iterating: reads pass through, events are dropped.
        case terminated
    }

    private let opened: EventLoopPromise<WebSocketOpened>
    /// Nil once the sequence is finished or terminated (which also breaks the cycle through
    /// the producer's delegate).
    private var source: Source?
    private var context: ChannelHandlerContext?
    private(set) var state = State.reading
    /// Events yielded so far (see ``WebSocketClient/eventFlow()``).
    private(set) var yielded = 0

    init(opened: EventLoopPromise<WebSocketOpened>, source: Source) {
        self.opened = opened; self.source = source
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        finish()
    }

    // One yield per event, not one per read at `channelReadComplete` as `NIOAsyncChannel`
    // does: the handler also delivers events from its timers (a close timeout's `.closed`),
    // which no read completes.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let source else { return }
        yielded += 1
        switch source.yield(unwrapInboundIn(data)) {
        case .produceMore, .dropped:
            break
        case .stopProducing:
            if state == .reading { state = .paused }
        }
    }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .reading, .terminated:
            context.read()
        case .paused:
            state = .heldRead
        case .heldRead:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? WebSocketOpened { opened.succeed(event) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        opened.fail(error)  // ignored once the handshake succeeded
    }

    func channelInactive(context: ChannelHandlerContext) {
        opened.fail(WebSocketNIOError.handshakeFailed(.endOfStream))
        finish()
        context.fireChannelInactive()
    }

    /// The events end: the application gets those buffered, then nil.
    private func finish() {
        source?.finish()
        source = nil
    }

    /// The application has taken enough: read again.
    private func produceMore() {
        switch state {
        case .paused:
            state = .reading
        case .heldRead:
            state = .reading
            context?.read()
        case .reading, .terminated:
            break
        }
    }

    /// The application stopped iterating (or the events ended and were all taken). Nobody
    /// reads the events any more: while open, say we are going away (RFC 6455 §7.4.1: 1001)
    /// and read freely so that the close handshake completes. A close command refused
    /// (the connection already closing or closed) needs nothing more: the handler closes the
    /// channel at the end of the handshake, or after `closeTimeout` or its linger.
    private func terminated() {
        source = nil
        let held = state == .heldRead
        state = .terminated
        guard let context, context.channel.isActive else { return }
        context.writeAndFlush(wrapOutboundOut(.close(code: .goingAway, reason: "")), promise: nil)
        if held { context.read() }
    }

    /// The producer's delegate: its calls come from the consuming task's thread, so they hop to
    /// the channel's event loop.
    struct Delegate: NIOAsyncSequenceProducerDelegate {
        let collector: NIOLoopBoundBox<EventCollector?>

        func produceMore() {
            run { $0.produceMore() }
        }

        func didTerminate() {
            run { $0.terminated() }
        }

        private func run(_ body: @escaping @Sendable (EventCollector) -> Void) {
            if collector.eventLoop.inEventLoop {
                collector.value.map(body)
            } else {
                collector.eventLoop.execute { [collector] in collector.value.map(body) }
            }
        }
    }
}

@available(*, unavailable)
extension EventCollector: Sendable {}
