// SPDX-License-Identifier: Apache-2.0
import Testing
@_spi(Testing) import WSProtocol

/// Fixed vectors for the fail-fast validator (RFC 3629 §4, RFC 6455 §8.1; Autobahn 6.x).
@Suite("RFC 6455 §8.1 UTF-8 validator")
struct UTF8ValidatorTests {
    struct Vector: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        /// Where validation must stop, or `nil` when every byte is acceptable.
        let failure: Int?
        /// For accepted input: whether the text is finished.
        let complete: Bool
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "empty", bytes: [], failure: nil, complete: true),
        Vector(name: "ASCII", bytes: Array("Hello-µ@ßöäüàá-UTF-8!!".utf8), failure: nil, complete: true),
        Vector(name: "κόσμε", bytes: [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5], failure: nil, complete: true),
        Vector(name: "U+0000", bytes: [0x00], failure: nil, complete: true),
        Vector(name: "U+0080", bytes: [0xC2, 0x80], failure: nil, complete: true),
        Vector(name: "U+07FF", bytes: [0xDF, 0xBF], failure: nil, complete: true),
        Vector(name: "U+0800", bytes: [0xE0, 0xA0, 0x80], failure: nil, complete: true),
        Vector(name: "U+D7FF", bytes: [0xED, 0x9F, 0xBF], failure: nil, complete: true),
        Vector(name: "U+E000", bytes: [0xEE, 0x80, 0x80], failure: nil, complete: true),
        Vector(name: "U+FFFF", bytes: [0xEF, 0xBF, 0xBF], failure: nil, complete: true),
        Vector(name: "U+10000", bytes: [0xF0, 0x90, 0x80, 0x80], failure: nil, complete: true),
        Vector(name: "U+10FFFF", bytes: [0xF4, 0x8F, 0xBF, 0xBF], failure: nil, complete: true),
        Vector(name: "truncated 2-byte", bytes: [0xC2], failure: nil, complete: false),
        Vector(name: "truncated 3-byte", bytes: [0x41, 0xE2, 0x82], failure: nil, complete: false),
        Vector(name: "truncated 4-byte", bytes: [0xF0, 0x9F, 0x98], failure: nil, complete: false),
        Vector(name: "lone continuation 80", bytes: [0x41, 0x80], failure: 1, complete: false),
        Vector(name: "lone continuation BF", bytes: [0xBF], failure: 0, complete: false),
        Vector(name: "overlong C0 80", bytes: [0xC0, 0x80], failure: 0, complete: false),
        Vector(name: "overlong C1 BF", bytes: [0xC1, 0xBF], failure: 0, complete: false),
        Vector(name: "overlong E0 80 80", bytes: [0xE0, 0x80, 0x80], failure: 1, complete: false),
        Vector(name: "overlong E0 9F BF", bytes: [0xE0, 0x9F, 0xBF], failure: 1, complete: false),
        Vector(name: "overlong F0 80 80 80", bytes: [0xF0, 0x80, 0x80, 0x80], failure: 1, complete: false),
        Vector(name: "overlong F0 8F BF BF", bytes: [0xF0, 0x8F, 0xBF, 0xBF], failure: 1, complete: false),
        Vector(name: "surrogate ED A0 80", bytes: [0xED, 0xA0, 0x80], failure: 1, complete: false),
        Vector(name: "surrogate ED BF BF", bytes: [0xED, 0xBF, 0xBF], failure: 1, complete: false),
        Vector(name: "above U+10FFFF: F4 90 80 80", bytes: [0xF4, 0x90, 0x80, 0x80], failure: 1, complete: false),
        Vector(name: "F5", bytes: [0xF5, 0x80, 0x80, 0x80], failure: 0, complete: false),
        Vector(name: "F8 five-byte form", bytes: [0xF8, 0x88, 0x80, 0x80, 0x80], failure: 0, complete: false),
        Vector(name: "FE", bytes: [0xFE], failure: 0, complete: false),
        Vector(name: "FF", bytes: [0xFF], failure: 0, complete: false),
        Vector(name: "sequence cut by ASCII", bytes: [0xE2, 0x82, 0x41], failure: 2, complete: false),
        Vector(name: "4-byte cut at third byte", bytes: [0xF0, 0x9F, 0x41, 0x41, 0x41, 0x41], failure: 2, complete: false),
        Vector(name: "4-byte cut at fourth byte", bytes: [0xF0, 0x9F, 0x98, 0x41, 0x41, 0x41], failure: 3, complete: false),
        Vector(name: "Autobahn 6.3.1: κόσμε then ED A0 80", bytes: [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5,
                                                              0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64], failure: 12, complete: false),
        Vector(name: "invalid after 40 ASCII bytes", bytes: [UInt8](repeating: 0x61, count: 40) + [0xC0], failure: 40, complete: false),
    ]

    @Test("Vectors, whole", arguments: vectors)
    func whole(vector: Vector) {
        var validator = UTF8Validator()
        let failure = vector.bytes.withUnsafeBytes { validator.firstInvalidIndex(in: $0) }
        #expect(failure == vector.failure)
        if vector.failure == nil { #expect(validator.isComplete == vector.complete) }
        var again = UTF8Validator()
        let accepted = again.validate(vector.bytes)
        #expect(accepted == (vector.failure == nil))
    }

    @Test("Vectors, one byte per call", arguments: vectors)
    func bytewise(vector: Vector) {
        var validator = UTF8Validator()
        var failure: Int?
        for (index, byte) in vector.bytes.enumerated() where failure == nil {
            if !validator.validate([byte]) { failure = index }
        }
        #expect(failure == vector.failure)
        if vector.failure == nil { #expect(validator.isComplete == vector.complete) }
    }

    @Test("A sequence split across calls completes in the next call")
    func splitAcrossCalls() {
        var validator = UTF8Validator()
        let first = validator.validate([0x41, 0xF0, 0x9F])
        let openAfterFirst = !validator.isComplete
        let second = validator.validate([0x98])
        let openAfterSecond = !validator.isComplete
        let third = validator.validate([0x80, 0x41])
        #expect(first && second && third)
        #expect(openAfterFirst && openAfterSecond)
        #expect(validator.isComplete)
    }

    @Test("The narrowed range after E0/ED/F0/F4 carries across calls",
          arguments: [(0xE0, 0x9F, 0xA0), (0xED, 0xA0, 0x9F), (0xF0, 0x8F, 0x90), (0xF4, 0x90, 0x8F)] as [(UInt8, UInt8, UInt8)])
    func narrowedRangeAcrossCalls(lead: UInt8, bad: UInt8, good: UInt8) {
        var rejecting = UTF8Validator()
        let leadAccepted = rejecting.validate([lead])
        let failure = [bad].withUnsafeBytes { rejecting.firstInvalidIndex(in: $0) }
        #expect(leadAccepted)
        #expect(failure == 0)
        var accepting = UTF8Validator()
        let accepted = accepting.validate([lead]) && accepting.validate([good])
        #expect(accepted)
    }

    @Test("reset() forgets an open sequence")
    func resetForgets() {
        var validator = UTF8Validator()
        let opened = validator.validate([0xE2, 0x82])
        validator.reset()
        #expect(opened)
        #expect(validator.isComplete)
        let plain = validator.validate([0x41])
        #expect(plain)
        #expect(validator.isComplete)
    }

    @Test("Non-contiguous collections are validated too")
    func nonContiguous() {
        var validator = UTF8Validator()
        let valid = validator.validate([0xCE, 0xBA, 0xCF, 0x83].lazy.map { $0 })
        let invalid = validator.validate((0..<3).lazy.map { _ in UInt8(0xFF) })
        #expect(valid)
        #expect(!invalid)
    }
}
