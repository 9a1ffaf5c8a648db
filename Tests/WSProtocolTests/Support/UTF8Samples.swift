// SPDX-License-Identifier: Apache-2.0
import WSTestSupport

/// Reference answers and generators for UTF-8 tests, built on the standard library's decoder.
enum UTF8Samples {
    /// Whether `bytes` is complete, valid UTF-8, by the standard library.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// Whether the standard library's transcoder (UTF-8 to UTF-32) finds no error in `bytes`.
    static func transcodes(_ bytes: [UInt8]) -> Bool {
        let failed = transcode(bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true) { _ in }
        return !failed
    }

    /// Whether some bytes appended to `prefix` make it valid UTF-8: the prefix ends in a whole
    /// sequence, or in the start of one. Tries up to three more bytes: the first drawn from the
    /// ends of every range RFC 3629 allows for a continuation byte (80–BF, A0–BF, 80–9F, 90–BF,
    /// 80–8F), the others plain `80`; if any completion exists, one of these is valid.
    static func isCompletable(_ prefix: [UInt8]) -> Bool {
        if isValid(prefix) { return true }
        for extra in 1...3 {
            for next: UInt8 in [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF] {
                if isValid(prefix + [next] + [UInt8](repeating: 0x80, count: extra - 1)) { return true }
            }
        }
        return false
    }

    /// The index of the first byte that no valid UTF-8 text can have there, or `nil`: where a
    /// fail-fast validator must stop. Completability is closed under taking prefixes, so a binary
    /// search over prefix lengths finds it.
    static func firstImpossibleIndex(_ bytes: [UInt8]) -> Int? {
        if isCompletable(bytes) { return nil }
        var good = 0, bad = bytes.count  // prefix of length `good` completable, of `bad` not
        while bad - good > 1 {
            let mid = (good + bad) / 2
            if isCompletable(Array(bytes[..<mid])) { good = mid } else { bad = mid }
        }
        return bad - 1
    }

    /// Sequences that every validator must reject or that sit on a boundary (Autobahn 6.x, RFC 3629).
    static let adversarial: [[UInt8]] = [
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xED, 0x9F, 0xBF],        // surrogates, last before
        [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], // overlongs
        [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],
        [0xF4, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],                 // above / at U+10FFFF
        [0xF5], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFC], [0xFE], [0xFF],
        [0x80], [0xBF], [0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98],          // stray, truncated
        [0xEF, 0xBF, 0xBF], [0xEF, 0xBF, 0xBE], [0xE0, 0xA0, 0x80], [0xF0, 0x90, 0x80, 0x80],
    ]

    /// A random string of `count` scalars, drawn from each UTF-8 length class, as UTF-8.
    static func randomText(scalars count: Int, using rng: inout SeededGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<count {
            let value: UInt32
            switch Int.random(in: 0..<5, using: &rng) {
            case 0, 1: value = UInt32.random(in: 0...0x7F, using: &rng)
            case 2: value = UInt32.random(in: 0x80...0x7FF, using: &rng)
            case 3:
                let v = UInt32.random(in: 0x800...0xFFFF, using: &rng)
                value = (0xD800...0xDFFF).contains(v) ? 0xFFFD : v
            default: value = UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
            }
            bytes.append(contentsOf: String(Character(Unicode.Scalar(value)!)).utf8)
        }
        return bytes
    }

    /// Random input of the kinds a fail-fast validator must get right: noise, valid text, valid
    /// text with a few bytes changed, inserted, removed or cut off, and adversarial sequences.
    static func randomInput(using rng: inout SeededGenerator, maxScalars: Int = 12) -> [UInt8] {
        var bytes = randomText(scalars: Int.random(in: 0...maxScalars, using: &rng), using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return rng.bytes(Int.random(in: 0...24, using: &rng))
        case 1: return bytes
        case 2:
            for _ in 0..<Int.random(in: 1...2, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 3:
            let sample = adversarial.randomElement(using: &rng)!
            bytes.insert(contentsOf: sample, at: Int.random(in: 0...bytes.count, using: &rng))
        case 4:
            if !bytes.isEmpty { bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng)) }
        default:
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
        }
        return bytes
    }
}
