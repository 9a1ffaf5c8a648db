// SPDX-License-Identifier: Apache-2.0

/// The fixed part of a frame (RFC 6455 §5.2): FIN, RSV1–3, opcode, the mask bit with its key, and
/// the payload length.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-------+-+-------------+-------------------------------+
/// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
/// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
/// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
/// | |1|2|3|       |K|             |                               |
/// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
/// ```
///
/// Parsing only decodes; the rules that depend on the connection (who masks, which RSV bits an
/// extension claims, limits, fragmentation) are checked by ``Connection``.
package struct FrameHeader: Hashable, Sendable {
    /// FIN: this is the last frame of a message.
    package var fin: Bool
    /// RSV1–RSV3 as they sit in the first byte (mask 0x70: RSV1 = 0x40, RSV2 = 0x20, RSV3 = 0x10).
    package var rsv: UInt8
    /// The opcode (reserved values included, so the connection can report them).
    package var opcode: Opcode
    /// The masking key, present exactly when the MASK bit is set (RFC 6455 §5.3).
    package var maskingKey: MaskingKey?
    /// The payload length as announced (7, 16 or 64 bits on the wire, RFC 6455 §5.2). The 64-bit
    /// form may have its top bit set; the connection rejects that.
    package var payloadLength: UInt64

    /// Creates a header.
    package init(fin: Bool = true, rsv: UInt8 = 0, opcode: Opcode, maskingKey: MaskingKey? = nil, payloadLength: UInt64) {
        self.fin = fin; self.rsv = rsv & 0x70; self.opcode = opcode
        self.maskingKey = maskingKey; self.payloadLength = payloadLength
    }

    /// The header's size on the wire: 2 bytes, plus 2 or 8 for the extended length, plus 4 for the key.
    package var encodedLength: Int {
        let ext = payloadLength < 126 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + ext + (maskingKey == nil ? 0 : 4)
    }

    /// The total header size announced by the first two header bytes.
    static func encodedLength(byte1: UInt8) -> Int {
        let len7 = byte1 & 0x7F
        let ext = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0)
        return 2 + ext + (byte1 & 0x80 != 0 ? 4 : 0)
    }

    /// Decodes a header from the start of `bytes`.
    ///
    /// - Returns: the header and the number of bytes it occupies, or `nil` when `bytes` does not
    ///   yet hold the whole header (nothing is consumed).
    package static func parse(_ bytes: UnsafeRawBufferPointer) -> (header: FrameHeader, length: Int)? {
        let count = bytes.count
        guard count >= 2 else { return nil }
        let b0 = bytes[0], b1 = bytes[1]
        let len7 = b1 & 0x7F
        var index = 2
        let payloadLength: UInt64
        switch len7 {
        case 126:
            guard count >= 4 else { return nil }
            payloadLength = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            index = 4
        case 127:
            guard count >= 10 else { return nil }
            var v: UInt64 = 0
            for i in 2..<10 { v = v << 8 | UInt64(bytes[i]) }
            payloadLength = v
            index = 10
        default:
            payloadLength = UInt64(len7)
        }
        var key: MaskingKey? = nil
        if b1 & 0x80 != 0 {
            guard count >= index + 4 else { return nil }
            key = MaskingKey(bytes[index], bytes[index + 1], bytes[index + 2], bytes[index + 3])
            index += 4
        }
        let header = FrameHeader(fin: b0 & 0x80 != 0, rsv: b0 & 0x70, opcode: Opcode(rawValue: b0 & 0x0F),
                                 maskingKey: key, payloadLength: payloadLength)
        return (header, index)
    }

    /// Decodes a header from the start of a byte array (convenience for tests and tools).
    package static func parse(_ bytes: [UInt8]) -> (header: FrameHeader, length: Int)? {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Appends the header's wire form to `buffer` (RFC 6455 §5.2), using the shortest length encoding.
    package func write(to buffer: inout [UInt8]) {
        buffer.append((fin ? 0x80 : 0) | (rsv & 0x70) | opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if payloadLength < 126 {
            buffer.append(maskBit | UInt8(payloadLength))
        } else if payloadLength <= 0xFFFF {
            buffer.append(maskBit | 126)
            buffer.append(UInt8(truncatingIfNeeded: payloadLength >> 8))
            buffer.append(UInt8(truncatingIfNeeded: payloadLength))
        } else {
            buffer.append(maskBit | 127)
            var shift: UInt64 = 56
            while true {
                buffer.append(UInt8(truncatingIfNeeded: payloadLength >> shift))
                if shift == 0 { break }
                shift -= 8
            }
        }
        if let key = maskingKey {
            buffer.append(key.bytes.0); buffer.append(key.bytes.1)
            buffer.append(key.bytes.2); buffer.append(key.bytes.3)
        }
    }
}
