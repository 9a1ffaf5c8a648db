// SPDX-License-Identifier: Apache-2.0
import Testing
import WSDeflate
import WSProtocol
import WSTestSupport

/// A client and a server that negotiated permessage-deflate through the real handshakes
/// exchange random messages (seeded) and get back exactly what was sent (RFC 7692 §6).
@Suite("RFC 7692 §6 Linked round trips")
struct LinkedRoundTripTests {
    /// Random payloads of 0 bytes to 1 MiB: half compressible text-like data, half noise.
    static func payload(using rng: inout SeededGenerator, maxSize: Int) -> [UInt8] {
        let size: Int
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: size = Int.random(in: 0...16, using: &rng)
        case 1: size = Int.random(in: 17...4096, using: &rng)
        case 2: size = Int.random(in: 4097...(64 << 10), using: &rng)
        default: size = Int.random(in: (64 << 10)...maxSize, using: &rng)
        }
        if Bool.random(using: &rng) { return rng.bytes(size) }
        // Compressible: words from a small vocabulary.
        let words = ["web", "socket ", "deflate", " frame", "RSV1 ", "window", "\n", "zlib "].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        while out.count < size { out += words[Int.random(in: 0..<words.count, using: &rng)] }
        return Array(out.prefix(size))
    }

    static let variants: [(PerMessageDeflateNegotiator.Preferences, PerMessageDeflateNegotiator.Preferences)] = [
        (.init(), .init()),
        (.init(serverNoContextTakeover: true, clientNoContextTakeover: true), .init()),
        (.init(serverMaxWindowBits: 10, clientMaxWindowBits: 9), .init()),
        (.init(), .init(serverMaxWindowBits: 8, clientMaxWindowBits: 8)),
    ]

    @Test("Random messages round-trip", arguments: 0..<4)
    func randomMessagesRoundTrip(variant: Int) throws {
        let (clientPrefs, serverPrefs) = Self.variants[variant]
        for seed in UInt64(0)..<3 {
            var rng = SeededGenerator(seed: seed &+ UInt64(variant) &* 1000)
            var pair = try DeflatePair(client: [PerMessageDeflate.negotiator(clientPrefs)],
                                       server: [PerMessageDeflate.negotiator(serverPrefs)], seed: seed)
            #expect(pair.negotiated != nil)
            var sentByClient: [Event] = [], sentByServer: [Event] = []
            for _ in 0..<8 {
                let bytes = Self.payload(using: &rng, maxSize: 1 << 20)
                let text = Bool.random(using: &rng)
                // Text must be UTF-8: the random bytes are folded into ASCII.
                let message: Message = text ? .text(String(decoding: bytes.map { $0 & 0x7F }, as: UTF8.self)) : .binary(bytes)
                let fromClient = Bool.random(using: &rng)
                try pair.send(message, fromClient: fromClient)
                if fromClient { sentByClient.append(.message(message)) } else { sentByServer.append(.message(message)) }
            }
            #expect(pair.serverEvents == sentByClient, "seed \(seed)")
            #expect(pair.clientEvents == sentByServer, "seed \(seed)")
        }
    }

    @Test func compressibleDataIsSmallerOnTheWire() throws {
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator()], server: [PerMessageDeflate.negotiator()])
        let text = String(repeating: "permessage-deflate ", count: 10_000)  // 190,000 bytes
        try pair.send(.text(text))
        #expect(pair.serverEvents == [.message(.text(text))])
        #expect(pair.clientWire.count < 2_000)
        #expect(pair.clientWire[0] == 0xC1)  // FIN, RSV1, text
    }

    @Test func fragmentedCompressedMessagesRoundTrip() throws {
        var config = Connection.Configuration()
        config.fragmentSize = 100
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator()], server: [PerMessageDeflate.negotiator()],
                                   clientConfiguration: config, serverConfiguration: config)
        var rng = SeededGenerator(seed: 7)
        let bytes = rng.bytes(10_000)
        try pair.send(.binary(bytes))
        try pair.send(.binary(bytes), fromClient: false)
        #expect(pair.serverEvents == [.message(.binary(bytes))])
        #expect(pair.clientEvents == [.message(.binary(bytes))])
        // RSV1 on the first frame only (RFC 7692 §6.1): the second frame is a plain continuation.
        #expect(pair.serverWire[0] == 0x42)
        #expect(pair.serverWire[102] == 0x00)
    }

    @Test func streamingModeDeliversInflatedFragments() throws {
        var config = Connection.Configuration()
        config.deliversFragments = true
        var sender = Connection(role: .server, extensions: [PerMessageDeflate(parameters: .init(), role: .server)])
        var receiver = Connection(role: .client, configuration: config,
                                  extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let text = String(repeating: "abc", count: 1000)
        let events = DeflatePair.events(receiver.receive(DeflatePair.written(try sender.send(.text(text), now: .zero)), now: .zero))
        #expect(events == [.fragment(Fragment(kind: .text, bytes: Array(text.utf8), isFirst: true, isFinal: true))])
    }
}
