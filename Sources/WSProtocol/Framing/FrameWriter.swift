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
        // One growth of the buffer for the whole frame, written in place: the header, then the
        // payload copied, or masked on its way in (one pass, not a copy and then a mask). Byte
        // by byte, the two header bytes and `append(contentsOf:)` cost a small frame about 150
        // instructions against about 80 (Docs/Performance.md, 6 December).
        let count = payload.count
        let lengthBytes = count < 126 ? 0 : count <= 0xFFFF ? 2 : 8
        let frameLength = 2 + lengthBytes + (maskingKey == nil ? 0 : 4) + count
        if #available(macOS 10.14.4, iOS 12.2, watchOS 5.2, tvOS 12.2, *) {
            buffer.append(addingCapacity: frameLength) { span in
                span.withUnsafeMutableBufferPointer { space, initialized in
                    write(opcode: opcode, fin: fin, rsv: rsv, maskingKey: maskingKey, lengthBytes: lengthBytes,
                          payload: payload, to: UnsafeMutableRawPointer(space.baseAddress!))
                    initialized = frameLength
                }
            }
        } else {
            // (Older Apple systems, without `OutputSpan`: the room zero-filled first.)
            let start = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: frameLength))
            buffer.withUnsafeMutableBytes { all in
                write(opcode: opcode, fin: fin, rsv: rsv, maskingKey: maskingKey, lengthBytes: lengthBytes,
                      payload: payload, to: all.baseAddress! + start)
            }
        }
    }

    /// Writes one whole frame at `out`, which has room for it: the header with a length field
    /// of `lengthBytes` extra bytes (0, 2 or 8), the key if any, then the payload, masked with it.
    @inline(__always)
    private static func write(opcode: Opcode, fin: Bool, rsv: UInt8, maskingKey: MaskingKey?, lengthBytes: Int,
                              payload: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) {
        let count = payload.count
        out.storeBytes(of: (fin ? 0x80 : 0) | (rsv & 0x70) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        switch lengthBytes {
        case 0:
            out.storeBytes(of: maskBit | UInt8(truncatingIfNeeded: count), toByteOffset: 1, as: UInt8.self)
        case 2:
            out.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt16(truncatingIfNeeded: count).bigEndian, toByteOffset: 2, as: UInt16.self)
        default:
            out.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt64(count).bigEndian, toByteOffset: 2, as: UInt64.self)
        }
        var body = out + 2 + lengthBytes
        if let key = maskingKey {
            body.storeBytes(of: key.bytes.0, as: UInt8.self)
            body.storeBytes(of: key.bytes.1, toByteOffset: 1, as: UInt8.self)
            body.storeBytes(of: key.bytes.2, toByteOffset: 2, as: UInt8.self)
            body.storeBytes(of: key.bytes.3, toByteOffset: 3, as: UInt8.self)
            body += 4
        }
        guard count > 0, let source = payload.baseAddress else { return }
        if let key = maskingKey {
            Masking.xor(key, offset: 0, source: source, destination: body, count: count)
        } else {
            body.copyMemory(from: source, byteCount: count)
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
