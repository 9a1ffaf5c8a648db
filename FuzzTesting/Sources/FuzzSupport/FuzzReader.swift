// SPDX-License-Identifier: Apache-2.0

/// Reads a fuzzer input front to back. Past the end every read returns zeros / nothing, so any
/// input decodes to some run.
public struct FuzzReader {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    /// Up to `n` bytes.
    public mutating func take(_ n: Int) -> [UInt8] {
        let end = min(bytes.count, position + max(n, 0))
        defer { position = end }
        return Array(bytes[position..<end])
    }

    /// A length: one byte, or 255 followed by a big-endian `UInt16`.
    public mutating func length() -> Int {
        let b = byte()
        return b == 255 ? Int(u16()) : Int(b)
    }

    public mutating func rest() -> [UInt8] { take(bytes.count - position) }
}

/// The SplitMix64 generator: deterministic masking keys and chunk sizes.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Splits inputs into pieces, as reads from a socket would.
public enum Chunking {
    /// Splits `bytes` by a pattern chosen by `seed`: seed 0 gives single bytes; otherwise pieces
    /// of 1...max bytes, max from {1, 2, 3, 5, 8, 13, 64, 1000}, sizes drawn from SplitMix64(seed).
    public static func split(_ bytes: [UInt8], seed: UInt8) -> [[UInt8]] {
        let maxes = [1, 2, 3, 5, 8, 13, 64, 1000]
        let maxChunk = seed == 0 ? 1 : maxes[Int(seed & 7)]
        var rng = SplitMix64(seed: UInt64(seed))
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let n = 1 + Int(rng.next() % UInt64(maxChunk))
            let end = min(bytes.count, i + n)
            out.append(Array(bytes[i..<end]))
            i = end
        }
        return out
    }
}

/// Crashes with a description (libFuzzer reports it as a deadly signal). `fatalError`, not
/// `preconditionFailure`: in `-O` builds the latter drops the message.
public func violation(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("FUZZ INVARIANT VIOLATED: " + message(), file: file, line: line)
}

/// Calls `body` with the libFuzzer input as an array.
public func withFuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int, _ body: ([UInt8]) -> Void) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    body(bytes)
    return 0
}
