// SPDX-License-Identifier: Apache-2.0

/// A negotiated per-message extension (RFC 6455 §9, e.g. permessage-deflate, RFC 7692) as the
/// connection uses it: it claims RSV bits and transforms whole outgoing messages and incoming
/// message payloads. Negotiation (offer/accept headers) lives with the handshake.
///
/// Implementations may hold reference-type state (a zlib stream); the connection then is a
/// snapshot of everything but that state.
public protocol MessageExtension: Sendable {
    /// The extension token as negotiated, e.g. `permessage-deflate`.
    var name: String { get }

    /// The RSV bits (as in the first header byte: RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10) this
    /// extension may set. The frame parser accepts these bits on the first frame of a data message.
    var reservedBits: UInt8 { get }

    /// Transforms an outgoing data message payload. Returns the bytes to frame and the RSV bits
    /// to set on its first frame.
    mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8)

    /// Decodes the next piece of an incoming message whose first frame carried `reservedBits`
    /// (one of this extension's bits set), appending the result to `output`. `isFinal` marks the
    /// last frame of the message. Must not append more than `limit` bytes in total to `output`;
    /// throws ``ProtocolError/messageTooLarge(limit:)`` when it would.
    mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                         into output: inout [UInt8], limit: Int) throws(ProtocolError)
}
