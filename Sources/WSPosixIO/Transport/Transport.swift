// SPDX-License-Identifier: Apache-2.0

/// The seam between the socket and the WebSocket bytes, where TLS plugs in.
///
/// A transport turns bytes read from the socket into application bytes, and application bytes
/// into bytes to write, entirely in memory (a sans-I/O TLS engine fits this shape, as NIOSSL's
/// memory BIO does). `wss://` uses the built-in ``TLSTransport`` (WSTLS over the system
/// OpenSSL), and a server with ``WebSocketServer/Configuration/tls`` does too. To plug in
/// another, set ``WebSocket/ClientConfiguration/transport`` or
/// ``WebSocketServer/Configuration/transport``: each connection gets its own instance, made
/// with the ``TransportContext`` it needs (role, host name for SNI and verification). Without
/// one, bytes go straight between the socket and the core (the fast path, no copies).
///
/// The driver calls ``start()`` once TCP is up and writes its bytes first; after each
/// ``unwrap(_:into:)`` (or ``unwrap(_:_:)``, which the open connection's read path calls: it
/// has a default that calls ``unwrap(_:into:)``) it writes what ``takeOutput()`` returns
/// (handshake records, alerts);
/// it passes every batch of outgoing application bytes through ``wrap(_:into:)``. A server that
/// turns the connection away before ``start()`` (its connection cap) writes what ``refuse()``
/// returns instead, and closes. When the
/// connection ends cleanly it writes what ``close()`` returns last (close_notify); at the end
/// of the socket's stream it calls ``receiveEndOfStream()``, and once
/// ``hasReceivedEndOfStream`` says the peer ended its stream inside the transport (its
/// close_notify) it ends the connection the same way, without waiting for the socket's end. A thrown error ends the
/// connection (reported as the connection's error); what ``takeOutput()`` holds then (an
/// alert) is written first, once, if the socket takes it.
public protocol Transport: Sendable {
    /// Bytes to write as soon as TCP is connected (a TLS ClientHello); empty for none.
    mutating func start() throws(WebSocketError) -> [UInt8]
    /// Bytes read from the socket: appends the application bytes they carry to `plaintext`.
    mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError)
    /// Bytes read from the socket: hands the application bytes they carry to `body` (a default
    /// gathers them through ``unwrap(_:into:)``).
    mutating func unwrap(_ wire: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws(WebSocketError)
    /// Application bytes to send: appends the bytes to write to `wire`.
    mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError)
    /// Bytes the transport must send on its own (handshake records, alerts), polled after each unwrap.
    mutating func takeOutput() -> [UInt8]
    /// The connection ends cleanly: bytes to write after everything else (a TLS close_notify).
    mutating func close() -> [UInt8]
    /// The socket's stream ended; throws when that end is not clean (a TLS stream without
    /// close_notify: ``WebSocketError/tls(_:)`` with `truncated`).
    mutating func receiveEndOfStream() throws(WebSocketError)
    /// A server turns the connection away before ``start()`` (at its connection cap, or
    /// shutting down): the bytes to write before closing, which the peer's end of the
    /// transport reads as a refusal (``TLSTransport``: a fatal TLS alert). An HTTP response in
    /// the clear would be nothing it could read. A default returns none: the connection then
    /// closes without a word.
    mutating func refuse() -> [UInt8]
    /// Whether the peer ended its stream within the transport (a TLS close_notify: "the sender
    /// will not send any more messages on this connection", RFC 8446 §6.1). Polled after each
    /// unwrap; once it is `true` the driver proceeds as at the socket's end of stream, without
    /// waiting for a TCP FIN the peer may never send. A default says `false`.
    var hasReceivedEndOfStream: Bool { get }
}

extension Transport {
    /// Bytes read from the socket: calls `body` with the application bytes they carry, in one
    /// or more pieces (each valid during the call only). The channel's read path uses this; by
    /// default it gathers the bytes with ``unwrap(_:into:)`` and calls `body` once (not at all
    /// for none). A transport that decrypts into a buffer of its own (``TLSTransport``) hands
    /// the pieces over from there, without an array per read.
    public mutating func unwrap(_ wire: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws(WebSocketError) {
        var plaintext: [UInt8] = []
        try unwrap(wire, into: &plaintext)
        if !plaintext.isEmpty { plaintext.withUnsafeBytes(body) }
    }

    /// No refusal of its own: the connection closes without a word.
    public mutating func refuse() -> [UInt8] { [] }
    /// Nothing to send on close.
    public mutating func close() -> [UInt8] { [] }
    /// Every end of stream is clean.
    public mutating func receiveEndOfStream() throws(WebSocketError) {}
    /// The stream ends only with the socket's: always `false`.
    public var hasReceivedEndOfStream: Bool { false }
}

/// What a transport factory knows about the connection it makes a transport for.
public struct TransportContext: Hashable, Sendable {
    /// Which end of the connection this is.
    public enum Role: Hashable, Sendable {
        /// The connecting end (``WebSocket/connect(to:configuration:)``).
        case client
        /// The accepting end (``WebSocketServer``).
        case server
    }

    /// Which end of the connection this is.
    public var role: Role
    /// (Client) the host name or address connected to, without brackets: TLS sends it as SNI
    /// and verifies the certificate against it. `nil` on a server.
    public var host: String?
    /// (Client) the port connected to; `nil` on a server.
    public var port: Int?
    /// (Client) whether the URL was `wss://` (or an encrypted connect was asked for).
    public var secure: Bool

    /// A context with each part as given (default: no host or port, not secure).
    public init(role: Role, host: String? = nil, port: Int? = nil, secure: Bool = false) {
        self.role = role; self.host = host; self.port = port; self.secure = secure
    }
}

/// Plain TCP as a transport: bytes pass through. (Configuring no transport at all is faster.)
public struct PlainTransport: Transport {
    /// A pass-through transport.
    public init() {}
    /// Nothing to send first: returns no bytes.
    public mutating func start() throws(WebSocketError) -> [UInt8] { [] }
    /// Appends `wire` to `plaintext` unchanged.
    public mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        plaintext.append(contentsOf: wire)
    }
    /// Appends `plaintext` to `wire` unchanged.
    public mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        wire.append(contentsOf: plaintext)
    }
    /// Never has pending output: returns no bytes.
    public mutating func takeOutput() -> [UInt8] { [] }
}
