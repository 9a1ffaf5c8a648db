// SPDX-License-Identifier: Apache-2.0

/// Encodes whole frames (RFC 6455 §5.2) by appending them to an outbound buffer, so that many
/// frames can go out in one write without another copy.
package enum FrameWriter {
    /// Appends one frame: header, then the payload, masked with `maskingKey` if one is given
    /// (RFC 6455 §5.3: a client masks every frame with a fresh key).
    ///
    /// - Parameters:
    ///   - opcode: the frame's opcode.
    ///   - fin: whether this is the last frame of its message.
    ///   - rsv: RSV1–3 bits (mask 0x70).
    ///   - maskingKey: the key for a client frame; `nil` for a server frame.
    ///   - payload: the unmasked payload.
    ///   - buffer: where the frame is appended.
    package static func append(opcode: Opcode, fin: Bool = true, rsv: UInt8 = 0, maskingKey: MaskingKey?,
                              payload: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        if maskingKey == nil && payload.count < 126 {
            // A server's small frame: the two header bytes, then the payload (building the
            // general header cost about as much again).
            buffer.append((fin ? 0x80 : 0) | (rsv & 0x70) | opcode.rawValue)
            buffer.append(UInt8(truncatingIfNeeded: payload.count))
            if payload.count > 0 { buffer.append(contentsOf: payload) }
            return
        }
        let header = FrameHeader(fin: fin, rsv: rsv, opcode: opcode, maskingKey: maskingKey,
                                 payloadLength: UInt64(payload.count))
        header.write(to: &buffer)
        guard payload.count > 0 else { return }
        let start = buffer.count
        buffer.append(contentsOf: payload)
        if let key = maskingKey {
            buffer.withUnsafeMutableBytes { all in
                Masking.apply(key, offset: 0, to: UnsafeMutableRawBufferPointer(rebasing: all[start...]))
            }
        }
    }

    /// Appends one frame whose payload is a byte array (convenience).
    package static func append(opcode: Opcode, fin: Bool = true, rsv: UInt8 = 0, maskingKey: MaskingKey?,
                              payload: [UInt8], to buffer: inout [UInt8]) {
        payload.withUnsafeBytes { append(opcode: opcode, fin: fin, rsv: rsv, maskingKey: maskingKey, payload: $0, to: &buffer) }
    }

    /// Returns one encoded frame (convenience for tests and tools).
    package static func frame(opcode: Opcode, fin: Bool = true, rsv: UInt8 = 0, maskingKey: MaskingKey? = nil,
                             payload: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = []
        append(opcode: opcode, fin: fin, rsv: rsv, maskingKey: maskingKey, payload: payload, to: &out)
        return out
    }

    /// The payload of a close frame: the code in network byte order, then the UTF-8 reason
    /// (RFC 6455 §5.5.1). `nil` gives the empty payload (a close frame without a status).
    package static func closePayload(code: CloseCode?, reason: String = "") -> [UInt8] {
        guard let code else { return [] }
        var payload: [UInt8] = [UInt8(truncatingIfNeeded: code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
        payload.append(contentsOf: reason.utf8)
        return payload
    }
}
