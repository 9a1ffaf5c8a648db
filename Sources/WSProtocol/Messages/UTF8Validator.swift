// SPDX-License-Identifier: Apache-2.0

/// An incremental UTF-8 validator (RFC 3629, as RFC 6455 §8.1 requires) that fails fast: it
/// reports failure at the first byte that can no longer start or continue a valid sequence,
/// even when the sequence is split across frames.
///
/// PLACEHOLDER body (a correct DFA-free byte loop); the fast ASCII path replaces it without
/// changing the API.
public struct UTF8Validator: Hashable, Sendable {
    /// Bytes still expected to complete the current sequence.
    @usableFromInline var pending: UInt8 = 0
    /// Lower and upper bound allowed for the next continuation byte (narrowed after E0, ED, F0, F4).
    @usableFromInline var low: UInt8 = 0x80
    @usableFromInline var high: UInt8 = 0xBF

    public init() {}

    /// True when no multi-byte sequence is open: the text seen so far is complete, valid UTF-8.
    public var isComplete: Bool { pending == 0 }

    /// Forgets any open sequence (call between messages).
    public mutating func reset() { self = UTF8Validator() }

    /// Validates the next bytes of the text. Returns `false` at the first impossible byte; after
    /// that the validator's state is unspecified until ``reset()``.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes {
            if pending == 0 {
                switch b {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: pending = 1; low = 0x80; high = 0xBF
                case 0xE0: pending = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: pending = 2; low = 0x80; high = 0xBF
                case 0xED: pending = 2; low = 0x80; high = 0x9F
                case 0xF0: pending = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: pending = 3; low = 0x80; high = 0xBF
                case 0xF4: pending = 3; low = 0x80; high = 0x8F
                default: return false
                }
            } else {
                guard b >= low && b <= high else { return false }
                pending -= 1; low = 0x80; high = 0xBF
            }
        }
        return true
    }

    /// Convenience for arrays and slices.
    public mutating func validate(_ bytes: some Collection<UInt8>) -> Bool {
        if let r = bytes.withContiguousStorageIfAvailable({ validate(UnsafeRawBufferPointer($0)) }) { return r }
        let copy = Array(bytes)
        return copy.withUnsafeBytes { validate($0) }
    }
}
