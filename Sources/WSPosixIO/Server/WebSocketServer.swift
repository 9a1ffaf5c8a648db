// SPDX-License-Identifier: Apache-2.0
import WSProtocol
public import WSTLS

/// A WebSocket server on a TCP port: accepts connections, runs the opening handshake, lets the
/// application decide per request, and hands each open connection to a handler.
///
/// ```swift
/// let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0) { ws in
///     for await event in ws {
///         if case .text(let t) = event { try? await ws.send(.text(t)) }
///     }
/// }
/// print("listening on", server.port)
/// ```
public final class WebSocketServer: Sendable {
    let context: ServerContext
    let listener: Listener
    /// The address the server listens on (with the actual port when bound to port 0).
    public let localAddress: SocketAddress

    /// The port the server listens on (the ephemeral one chosen when bound to port 0).
    public var port: Int { Int(localAddress.port) }

    /// The connections alive now (in handshake or open).
    public var connectionCount: Int { context.count }

    /// The bytes all connections hold in memory now: events received and not yet taken by the
    /// application, messages being assembled, and bytes queued to write. Each connection
    /// reports changes of at least 64 KiB (and its return to zero), so small messages cost
    /// nothing; the figure is exact to 64 KiB per connection. Bounded per connection by
    /// ``FlowControl/inboundBudget`` (plus one message) and ``FlowControl/highWaterMark``
    /// (plus one message); ``Configuration/maxBufferedBytes`` caps admission on it.
    public var bufferedBytes: Int { context.bufferedBytes }

    private init(context: ServerContext, listener: Listener, localAddress: SocketAddress) {
        self.context = context; self.listener = listener; self.localAddress = localAddress
    }

    /// Binds to `host` and `port` and starts accepting.
    ///
    /// - Parameters:
    ///   - host: a numeric address (`127.0.0.1`, `::1`, `0.0.0.0`, `::`) or a host name.
    ///   - port: the port; 0 picks an ephemeral port (see ``port``).
    ///   - configuration: limits and settings.
    ///   - onUpgrade: decides on each upgrade request; `nil` accepts every valid request
    ///     without a subprotocol.
    ///   - onHTTPRequest: answers requests that are not upgrades; `nil` answers
    ///     ``HTTPResponse/upgradeRequired`` (426).
    ///   - onConnection: runs each open connection, in its own task.
    /// - Throws: ``WebSocketError`` when the address cannot be resolved or bound.
    public static func bind(host: String = "127.0.0.1", port: Int = 0, configuration: Configuration = .init(),
                            onUpgrade: UpgradeHandler? = nil, onHTTPRequest: HTTPHandler? = nil,
                            onConnection: @escaping ConnectionHandler) async throws(WebSocketError) -> WebSocketServer {
        try await bind(host: host, port: port, configuration: configuration, onUpgrade: onUpgrade,
                       onHTTPRequest: onHTTPRequest, onConnection: onConnection, onEvent: nil)
    }

    /// Binds to `host` and `port` and serves with an event handler that runs on the loop
    /// threads: no task per connection and no task switch per message. Replies queued with
    /// ``WebSocket/enqueue(_:compress:)`` during one batch of events go out with one write; reading
    /// pauses while a connection's unwritten replies exceed ``FlowControl/highWaterMark``.
    ///
    /// ```swift
    /// let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
    ///     switch event {
    ///     case .text(let t): try? ws.enqueue(.text(t))
    ///     case .binary(let b): try? ws.enqueue(.binary(b))
    ///     default: break
    ///     }
    /// })
    /// ```
    public static func bind(host: String = "127.0.0.1", port: Int = 0, configuration: Configuration = .init(),
                            onUpgrade: UpgradeHandler? = nil, onHTTPRequest: HTTPHandler? = nil,
                            onEvent: @escaping EventHandler) async throws(WebSocketError) -> WebSocketServer {
        try await bind(host: host, port: port, configuration: configuration, onUpgrade: onUpgrade,
                       onHTTPRequest: onHTTPRequest, onConnection: nil, onEvent: onEvent)
    }

    /// Binds to `host` and `port` and serves on the loop threads with messages borrowed in
    /// place: `onMessage` gets every data message as bytes that live only during the call (a
    /// message under 16 KiB that arrived whole in one read is read where it lies in the read
    /// buffer, unmasked there: nothing is allocated or copied for it); `onEvent` gets everything else
    /// (pings, pongs, fragments in streaming mode, `.closed` last), in arrival order with the
    /// messages. Otherwise as ``bind(host:port:configuration:onUpgrade:onHTTPRequest:onEvent:)``.
    ///
    /// ```swift
    /// let server = try await WebSocketServer.bind(port: 0, onMessage: { ws, kind, bytes in
    ///     try? ws.enqueue(kind, bytes: bytes)  // an echo: copied into the send buffer, framed
    /// }, onEvent: { _, _ in })
    /// ```
    public static func bind(host: String = "127.0.0.1", port: Int = 0, configuration: Configuration = .init(),
                            onUpgrade: UpgradeHandler? = nil, onHTTPRequest: HTTPHandler? = nil,
                            onMessage: @escaping MessageHandler,
                            onEvent: @escaping EventHandler) async throws(WebSocketError) -> WebSocketServer {
        try await bind(host: host, port: port, configuration: configuration, onUpgrade: onUpgrade,
                       onHTTPRequest: onHTTPRequest, onConnection: nil, onEvent: onEvent, onMessage: onMessage)
    }

    private static func bind(host: String, port: Int, configuration: Configuration, onUpgrade: UpgradeHandler?,
                             onHTTPRequest: HTTPHandler?, onConnection: ConnectionHandler?,
                             onEvent: EventHandler?, onMessage: MessageHandler? = nil) async throws(WebSocketError) -> WebSocketServer {
        guard let port16 = UInt16(exactly: port) else { throw .invalidArgument("invalid port \(port)") }
        var tlsContext: TLSContext? = nil
        if let tls = configuration.tls {
            do { tlsContext = try TLSContext(server: tls) } catch { throw .tls(error) }
        }
        guard let address = try await Resolver.resolve(host: host, port: port16).get().first else {
            throw .hostNotFound(host: host, message: "no addresses")
        }
        let fd: Int32
        let bound: SocketAddress
        do {
            fd = try Sys.socket(family: address.family)
        } catch {
            throw WebSocketError(error)
        }
        let owner = FileDescriptor(fd)
        do {
            try Sys.setReuseAddress(fd)
            if address.family == .ipv6 { try Sys.setIPv6Only(fd) }
            try Sys.bind(fd, address)
            try Sys.listen(fd, backlog: configuration.backlog)
            bound = Sys.localAddress(fd) ?? address
        } catch {
            throw WebSocketError(error)
        }
        let context = ServerContext(configuration: configuration, onUpgrade: onUpgrade, onHTTPRequest: onHTTPRequest,
                                    onConnection: onConnection, onEvent: onEvent, onMessage: onMessage,
                                    tlsContext: tlsContext)
        let loop: EventLoop
        do {
            loop = try configuration.group.next()
        } catch {
            throw WebSocketError(error)
        }
        let listener = Listener(loop: loop, socket: owner, context: context)
        try await listener.start()
        return WebSocketServer(context: context, listener: listener, localAddress: bound)
    }

    /// Whether connections are served over TLS (``Configuration/tls`` or a transport factory).
    public var isSecure: Bool { context.configuration.tls != nil || context.configuration.transport != nil }

    /// Replaces the certificate chain and key (e.g. renewed ones) while the server runs: new
    /// connections get the new ones, open connections keep theirs. `ws serve` calls this on
    /// SIGHUP.
    ///
    /// - Throws: ``WebSocketError/tls(_:)`` with `TLSError.invalidConfiguration` when
    ///   the files cannot be loaded or the key does not match (the old certificates stay).
    public func reloadTLS(_ configuration: TLSServerConfiguration) throws(WebSocketError) {
        let fresh: TLSContext
        do { fresh = try TLSContext(server: configuration) } catch { throw .tls(error) }
        context.replaceTLSContext(fresh)
    }

    /// Shuts down gracefully: stops accepting, sends close 1001 (going away) to every open
    /// connection, waits up to `timeout` for the close handshakes, then drops what is left.
    public func shutdown(timeout: Duration = .seconds(5)) async {
        let live = context.beginShutdown()
        await listener.close()
        for channel in live { channel.goAway() }
        let deadline = MonotonicClock.now() + timeout
        while context.count > 0 && MonotonicClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
        for channel in context.snapshot() { channel.disconnect() }
        let last = MonotonicClock.now() + .seconds(2)
        while context.count > 0 && MonotonicClock.now() < last {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
