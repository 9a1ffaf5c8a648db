// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A toy per-message extension (RSV1) so that the fuzzers reach the connection's extension
/// paths without zlib: the payload is a list of (count, byte) runs. Decoding expands, like
/// inflate, so it exercises ``Connection/Configuration/maxMessageSize`` after decoding. It is
/// a value type: both runs of a differential check start from the same state.
public struct RunLengthExtension: MessageExtension {
    public var name: String { "x-rle" }
    public var reservedBits: UInt8 { 0x40 }
    /// A count byte whose value byte is in the next frame.
    var pendingCount: UInt8? = nil

    public init() {}

    public mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8) {
        var out: [UInt8] = []
        var i = 0
        while i < payload.count {
            var n = 1
            while i + n < payload.count, n < 255, payload[i + n] == payload[i] { n += 1 }
            out.append(UInt8(n)); out.append(payload[i])
            i += n
        }
        return (out, 0x40)
    }

    public mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                                into output: inout [UInt8], limit: Int) throws(ProtocolError) {
        var appended = 0
        for b in payload {
            if let count = pendingCount {
                pendingCount = nil
                appended += Int(count)
                if appended > limit { throw .messageTooLarge(limit: limit) }
                output.append(contentsOf: repeatElement(b, count: Int(count)))
            } else {
                guard b != 0 else { throw .extensionFailure("zero run") }
                pendingCount = b
            }
        }
        if isFinal {
            defer { pendingCount = nil }
            if pendingCount != nil { throw .extensionFailure("truncated run") }
        }
    }

    /// Decodes a whole payload (for checking what the connection wrote).
    public static func decodeAll(_ payload: [UInt8]) -> [UInt8]? {
        guard payload.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < payload.count {
            guard payload[i] != 0 else { return nil }
            out.append(contentsOf: repeatElement(payload[i + 1], count: Int(payload[i])))
            i += 2
        }
        return out
    }
}
