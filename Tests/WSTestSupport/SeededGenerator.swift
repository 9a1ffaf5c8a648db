// SPDX-License-Identifier: Apache-2.0

/// A SplitMix64 generator: tiny, fast, and the same sequence for the same seed on every
/// platform, so a failing property test can be replayed from its seed. Shared by the test
/// targets (it is no product of the package).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededGenerator {
    /// `count` random bytes, one draw each (property tests: any byte value, uniformly).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }

    /// `count` bytes, eight from each draw (little-endian): cheap enough for payloads of megabytes.
    public mutating func packedBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            let word = next()
            for k in 0..<8 where i + k < count { out[i + k] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(k))) }
            i += 8
        }
        return out
    }
}
