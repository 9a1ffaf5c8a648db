// SPDX-License-Identifier: Apache-2.0
import Testing
@_spi(Testing) import WSProtocol
import WSTestSupport

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
}

@Suite("FIPS 180-4 SHA-1")
struct SHA1Tests {
    @Test("FIPS 180 example vectors", arguments: [
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"),
    ])
    func vectors(input: String, digest: String) {
        #expect(hex(SHA1.hash(Array(input.utf8))) == digest)
    }

    @Test("One million 'a'")
    func millionA() {
        var s = SHA1()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { s.update(chunk) }
        #expect(hex(s.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("Incremental updates equal one update, at every split")
    func incremental() {
        let input = Array("The quick brown fox jumps over the lazy dog, then keeps running past block boundaries!".utf8)
        let whole = SHA1.hash(input)
        for cut in 0...input.count {
            var s = SHA1()
            s.update(input[..<cut]); s.update(input[cut...])
            #expect(s.finalize() == whole, "cut \(cut)")
        }
    }

    @Test("Lengths around the padding boundary (55, 56, 64)")
    func paddingBoundaries() {
        // Known digests of "a" repeated n times.
        let expected: [Int: String] = [
            55: "c1c8bbdc22796e28c0e15163d20899b65621d65a",
            56: "c2db330f6083854c99d4b5bfb6e8f29f201be699",
            64: "0098ba824b5c16427bd7a1122a5a442a25ec644d",
        ]
        for (n, digest) in expected {
            #expect(hex(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: n))) == digest, "n=\(n)")
        }
    }
}

@Suite("RFC 4648 Base64")
struct Base64Tests {
    @Test("RFC 4648 §10 vectors", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("Decoding rejects invalid input", arguments: [
        "Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm9-", "Zm9_", "Zh==", "Zm9=",
        "Zm9v====", "=Zm9", "Zm=v", "\u{00e9}abc",
    ])
    func rejects(input: String) {
        #expect(Base64.decode(input) == nil)
    }

    @Test("Round trip of all byte values at every length 0–64 (seeded)")
    func roundTrip() {
        var rng = SeededGenerator(seed: 7)
        for n in 0...64 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes, "n=\(n)")
        }
    }
}

@Suite("RFC 6455 §1.3, §4.2.2 Sec-WebSocket-Accept")
struct AcceptKeyTests {
    @Test("The RFC 6455 §1.3 example")
    func rfcExample() {
        #expect(AcceptKey.accept(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("A random key is 16 bytes of Base64 drawn from the generator")
    func randomKey() {
        var rng = ScriptedRNG.rfcNonce
        #expect(AcceptKey.randomKey(using: &rng) == "dGhlIHNhbXBsZSBub25jZQ==")
        var seeded = SeededGenerator(seed: 1)
        let k = AcceptKey.randomKey(using: &seeded)
        #expect(AcceptKey.isValidKey(k))
        #expect(k.utf8.count == 24)
    }

    @Test("Key validation", arguments: [
        ("dGhlIHNhbXBsZSBub25jZQ==", true), ("AAAAAAAAAAAAAAAAAAAAAA==", true),
        ("dGhlIHNhbXBsZSBub25jZQ", false), ("dGhlIHNhbXBsZSBub25j", false), ("", false),
        ("dGhlIHNhbXBsZSBub25jZSE=", false), ("dGhlIHNhbXBsZSBub25jZR==", false),
    ])
    func validation(key: String, valid: Bool) {
        #expect(AcceptKey.isValidKey(key) == valid)
    }
}
