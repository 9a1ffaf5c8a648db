// SPDX-License-Identifier: Apache-2.0
public import WSProtocol
public import WSTLS

extension WebSocketServer {
    /// Limits and settings of a server.
    public struct Configuration: Sendable {
        /// Settings of each connection (message limits, keepalive, close timeout, ...).
        /// Default `Connection.Configuration.socketDefault` (answers before the close on).
        public var connection: Connection.Configuration = .socketDefault
        /// permessage-deflate (RFC 7692): with a value (`.default` for the memory-conscious
        /// settings), every accepted upgrade also accepts the client's first valid
        /// permessage-deflate offer, unless the decision's `extensions` already hold a
        /// permessage-deflate negotiator. `nil` (default): only what the decision lists.
        public var compression: WebSocket.Compression? = nil
        /// Which pages may connect (the `Origin` check): a refused request gets `403 Forbidden`
        /// with a body saying why, before `onUpgrade` is asked. `nil` (default): no check here
        /// (`onUpgrade` may still check `UpgradeRequest.origin` itself).
        public var originPolicy: OriginPolicy? = nil
        /// How long a client may take to send its whole request head (slowloris guard; → 408).
        /// Default 10 s.
        public var handshakeTimeout: Duration = .seconds(10)
        /// How long `onUpgrade` or `onHTTPRequest` may take to decide on a request; after it the
        /// client gets 503 and the connection closes (a late decision is ignored). Default 10 s.
        public var decisionTimeout: Duration = .seconds(10)
        /// Limits on the request head (size, header count).
        public var limits: HTTPHeadParser.Limits = .init()
        /// The most connections at once (in handshake or open); beyond it, new ones get 503
        /// (over TLS, where that could not be read, a fatal `internal_error` alert: see
        /// ``Transport/refuse()``). Default 10,000.
        public var maxConnections: Int = 10_000
        /// Backpressure limits of each connection.
        public var flowControl: FlowControl = .init()
        /// New connections get 503 (over TLS the fatal alert of ``maxConnections``) while the
        /// connections' buffered bytes (see ``WebSocketServer/bufferedBytes``) are at or above
        /// this; `nil` (default) for no cap.
        /// Each connection stays bounded by its own ``flowControl`` either way.
        public var maxBufferedBytes: Int? = nil
        /// After a plain HTTP response (a refusal, a 503, an answered request) is written and
        /// the write side shut down, how long the connection waits for the client to close
        /// before closing it (so the client reads the response, not a reset). Default 2 s.
        public var responseLinger: Duration = .seconds(2)
        /// The listen backlog.
        public var backlog: Int32 = 1024
        /// Serve over TLS (`wss://`, and `https://` for plain HTTP requests) with this certificate
        /// and key; `nil` (default) for plain TCP. Replace the certificates of a running server
        /// with ``WebSocketServer/reloadTLS(_:)``.
        public var tls: TLSServerConfiguration? = nil
        /// Makes the ``Transport`` for each accepted connection, replacing ``tls``; `nil` for
        /// none.
        public var transport: (@Sendable (TransportContext) -> any Transport)? = nil
        /// The PROXY protocol (v1 and v2) from trusted load balancers; `nil` (default) for off.
        /// See ``ProxyProtocolSettings``.
        public var proxyProtocol: ProxyProtocolSettings? = nil
        /// The direct peers (HTTP reverse proxies such as nginx) whose `Forwarded` /
        /// `X-Forwarded-For` headers set ``WebSocket/peer``; see ``ForwardedHeaders/client(trusting:)``,
        /// which also skips these addresses along the chain. Empty (default): the headers are
        /// parsed (``WebSocket/forwarded``) but never change the reported peer.
        public var trustedForwarders: [IPAddressPrefix] = []
        /// The loops to run on.
        public var group: EventLoopGroup = .shared
        /// Makes the pre-handshake stages of each accepted connection (the PROXY protocol
        /// header), given its TCP peer; they run in order before the transport, within
        /// ``handshakeTimeout``. A stage's ``StreamStageFacts/source`` becomes the connection's
        /// ``WebSocket/peer`` (``WebSocket/directPeer`` stays the TCP peer).
        var makeStages: (@Sendable (_ peer: SocketAddress?) -> [any StreamStage])? = nil

        /// A configuration with the given fields; every other field (and each omitted one)
        /// has the default its property documents.
        public init(connection: Connection.Configuration = .socketDefault, handshakeTimeout: Duration = .seconds(10),
                    maxConnections: Int = 10_000, flowControl: FlowControl = .init(),
                    compression: WebSocket.Compression? = nil) {
            self.connection = connection; self.handshakeTimeout = handshakeTimeout
            self.compression = compression
            self.maxConnections = maxConnections; self.flowControl = flowControl
        }
    }

    /// Decides on an upgrade request (may suspend, e.g. to check a token).
    public typealias UpgradeHandler = @Sendable (UpgradeRequest) async -> UpgradeDecision
    /// Answers a plain HTTP request that is not an upgrade (e.g. serves a page).
    public typealias HTTPHandler = @Sendable (HTTPRequestHead) async -> HTTPResponse
    /// Runs an accepted connection; called once per connection, in its own task.
    public typealias ConnectionHandler = @Sendable (WebSocket) async -> Void
    /// Handles each event of each connection synchronously on the connection's loop thread
    /// (no task switch per message: the fastest way to serve). It must not block; reply with
    /// the non-suspending ``WebSocket/enqueue(_:compress:)`` (and ``WebSocket/ping(_:)``,
    /// ``WebSocket/pong(_:)``, ``WebSocket/close(code:reason:)``, which never suspend). `.closed` comes last.
    public typealias EventHandler = @Sendable (WebSocket, WebSocketEvent) -> Void
    /// Handles each data message of each connection on its loop thread, with the payload
    /// borrowed: the bytes (text already checked as UTF-8) are valid only during the call, and
    /// for a message under 16 KiB that arrived whole in one read they are the read buffer
    /// itself, unmasked in place (no array, no string, no copy); larger ones come from their own
    /// array, which a send of exactly those bytes writes by reference. Copy what must outlive
    /// the call. Same rules as
    /// ``EventHandler``: it must not block; reply with ``WebSocket/enqueue(_:bytes:compress:)``
    /// (which copies from a borrowed buffer) or ``WebSocket/enqueue(_:compress:)``.
    public typealias MessageHandler = @Sendable (WebSocket, Message.Kind, UnsafeRawBufferPointer) -> Void
}
