// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

/// The fast masking path against the byte loop it replaces (RFC 6455 §5.3).
@Suite("RFC 6455 §5.3 Masking properties")
struct MaskingPropertyTests {
    static let key = MaskingKey(0x37, 0xFA, 0x21, 0x3D)

    /// Masks `count` bytes of `input` that start `alignment` bytes into a fresh buffer, by the
    /// fast path (`fast == true`) or the reference byte loop.
    static func masked(_ input: [UInt8], key: MaskingKey, offset: Int, alignment: Int, fast: Bool) -> [UInt8] {
        var storage = [UInt8](repeating: 0xEE, count: alignment + input.count + 16)
        storage.replaceSubrange(alignment..<alignment + input.count, with: input)
        storage.withUnsafeMutableBytes { raw in
            let slice = UnsafeMutableRawBufferPointer(rebasing: raw[alignment..<alignment + input.count])
            if fast { Masking.apply(key, offset: offset, to: slice) } else { Masking.applyByteLoop(key, offset: offset, to: slice) }
        }
        // The guard bytes around the slice must be untouched.
        precondition(storage[..<alignment].allSatisfy { $0 == 0xEE } && storage[(alignment + input.count)...].allSatisfy { $0 == 0xEE },
                     "masking wrote outside its buffer")
        return Array(storage[alignment..<alignment + input.count])
    }

    @Test("RFC 6455 §5.7 example: \"Hello\" masked with 37 fa 21 3d")
    func rfcExample() {
        var bytes = Array("Hello".utf8)
        Masking.apply(Self.key, to: &bytes)
        #expect(bytes == [0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    @Test("Fast path equals the byte loop at every key offset, alignment and length 0...300")
    func fastEqualsByteLoopExhaustive() {
        var rng = SeededGenerator(seed: 42)
        let source = rng.bytes(300)
        var failures: [String] = []
        for offset in 0...3 {
            for alignment in 0...15 {
                for length in 0...300 {
                    let input = Array(source[..<length])
                    let fast = Self.masked(input, key: Self.key, offset: offset, alignment: alignment, fast: true)
                    let slow = Self.masked(input, key: Self.key, offset: offset, alignment: alignment, fast: false)
                    if fast != slow { failures.append("offset \(offset) alignment \(alignment) length \(length)") }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
    }

    @Test("Fast path equals the byte loop on big random buffers, keys and offsets")
    func fastEqualsByteLoopRandom() {
        for seed in PropertyRun.seeds(default: 60) {
            var rng = SeededGenerator(seed: seed)
            let length = Int.random(in: 0...70_000, using: &rng)
            let input = rng.bytes(length)
            let key = MaskingKey.random(using: &rng)
            let offset = Int.random(in: 0...1_000_000, using: &rng)
            let alignment = Int.random(in: 0...15, using: &rng)
            let fast = Self.masked(input, key: key, offset: offset, alignment: alignment, fast: true)
            let slow = Self.masked(input, key: key, offset: offset, alignment: alignment, fast: false)
            let same = fast == slow  // not inside #expect: a failure would print 70,000 bytes
            #expect(same, "seed \(seed)")
        }
    }

    @Test("Masking twice is the identity")
    func maskingTwiceIsIdentity() {
        for seed in PropertyRun.seeds {
            var rng = SeededGenerator(seed: seed)
            let input = rng.bytes(Int.random(in: 0...2_000, using: &rng))
            let key = MaskingKey.random(using: &rng)
            let offset = Int.random(in: 0...3, using: &rng)
            var bytes = input
            Masking.apply(key, offset: offset, to: &bytes)
            Masking.apply(key, offset: offset, to: &bytes)
            #expect(bytes == input, "seed \(seed)")
        }
    }

    @Test("Masking in pieces at running offsets equals masking in one go")
    func piecewiseEqualsWhole() {
        for seed in PropertyRun.seeds {
            var rng = SeededGenerator(seed: seed)
            let input = rng.bytes(Int.random(in: 0...1_000, using: &rng))
            let key = MaskingKey.random(using: &rng)
            var whole = input
            Masking.apply(key, offset: 0, to: &whole)
            var pieces = input
            var start = 0
            pieces.withUnsafeMutableBytes { raw in
                while start < input.count {
                    let end = min(input.count, start + Int.random(in: 1...40, using: &rng))
                    Masking.apply(key, offset: start, to: UnsafeMutableRawBufferPointer(rebasing: raw[start..<end]))
                    start = end
                }
            }
            let same = pieces == whole
            #expect(same, "seed \(seed)")
        }
    }

    @Test("apply(from:to:) equals masking in place, at any source and destination alignment")
    func copyingEqualsInPlace() {
        for seed in PropertyRun.seeds {
            var rng = SeededGenerator(seed: seed)
            let length = Int.random(in: 0...600, using: &rng)
            let input = rng.bytes(length)
            let key = MaskingKey.random(using: &rng)
            let offset = Int.random(in: 0...3, using: &rng)
            let sourceAlignment = Int.random(in: 0...15, using: &rng)
            let destinationAlignment = Int.random(in: 0...15, using: &rng)
            let source = [UInt8](repeating: 0, count: sourceAlignment) + input
            var destination = [UInt8](repeating: 0xEE, count: destinationAlignment + length + 8)
            source.withUnsafeBytes { s in
                destination.withUnsafeMutableBytes { d in
                    Masking.apply(key, offset: offset, from: UnsafeRawBufferPointer(rebasing: s[sourceAlignment...]),
                                  to: UnsafeMutableRawBufferPointer(rebasing: d[destinationAlignment...]))
                }
            }
            var inPlace = input
            Masking.apply(key, offset: offset, to: &inPlace)
            #expect(Array(destination[destinationAlignment..<destinationAlignment + length]) == inPlace, "seed \(seed)")
            #expect(destination[..<destinationAlignment].allSatisfy { $0 == 0xEE }, "seed \(seed)")
            #expect(destination[(destinationAlignment + length)...].allSatisfy { $0 == 0xEE }, "seed \(seed)")
        }
    }
}
