// SPDX-License-Identifier: Apache-2.0

/// A violation of RFC 6455 (or of a configured limit) by the peer. Each case names the rule it
/// enforces. The connection reports these through ``CloseReason/protocolError(_:)``; they are
/// never thrown from ``Connection/receive(_:now:)``.
public enum ProtocolError: Error, Hashable, Sendable {
    /// RSV1–3 set without a negotiated extension claiming them (RFC 6455 §5.2). Payload: the bits (0x70 mask).
    case reservedBitsSet(UInt8)
    /// Opcode 0x3–0x7 or 0xB–0xF (RFC 6455 §5.2).
    case reservedOpcode(UInt8)
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2).
    case payloadLengthTopBitSet
    /// A control frame with a payload over 125 bytes (RFC 6455 §5.5).
    case controlFrameTooLong(length: UInt64)
    /// A control frame without FIN (RFC 6455 §5.5: "control frames MUST NOT be fragmented").
    case fragmentedControlFrame
    /// A continuation frame with no message in progress (RFC 6455 §5.4).
    case unexpectedContinuation
    /// A new text or binary frame while a fragmented message is open (RFC 6455 §5.4).
    case expectedContinuation
    /// A server received an unmasked frame (RFC 6455 §5.1).
    case unmaskedFrameFromClient
    /// A client received a masked frame (RFC 6455 §5.1).
    case maskedFrameFromServer
    /// Text (or a close reason) that is not valid UTF-8 (RFC 6455 §8.1).
    case invalidUTF8
    /// A close frame with a 1-byte payload (RFC 6455 §5.5.1).
    case closePayloadTooShort
    /// A close frame with a code outside 1000–1003, 1007–1014, 3000–4999 (RFC 6455 §7.4).
    case invalidCloseCode(UInt16)
    /// A frame longer than the configured maximum frame size.
    case frameTooLarge(limit: Int)
    /// A message longer than the configured maximum message size (also after decompression).
    case messageTooLarge(limit: Int)
    /// A negotiated extension could not decode a message (e.g. corrupt deflate data, RFC 7692 §8).
    case extensionFailure(String)

    /// The close code to send when failing the connection for this error (RFC 6455 §7.4.1).
    public var closeCode: CloseCode {
        switch self {
        case .invalidUTF8: return .invalidFramePayloadData
        case .frameTooLarge, .messageTooLarge: return .messageTooBig
        case .reservedBitsSet, .reservedOpcode, .payloadLengthTopBitSet, .controlFrameTooLong,
             .fragmentedControlFrame, .unexpectedContinuation, .expectedContinuation,
             .unmaskedFrameFromClient, .maskedFrameFromServer, .closePayloadTooShort,
             .invalidCloseCode, .extensionFailure:
            return .protocolError
        }
    }
}
