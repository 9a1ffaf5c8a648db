// SPDX-License-Identifier: Apache-2.0

/// Something the application learns from the connection.
///
/// The close events are `indirect` (boxed; they come once per connection), so an event is at
/// most 24 bytes and fits an existential's inline buffer: a driver that passes events as `Any`,
/// such as NIO's `NIOAny`, does not allocate a box per message.
public enum Event: Hashable, Sendable {
    /// A whole data message (the default delivery mode).
    case message(Message)
    /// A piece of a data message (streaming mode only).
    case fragment(Fragment)
    /// A ping arrived with this payload (RFC 6455 §5.5.2). With automatic pong on, the pong is
    /// already among the outputs.
    case ping([UInt8])
    /// A pong arrived with this payload (RFC 6455 §5.5.3), solicited or not.
    case pong([UInt8])
    /// The peer's close frame arrived (RFC 6455 §5.5.1); the close handshake is under way.
    indirect case closeReceived(CloseFrame)
    /// The connection is closed; nothing more will be delivered or sent. Always the last event.
    indirect case closed(CloseReason)
}

/// The content of a close frame: a code and a UTF-8 reason (RFC 6455 §5.5.1).
public struct CloseFrame: Hashable, Sendable {
    /// The status code; ``CloseCode/noStatusReceived`` (1005) when the frame had no body.
    public var code: CloseCode
    /// The reason text; empty when none was given.
    public var reason: String

    /// A close frame's content: `code` and `reason` (default empty).
    public init(code: CloseCode, reason: String = "") { self.code = code; self.reason = reason }
}

/// Why a connection closed, as reported locally (RFC 6455 §7.1.5–§7.1.6).
public enum CloseReason: Hashable, Sendable {
    /// The close handshake completed. `peer` is the close frame the peer sent (code 1005 if it
    /// had no body); `initiatedLocally` tells who sent the first close frame.
    case handshakeCompleted(peer: CloseFrame, initiatedLocally: Bool)
    /// This end failed the connection because the peer broke a rule; the close frame sent
    /// carried `error.closeCode` (RFC 6455 §7.1.7).
    case protocolError(ProtocolError)
    /// The transport ended before the close handshake completed (1006, RFC 6455 §7.1.5).
    case abnormal
    /// A timer ran out: the close handshake, a keepalive pong, or the opening handshake.
    case timedOut(Timeout)

    /// Which timer ran out.
    public enum Timeout: Hashable, Sendable {
        /// The peer did not answer our close frame (or close the transport) in time.
        case closeHandshake
        /// No pong came back within the keepalive timeout; close code 1011 was sent.
        case keepalive
        /// A started frame or message received no byte for ``Connection/Configuration/messageTimeout``
        /// (we sent 1008 "message timeout" and closed).
        case message
    }

    /// The close code the application should see: the peer's code after a clean handshake,
    /// the code this end sent when it failed the connection, 1006 otherwise.
    public var code: CloseCode {
        switch self {
        case .handshakeCompleted(let peer, _): return peer.code
        case .protocolError(let error): return error.closeCode
        case .abnormal: return .abnormalClosure
        case .timedOut(.keepalive): return .internalError
        case .timedOut(.closeHandshake): return .abnormalClosure
        case .timedOut(.message): return .policyViolation
        }
    }
}
