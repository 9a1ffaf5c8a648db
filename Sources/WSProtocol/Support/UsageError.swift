// SPDX-License-Identifier: Apache-2.0

/// Misuse of the API by the caller. Thrown by commands; the connection's state is unchanged.
public enum UsageError: Error, Hashable, Sendable {
    /// The connection can no longer send (a close frame was sent, or it is closed).
    case sendAfterClose
    /// A ping, pong or close payload would exceed 125 bytes (RFC 6455 §5.5).
    case controlPayloadTooLong(Int)
    /// A close code that may not be sent (1005, 1006, 1015, or outside the valid ranges, RFC 6455 §7.4).
    case invalidCloseCode(UInt16)
    /// `close` was called a second time.
    case alreadyClosing
    /// Text to send is not valid UTF-8 (RFC 6455 §8.1: the peer would fail the connection).
    case invalidUTF8
}
