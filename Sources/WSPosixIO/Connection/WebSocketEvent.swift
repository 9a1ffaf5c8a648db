// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// What the application receives from a ``WebSocket``, in order.
///
/// The sequence has no "connected" event: `WebSocket.connect(...)` returning (client) or the
/// server's connection handler being called is that moment. ``closed(_:)`` is always last.
public enum WebSocketEvent: Hashable, Sendable {
    /// A whole text message (validated UTF-8, RFC 6455 §8.1).
    case text(String)
    /// A whole binary message.
    case binary([UInt8])
    /// A piece of a data message, only with `Connection.Configuration.deliversFragments` on.
    case fragment(Fragment)
    /// A ping arrived with this payload; with automatic pong on, the pong is already queued (RFC 6455 §5.5.2).
    case ping([UInt8])
    /// A pong arrived with this payload (RFC 6455 §5.5.3).
    case pong([UInt8])
    /// The connection is closed: the code and reason, and what happened. Always the last event.
    indirect case closed(CloseInfo)

    /// The whole message this event carries (``text(_:)`` or ``binary(_:)``), else `nil`.
    public var message: Message? {
        switch self {
        case .text(let text): return .text(text)
        case .binary(let bytes): return .binary(bytes)
        case .fragment, .ping, .pong, .closed: return nil
        }
    }
}

/// How a connection ended.
public struct CloseInfo: Hashable, Sendable, CustomStringConvertible {
    /// The code to report: the peer's after a clean close handshake, the code this end sent when
    /// it failed the connection, 1006 when the transport ended without a close handshake
    /// (RFC 6455 §7.1.5), 1001 when the server shut down and the peer did not answer.
    public var code: CloseCode
    /// The peer's close reason after a clean handshake, else empty.
    public var reason: String
    /// The core's account of the closure (`nil` when the connection never opened).
    public var closeReason: CloseReason?
    /// What went wrong, when something did (a transport error, a protocol violation, a timeout).
    public var error: WebSocketError?

    /// A close report with each part as given (default: no reason, no core account, no error).
    public init(code: CloseCode, reason: String = "", closeReason: CloseReason? = nil, error: WebSocketError? = nil) {
        self.code = code; self.reason = reason; self.closeReason = closeReason; self.error = error
    }

    /// Whether the close handshake completed (both close frames were exchanged).
    public var isClean: Bool {
        if case .handshakeCompleted = closeReason { return true }
        return false
    }

    /// One line for logs: `closed 1000`, then the reason in quotes and the error in
    /// parentheses when there are any.
    public var description: String {
        var s = "closed \(code.rawValue)"
        if !reason.isEmpty { s += " \"\(reason)\"" }
        if let error { s += " (\(error))" }
        return s
    }
}
