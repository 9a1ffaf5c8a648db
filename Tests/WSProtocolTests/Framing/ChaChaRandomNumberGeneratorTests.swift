// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// Known answers for the ChaCha20 keystream (RFC 8439 §2.3; the zero-key blocks are RFC 8439
/// Appendix A.1 test vectors #1 and #2).
@Suite("ChaCha20 masking-key generator")
struct ChaChaRandomNumberGeneratorTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static func bytes(_ generator: inout ChaChaRandomNumberGenerator, words: Int) -> [UInt8] {
        (0..<words).flatMap { _ -> [UInt8] in
            let v = generator.next()
            return (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
        }
    }

    @Test func zeroKeyBlocks0And1() throws {
        var generator = try #require(ChaChaRandomNumberGenerator(key: [UInt8](repeating: 0, count: 32)))
        #expect(Self.bytes(&generator, words: 16) == Self.hex(
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
            + "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"))
    }

    @Test func countingKeyBlock5() throws {
        var generator = try #require(ChaChaRandomNumberGenerator(key: (0..<32).map { UInt8($0) }))
        _ = Self.bytes(&generator, words: 40)
        #expect(Self.bytes(&generator, words: 8) == Self.hex(
            "0be7ffa5fa90293ceda7b19d2a9741d1545f1ec0adf49ca599aca44e3567c05a206ffc953274f6e500ff395d44ff12b27a067f5c5178b1a42a1bb03748b79504"))
    }

    /// A key of any other length than 32 bytes is refused (`nil`), not a trap.
    @Test func aKeyOfAnotherLengthIsRefused() {
        for count in [0, 1, 16, 31, 33, 64] {
            #expect(ChaChaRandomNumberGenerator(key: [UInt8](repeating: 7, count: count)) == nil)
        }
    }

    @Test func seededGeneratorsDifferAndMaskFrames() throws {
        var a = ChaChaRandomNumberGenerator(), b = ChaChaRandomNumberGenerator()
        #expect(a.next() != b.next())
        var client = Connection(role: .client, entropy: ChaChaRandomNumberGenerator())
        var server = Connection(role: .server)
        guard case .write(let frame) = try #require(try client.send(.text("Hello"), now: .zero).first) else {
            Issue.record("expected a write"); return
        }
        #expect(server.receive(frame, now: .zero) == [.deliver(.message(.text("Hello")))])
    }
}
