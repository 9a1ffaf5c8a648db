// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// RFC 6455 §5.7, every example: parsed into events, and written byte for byte.
@Suite("RFC 6455 §5.7 Examples")
struct RFCExamplesTests {
    static func client() -> Connection { Connection(role: .client, entropy: FixedKeyGenerator()) }
    static func server() -> Connection { Connection(role: .server, entropy: FixedKeyGenerator()) }

    // MARK: Parsing

    @Test func unmaskedHelloReachesTheClient() {
        var client = Self.client()
        #expect(client.receive(RFCVectors.unmaskedHello, now: .zero) == [.deliver(.message(.text("Hello")))])
    }

    @Test func maskedHelloReachesTheServer() {
        var server = Self.server()
        #expect(server.receive(RFCVectors.maskedHello, now: .zero) == [.deliver(.message(.text("Hello")))])
    }

    @Test func fragmentedHelloIsAssembled() {
        var client = Self.client()
        #expect(client.receive(RFCVectors.fragmentedHello1, now: .zero) == [])
        #expect(client.receive(RFCVectors.fragmentedHello2, now: .zero) == [.deliver(.message(.text("Hello")))])
    }

    @Test func unmaskedPingIsAnsweredWithTheMaskedPong() {
        var client = Self.client()
        #expect(client.receive(RFCVectors.unmaskedPing, now: .zero)
                == [.deliver(.ping(RFCVectors.hello)), .write(RFCVectors.maskedPong)])
    }

    @Test func maskedPongReachesTheServer() {
        var server = Self.server()
        #expect(server.receive(RFCVectors.maskedPong, now: .zero) == [.deliver(.pong(RFCVectors.hello))])
    }

    @Test func binary256UsesThe16BitLength() {
        var client = Self.client()
        #expect(client.receive(RFCVectors.binary256, now: .zero) == [.deliver(.message(.binary(RFCVectors.payload256)))])
    }

    @Test func binary64KUsesThe64BitLength() {
        var client = Self.client()
        #expect(client.receive(RFCVectors.binary64K, now: .zero) == [.deliver(.message(.binary(RFCVectors.payload64K)))])
    }

    // MARK: Writing

    @Test func serverWritesUnmaskedHello() throws {
        var server = Self.server()
        #expect(try server.send(.text("Hello"), now: .zero) == [.write(RFCVectors.unmaskedHello)])
    }

    @Test func clientWritesMaskedHello() throws {
        var client = Self.client()
        #expect(try client.send(.text("Hello"), now: .zero) == [.write(RFCVectors.maskedHello)])
    }

    @Test func serverWritesFragmentedHello() throws {
        var config = Connection.Configuration()
        config.fragmentSize = 3
        var server = Connection(role: .server, configuration: config)
        #expect(try server.send(.text("Hello"), now: .zero) == [.write(RFCVectors.fragmentedHello)])
    }

    @Test func serverWritesUnmaskedPing() throws {
        var server = Self.server()
        #expect(try server.ping(RFCVectors.hello, now: .zero) == [.write(RFCVectors.unmaskedPing)])
    }

    @Test func clientWritesMaskedPong() throws {
        var client = Self.client()
        #expect(try client.pong(RFCVectors.hello, now: .zero) == [.write(RFCVectors.maskedPong)])
    }

    @Test func serverWritesBinary256() throws {
        var server = Self.server()
        #expect(try server.send(.binary(RFCVectors.payload256), now: .zero) == [.write(RFCVectors.binary256)])
    }

    @Test func serverWritesBinary64K() throws {
        var server = Self.server()
        #expect(try server.send(.binary(RFCVectors.payload64K), now: .zero) == [.write(RFCVectors.binary64K)])
    }

    @Test func fixedKeyGeneratorYieldsTheRFCKey() {
        var generator = FixedKeyGenerator()
        #expect(MaskingKey.random(using: &generator) == RFCVectors.key)
    }

    // MARK: Every split point

    static let vectors: [String: ([UInt8], Role)] = [
        "unmasked Hello": (RFCVectors.unmaskedHello, .client),
        "masked Hello": (RFCVectors.maskedHello, .server),
        "fragmented Hello": (RFCVectors.fragmentedHello, .client),
        "ping": (RFCVectors.unmaskedPing, .client),
        "masked pong": (RFCVectors.maskedPong, .server),
        "256 bytes": (RFCVectors.binary256, .client),
        "64 KiB": (RFCVectors.binary64K, .client),
    ]

    @Test("Every split gives the same events", arguments: ["unmasked Hello", "masked Hello", "fragmented Hello",
                                                           "ping", "masked pong", "256 bytes", "64 KiB"])
    func everySplit(name: String) throws {
        let (bytes, role) = try #require(Self.vectors[name])
        let make = { Connection(role: role, entropy: FixedKeyGenerator()) }
        let runs = Chunking.transcripts(of: bytes, make: make)
        let reference = try #require(runs.first).transcript
        #expect(!reference.events.isEmpty)
        for (label, transcript) in runs {
            #expect(transcript == reference, "\(name), \(label)")
        }
    }
}
