// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Splits a written byte stream back into frames (RFC 6455 §5.2), independently of the core's
/// parser, so that property tests can check what a connection wrote.
struct TestFrameDecoder {
    struct Frame: Hashable {
        var fin: Bool
        var rsv: UInt8
        var opcode: UInt8
        var maskingKey: MaskingKey?
        /// The payload, unmasked.
        var payload: [UInt8]
    }

    /// The frames of `bytes`, or `nil` if the bytes do not end on a frame boundary.
    static func frames(_ bytes: [UInt8]) -> [Frame]? {
        var frames: [Frame] = []
        var i = 0
        while i < bytes.count {
            guard bytes.count - i >= 2 else { return nil }
            let b0 = bytes[i], b1 = bytes[i + 1]
            i += 2
            var length = UInt64(b1 & 0x7F)
            let extra = length == 126 ? 2 : length == 127 ? 8 : 0
            if extra > 0 {
                guard bytes.count - i >= extra else { return nil }
                length = bytes[i ..< i + extra].reduce(0) { $0 << 8 | UInt64($1) }
                i += extra
            }
            var key: MaskingKey?
            if b1 & 0x80 != 0 {
                guard bytes.count - i >= 4 else { return nil }
                key = MaskingKey(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3])
                i += 4
            }
            guard UInt64(bytes.count - i) >= length else { return nil }
            var payload = Array(bytes[i ..< i + Int(length)])
            i += Int(length)
            if let key { for j in payload.indices { payload[j] ^= key[j] } }
            frames.append(Frame(fin: b0 & 0x80 != 0, rsv: b0 & 0x70, opcode: b0 & 0x0F, maskingKey: key, payload: payload))
        }
        return frames
    }
}
