// SPDX-License-Identifier: Apache-2.0
import Testing
@_spi(Testing) import WSProtocol
import WSTestSupport

/// The incremental validator against the standard library's decoder (RFC 6455 §8.1).
@Suite("RFC 6455 §8.1 UTF-8 validator properties")
struct UTF8ValidatorPropertyTests {
    /// Feeds `bytes` in the pieces that `cuts` (ascending split points) give, and returns where
    /// the validator failed (an index into `bytes`) and whether it ended complete.
    static func run(_ bytes: [UInt8], cuts: [Int]) -> (failure: Int?, complete: Bool) {
        var validator = UTF8Validator()
        var start = 0
        for end in cuts + [bytes.count] {
            let failure = bytes.withUnsafeBytes { validator.firstInvalidIndex(in: UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            if let failure { return (start + failure, false) }
            start = end
        }
        return (nil, validator.isComplete)
    }

    @Test("Agrees with the standard library, and fails at the first impossible byte, under every split in two")
    func everySplitInTwo() {
        for seed in PropertyRun.seeds {
            var rng = SeededGenerator(seed: seed)
            for _ in 0..<4 {
                let bytes = UTF8Samples.randomInput(using: &rng)
                let valid = UTF8Samples.isValid(bytes)
                let expectedFailure = UTF8Samples.firstImpossibleIndex(bytes)
                #expect(valid == UTF8Samples.transcodes(bytes), "seed \(seed): the two stdlib oracles disagree")
                var mismatches: [Int] = []
                for split in 0...bytes.count {
                    let result = Self.run(bytes, cuts: [split])
                    if result.failure != expectedFailure || (result.failure == nil && result.complete != valid) {
                        mismatches.append(split)
                    }
                    // The Bool API says the same.
                    var validator = UTF8Validator()
                    let accepted = validator.validate(bytes[..<split]) && validator.validate(bytes[split...])
                    if accepted != (expectedFailure == nil) || (accepted && validator.isComplete != valid) {
                        mismatches.append(split)
                    }
                }
                #expect(mismatches.isEmpty, "seed \(seed): \(bytes.map { String($0, radix: 16) }) splits \(mismatches)")
            }
        }
    }

    @Test("Agrees with the standard library on long text cut into random pieces")
    func randomPieces() {
        for seed in PropertyRun.seeds {
            var rng = SeededGenerator(seed: seed)
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                // Long ASCII runs exercise the 16-byte path; text exercises the word path.
                if Bool.random(using: &rng) {
                    bytes += (0..<Int.random(in: 0...100, using: &rng)).map { _ in UInt8.random(in: 0...0x7F, using: &rng) }
                } else {
                    bytes += UTF8Samples.randomText(scalars: Int.random(in: 0...60, using: &rng), using: &rng)
                }
            }
            if Int.random(in: 0..<3, using: &rng) == 0, !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0x80...0xFF, using: &rng)
            }
            var cuts: [Int] = []
            var at = 0
            while true {
                at += Int.random(in: 0...40, using: &rng)
                guard at < bytes.count else { break }
                cuts.append(at)
            }
            let result = Self.run(bytes, cuts: cuts)
            #expect(result.failure == UTF8Samples.firstImpossibleIndex(bytes), "seed \(seed)")
            #expect((result.failure == nil && result.complete) == UTF8Samples.isValid(bytes), "seed \(seed)")
        }
    }

    @Test("Every one- to three-byte input, alone and followed by ASCII: the validator agrees with the reference")
    func exhaustiveShortInputs() {
        // All 1- and 2-byte inputs, and all 3-byte inputs from a set of interesting bytes.
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var inputs: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for a in 0...255 { for b in interesting { inputs.append([UInt8(a), b]) } }
        for a in interesting { for b in interesting { for c in interesting { inputs.append([a, b, c]) } } }
        var mismatches: [[UInt8]] = []
        // Alone, a short input goes through the byte-wise tail; followed by ASCII, through the
        // word-at-a-time path.
        for bytes in inputs.flatMap({ bytes -> [[UInt8]] in [bytes, bytes + [0x41, 0x41, 0x41, 0x41]] }) {
            let result = Self.run(bytes, cuts: [])
            if result.failure != UTF8Samples.firstImpossibleIndex(bytes)
                || (result.failure == nil && result.complete != UTF8Samples.isValid(bytes)) {
                mismatches.append(bytes)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test("A short pattern between ASCII runs of every length: the 8-byte ASCII skip stops and resumes at the right byte")
    func asciiSkipBoundaries() {
        // The skip reads whole words from a sequence boundary, and when fewer than 8 bytes are
        // left it tests the buffer's last 8 (which may reach back over a sequence finished at
        // the start of the piece: the cut at 1 and 2 makes one).
        let interesting: [UInt8] = [0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        var patterns: [[UInt8]] = [[]] + interesting.map { [$0] }
        for a in interesting { for b in interesting { patterns.append([a, b]) } }
        patterns += [Array("é".utf8), Array("€".utf8), Array("😀".utf8)]
        var mismatches: [[UInt8]] = []
        for prefix in 0...16 {
            for pattern in patterns {
                for suffix in 0...9 {
                    let bytes = [UInt8](repeating: 0x61, count: prefix) + pattern + [UInt8](repeating: 0x62, count: suffix)
                    let expectedFailure = UTF8Samples.firstImpossibleIndex(bytes)
                    let valid = UTF8Samples.isValid(bytes)
                    for cuts in [[], [1], [2]] where cuts.allSatisfy({ $0 < bytes.count }) {
                        let result = Self.run(bytes, cuts: cuts)
                        if result.failure != expectedFailure || (result.failure == nil && result.complete != valid) {
                            mismatches.append(bytes)
                        }
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10).map { $0.map { String($0, radix: 16) } })")
    }

    @Test("Short patterns at every offset inside long text: the 16-byte block check agrees with the sequence-wise check")
    func blockPathAgreesWithSequencePath() {
        // Buffers of 16 bytes or more take the block check; pieces of 8 bytes never do, so
        // feeding the same bytes in 8-byte pieces is an independent answer (the sequence-wise
        // and byte-wise paths are checked against the standard library in the tests above).
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var patterns: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for a in interesting { for b in interesting { patterns.append([a, b]) } }
        for a in interesting { for b in interesting { for c in interesting { patterns.append([a, b, c]) } } }
        for a: UInt8 in [0xF0, 0xF1, 0xF4, 0xF5] {
            for b: UInt8 in [0x80, 0x8F, 0x90, 0xBF, 0x41] { for c: UInt8 in [0x80, 0xBF, 0x41] { for d: UInt8 in [0x80, 0xBF, 0x41, 0xC2] {
                patterns.append([a, b, c, d])
            } } }
        }
        let text = Array("é€😀ab".utf8)
        // After the pattern: multibyte text, or a long ASCII run (a block of ASCII right after
        // a block that ends inside a sequence must not be skipped as clean).
        let tails = [text + text + text + text, [UInt8](repeating: 0x41, count: 40)]
        var mismatches: [[UInt8]] = []
        for pattern in patterns {
            for offset in 0..<16 {
                for lead in [[UInt8](repeating: 0x41, count: 3 + offset), Array("aé€".utf8) + [UInt8](repeating: 0x41, count: offset)] {
                  for tail in tails {
                    let bytes = lead + pattern + tail
                    let whole = Self.run(bytes, cuts: [])
                    let pieces = Self.run(bytes, cuts: Array(stride(from: 8, to: bytes.count, by: 8)))
                    if whole.failure != pieces.failure || (whole.failure == nil && whole.complete != pieces.complete) {
                        mismatches.append(bytes)
                    }
                  }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, e.g. \(mismatches.prefix(3))")
    }
}
