// SPDX-License-Identifier: Apache-2.0

/// The WebSocket connection state machine after the opening handshake (RFC 6455 §5–§7).
///
/// CONTRACT STUB: the signatures below are the agreed API; the implementation replaces the bodies.
public struct Connection: Sendable {
    public let role: Role
    public private(set) var configuration: Configuration
    public private(set) var extensions: [any MessageExtension]
    /// The negotiated subprotocol, if any (informational; set by the handshake).
    public var subprotocol: String?

    /// Creates a connection in the open state.
    /// - Parameters:
    ///   - role: client (masks its frames) or server.
    ///   - configuration: limits and behaviour.
    ///   - extensions: negotiated extensions, in the order they were negotiated.
    ///   - subprotocol: the negotiated subprotocol.
    ///   - now: the current time (starts keepalive timers).
    ///   - entropy: source of masking keys (clients only need it).
    public init(role: Role, configuration: Configuration = .init(), extensions: [any MessageExtension] = [],
                subprotocol: String? = nil, now: Instant = .zero,
                entropy: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.role = role; self.configuration = configuration; self.extensions = extensions
        self.subprotocol = subprotocol
        fatalError("stub")
    }

    /// Feeds bytes read from the transport.
    public mutating func receive(_ bytes: some Collection<UInt8>, now: Instant) -> [Output] { fatalError("stub") }
    /// Feeds bytes read from the transport, appending outputs to a caller-owned array (no allocation on the hot path).
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant, into outputs: inout [Output]) { fatalError("stub") }
    /// The transport reached end of stream (the peer closed or half-closed).
    public mutating func receiveEndOfStream(now: Instant) -> [Output] { fatalError("stub") }
    /// Sends a whole message.
    public mutating func send(_ message: Message, now: Instant) throws(UsageError) -> [Output] { fatalError("stub") }
    /// Sends bytes as a message of the connection's default type (``Configuration/defaultMessageKind``).
    public mutating func send(_ bytes: [UInt8], now: Instant) throws(UsageError) -> [Output] { fatalError("stub") }
    /// Hot path: appends the encoded frames of a message to the driver's outbound buffer.
    public mutating func send(_ message: Message, now: Instant, into outbound: inout [UInt8]) throws(UsageError) { fatalError("stub") }
    /// Sends a ping (payload at most 125 bytes).
    public mutating func ping(_ payload: [UInt8] = [], now: Instant) throws(UsageError) -> [Output] { fatalError("stub") }
    /// Sends an unsolicited pong (payload at most 125 bytes).
    public mutating func pong(_ payload: [UInt8] = [], now: Instant) throws(UsageError) -> [Output] { fatalError("stub") }
    /// Starts the close handshake (RFC 6455 §7.1.2).
    public mutating func close(code: CloseCode = .normalClosure, reason: String = "", now: Instant) throws(UsageError) -> [Output] { fatalError("stub") }
    /// The earliest instant at which ``handleTimeout(now:)`` must be called, if any.
    public var nextDeadline: Instant? { fatalError("stub") }
    /// Fires the timers that are due.
    public mutating func handleTimeout(now: Instant) -> [Output] { fatalError("stub") }
    /// Whether the connection is closed (after `.closed` was delivered).
    public var isClosed: Bool { fatalError("stub") }
    /// Whether data messages can still be sent.
    public var canSend: Bool { fatalError("stub") }
}
