// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Builds frames byte by byte as RFC 6455 §5.2 lays them out, independently of the core's own
/// writer, so that conformance tests check the parser against a second implementation. It can
/// also build what a conforming peer never sends (reserved bits and opcodes, fragmented control
/// frames, oversized control payloads, frames masked the wrong way).
enum TestFrameEncoder {
    /// The masking key of every client frame built here unless told otherwise.
    static let key = MaskingKey(0x5A, 0xC3, 0x0F, 0x96)

    /// Opcodes by number, so that reserved ones read the same as the others.
    static let continuation: UInt8 = 0x0, text: UInt8 = 0x1, binary: UInt8 = 0x2
    static let close: UInt8 = 0x8, ping: UInt8 = 0x9, pong: UInt8 = 0xA

    /// One frame: FIN, RSV1–3 (`rsv` holds them in bits 6–4, e.g. 0x40 for RSV1), opcode, the
    /// shortest length form, and, when `key` is given, the key and the masked payload (§5.3).
    static func frame(_ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0,
                      key: MaskingKey?) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 0x70) | (opcode & 0x0F)]
        let maskBit: UInt8 = key == nil ? 0 : 0x80
        switch payload.count {
        case 0...125:
            bytes.append(maskBit | UInt8(payload.count))
        case 126...0xFFFF:
            bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            bytes.append(maskBit | 127)
            let length = UInt64(payload.count)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        }
        guard let key else { return bytes + payload }
        let k = [key.bytes.0, key.bytes.1, key.bytes.2, key.bytes.3]
        bytes += k
        for (i, byte) in payload.enumerated() { bytes.append(byte ^ k[i % 4]) }
        return bytes
    }

    /// A frame as a client sends it: masked (RFC 6455 §5.1).
    static func client(_ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0,
                       key: MaskingKey = TestFrameEncoder.key) -> [UInt8] {
        frame(opcode, payload, fin: fin, rsv: rsv, key: key)
    }

    /// A frame as a server sends it: unmasked (RFC 6455 §5.1).
    static func server(_ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        frame(opcode, payload, fin: fin, rsv: rsv, key: nil)
    }

    /// A frame from `role`'s peer: what a connection playing `role` receives.
    static func toward(_ role: Role, _ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        switch role {
        case .server: return client(opcode, payload, fin: fin, rsv: rsv)
        case .client: return server(opcode, payload, fin: fin, rsv: rsv)
        }
    }

    /// A close payload (RFC 6455 §5.5.1): the code in network order, then the reason.
    static func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
    }

    /// The number of header bytes of a frame with this payload length (for locating a payload
    /// byte in the stream).
    static func headerLength(payload: Int, masked: Bool) -> Int {
        (payload <= 125 ? 2 : payload <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }
}
