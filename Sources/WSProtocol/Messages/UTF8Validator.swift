// SPDX-License-Identifier: Apache-2.0

/// An incremental UTF-8 validator (RFC 3629, as RFC 6455 §8.1 requires) that fails fast: it
/// reports failure at the first byte that can no longer start or continue a valid sequence,
/// even when the sequence is split across frames (RFC 6455 §5.6, §8.1).
///
/// The rules, from RFC 3629 §4: `C0`, `C1` and `F5`–`FF` never appear; after `E0` the next byte
/// is `A0`–`BF` (no overlongs), after `ED` it is `80`–`9F` (no surrogates), after `F0` it is
/// `90`–`BF` (no overlongs), after `F4` it is `80`–`8F` (nothing above U+10FFFF); every other
/// continuation byte is `80`–`BF`.
///
/// Speed: a leading run of ASCII is skipped 8 bytes at a time by one `UInt64` test each (for
/// most short texts, the whole input, with no other work). After it, an input of 19 bytes or
/// more is checked 16 bytes at a time with `SIMD16<UInt8>` comparisons (`skipBlocks`: which
/// bytes must be continuations, given the leads up to 3 bytes back, and the narrowed ranges),
/// whatever the mix of sequence lengths; blocks of ASCII after a complete sequence are skipped
/// with one test. Before the blocks, after them and in shorter
/// inputs, each sequence is checked with one masked test of a little-endian `UInt32` load (lead
/// class and continuation prefixes at once) plus the narrowed range after E0, ED, F0, F4, and
/// runs of ASCII are skipped 16 bytes at a time by two `UInt64` tests. A block that breaks a
/// rule is re-checked sequence by sequence to find the byte; the byte-at-a-time state machine
/// below finds the exact failing byte and handles the last 0–3 bytes of a buffer, where it
/// carries a sequence cut by the end of the buffer into the next call.
@_spi(Testing) public struct UTF8Validator: Hashable, Sendable {
    /// Bytes still expected to complete the current sequence.
    @usableFromInline var pending: UInt8 = 0
    /// Lower and upper bound allowed for the next continuation byte (narrowed after E0, ED, F0, F4).
    @usableFromInline var low: UInt8 = 0x80
    @usableFromInline var high: UInt8 = 0xBF

    /// A validator at the start of a text: no sequence open.
    public init() {}

    /// True when no multi-byte sequence is open: the text seen so far is complete, valid UTF-8.
    public var isComplete: Bool { pending == 0 }

    /// Forgets any open sequence (call between messages).
    public mutating func reset() { self = UTF8Validator() }

    /// Validates the next bytes of the text. Returns `false` at the first impossible byte; after
    /// that the validator's state is unspecified until ``reset()``.
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        firstInvalidIndex(in: bytes) == nil
    }

    /// Convenience for arrays and slices.
    public mutating func validate(_ bytes: some Collection<UInt8>) -> Bool {
        if let r = bytes.withContiguousStorageIfAvailable({ validate(UnsafeRawBufferPointer($0)) }) { return r }
        let copy = Array(bytes)
        return copy.withUnsafeBytes { validate($0) }
    }

    /// Validates the next bytes of the text like `validate(_:)`, and
    /// tells where it failed.
    ///
    /// - Returns: `nil` when every byte of `bytes` can be part of valid UTF-8 (a sequence may
    ///   still be open at the end: see ``isComplete``), or the index in `bytes` of the first byte
    ///   that cannot start or continue a valid sequence. After a failure the validator's state
    ///   is unspecified until ``reset()``.
    public mutating func firstInvalidIndex(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var i = 0
        // Finish a sequence left open by the previous call.
        while pending > 0 {
            guard i < count else { return nil }
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            guard b >= low && b <= high else { return i }
            pending &-= 1; low = 0x80; high = 0xBF
            i &+= 1
        }
        // Short texts (chat lines, JSON) are mostly ASCII: 16, then 8 bytes at a time first, with none of
        // the sequence logic below. A word with a high bit set stops this at its start, which is
        // a sequence boundary (everything before it is ASCII). When fewer than 8 bytes remain,
        // the last 8 of the buffer are tested instead (all ASCII only if those before are too).
        while count &- i >= 16 {
            let a = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let b = base.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
            guard (a | b) & 0x8080_8080_8080_8080 == 0 else { break }
            i &+= 16
        }
        while count &- i >= 8 && base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i &+= 8
        }
        if i == count || (count >= 8 && count &- i < 8
                          && base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self) & 0x8080_8080_8080_8080 == 0) {
            return nil
        }
        // From a sequence boundary: whole sequences until 3 bytes in (the block check looks up
        // to 3 bytes back), then 16-byte blocks, then whole sequences again from the start of
        // the sequence the blocks stopped in.
        var step = Self.skipSequences(base, from: i, count: count, until: 3)
        if !step.failed && step.index >= 3 && count &- step.index >= 16 {
            let blocksStart = step.index
            let stop = Self.skipBlocks(base, from: blocksStart, count: count)
            step = Self.skipSequences(base, from: Self.sequenceStart(base, before: stop, notBelow: blocksStart),
                                      count: count, until: count)
        } else if !step.failed {
            step = Self.skipSequences(base, from: step.index, count: count, until: count)
        }
        if step.failed {
            // Not a valid sequence: the byte-wise state machine finds the byte that breaks it.
            if let failure = scanTail(base, from: step.index, count: step.index &+ 4) { return failure }
            preconditionFailure("unreachable: the four bytes at \(step.index) hold no valid sequence")
        }
        return scanTail(base, from: step.index, count: count)
    }

    /// Skips whole valid sequences from the boundary `start` while 4 bytes remain and the
    /// position is below `until`. One little-endian word holds any sequence starting at `i`:
    /// the lead in bits 0–7, continuation byte `n` in bits 8n..<8n+8. Returns where it stopped,
    /// and whether because the 4 bytes there hold no valid sequence.
    private static func skipSequences(_ base: UnsafeRawPointer, from start: Int, count: Int, until: Int)
        -> (index: Int, failed: Bool) {
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var i = start
        while i < until && count &- i >= 4 {
            let w = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            if w & 0x8080_8080 == 0 {
                i &+= 4
                // ASCII fast path: skip 16 bytes at a time while their high bits are all clear.
                while count &- i >= 16 {
                    let a = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    let b = base.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
                    guard (a | b) & highBits == 0 else { break }
                    i &+= 16
                }
                continue
            }
            let lead = UInt8(truncatingIfNeeded: w)
            let c1 = UInt8(truncatingIfNeeded: w &>> 8)
            if lead < 0x80 { i &+= 1; continue }
            // Each test checks the lead's high bits and the continuation bytes' `10` prefixes
            // at once; the narrowed first continuation after E0, ED, F0, F4 is checked apart.
            if w & 0xC0E0 == 0x80C0 {  // C0–DF + one continuation; C0 and C1 would be overlong
                if lead >= 0xC2 { i &+= 2; continue }
            } else if w & 0xC0_C0F0 == 0x80_80E0 {  // E0–EF + two continuations
                // No overlongs (E0 needs A0–BF), no surrogates (ED needs 80–9F).
                if (lead != 0xE0 || c1 >= 0xA0) && (lead != 0xED || c1 < 0xA0) { i &+= 3; continue }
            } else if w & 0xC0C0_C0F8 == 0x8080_80F0 && lead <= 0xF4 {  // F0–F4 + three continuations
                // No overlongs (F0 needs 90–BF), nothing above U+10FFFF (F4 needs 80–8F).
                if (lead != 0xF0 || c1 >= 0x90) && (lead != 0xF4 || c1 < 0x90) { i &+= 4; continue }
            }
            return (i, true)
        }
        return (i, false)
    }

    /// Checks 16-byte blocks from the sequence boundary `start` (at least 3 bytes into the
    /// buffer), without following sequences: a byte must be a continuation (`80`–`BF`) exactly
    /// when one of the 3 bytes before it is a lead that reaches it (`C0`+ one back, `E0`+ two
    /// back, `F0`+ three back); `C0`, `C1` and `F5`–`FF` never appear; and the first continuation
    /// after `E0`, `ED`, `F0`, `F4` is in its narrowed range (RFC 3629 §4). The bytes 1, 2 and 3
    /// back are unaligned loads of the same buffer, so no lane shuffles are needed.
    ///
    /// Returns the start of the first block that breaks a rule (the caller's sequence-wise
    /// check finds the byte), or where fewer than 16 bytes remain.
    private static func skipBlocks(_ base: UnsafeRawPointer, from start: Int, count: Int) -> Int {
        typealias Block = SIMD16<UInt8>
        var i = start
        var clean = true  // no sequence crosses into the block at `i`
        while count &- i >= 16 {
            let v0 = base.loadUnaligned(fromByteOffset: i, as: Block.self)
            if clean && v0 & Block(repeating: 0x80) == Block() {
                i &+= 16  // all ASCII after a complete sequence
                continue
            }
            let v1 = base.loadUnaligned(fromByteOffset: i &- 1, as: Block.self)
            let v2 = base.loadUnaligned(fromByteOffset: i &- 2, as: Block.self)
            let v3 = base.loadUnaligned(fromByteOffset: i &- 3, as: Block.self)
            let isContinuation = v0 & Block(repeating: 0xC0) .== Block(repeating: 0x80)
            let needsContinuation = (v1 .>= Block(repeating: 0xC0)) .| (v2 .>= Block(repeating: 0xE0))
                .| (v3 .>= Block(repeating: 0xF0))
            var bad = isContinuation .^ needsContinuation
            bad .|= v0 & Block(repeating: 0xFE) .== Block(repeating: 0xC0)  // C0, C1
            bad .|= v0 .> Block(repeating: 0xF4)                             // F5–FF
            bad .|= (v1 .== Block(repeating: 0xE0)) .& (v0 .< Block(repeating: 0xA0))
            bad .|= (v1 .== Block(repeating: 0xED)) .& (v0 .> Block(repeating: 0x9F))
            bad .|= (v1 .== Block(repeating: 0xF0)) .& (v0 .< Block(repeating: 0x90))
            bad .|= (v1 .== Block(repeating: 0xF4)) .& (v0 .> Block(repeating: 0x8F))
            if any(bad) { return i }
            clean = v0[15] < 0xC0 && v0[14] < 0xE0 && v0[13] < 0xF0
            i &+= 16
        }
        return i
    }

    /// The start of the sequence that position `p` falls in, looking at most 3 bytes back and
    /// never below `floor` (a sequence boundary): `p` itself when no lead before it reaches `p`.
    private static func sequenceStart(_ base: UnsafeRawPointer, before p: Int, notBelow floor: Int) -> Int {
        var k = 1
        while k <= 3 && p &- k >= floor {
            let b = base.load(fromByteOffset: p &- k, as: UInt8.self)
            if b & 0xC0 != 0x80 {
                // A lead of a sequence of 2, 3 or 4 bytes reaches `p` when it is closer than its length.
                let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return k < length ? p &- k : p
            }
            k &+= 1
        }
        return p
    }

    /// Checks the last bytes of a buffer (fewer than 4) one at a time through the stored state,
    /// so that a sequence cut by the end of the buffer stays open for the next call.
    /// - Returns: the index of the first impossible byte, or `nil`.
    @inline(never)
    mutating func scanTail(_ base: UnsafeRawPointer, from start: Int, count: Int) -> Int? {
        var i = start
        while i < count {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            if pending == 0 {
                switch b {
                case 0x00...0x7F: break
                case 0xC2...0xDF: pending = 1; low = 0x80; high = 0xBF
                case 0xE0: pending = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: pending = 2; low = 0x80; high = 0xBF
                case 0xED: pending = 2; low = 0x80; high = 0x9F
                case 0xF0: pending = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: pending = 3; low = 0x80; high = 0xBF
                case 0xF4: pending = 3; low = 0x80; high = 0x8F
                default: return i
                }
            } else {
                guard b >= low && b <= high else { return i }
                pending &-= 1; low = 0x80; high = 0xBF
            }
            i &+= 1
        }
        return nil
    }
}
