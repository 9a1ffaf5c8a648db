// SPDX-License-Identifier: Apache-2.0

/// A fast cryptographically secure generator: the ChaCha20 keystream (RFC 8439 §2.3, 20 rounds,
/// 64-bit block counter) under a 256-bit key drawn once from a seed generator.
///
/// `SystemRandomNumberGenerator` asks the kernel for every 8 bytes; a client that masks many
/// small frames spends most of its send time there. This generator asks once (32 bytes) and then
/// produces 64 bytes per block in user space, which keeps masking keys unpredictable
/// (RFC 6455 §5.3, §10.3) at a small fraction of the cost. Pass it as a connection's `entropy`.
public struct ChaChaRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var key: SIMD8<UInt32>
    private var counter: UInt64 = 0
    private var block = SIMD16<UInt32>()
    /// Index of the next unused 64-bit word of `block` (8 means the block is used up).
    private var used = 8

    /// Keys the generator from the system's CSPRNG.
    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seededBy: &system)
    }

    /// Keys the generator with 32 bytes from `seed`.
    public init(seededBy seed: inout some RandomNumberGenerator) {
        var k = SIMD8<UInt32>()
        for i in stride(from: 0, to: 8, by: 2) {
            let v = seed.next()
            k[i] = UInt32(truncatingIfNeeded: v)
            k[i + 1] = UInt32(truncatingIfNeeded: v >> 32)
        }
        key = k
    }

    /// Keys the generator with exactly these 32 bytes (for known-answer tests; the nonce is zero
    /// and the block counter starts at 0); `nil` for any other count (a ChaCha20 key is 32 bytes).
    public init?(key bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        var k = SIMD8<UInt32>()
        for i in 0..<8 {
            k[i] = UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
        }
        key = k
    }

    /// The next 8 keystream bytes, as a little-endian word.
    public mutating func next() -> UInt64 {
        if used == 8 {
            block = Self.block(key: key, counter: counter)
            counter &+= 1
            used = 0
        }
        let v = UInt64(block[2 * used]) | UInt64(block[2 * used + 1]) << 32
        used += 1
        return v
    }

    /// The ChaCha20 block function (RFC 8439 §2.3): 10 double rounds over the state, plus the
    /// initial state. Words 12–13 hold the 64-bit counter, 14–15 a zero nonce.
    static func block(key k: SIMD8<UInt32>, counter: UInt64) -> SIMD16<UInt32> {
        var x0: UInt32 = 0x6170_7865, x1: UInt32 = 0x3320_646E, x2: UInt32 = 0x7962_2D32, x3: UInt32 = 0x6B20_6574
        var x4 = k[0], x5 = k[1], x6 = k[2], x7 = k[3], x8 = k[4], x9 = k[5], x10 = k[6], x11 = k[7]
        var x12 = UInt32(truncatingIfNeeded: counter), x13 = UInt32(truncatingIfNeeded: counter >> 32)
        var x14: UInt32 = 0, x15: UInt32 = 0
        let initial = SIMD16<UInt32>(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)
        @inline(__always) func rotl(_ v: UInt32, _ n: UInt32) -> UInt32 { (v << n) | (v >> (32 - n)) }
        @inline(__always) func quarter(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32) {
            a &+= b; d ^= a; d = rotl(d, 16)
            c &+= d; b ^= c; b = rotl(b, 12)
            a &+= b; d ^= a; d = rotl(d, 8)
            c &+= d; b ^= c; b = rotl(b, 7)
        }
        for _ in 0..<10 {
            quarter(&x0, &x4, &x8, &x12); quarter(&x1, &x5, &x9, &x13)
            quarter(&x2, &x6, &x10, &x14); quarter(&x3, &x7, &x11, &x15)
            quarter(&x0, &x5, &x10, &x15); quarter(&x1, &x6, &x11, &x12)
            quarter(&x2, &x7, &x8, &x13); quarter(&x3, &x4, &x9, &x14)
        }
        return SIMD16<UInt32>(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15) &+ initial
    }
}
