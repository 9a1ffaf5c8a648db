// SPDX-License-Identifier: Apache-2.0

/// Masking and unmasking of payload bytes (RFC 6455 §5.3): byte `i` is XORed with key byte
/// `(offset + i) % 4`, where `offset` is the payload position of the first byte given.
///
/// PLACEHOLDER: plain byte loops. The fast path (8/16 bytes at a time) replaces the bodies
/// without changing these signatures.
public enum Masking {
    /// Masks (or unmasks: the operation is its own inverse) `buffer` in place.
    @inlinable
    public static func apply(_ key: MaskingKey, offset: Int, to buffer: UnsafeMutableRawBufferPointer) {
        applyByteLoop(key, offset: offset, to: buffer)
    }

    /// Writes `source` XOR key into `destination` (which must be at least as long): the copy and
    /// the unmask in one pass.
    @inlinable
    public static func apply(_ key: MaskingKey, offset: Int, from source: UnsafeRawBufferPointer,
                             to destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count >= source.count, "destination too short")
        for i in 0..<source.count { destination[i] = source[i] ^ key[offset &+ i] }
    }

    /// Masks an array in place.
    @inlinable
    public static func apply(_ key: MaskingKey, offset: Int = 0, to bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { apply(key, offset: offset, to: $0) }
    }

    /// The reference implementation every fast path is tested against.
    @inlinable
    public static func applyByteLoop(_ key: MaskingKey, offset: Int, to buffer: UnsafeMutableRawBufferPointer) {
        for i in 0..<buffer.count { buffer[i] ^= key[offset &+ i] }
    }
}
