// SPDX-License-Identifier: Apache-2.0
import NIOCore
import WSProtocol

/// An async client on ``WebSocketChannelHandler``: connect, send commands, iterate events.
public final class WebSocketClient: Sendable {
    /// The channel (its pipeline: the WebSocket handler, then the event collector).
    public let channel: any Channel
    /// What the handshake negotiated.
    public let opened: WebSocketOpened
    /// Every event, in order, ending after `.closed`. Unbounded: the channel keeps reading
    /// while the application does not iterate, so iterate it (for a bound, put a
    /// `NIOAsyncChannel` after ``WebSocketChannelHandler`` instead of this client).
    public let events: AsyncStream<Event>

    private init(channel: any Channel, opened: WebSocketOpened, events: AsyncStream<Event>) {
        self.channel = channel; self.opened = opened; self.events = events
    }

    /// Connects to a `ws://` URL and completes the opening handshake.
    /// - Throws: ``WebSocketNIOError/handshakeFailed(_:)`` (refused, timed out, invalid response),
    ///   or NIO's connect error.
    public static func connect(url: String, group: any EventLoopGroup, subprotocols: [String] = [],
                               configuration: Connection.Configuration = .init(),
                               timeout: Duration = .seconds(10)) async throws -> WebSocketClient {
        var options = try ClientHandshake.Options(url: url, subprotocols: subprotocols)
        options.configuration = configuration
        options.timeout = timeout
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let eventLoop = group.next()
        let opened = eventLoop.makePromise(of: WebSocketOpened.self)
        let channel = try await WebSocketBootstrap.connect(group: eventLoop, options: options) {
            EventCollector(opened: opened, continuation: continuation)
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
    public func close(code: CloseCode = .normalClosure, reason: String = "") async throws {
        try await channel.writeAndFlush(WebSocketCommand.close(code: code, reason: reason))
    }
}

/// Hands the events to an `AsyncStream` and completes the `opened` promise.
final class EventCollector: ChannelInboundHandler {
    typealias InboundIn = Event

    private let opened: EventLoopPromise<WebSocketOpened>
    private let continuation: AsyncStream<Event>.Continuation

    init(opened: EventLoopPromise<WebSocketOpened>, continuation: AsyncStream<Event>.Continuation) {
        self.opened = opened; self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
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
        continuation.finish()
        context.fireChannelInactive()
    }
}
