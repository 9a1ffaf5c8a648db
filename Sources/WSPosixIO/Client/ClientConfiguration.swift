// SPDX-License-Identifier: Apache-2.0
public import WSProtocol
public import WSTLS

extension WebSocket {
    /// How a client connects: what it offers in the handshake, timeouts, limits.
    ///
    /// ## Topics
    ///
    /// ### The connection settings WSPosixIO uses by default
    ///
    /// - ``WSProtocol/Connection/Configuration/socketDefault``
    public struct ClientConfiguration: Sendable {
        /// Subprotocols to offer, in order of preference (RFC 6455 §4.1 item 10).
        public var subprotocols: [String] = []
        /// The `Origin` header to send (RFC 6455 §4.1 item 8), if any.
        public var origin: String? = nil
        /// Extra request headers (e.g. `Authorization`).
        public var headers: HTTPHeaders = [:]
        /// permessage-deflate (RFC 7692) to offer: `.default` for the memory-conscious settings;
        /// `nil` (default) offers none. The connection compresses if the server accepts.
        public var compression: WebSocket.Compression? = nil
        /// Other extensions to offer, before permessage-deflate (a permessage-deflate negotiator
        /// here replaces ``compression``).
        public var extensions: [any ExtensionNegotiator] = []
        /// How long the TCP connect may take, per address tried. Default 10 s.
        public var connectTimeout: Duration = .seconds(10)
        /// How long the opening handshake may take once TCP is up. Default 10 s. After a
        /// redirect, every hop (connect and handshake) must end within ``connectTimeout`` +
        /// ``handshakeTimeout`` of the connect's start: redirects do not add time.
        public var handshakeTimeout: Duration = .seconds(10)
        /// Limits on the response head.
        public var limits: HTTPHeadParser.Limits = .init()
        /// Settings of the connection (message limits, keepalive, default message type, ...).
        /// Default `Connection.Configuration.socketDefault` (answers before the close on).
        public var connection: Connection.Configuration = .socketDefault
        /// Backpressure limits.
        public var flowControl: FlowControl = .init()
        /// How `wss://` connections verify the server (and what they present): by default the
        /// system trust store, host-name verification, TLS 1.2 or later, ALPN `http/1.1`. See
        /// `Docs/TLS.md`.
        public var tls: TLSClientConfiguration = .init()
        /// Makes the ``Transport`` for each connection, replacing the built-in TLS of `wss://`
        /// and applying to `ws://` too; `nil` (default): ``TLSTransport`` for `wss://`, plain TCP
        /// for `ws://`.
        public var transport: (@Sendable (TransportContext) -> any Transport)? = nil
        /// The proxy to tunnel through: none (the default), one from the environment as curl
        /// picks it (``Proxy/fromEnvironment(secure:host:environment:)``), or an explicit one.
        /// TCP goes to the proxy; the tunnel is opened before TLS and the opening handshake.
        public var proxy: ProxySetting = .none
        /// Which redirects (301, 302, 303, 307, 308) of the opening handshake to follow; up to
        /// 10 by default, `.none` for none.
        public var redirects: RedirectPolicy = .init()
        /// Called once per opening handshake that got as far as sending its request (each
        /// redirect hop is one), whether it succeeded or failed; see ``HandshakeTrace``. For
        /// logging and debugging (`ws connect -v` prints it); it runs on the connecting task and
        /// must not block.
        public var onHandshake: (@Sendable (HandshakeTrace) -> Void)? = nil
        /// The loops to run on.
        public var group: EventLoopGroup = .shared
        /// Makes the pre-handshake stages of each connection (proxy tunnels), given the host and
        /// port the WebSocket is for; they run in order once TCP is up, before the transport.
        var makeStages: (@Sendable (_ host: String, _ port: Int) -> [any StreamStage])? = nil

        /// A configuration with the given fields; every other field (and each omitted one)
        /// has the default its property documents.
        public init(subprotocols: [String] = [], origin: String? = nil, headers: HTTPHeaders = [:],
                    connectTimeout: Duration = .seconds(10), handshakeTimeout: Duration = .seconds(10),
                    connection: Connection.Configuration = .socketDefault, flowControl: FlowControl = .init(),
                    compression: WebSocket.Compression? = nil) {
            self.subprotocols = subprotocols; self.origin = origin; self.headers = headers
            self.compression = compression
            self.connectTimeout = connectTimeout; self.handshakeTimeout = handshakeTimeout
            self.connection = connection; self.flowControl = flowControl
        }
    }
}
