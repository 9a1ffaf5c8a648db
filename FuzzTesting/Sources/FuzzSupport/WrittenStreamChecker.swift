// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Parses everything a connection wrote, independently of the core's frame code, and checks it
/// against RFC 6455: whole frames only; masked exactly when the writer is a client (§5.1, §5.3);
/// control frames final, at most 125 bytes, no RSV bits (§5.5); data frames fragmented
/// correctly (§5.4), RSV bits only on a message's first frame and only the extension's (§5.2);
/// at most one close frame with a wire-valid code and a UTF-8 reason, and nothing after it
/// (§5.5.1, §7.4); text messages UTF-8 (§8.1).
public struct WrittenFrame: Hashable {
    public var fin: Bool
    public var rsv: UInt8
    public var opcode: UInt8
    public var payload: [UInt8]
}

public struct WrittenStreamChecker {
    public let role: Role
    public let extensionBits: UInt8
    public let fragmentSize: Int?

    public init(role: Role, extensionBits: UInt8, fragmentSize: Int?) {
        self.role = role; self.extensionBits = extensionBits; self.fragmentSize = fragmentSize
    }

    /// A close code an endpoint may put on the wire (RFC 6455 §7.4.1, §7.4.2, IANA registry):
    /// written out here rather than taken from `CloseCode.isValidOnWire`.
    public static func isSendableCloseCode(_ c: UInt16) -> Bool {
        (1000...1003).contains(c) || (1007...1014).contains(c) || (3000...4999).contains(c)
    }

    /// Parses and checks `stream`; returns the frames.
    public func check(_ stream: [UInt8]) -> [WrittenFrame] {
        var frames: [WrittenFrame] = []
        var i = 0
        var messageOpen = false
        var messageKind: UInt8 = 0
        var messageRSV: UInt8 = 0
        var messageBytes: [UInt8] = []
        var sawClose = false
        while i < stream.count {
            guard stream.count - i >= 2 else { violation("partial frame header at end of written bytes, offset \(i)") }
            let b0 = stream[i], b1 = stream[i + 1]
            var len = UInt64(b1 & 0x7F)
            var p = i + 2
            if len == 126 {
                guard stream.count - p >= 2 else { violation("partial 16-bit length") }
                len = UInt64(stream[p]) << 8 | UInt64(stream[p + 1]); p += 2
                if len < 126 { violation("non-minimal 16-bit length \(len)") }
            } else if len == 127 {
                guard stream.count - p >= 8 else { violation("partial 64-bit length") }
                len = 0
                for k in 0..<8 { len = len << 8 | UInt64(stream[p + k]) }
                p += 8
                if len <= 0xFFFF || len >> 63 != 0 { violation("bad 64-bit length \(len)") }
            }
            let masked = b1 & 0x80 != 0
            switch role {
            case .client: if !masked { violation("client wrote an unmasked frame") }
            case .server: if masked { violation("server wrote a masked frame") }
            }
            var key: [UInt8] = [0, 0, 0, 0]
            if masked {
                guard stream.count - p >= 4 else { violation("partial masking key") }
                key = Array(stream[p..<p + 4]); p += 4
            }
            guard UInt64(stream.count - p) >= len else { violation("partial payload: frame claims \(len) bytes") }
            var payload = Array(stream[p..<p + Int(len)])
            for k in payload.indices { payload[k] ^= key[k & 3] }
            i = p + Int(len)
            let fin = b0 & 0x80 != 0, rsv = b0 & 0x70, opcode = b0 & 0x0F
            let frame = WrittenFrame(fin: fin, rsv: rsv, opcode: opcode, payload: payload)
            if sawClose { violation("frame written after our close frame: \(frame)") }
            switch opcode {
            case 0x8, 0x9, 0xA:
                if !fin || rsv != 0 || len > 125 { violation("bad control frame \(frame)") }
                if opcode == 0x8 {
                    sawClose = true
                    if payload.count == 1 { violation("close payload of one byte") }
                    if payload.count >= 2 {
                        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                        if !Self.isSendableCloseCode(code) { violation("wrote close code \(code), not valid on the wire") }
                        if String(validating: payload[2...], as: UTF8.self) == nil { violation("close reason not UTF-8") }
                    }
                }
            case 0x1, 0x2:
                if messageOpen { violation("new data frame while a message is open") }
                if rsv & ~extensionBits != 0 { violation("RSV bits \(rsv) not claimed by an extension") }
                messageOpen = !fin; messageKind = opcode; messageRSV = rsv; messageBytes = payload
                checkFragmentSize(payload.count)
                if fin { finishMessage(kind: messageKind, rsv: messageRSV, messageBytes) }
            case 0x0:
                if !messageOpen { violation("continuation without a message") }
                if rsv != 0 { violation("RSV bits on a continuation frame") }
                messageBytes += payload
                checkFragmentSize(payload.count)
                if fin { messageOpen = false; finishMessage(kind: messageKind, rsv: messageRSV, messageBytes) }
            default:
                violation("wrote reserved opcode \(opcode)")
            }
            frames.append(frame)
        }
        if messageOpen { violation("written stream ends inside a message (messages are written whole)") }
        return frames
    }

    private func checkFragmentSize(_ n: Int) {
        if let size = fragmentSize, size > 0, n > size { violation("data frame of \(n) bytes, fragmentSize \(size)") }
    }

    private func finishMessage(kind: UInt8, rsv: UInt8, _ bytes: [UInt8]) {
        var plain = bytes
        if rsv & 0x40 != 0 {
            guard let decoded = RunLengthExtension.decodeAll(bytes) else { violation("extension payload does not decode") }
            plain = decoded
        }
        if kind == 0x1 && String(validating: plain, as: UTF8.self) == nil { violation("wrote a text message that is not UTF-8") }
    }
}
