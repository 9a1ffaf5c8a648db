// SPDX-License-Identifier: Apache-2.0

/// Masking and unmasking of payload bytes (RFC 6455 §5.3): byte `i` is XORed with key byte
/// `(offset + i) % 4`, where `offset` is the payload position of the first byte given.
///
/// The fast path works 32 bytes per iteration as two `SIMD16<UInt8>` XORs (one SSE2 `pxor`
/// each on baseline x86-64, a NEON `eor` on arm64), then 8 bytes at a time with `UInt64` words,
/// then byte by byte for the last 0–7 bytes. Loads and stores are unaligned, so any start
/// address and any length work. Because a 16- or 8-byte step is a multiple of 4, the key
/// pattern never changes inside the loop: it is rotated once, by `offset`, before it starts.
/// (`SIMD32<UInt8>` is avoided on purpose: without AVX2 it lowers to a byte-wise loop.)
package enum Masking {
    /// Masks (or unmasks: the operation is its own inverse) `buffer` in place.
    @inlinable
    package static func apply(_ key: MaskingKey, offset: Int, to buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        xor(key, offset: offset, source: UnsafeRawPointer(base), destination: base, count: buffer.count)
    }

    /// Writes `source` XOR key into `destination` (which must be at least as long): the copy and
    /// the unmask in one pass.
    @inlinable
    package static func apply(_ key: MaskingKey, offset: Int, from source: UnsafeRawBufferPointer,
                             to destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count >= source.count, "destination too short")
        guard let src = source.baseAddress, let dst = destination.baseAddress, source.count > 0 else { return }
        xor(key, offset: offset, source: src, destination: dst, count: source.count)
    }

    /// Masks an array in place.
    @inlinable
    package static func apply(_ key: MaskingKey, offset: Int = 0, to bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { apply(key, offset: offset, to: $0) }
    }

    /// The reference implementation every fast path is tested against.
    @inlinable
    package static func applyByteLoop(_ key: MaskingKey, offset: Int, to buffer: UnsafeMutableRawBufferPointer) {
        for i in 0..<buffer.count { buffer[i] ^= key[offset &+ i] }
    }

    /// The key repeated to fill 16 bytes, starting at key byte `offset % 4`, as laid out in memory.
    @inlinable
    static func keyPattern(_ key: MaskingKey, offset: Int) -> SIMD16<UInt8> {
        // The key as one word (key byte 0 in the low bits on any host), rotated so that byte
        // `offset % 4` comes first, then repeated: a rotate and a broadcast, where building
        // the vector from 16 bytes took an insert per lane.
        let word = withUnsafeBytes(of: key.bytes) { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        let shift = UInt32(truncatingIfNeeded: offset & 3) &* 8
        let rotated = word &>> shift | word &<< ((32 &- shift) & 31)
        return unsafeBitCast(SIMD4<UInt32>(repeating: rotated.littleEndian), to: SIMD16<UInt8>.self)
    }

    /// `destination[i] = source[i] ^ key[offset + i]` for `i < count`; the two may be the same
    /// memory (in-place), but must not otherwise overlap.
    @inlinable
    static func xor(_ key: MaskingKey, offset: Int, source: UnsafeRawPointer,
                    destination: UnsafeMutableRawPointer, count: Int) {
        let pattern = keyPattern(key, offset: offset)
        var i = 0
        // 32 bytes per iteration: two independent 16-byte XORs keep both load ports busy.
        while count &- i >= 32 {
            let a = source.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            let b = source.loadUnaligned(fromByteOffset: i &+ 16, as: SIMD16<UInt8>.self)
            destination.storeBytes(of: a ^ pattern, toByteOffset: i, as: SIMD16<UInt8>.self)
            destination.storeBytes(of: b ^ pattern, toByteOffset: i &+ 16, as: SIMD16<UInt8>.self)
            i &+= 32
        }
        if count &- i >= 16 {
            let a = source.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            destination.storeBytes(of: a ^ pattern, toByteOffset: i, as: SIMD16<UInt8>.self)
            i &+= 16
        }
        // The low 8 bytes of the pattern, reinterpreted in memory order (endian-neutral).
        let word = unsafeBitCast(pattern, to: SIMD2<UInt64>.self)[0]
        if count &- i >= 8 {
            let a = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            destination.storeBytes(of: a ^ word, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        // The last 0-7 bytes: key byte `j` of the pattern sits in bits 8j..<8j+8 of `rest`.
        var rest = UInt64(littleEndian: word)
        while i < count {
            let b = source.load(fromByteOffset: i, as: UInt8.self)
            destination.storeBytes(of: b ^ UInt8(truncatingIfNeeded: rest), toByteOffset: i, as: UInt8.self)
            rest >>= 8
            i &+= 1
        }
    }
}
