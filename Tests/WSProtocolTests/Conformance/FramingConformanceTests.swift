// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

/// Autobahn|Testsuite section 1 (framing): text and binary messages of every length form
/// (RFC 6455 §5.2), whole, chopped and octet-wise, in both roles.
@Suite("Autobahn 1 Framing (RFC 6455 §5.2)")
struct FramingConformanceTests {
    /// The payload lengths of cases 1.1.1–1.1.7 / 1.2.1–1.2.7: each side of every length form.
    static let lengths = [0, 125, 126, 127, 128, 65535, 65536]

    @Test("1.1.1–1.1.7 text messages of every length form reach the server intact", arguments: lengths)
    func textToServer(length: Int) {
        let text = String(repeating: "*", count: length)
        Conformance.check(.server, frames: [TestFrameEncoder.client(TestFrameEncoder.text, Array(text.utf8))],
                          deliveries: length > 200 ? [.whole, .chunks(997)] : Delivery.all,
                          expected: Expect.messages([.text(text)]))
    }

    @Test("1.2.1–1.2.7 binary messages of every length form reach the server intact", arguments: lengths)
    func binaryToServer(length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 0xFE) }
        Conformance.check(.server, frames: [TestFrameEncoder.client(TestFrameEncoder.binary, payload)],
                          deliveries: length > 200 ? [.whole, .chunks(997)] : Delivery.all,
                          expected: Expect.messages([.binary(payload)]))
    }

    @Test("1.1.x / 1.2.x in the client role: unmasked frames of every length form", arguments: lengths)
    func messagesToClient(length: Int) {
        let text = String(repeating: "x", count: length)
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        Conformance.check(.client, frames: [TestFrameEncoder.server(TestFrameEncoder.text, Array(text.utf8)),
                                            TestFrameEncoder.server(TestFrameEncoder.binary, payload)],
                          deliveries: [.whole, .perFrame, .chunks(997)],
                          expected: Expect.messages([.text(text), .binary(payload)]))
    }

    @Test("1.1.8 / 1.2.8: a 65536-byte message in chops of 997 bytes; 65535 bytes octet-wise")
    func chopped() {
        let text = String(repeating: "*", count: 65536)
        Conformance.check(.server, frames: [TestFrameEncoder.client(TestFrameEncoder.text, Array(text.utf8))],
                          deliveries: [.chunks(997)], expected: Expect.messages([.text(text)]))
        let payload = (0..<65535).map { UInt8(truncatingIfNeeded: $0 % 253) }
        Conformance.check(.server, frames: [TestFrameEncoder.client(TestFrameEncoder.binary, payload)],
                          deliveries: [.octets], expected: Expect.messages([.binary(payload)]))
    }

    @Test("Several messages in one read are delivered in order")
    func manyInOneRead() {
        let frames = (0..<20).map { TestFrameEncoder.client($0 % 2 == 0 ? TestFrameEncoder.text : TestFrameEncoder.binary,
                                                             Array("message \($0)".utf8)) }
        let expected = (0..<20).map { $0 % 2 == 0 ? Message.text("message \($0)") : .binary(Array("message \($0)".utf8)) }
        Conformance.check(.server, frames: frames, expected: Expect.messages(expected))
    }

    @Test("A server fails an unmasked frame; a client fails a masked one (RFC 6455 §5.1)")
    func maskingDirection() {
        Conformance.check(.server, frames: [TestFrameEncoder.server(TestFrameEncoder.text, Array("Hello".utf8))],
                          expected: Expect.failure(.unmaskedFrameFromClient, role: .server))
        Conformance.check(.client, frames: [TestFrameEncoder.client(TestFrameEncoder.text, Array("Hello".utf8))],
                          expected: Expect.failure(.maskedFrameFromServer, role: .client))
    }

    @Test("A length in a longer form than needed is read, not failed: the minimal form is the sender's duty (RFC 6455 §5.2)")
    func nonMinimalLengthsAreRead() {
        let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let masked = Array("Hello".utf8).enumerated().map { $0.element ^ key[$0.offset % 4] }
        let sixteen: [UInt8] = [0x81, 0xFE, 0x00, 0x05] + key + masked
        let sixtyFour: [UInt8] = [0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x05] + key + masked
        Conformance.check(.server, frames: [sixteen, sixtyFour], expected: Expect.messages([.text("Hello"), .text("Hello")]))
    }

    @Test("A 64-bit length with the most significant bit set fails the connection (RFC 6455 §5.2)")
    func payloadLengthTopBit() {
        let header: [UInt8] = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1] + [0x5A, 0xC3, 0x0F, 0x96]
        Conformance.check(.server, frames: [header], expected: Expect.failure(.payloadLengthTopBitSet, role: .server))
    }

    @Test("Any 2-, 4- or 10-byte header form decodes the same message: write→parse for every length 0...300")
    func everySmallLength() {
        var mismatches: [Int] = []
        for length in 0...300 {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 ^ length) }
            var testee = Testee(.server)
            testee.receive([TestFrameEncoder.client(TestFrameEncoder.binary, payload)], .chunks(7))
            if testee.outcome != Expect.messages([.binary(payload)]) { mismatches.append(length) }
        }
        #expect(mismatches.isEmpty)
    }

    @Test("A client masks every frame with a fresh key drawn from its generator (RFC 6455 §5.3, §10.3)")
    func freshKeyPerFrame() throws {
        var configuration = Connection.Configuration()
        configuration.fragmentSize = 4
        var client = Connection(role: .client, configuration: configuration, entropy: SeededGenerator(seed: 7))
        var written: [UInt8] = []
        for output in try client.send(.text("fragmented text"), now: .zero) + client.ping([1], now: .zero)
            + client.send(.binary([2]), now: .zero) + client.close(now: .zero) {
            if case .write(let bytes) = output { written += bytes }
        }
        let frames = try #require(TestFrameDecoder.frames(written))
        var generator = SeededGenerator(seed: 7)
        let expectedKeys = frames.map { _ in MaskingKey.random(using: &generator) }
        #expect(frames.count == 7)  // 4 text frames, ping, binary, close
        #expect(frames.map(\.maskingKey) == expectedKeys)
        #expect(Set(frames.compactMap(\.maskingKey)).count == frames.count)
    }
}
