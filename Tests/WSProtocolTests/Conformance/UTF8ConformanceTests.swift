// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

private typealias F = TestFrameEncoder

/// One text payload from Autobahn|Testsuite section 6.
struct UTF8Case: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let valid: Bool
    var testDescription: String { name }
    init(_ name: String, _ bytes: [UInt8], valid: Bool) { self.name = name; self.bytes = bytes; self.valid = valid }
}

/// Autobahn|Testsuite section 6 (UTF-8 handling, RFC 6455 §8.1, RFC 3629): valid text arrives
/// intact however it is framed; invalid text fails the connection with 1007 at the first byte
/// that cannot be UTF-8, even before the frame or the message ends, across fragment boundaries.
@Suite("Autobahn 6 UTF-8 handling (RFC 6455 §8.1)")
struct UTF8ConformanceTests {
    static let kosme: [UInt8] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5]  // κόσμε
    static let edited = Array("edited".utf8)

    /// Cases 6.1–6.23: every payload, valid or not.
    static let cases: [UTF8Case] = {
        var cases: [UTF8Case] = [
            UTF8Case("6.1.1 empty", [], valid: true),
            UTF8Case("6.2.1 Hello-µ@ßöäüàá-UTF-8!!", Array("Hello-µ@ßöäüàá-UTF-8!!".utf8), valid: true),
            UTF8Case("6.3.1 κόσμε ED A0 80 edited", kosme + [0xED, 0xA0, 0x80] + edited, valid: false),
            UTF8Case("6.5.1 κόσμε", kosme, valid: true),
            UTF8Case("6.7.1 U+0000", [0x00], valid: true), UTF8Case("6.7.2 U+0080", [0xC2, 0x80], valid: true),
            UTF8Case("6.7.3 U+0800", [0xE0, 0xA0, 0x80], valid: true), UTF8Case("6.7.4 U+10000", [0xF0, 0x90, 0x80, 0x80], valid: true),
            UTF8Case("6.8.1 5-byte F8 88 80 80 80", [0xF8, 0x88, 0x80, 0x80, 0x80], valid: false),
            UTF8Case("6.8.2 6-byte FC 84 80 80 80 80", [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], valid: false),
            UTF8Case("6.9.1 U+007F", [0x7F], valid: true), UTF8Case("6.9.2 U+07FF", [0xDF, 0xBF], valid: true),
            UTF8Case("6.9.3 U+FFFF", [0xEF, 0xBF, 0xBF], valid: true), UTF8Case("6.9.4 U+10FFFF", [0xF4, 0x8F, 0xBF, 0xBF], valid: true),
            UTF8Case("6.10.1 F7 BF BF BF", [0xF7, 0xBF, 0xBF, 0xBF], valid: false),
            UTF8Case("6.10.2 FB BF BF BF BF", [0xFB, 0xBF, 0xBF, 0xBF, 0xBF], valid: false),
            UTF8Case("6.10.3 FD BF BF BF BF BF", [0xFD, 0xBF, 0xBF, 0xBF, 0xBF, 0xBF], valid: false),
            UTF8Case("6.11.1 U+D7FF", [0xED, 0x9F, 0xBF], valid: true), UTF8Case("6.11.2 U+E000", [0xEE, 0x80, 0x80], valid: true),
            UTF8Case("6.11.3 U+FFFD", [0xEF, 0xBF, 0xBD], valid: true), UTF8Case("6.11.4 U+10FFFF", [0xF4, 0x8F, 0xBF, 0xBF], valid: true),
            UTF8Case("6.11.5 U+110000", [0xF4, 0x90, 0x80, 0x80], valid: false),
            UTF8Case("6.12.1 80", [0x80], valid: false), UTF8Case("6.12.2 BF", [0xBF], valid: false),
            UTF8Case("6.12.3 80 BF", [0x80, 0xBF], valid: false), UTF8Case("6.12.4 80 BF 80", [0x80, 0xBF, 0x80], valid: false),
            UTF8Case("6.12.8 all continuation bytes", (0x80...0xBF).map { UInt8($0) }, valid: false),
            UTF8Case("6.13.1 2-byte leads each followed by a space", (0xC0...0xDF).flatMap { [UInt8($0), 0x20] }, valid: false),
            UTF8Case("6.13.2 3-byte leads each followed by a space", (0xE0...0xEF).flatMap { [UInt8($0), 0x20] }, valid: false),
            UTF8Case("6.13.3 4-byte leads each followed by a space", (0xF0...0xF7).flatMap { [UInt8($0), 0x20] }, valid: false),
            UTF8Case("6.13.4 5-byte leads each followed by a space", (0xF8...0xFB).flatMap { [UInt8($0), 0x20] }, valid: false),
            UTF8Case("6.13.5 6-byte leads each followed by a space", [0xFC, 0x20, 0xFD, 0x20], valid: false),
            UTF8Case("6.15.1 concatenated incomplete sequences", [0xC0, 0xE0, 0x80, 0xF0, 0x80, 0x80, 0xF8, 0x80, 0x80, 0x80, 0xFC, 0x80, 0x80, 0x80, 0x80,
                                                                 0xDF, 0xEF, 0xBF, 0xF7, 0xBF, 0xBF, 0xFB, 0xBF, 0xBF, 0xBF, 0xFD, 0xBF, 0xBF, 0xBF, 0xBF], valid: false),
            UTF8Case("6.16.1 FE", [0xFE], valid: false), UTF8Case("6.16.2 FF", [0xFF], valid: false),
            UTF8Case("6.16.3 FE FE FF FF", [0xFE, 0xFE, 0xFF, 0xFF], valid: false),
            UTF8Case("6.23.1 U+FFFD", [0xEF, 0xBF, 0xBD], valid: true),
        ]
        // 6.6: every prefix of κόσμε; only those ending on a whole character are valid.
        for n in 1...kosme.count {
            cases.append(UTF8Case("6.6.\(n) κόσμε, first \(n) bytes", Array(kosme.prefix(n)), valid: [2, 5, 7, 9, 11].contains(n)))
        }
        // 6.14: the last continuation byte missing.
        let missing: [[UInt8]] = [[0xC0], [0xE0, 0x80], [0xF0, 0x80, 0x80], [0xF8, 0x80, 0x80, 0x80], [0xFC, 0x80, 0x80, 0x80, 0x80],
                                  [0xDF], [0xEF, 0xBF], [0xF7, 0xBF, 0xBF], [0xFB, 0xBF, 0xBF, 0xBF], [0xFD, 0xBF, 0xBF, 0xBF, 0xBF]]
        for (i, bytes) in missing.enumerated() { cases.append(UTF8Case("6.14.\(i + 1) last byte missing \(hex(bytes))", bytes, valid: false)) }
        // 6.17–6.19: overlong forms of "/", the largest overlongs, overlong NUL.
        let overlongs: [[UInt8]] = [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF], [0xF8, 0x80, 0x80, 0x80, 0xAF],
                                    [0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF],
                                    [0xC1, 0xBF], [0xE0, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF8, 0x87, 0xBF, 0xBF, 0xBF],
                                    [0xFC, 0x83, 0xBF, 0xBF, 0xBF, 0xBF],
                                    [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80], [0xF8, 0x80, 0x80, 0x80, 0x80],
                                    [0xFC, 0x80, 0x80, 0x80, 0x80, 0x80]]
        for bytes in overlongs { cases.append(UTF8Case("6.17–6.19 overlong \(hex(bytes))", bytes, valid: false)) }
        // 6.20–6.21: single and paired UTF-16 surrogates.
        let surrogates: [[UInt8]] = [[0xED, 0xA0, 0x80], [0xED, 0xAD, 0xBF], [0xED, 0xAE, 0x80], [0xED, 0xAF, 0xBF],
                                     [0xED, 0xB0, 0x80], [0xED, 0xBE, 0x80], [0xED, 0xBF, 0xBF]]
        for bytes in surrogates { cases.append(UTF8Case("6.20 surrogate \(hex(bytes))", bytes, valid: false)) }
        for high in surrogates.prefix(4) {
            for low in [surrogates[4], surrogates[6]] { cases.append(UTF8Case("6.21 pair \(hex(high + low))", high + low, valid: false)) }
        }
        // 6.22: noncharacters are valid UTF-8.
        for plane in 0...16 {
            let base = UInt32(plane) << 16
            for value in [base | 0xFFFE, base | 0xFFFF] {
                cases.append(UTF8Case(String(format6_22: value), Array(String(Character(Unicode.Scalar(value)!)).utf8), valid: true))
            }
        }
        for value in UInt32(0xFDD0)...0xFDEF {
            cases.append(UTF8Case(String(format6_22: value), Array(String(Character(Unicode.Scalar(value)!)).utf8), valid: true))
        }
        return cases
    }()

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ") }

    /// The payload index where a fail-fast receiver must fail: the first impossible byte, or the
    /// last byte of the message when it ends inside a sequence.
    static func failIndex(_ bytes: [UInt8]) -> Int {
        UTF8Samples.firstImpossibleIndex(bytes) ?? (bytes.count - 1)
    }

    @Test("The table agrees with the standard library")
    func tableIsRight() {
        let wrong = Self.cases.filter { $0.valid != UTF8Samples.isValid($0.bytes) }.map(\.name)
        #expect(wrong.isEmpty)
        #expect(Self.cases.count > 100)
    }

    @Test("6.x in one frame: valid text is delivered, invalid text fails with 1007 (server and client)")
    func oneFrame() {
        for c in Self.cases {
            for role in [Role.server, .client] {
                let expected = c.valid ? Expect.messages([.text(String(decoding: c.bytes, as: UTF8.self))])
                                       : Expect.failure(.invalidUTF8, role: role)
                Conformance.check(role, frames: [F.toward(role, F.text, c.bytes)], deliveries: [.whole, .octets], expected: expected)
            }
        }
    }

    @Test("6.x in one-byte fragments: the same outcome as one frame")
    func oneByteFragments() {
        for c in Self.cases where !c.bytes.isEmpty {
            let frames = c.bytes.enumerated().map { i, byte in
                F.client(i == 0 ? F.text : F.continuation, [byte], fin: i == c.bytes.count - 1)
            }
            let expected = c.valid ? Expect.messages([.text(String(decoding: c.bytes, as: UTF8.self))])
                                   : Expect.failure(.invalidUTF8, role: .server)
            Conformance.check(.server, frames: frames, deliveries: [.whole, .perFrame], expected: expected)
        }
    }

    @Test("Fail fast inside a frame: fed octet-wise, the server fails at the first impossible byte")
    func failFastInsideFrame() {
        var wrong: [String] = []
        for c in Self.cases where !c.valid {
            let header = F.headerLength(payload: c.bytes.count, masked: true)
            if Conformance.closedAt(.server, frames: [F.client(F.text, c.bytes)]) != header + Self.failIndex(c.bytes) { wrong.append(c.name) }
        }
        #expect(wrong.isEmpty)
    }

    @Test("Fail fast across fragments: in one-byte fragments, the server fails in the fragment of the first impossible byte")
    func failFastAcrossFragments() {
        var wrong: [String] = []
        for c in Self.cases where !c.valid {
            let frames = c.bytes.enumerated().map { i, byte in
                F.client(i == 0 ? F.text : F.continuation, [byte], fin: i == c.bytes.count - 1)
            }
            // Every frame is 6 header bytes (masked) and 1 payload byte.
            if Conformance.closedAt(.server, frames: frames) != 7 * Self.failIndex(c.bytes) + 6 { wrong.append(c.name) }
        }
        #expect(wrong.isEmpty)
    }

    @Test("6.1.2–6.1.3: an empty text message in empty fragments, and with a non-empty middle")
    func emptyFragments() {
        Conformance.check(.server, frames: [F.client(F.text, [], fin: false), F.client(F.continuation, [], fin: false),
                                            F.client(F.continuation, [])], expected: Expect.messages([.text("")]))
        Conformance.check(.server, frames: [F.client(F.text, [], fin: false), F.client(F.continuation, Array("middle".utf8), fin: false),
                                            F.client(F.continuation, [])], expected: Expect.messages([.text("middle")]))
    }

    @Test("6.2.2–6.2.3: valid text cut inside code points across fragments arrives intact")
    func validCutInsideCodePoints() {
        let text = "Hello-µ@ßöäüàá-UTF-8!!"
        let bytes = Array(text.utf8)
        for cut in 1..<bytes.count {
            let frames = [F.client(F.text, Array(bytes[..<cut]), fin: false), F.client(F.continuation, Array(bytes[cut...]))]
            Conformance.check(.server, frames: frames, deliveries: [.whole, .perFrame], expected: Expect.messages([.text(text)]))
        }
    }

    @Test("6.4.1: κόσμε, then F4 90 80 80 in the second fragment: fails in that fragment, before the third")
    func failFastSecondFragment() {
        var testee = Testee(.server)
        testee.receive([F.client(F.text, Self.kosme, fin: false)], .whole)
        #expect(testee.outcome == Outcome())
        testee.receive([F.client(F.continuation, [0xF4, 0x90, 0x80, 0x80], fin: false)], .whole)
        #expect(testee.outcome == Expect.failure(.invalidUTF8, role: .server))
        testee.receive([F.client(F.continuation, Self.edited)], .whole)
        #expect(testee.outcome == Expect.failure(.invalidUTF8, role: .server))
    }

    @Test("6.4.2: κόσμε F4 in the first fragment, 90 80 80 in the second: fails on the second's first byte")
    func failFastAcrossBoundary() {
        let frames = [F.client(F.text, Self.kosme + [0xF4], fin: false), F.client(F.continuation, [0x90, 0x80, 0x80], fin: false),
                      F.client(F.continuation, Self.edited)]
        // The 0x90 is the first payload byte of the second frame.
        #expect(Conformance.closedAt(.server, frames: frames) == frames[0].count + 6)
        Conformance.check(.server, frames: frames, expected: Expect.failure(.invalidUTF8, role: .server))
    }

    @Test("6.4.3–6.4.4: one frame κόσμε F4 90 80 80 edited, chopped: fails before the frame ends")
    func failFastChoppedFrame() {
        let payload = Self.kosme + [0xF4, 0x90, 0x80, 0x80] + Self.edited
        let frame = F.client(F.text, payload)
        var testee = Testee(.server)
        testee.receive(Array(frame[..<(6 + Self.kosme.count)]))
        #expect(testee.outcome == Outcome())
        testee.receive(Array(frame[(6 + Self.kosme.count) ..< (6 + Self.kosme.count + 4)]))
        #expect(testee.outcome == Expect.failure(.invalidUTF8, role: .server))
        #expect(Conformance.closedAt(.server, frames: [frame]) == 6 + Self.kosme.count + 1)
    }

    @Test("Invalid UTF-8 in a binary message is not checked")
    func binaryIsNotText() {
        Conformance.check(.server, frames: [F.client(F.binary, [0xFF, 0xC0, 0xED, 0xA0, 0x80])],
                          expected: Expect.messages([.binary([0xFF, 0xC0, 0xED, 0xA0, 0x80])]))
    }

    @Test("A valid message after an invalid one is never delivered; one before it is")
    func messagesAroundInvalid() {
        let frames = [F.client(F.text, Self.kosme), F.client(F.text, [0xC0, 0x80]), F.client(F.text, Self.kosme)]
        Conformance.check(.server, frames: frames,
                          expected: Expect.failure(.invalidUTF8, role: .server,
                                                   after: Expect.messages([.text(String(decoding: Self.kosme, as: UTF8.self))])))
    }
}

private extension String {
    /// "6.22 noncharacter U+XXXX".
    init(format6_22 value: UInt32) { self = "6.22 noncharacter U+\(String(value, radix: 16, uppercase: true))" }
}
