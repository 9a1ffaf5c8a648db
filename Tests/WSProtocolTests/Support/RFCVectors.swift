// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Golden frames from RFC 6455 §5.7 ("Examples"), byte for byte.
enum RFCVectors {
    /// The masking key of every masked example: 37 fa 21 3d.
    static let key = MaskingKey(0x37, 0xFA, 0x21, 0x3D)

    /// A single-frame unmasked text message containing "Hello".
    static let unmaskedHello: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
    /// A single-frame masked text message containing "Hello".
    static let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    /// A fragmented unmasked text message: "Hel" then "lo".
    static let fragmentedHello1: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C]
    static let fragmentedHello2: [UInt8] = [0x80, 0x02, 0x6C, 0x6F]
    static var fragmentedHello: [UInt8] { fragmentedHello1 + fragmentedHello2 }
    /// Unmasked ping request with body "Hello".
    static let unmaskedPing: [UInt8] = [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
    /// Masked pong response with body "Hello" (answering the ping above).
    static let maskedPong: [UInt8] = [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]

    /// The 256 payload bytes of the 16-bit-length example (the RFC leaves them open: 0, 1, ..., 255).
    static let payload256: [UInt8] = (0..<256).map { UInt8($0) }
    /// 256 bytes of binary data in a single unmasked frame: 82 7E 0100 + payload.
    static var binary256: [UInt8] { [0x82, 0x7E, 0x01, 0x00] + payload256 }
    /// The 65536 payload bytes of the 64-bit-length example (i mod 251, so offsets matter).
    static let payload64K: [UInt8] = (0..<65536).map { UInt8($0 % 251) }
    /// 64 KiB of binary data in a single unmasked frame: 82 7F 0000000000010000 + payload.
    static var binary64K: [UInt8] { [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] + payload64K }

    /// "Hello" as bytes.
    static let hello: [UInt8] = Array("Hello".utf8)
}

/// A generator whose every masking key is RFC 6455 §5.7's 37 fa 21 3d (or a chosen key), so
/// client bytes can be pinned exactly.
struct FixedKeyGenerator: RandomNumberGenerator, Sendable {
    var key: MaskingKey
    init(_ key: MaskingKey = RFCVectors.key) { self.key = key }
    /// `MaskingKey.random(using:)` takes the low 32 bits, first key byte lowest.
    mutating func next() -> UInt64 {
        UInt64(key.bytes.0) | UInt64(key.bytes.1) << 8 | UInt64(key.bytes.2) << 16 | UInt64(key.bytes.3) << 24
    }
}

/// Frame builders for tests: what a peer sends.
enum Wire {
    /// A frame as a client sends it (masked with the RFC key unless told otherwise).
    static func client(_ opcode: Opcode, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0,
                       key: MaskingKey = RFCVectors.key) -> [UInt8] {
        FrameWriter.frame(opcode: opcode, fin: fin, rsv: rsv, maskingKey: key, payload: payload)
    }
    /// A frame as a server sends it (unmasked).
    static func server(_ opcode: Opcode, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        FrameWriter.frame(opcode: opcode, fin: fin, rsv: rsv, maskingKey: nil, payload: payload)
    }
    /// A close payload: code then reason.
    static func close(_ code: UInt16, _ reason: String = "") -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
    }
}

extension Wire {
    /// The fixed reason this library sends when it fails the connection with `code`.
    static func failureReason(_ code: UInt16) -> String {
        switch code {
        case 1002: return "protocol error"
        case 1007: return "invalid UTF-8"
        case 1009: return "message too big"
        default: return ""
        }
    }

    /// The outputs of a connection in role `role` failing with `error` (RFC 6455 §7.1.7): the
    /// close frame with the error's code and fixed reason (masked with the RFC key for a client),
    /// `.closed(.protocolError(error))`, `.closeTransport`.
    static func failure(_ error: ProtocolError, role: Role, before events: [Event] = []) -> [Connection.Output] {
        let code = error.closeCode.rawValue
        let payload = close(code, failureReason(code))
        let frame = role == .client ? client(.close, payload) : server(.close, payload)
        return events.map { .deliver($0) } + [.write(frame), .deliver(.closed(.protocolError(error))), .closeTransport]
    }

    /// A client frame whose header announces `length` payload bytes, without the payload.
    static func clientHeader(_ opcode: Opcode, length: UInt64, fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
        var out: [UInt8] = []
        FrameHeader(fin: fin, rsv: rsv, opcode: opcode, maskingKey: RFCVectors.key, payloadLength: length).write(to: &out)
        return out
    }
}

/// A generator yielding keys 00 00 00 01, 00 00 00 02, ... so each frame's key is visible.
struct CountingKeyGenerator: RandomNumberGenerator, Sendable {
    var count: UInt32 = 0
    mutating func next() -> UInt64 {
        count += 1
        return UInt64(count.byteSwapped)  // low byte first on the wire: 00 00 00 n
    }
    /// The key of the n-th frame (1-based).
    static func key(_ n: UInt32) -> MaskingKey {
        MaskingKey(UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF))
    }
}
