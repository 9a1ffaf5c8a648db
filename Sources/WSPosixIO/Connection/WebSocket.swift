// SPDX-License-Identifier: Apache-2.0
import Synchronization
public import WSProtocol

/// An open WebSocket connection over a POSIX socket, client or server side.
///
/// Iterate it for events (one consumer at a time: a second consumer that comes to wait while
/// another waits gets `nil`, its iteration ends; cancelling a consumer ends its own iteration,
/// never the other's); send from any task. Values are `Sendable`.
///
/// ```swift
/// let ws = try await WebSocket.connect(to: "ws://127.0.0.1:8080/chat")
/// try await ws.send(.text("hello"))
/// for await event in ws {
///     if case .text(let reply) = event { print(reply); try ws.close() }
/// }
/// ```
///
/// Dropping the last reference to an open connection closes it with 1001 (going away).
public final class WebSocket: AsyncSequence, Sendable {
    /// Iteration yields ``WebSocketEvent``s.
    public typealias Element = WebSocketEvent
    /// Iteration never throws: how the connection ended, errors included, arrives as the last
    /// event, ``WebSocketEvent/closed(_:)``.
    public typealias Failure = Never

    @usableFromInline let channel: Channel

    init(channel: Channel) { self.channel = channel }

    deinit { channel.abandon() }

    /// Iterates the events: messages, pings, pongs, then `.closed` (always last). Iteration also
    /// ends when the iterating task is cancelled (the connection stays open).
    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        @usableFromInline let socket: WebSocket
        /// ``next(message:)`` lent the last message there was to the server's handler task: the
        /// next call waits at once (one lock round, not a look that finds nothing and another
        /// to wait; the wait still looks first).
        @usableFromInline var parkFirst = false
        /// The next event, suspending until one arrives; `nil` after `.closed` was returned,
        /// or when the iterating task is cancelled.
        ///
        /// Inlined into the iterating task: an event at hand is returned, and the server's
        /// handler task suspends, without an async call into the library (each cost an async
        /// frame and an executor check under the task's status-record lock, on every message).
        ///
        /// The waits use `_unsafeInheritExecutor_withUnsafeContinuation`: `withUnsafeContinuation`
        /// hops back to the caller's isolation when it resumes, and so does the
        /// `nonisolated(nonsending)` (or `isolated`) function around it, after every suspension:
        /// two executor checks under the task's status-record lock per wait where one keeps the
        /// same guarantee (the surrounding function's hop). `ws serve`'s `/echo`: 5,864 → 5,598
        /// instructions per 50 × 32 B echo.
        @inlinable nonisolated(nonsending) public mutating func next() async -> WebSocketEvent? {
            // Not `next(isolation: #isolation)`: the hop back from an `isolated` function adds a
            // task switch per message (2.05 → 3.10 on `ws serve`'s `/echo`).
            let channel = socket.channel
            switch channel.takeEvent() {
            case .event(let e): return e
            case .waitUncancellable:
                return await _unsafeInheritExecutor_withUnsafeContinuation { (c: UnsafeContinuation<WebSocketEvent?, Never>) in channel.park(c) }
            case let first: return await channel.nextEvent(after: first)
            }
        }
        /// The same as ``next()`` (what `for await` calls).
        @inlinable public mutating func next(isolation actor: isolated (any Actor)?) async -> WebSocketEvent? {
            let channel = socket.channel
            switch channel.takeEvent() {
            case .event(let e): return e
            case .waitUncancellable:
                return await _unsafeInheritExecutor_withUnsafeContinuation { (c: UnsafeContinuation<WebSocketEvent?, Never>) in
                    channel.park(c)
                }
            case let first: return await channel.nextEvent(after: first)
            }
        }

        /// The next event, as ``next()``, with each text or binary message handed to `body` as
        /// borrowed bytes instead of a `String` or an array: bytes valid only during the call
        /// (copy what must outlive it). Text is valid UTF-8 (checked on arrival). Returns
        /// `.message` with `body`'s result, `.event` for the other events, `nil` after `.closed`
        /// was returned or when the task is cancelled.
        ///
        /// In a task that runs on the connection's event loop (the server's handler tasks do,
        /// or `Task(executorPreference: ws.eventLoop)`), a message under 16 KiB that arrived
        /// whole in one read is not copied at all: `bytes` point into the loop's read buffer.
        /// Elsewhere, and for larger, fragmented, compressed or TLS messages, they point into the
        /// message's own storage (a send of exactly the bytes of a large binary message on the
        /// loop writes its array by reference).
        ///
        /// ```swift
        /// var events = ws.makeAsyncIterator()
        /// while let next = await events.next(message: { kind, bytes in try? ws.enqueue(kind, bytes: bytes) }) {
        ///     if case .event(.closed(let info)) = next { print(info) }
        /// }
        /// ```
        @inlinable nonisolated(nonsending) public mutating func next<R, Failure: Error>(
            message body: (_ kind: Message.Kind, _ bytes: UnsafeRawBufferPointer) throws(Failure) -> R
        ) async throws(Failure) -> Received<R>? {
            let channel = socket.channel
            if parkFirst {
                parkFirst = false
                if let event = await _unsafeInheritExecutor_withUnsafeContinuation({ (c: UnsafeContinuation<WebSocketEvent?, Never>) in
                    channel.parkInPlace(c, cancellable: false, answering: true)
                }) {
                    return try Self.received(event, channel, body)
                }
            }
            while true {
                switch channel.takeInPlace() {
                case .message(let kind, let bytes, let parkNext):
                    parkFirst = parkNext
                    return .message(try body(kind, bytes))
                case .queued(.event(let event)): return try Self.received(event, channel, body)
                case .queued(.yieldThen(let event)):
                    await Task.yield()
                    return try Self.received(event, channel, body)
                case .queued(.end): return nil
                case .queued(.waitUncancellable):
                    // The server's own handler task: nothing else can cancel it (see `next()`).
                    if let event = await _unsafeInheritExecutor_withUnsafeContinuation({ (c: UnsafeContinuation<WebSocketEvent?, Never>) in
                        channel.parkInPlace(c, cancellable: false)
                    }) {
                        return try Self.received(event, channel, body)
                    }
                case .queued(.wait):
                    if let event = await channel.waitInPlace() { return try Self.received(event, channel, body) }
                    if Task.isCancelled { return nil }
                }
            }
        }

        /// A queued event for ``next(message:)``: a data message lent from its storage.
        @inlinable static func received<R, Failure: Error>(
            _ event: WebSocketEvent, _ channel: Channel, _ body: (Message.Kind, UnsafeRawBufferPointer) throws(Failure) -> R
        ) throws(Failure) -> Received<R> {
            switch event {
            case .text(var text):
                let result = text.withUTF8 { utf8 in
                    Swift.Result { () throws(Failure) -> R in try body(.text, UnsafeRawBufferPointer(utf8)) }
                }
                return .message(try result.get())
            case .binary(let bytes):
                // A large array is sent on by reference when the body sends exactly its bytes.
                let large = bytes.count >= Channel.payloadSegmentThreshold
                if large { channel.beginLending(bytes) }
                defer { if large { channel.endLending() } }
                let result = bytes.withUnsafeBytes { raw in
                    Swift.Result { () throws(Failure) -> R in try body(.binary, raw) }
                }
                return .message(try result.get())
            case .fragment, .ping, .pong, .closed:
                return .event(event)
            }
        }
    }

    /// What ``AsyncIterator/next(message:)`` took: a data message (what the closure made of
    /// it) or another event.
    public enum Received<Result> {
        /// A text or binary message, handed to the closure; its result.
        case message(Result)
        /// A fragment (with `Connection.Configuration.deliversFragments` on), a ping, a pong, or
        /// `.closed`.
        case event(WebSocketEvent)
    }

    /// An iterator over this connection's events. Every iterator of one connection takes from
    /// the same queue, so each event reaches one of them; one waits at a time (an iterator that
    /// would wait while another waits returns `nil`).
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: self) }

    // MARK: sending
    //
    // One way to write per need: `send(_:compress:)` suspends while the peer is slow (any task);
    // `enqueue(_:compress:)` never suspends (loop-thread event handlers). Control frames
    // (`ping`, `pong`, `close`) never wait for the outbound buffer, so each has one
    // non-suspending form that works from both.

    /// Sends a message (RFC 6455 §5.6), suspending while the outbound buffer is above
    /// ``FlowControl/highWaterMark`` until it drains to ``FlowControl/lowWaterMark``.
    ///
    /// ```swift
    /// try await ws.send(.text("hello"))
    /// try await ws.send(.binary(png), compress: false)
    /// ```
    /// - Parameters:
    ///   - message: the text or binary message.
    ///   - compress: `false` sends this message uncompressed (RSV1 clear) even when
    ///     permessage-deflate was negotiated (RFC 7692 §6.1), e.g. for data already compressed.
    /// - Throws: ``WebSocketError/closed`` once the connection is closing or closed.
    @inlinable nonisolated(nonsending) public func send(_ message: Message, compress: Bool = true) async throws(WebSocketError) {
        // Inlined into the sending task: a message that does not have to wait for the buffer
        // to drain makes no async call into the library.
        if try queueForSend(message, compress: compress) { try await channel.waitForDrain() }
    }

    /// ``send(_:compress:)`` up to the wait: queues the message (writing it at once when
    /// nothing else is queued); `true` when the sender must wait for the buffer to drain.
    @usableFromInline func queueForSend(_ message: Message, compress: Bool) throws(WebSocketError) -> Bool {
        let use = Self.extensionUse(compress)
        return try channel.queueForSend(payload: message.binaryPayload, kind: .binary) { (c, now, out) throws(UsageError) in
            try c.send(message, extensions: use, now: now, into: &out)
        }
    }

    /// Queues a message without suspending. Meant for ``WebSocketServer/EventHandler``s on the
    /// loop thread: what they queue during one batch of events is written with one call.
    /// `compress` as in ``send(_:compress:)``.
    /// - Throws: ``WebSocketError/sendBufferFull`` when more than ``FlowControl/highWaterMark``
    ///   bytes are already unwritten outside the connection's own event handler (the message is
    ///   not queued; ``bufferedAmount`` tells how many), ``WebSocketError/closed`` once the
    ///   connection is closing or closed.
    public func enqueue(_ message: Message, compress: Bool = true) throws(WebSocketError) {
        let use = Self.extensionUse(compress)
        try channel.sendMessage(message, extensions: use)
    }

    /// Queues a message of type `kind` whose payload is `bytes`, copied now (so `bytes` may be
    /// borrowed, e.g. a ``WebSocketServer/MessageHandler``'s), without suspending; otherwise as
    /// ``enqueue(_:compress:)``.
    /// - Throws: as ``enqueue(_:compress:)``, and ``WebSocketError/usage(_:)`` with
    ///   `UsageError.invalidUTF8` for `.text` bytes that are not UTF-8 (RFC 6455 §8.1).
    public func enqueue(_ kind: Message.Kind, bytes: UnsafeRawBufferPointer, compress: Bool = true) throws(WebSocketError) {
        let use = Self.extensionUse(compress)
        // A large payload that a server on plain TCP writes by reference (as it would the array
        // of `.binary(_:)`) is copied once into an array of its own; otherwise it is framed
        // straight from `bytes` into the send buffer.
        try channel.sendBorrowed(bytes, kind: kind, extensions: use)
    }

    /// With permessage-deflate, `compress: false` bypasses it for one message (RSV1 clear).
    private static func extensionUse(_ compress: Bool) -> Connection.ExtensionUse { compress ? .apply : .bypass }

    /// Queues a ping with up to 125 bytes of payload (RFC 6455 §5.5.2) without suspending; it
    /// goes out after what was queued before it, and the pong arrives as an event.
    /// - Throws: ``WebSocketError/closed`` once closing, ``WebSocketError/usage(_:)`` for a
    ///   payload over 125 bytes.
    public func ping(_ payload: [UInt8] = []) throws(WebSocketError) {
        try channel.command { (c, now) throws(UsageError) in try c.ping(payload, now: now) }
    }

    /// Queues an unsolicited pong (RFC 6455 §5.5.3) without suspending; same errors as ``ping(_:)``.
    public func pong(_ payload: [UInt8] = []) throws(WebSocketError) {
        try channel.command { (c, now) throws(UsageError) in try c.pong(payload, now: now) }
    }

    /// Starts the close handshake (RFC 6455 §7.1.2) without suspending. Messages queued before
    /// reach the peer first; messages the peer sent before its close frame are still delivered;
    /// `.closed` follows as the last event.
    /// - Throws: ``WebSocketError/closed`` when already closing, ``WebSocketError/usage(_:)``
    ///   for a code that may not be sent or a reason over 123 bytes.
    public func close(code: CloseCode = .normalClosure, reason: String = "") throws(WebSocketError) {
        try channel.command { (c, now) throws(UsageError) in try c.close(code: code, reason: reason, now: now) }
    }

    /// Drops the TCP connection at once, without a close handshake (the peer sees 1006).
    public func disconnect() { channel.disconnect() }

    // MARK: state

    /// The event loop this connection lives on. It is a `TaskExecutor`: a task started with
    /// `Task(executorPreference: ws.eventLoop)` handles this connection without thread switches
    /// (it must not block).
    public var eventLoop: EventLoop { channel.loop }

    /// Client (this end connected) or server (this end accepted).
    public var role: Role { channel.role }
    /// The peer's address: the real client when a trusted proxy said who it is (a PROXY
    /// protocol header, see ``WebSocketServer/Configuration/proxyProtocol``, or forwarding
    /// headers, see ``WebSocketServer/Configuration/trustedForwarders``), else the socket's peer.
    public var peer: SocketAddress? { channel.state.withLock { $0.reportedPeer } ?? channel.peer }
    /// The peer's numeric address, e.g. `127.0.0.1` or `::1` (the real client, as ``peer``).
    public var peerAddress: String? { peer?.host }
    /// The peer's port (the real client's, as ``peer``; 0 when a forwarding header gave no port).
    public var peerPort: Int? { peer.map { Int($0.port) } }
    /// The socket's own peer: the proxy, when ``peer`` reports a client behind one.
    public var directPeer: SocketAddress? { channel.peer }
    /// Server: the request's `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Proto`, parsed
    /// (whoever sent them: trust them only from a proxy you know); `nil` when there are none
    /// or after ``discardRequest()``.
    public var forwarded: ForwardedHeaders? {
        guard let headers = request?.headers else { return nil }
        let parsed = ForwardedHeaders(headers: headers)
        return parsed.isEmpty ? nil : parsed
    }
    /// The local address of the socket.
    public var localAddress: SocketAddress? { channel.state.withLock { $0.localAddress } }

    /// The negotiated subprotocol, if any (RFC 6455 §1.9).
    public var subprotocol: String? { channel.state.withLock { $0.subprotocol } }
    /// The names of the negotiated extensions.
    public var extensions: [String] { channel.state.withLock { $0.extensionNames } }
    /// Client: the opening handshake's request as sent (RFC 6455 §4.1).
    public var handshakeRequest: HTTPRequestHead? { channel.state.withLock { $0.handshakeRequest } }
    /// Client: the server's 101 response.
    public var response: HTTPResponseHead? { channel.state.withLock { $0.response } }
    /// Server: the client's upgrade request (`nil` after ``discardRequest()``).
    public var request: UpgradeRequest? { channel.state.withLock { $0.request } }
    /// Server: forgets the upgrade request, so that a long-lived connection stops holding its
    /// header fields (a few hundred bytes per connection): ``request`` and ``forwarded`` are
    /// `nil` from then on; ``peer``, ``subprotocol`` and ``extensions`` stay. For a handler that
    /// has read what it needs from the request (`ws serve` does, once it has the path).
    public func discardRequest() { channel.state.withLock { $0.request = nil } }

    /// Bytes queued but not yet written to the socket.
    public var bufferedAmount: Int { channel.state.withLock { $0.pendingBytes } }
    /// Events received but not yet consumed by the application.
    public var bufferedEventCount: Int { channel.state.withLock { $0.events.count } }
    /// Bytes held by the events received but not yet consumed by the application.
    public var bufferedEventBytes: Int { channel.state.withLock { $0.events.bytes } }
    /// Whether reading is paused because the application is behind on its events (over
    /// ``FlowControl/inboundBudget`` or ``FlowControl/maxBufferedEvents``).
    public var isReadingPaused: Bool { channel.state.withLock { $0.events.isOverBudget } }
    /// How the connection ended: the info of the `.closed` event, from the moment that event is
    /// queued (`nil` before). That is when the socket closes, or, when the close handshake
    /// completes while the socket is still open (a close held until the application had answered
    /// the messages before it), just before the loop closes the socket; so an application that
    /// has taken `.closed` always finds it here.
    public var closeInfo: CloseInfo? { channel.state.withLock { $0.closeInfo } }
    /// Whether the connection is up, as Tufao's `isConnected`: true from the moment `connect`
    /// returns (or the server hands the socket over) until the socket closes; false from then
    /// on. (The `.closed` event, and ``closeInfo``, can come just before the socket closes.)
    public var isConnected: Bool { channel.state.withLock { $0.lifecycle.isLive } }
}

extension WebSocket.Received: Sendable where Result: Sendable {}
extension WebSocket.Received: Equatable where Result: Equatable {}
extension WebSocket.Received: Hashable where Result: Hashable {}

extension Message {
    /// The payload of a binary message (`nil` for text), which the driver may share without a copy.
    var binaryPayload: [UInt8]? {
        if case .binary(let bytes) = self { return bytes }
        return nil
    }
}
