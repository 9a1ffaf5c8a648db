// SPDX-License-Identifier: Apache-2.0

/// A whole WebSocket data message (RFC 6455 §5.6).
public enum Message: Hashable, Sendable {
    /// A text message; the core has validated it as UTF-8 (RFC 6455 §8.1).
    case text(String)
    /// A binary message.
    case binary([UInt8])

    /// The kind of data message, used as the per-connection default for ``Connection/send(_:now:)-([UInt8],_)``.
    public enum Kind: Hashable, Sendable {
        /// Text: opcode 0x1, UTF-8 payload.
        case text
        /// Binary: opcode 0x2.
        case binary
    }

    /// Whether this message is text or binary.
    public var kind: Kind {
        switch self {
        case .text: return .text
        case .binary: return .binary
        }
    }
}

/// A piece of a data message, delivered in streaming mode (``Connection/Configuration/deliversFragments``).
public struct Fragment: Hashable, Sendable {
    /// Text or binary: the type of the message this fragment belongs to.
    public var kind: Message.Kind
    /// The payload bytes of this piece (for text: validated UTF-8 so far, possibly ending inside
    /// a code point that the next fragment completes).
    public var bytes: [UInt8]
    /// True on the first piece of a message.
    public var isFirst: Bool
    /// True on the last piece of a message.
    public var isFinal: Bool

    /// A fragment with each part as given.
    public init(kind: Message.Kind, bytes: [UInt8], isFirst: Bool, isFinal: Bool) {
        self.kind = kind; self.bytes = bytes; self.isFirst = isFirst; self.isFinal = isFinal
    }
}
