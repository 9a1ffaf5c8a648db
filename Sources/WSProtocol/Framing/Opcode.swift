// SPDX-License-Identifier: Apache-2.0

/// A frame opcode (RFC 6455 §5.2). Reserved values are representable so the parser can report them.
public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 4-bit opcode, 0x0–0xF (the low nibble of a frame's first byte).
    public var rawValue: UInt8
    /// The opcode in the low 4 bits of `rawValue`; the high bits are dropped, so every value
    /// gives an opcode.
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    /// 0x0: a continuation frame, the second or later frame of a fragmented message (RFC 6455 §5.4).
    public static let continuation = Opcode(rawValue: 0x0)
    /// 0x1: a text frame; the message's payload is UTF-8 (RFC 6455 §5.6).
    public static let text = Opcode(rawValue: 0x1)
    /// 0x2: a binary frame (RFC 6455 §5.6).
    public static let binary = Opcode(rawValue: 0x2)
    /// 0x8: a close frame (RFC 6455 §5.5.1).
    public static let close = Opcode(rawValue: 0x8)
    /// 0x9: a ping (RFC 6455 §5.5.2).
    public static let ping = Opcode(rawValue: 0x9)
    /// 0xA: a pong (RFC 6455 §5.5.3).
    public static let pong = Opcode(rawValue: 0xA)

    /// Control frames have the high bit of the opcode set (RFC 6455 §5.5).
    public var isControl: Bool { rawValue & 0x8 != 0 }
    /// 0x3–0x7 and 0xB–0xF are reserved for further frames (RFC 6455 §5.2).
    public var isReserved: Bool {
        switch rawValue {
        case 0x0, 0x1, 0x2, 0x8, 0x9, 0xA: return false
        default: return true
        }
    }

    /// The opcode's name (`"text"`, `"ping"`, …), or `"reserved(0x3)"` for a reserved value.
    public var description: String {
        switch rawValue {
        case 0x0: return "continuation"
        case 0x1: return "text"
        case 0x2: return "binary"
        case 0x8: return "close"
        case 0x9: return "ping"
        case 0xA: return "pong"
        default: return "reserved(0x\(String(rawValue, radix: 16)))"
        }
    }
}
