// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// Data messages: assembly from fragments, streaming delivery, sending with automatic
/// fragmentation, the default message type, and extensions.
@Suite("RFC 6455 §5.4 Fragmentation and §5.6 Data frames")
struct MessageTests {
    static func server(_ configure: (inout Connection.Configuration) -> Void = { _ in }) -> Connection {
        var config = Connection.Configuration()
        configure(&config)
        return Connection(role: .server, configuration: config, entropy: FixedKeyGenerator())
    }

    // MARK: Receiving

    @Test func fragmentsAreAssembledAroundInterleavedControlFrames() {
        var server = Self.server()
        let input = Wire.client(.binary, [1, 2], fin: false) + Wire.client(.ping, [7]) + Wire.client(.continuation, [3], fin: false)
            + Wire.client(.pong, [8]) + Wire.client(.continuation, [], fin: false) + Wire.client(.continuation, [4, 5])
        #expect(server.receive(input, now: .zero)
                == [.deliver(.ping([7])), .deliver(.pong([8])), .deliver(.message(.binary([1, 2, 3, 4, 5]))),
                    .write(Wire.server(.pong, [7]))])
    }

    @Test func emptyMessages() {
        var server = Self.server()
        let input = Wire.client(.text) + Wire.client(.binary) + Wire.client(.text, fin: false) + Wire.client(.continuation)
        #expect(server.receive(input, now: .zero)
                == [.deliver(.message(.text(""))), .deliver(.message(.binary([]))), .deliver(.message(.text("")))])
    }

    @Test func aFrameSpanningReadsIsAssembled() {
        var server = Self.server()
        let frame = Wire.client(.text, Array("hello, world".utf8))
        #expect(server.receive(frame.prefix(9), now: .zero) == [])
        #expect(server.receive(frame.dropFirst(9), now: .zero) == [.deliver(.message(.text("hello, world")))])
    }

    @Test func manySmallFramesInOneRead() {
        var server = Self.server()
        var input: [UInt8] = []
        for i in 0..<100 { input += Wire.client(.binary, [UInt8(i), UInt8(i)], key: MaskingKey(UInt8(i), 1, 2, 3)) }
        let out = server.receive(input, now: .zero)
        #expect(out == (0..<100).map { .deliver(.message(.binary([UInt8($0), UInt8($0)]))) })
    }

    @Test func streamingModeDeliversEachFrame() {
        var server = Self.server { $0.deliversFragments = true }
        let input = Wire.client(.text, Array("Hé".utf8).dropLast().map { $0 }, fin: false)
            + Wire.client(.continuation, [0xA9], fin: false) + Wire.client(.continuation, Array("!".utf8))
            + Wire.client(.binary, [1, 2, 3])
        #expect(server.receive(input, now: .zero) == [
            .deliver(.fragment(Fragment(kind: .text, bytes: [0x48, 0xC3], isFirst: true, isFinal: false))),
            .deliver(.fragment(Fragment(kind: .text, bytes: [0xA9], isFirst: false, isFinal: false))),
            .deliver(.fragment(Fragment(kind: .text, bytes: [0x21], isFirst: false, isFinal: true))),
            .deliver(.fragment(Fragment(kind: .binary, bytes: [1, 2, 3], isFirst: true, isFinal: true))),
        ])
    }

    @Test func streamingModeIsSplitInvariant() throws {
        let input = Wire.client(.binary, [1, 2, 3, 4, 5], fin: false) + Wire.client(.ping) + Wire.client(.continuation, [6, 7])
        let runs = Chunking.transcripts(of: input) { Self.server { $0.deliversFragments = true } }
        let reference = try #require(runs.first).transcript
        #expect(reference.events == [
            .fragment(Fragment(kind: .binary, bytes: [1, 2, 3, 4, 5], isFirst: true, isFinal: false)), .ping([]),
            .fragment(Fragment(kind: .binary, bytes: [6, 7], isFirst: false, isFinal: true)),
        ])
        for (label, transcript) in runs { #expect(transcript == reference, "\(label)") }
    }

    // MARK: Sending

    @Test func sendDefaultsToBinary() throws {
        var server = Self.server()
        #expect(try server.send([0x68, 0x69], now: .zero) == [.write([0x82, 0x02, 0x68, 0x69])])
        var textServer = Self.server { $0.defaultMessageKind = .text }
        #expect(try textServer.send([0x68, 0x69], now: .zero) == [.write([0x81, 0x02, 0x68, 0x69])])
    }

    @Test func sendingTextThatIsNotUTF8Throws() throws {
        var server = Self.server { $0.defaultMessageKind = .text }
        #expect(throws: UsageError.invalidUTF8) { try server.send([0x68, 0xC3], now: .zero) }
        #expect(server.canSend)
    }

    @Test func automaticFragmentation() throws {
        var server = Self.server { $0.fragmentSize = 4 }
        #expect(try server.send(.binary(Array(1...10)), now: .zero) == [.write(
            Wire.server(.binary, [1, 2, 3, 4], fin: false) + Wire.server(.continuation, [5, 6, 7, 8], fin: false)
                + Wire.server(.continuation, [9, 10]))])
        #expect(try server.send(.binary([1, 2, 3, 4]), now: .zero) == [.write(Wire.server(.binary, [1, 2, 3, 4]))])
    }

    @Test func clientFragmentsEachGetTheirOwnKey() throws {
        var config = Connection.Configuration()
        config.fragmentSize = 2
        var client = Connection(role: .client, configuration: config, entropy: CountingKeyGenerator())
        #expect(try client.send(.text("abc"), now: .zero) == [.write(
            Wire.client(.text, Array("ab".utf8), fin: false, key: CountingKeyGenerator.key(1))
                + Wire.client(.continuation, Array("c".utf8), key: CountingKeyGenerator.key(2)))])
    }

    @Test func sendIntoAppendsToTheOutboundBuffer() throws {
        var server = Self.server()
        var outbound: [UInt8] = [0xAA]
        try server.send(.text("a"), now: .zero, into: &outbound)
        try server.send(.binary([2]), now: .zero, into: &outbound)
        try RFCVectors.hello.withUnsafeBytes { try server.send($0, kind: .text, now: .zero, into: &outbound) }
        #expect(outbound == [0xAA, 0x81, 0x01, 0x61, 0x82, 0x01, 0x02] + RFCVectors.unmaskedHello)
    }

    /// Sending borrowed bytes (whose small server frames take a short path) writes exactly the
    /// frames that sending the same message as a `Message` writes (the general path), at every
    /// small length and around the 7-bit limit, with fragmentation and an extension (applied or
    /// bypassed), and in both roles.
    @Test func sendingBytesFramesAsSendingAMessage() throws {
        for role in [Role.server, .client] {
            for fragmentSize in [nil, 0, 1, 40, 125, 126] as [Int?] {
                for extensions in [[], [XORExtension()]] as [[any MessageExtension]] {
                    for use in [Connection.ExtensionUse.apply, .bypass] {
                        var config = Connection.Configuration()
                        config.fragmentSize = fragmentSize
                        let make = { Connection(role: role, configuration: config, extensions: extensions, entropy: CountingKeyGenerator()) }
                        var viaBytes = make(), viaMessage = make()
                        for length in Array(0...130) + [1000] {
                            let text = String(repeating: "é", count: length / 2) + (length % 2 == 1 ? "a" : "")
                            let binary = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                            var a: [UInt8] = [], b: [UInt8] = []
                            try Array(text.utf8).withUnsafeBytes { try viaBytes.send($0, kind: .text, extensions: use, now: .zero, into: &a) }
                            try viaMessage.send(.text(text), extensions: use, now: .zero, into: &b)
                            try binary.withUnsafeBytes { try viaBytes.send($0, kind: .binary, extensions: use, now: .zero, into: &a) }
                            try viaMessage.send(.binary(binary), extensions: use, now: .zero, into: &b)
                            #expect(a == b, "\(role), fragment size \(String(describing: fragmentSize)), \(extensions.count) extension(s), \(use), \(length) bytes")
                            if a != b { return }
                        }
                    }
                }
            }
        }
    }

    @Test("Length encodings at their boundaries", arguments: [0, 125, 126, 65535, 65536])
    func lengthBoundaries(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(try LinkedPair.roundTrip([.binary(payload)]) == [.binary(payload)])
        #expect(try LinkedPair.roundTrip([.binary(payload)], from: .server) == [.binary(payload)])
    }

    // MARK: Extensions

    @Test func extensionEncodesOutgoingMessagesWithRSVOnTheFirstFrameOnly() throws {
        var config = Connection.Configuration()
        config.fragmentSize = 2
        var server = Connection(role: .server, configuration: config, extensions: [XORExtension()])
        #expect(try server.send(.binary([1, 2, 3]), now: .zero)
                == [.write(Wire.server(.binary, [0x5B, 0x58], fin: false, rsv: 0x40) + Wire.server(.continuation, [0x59]))])
    }

    @Test func extensionDecodesEveryFrameOfAMessageWithItsBit() {
        var server = Connection(role: .server, extensions: [XORExtension()])
        let input = Wire.client(.text, [0x32], fin: false, rsv: 0x40) + Wire.client(.continuation, [0x33])
            + Wire.client(.text, Array("plain".utf8))
        #expect(server.receive(input, now: .zero) == [.deliver(.message(.text("hi"))), .deliver(.message(.text("plain")))])
    }

    @Test func extensionRoundTripThroughALinkedPair() throws {
        var pair = LinkedPair()
        pair.client = Connection(role: .client, extensions: [XORExtension()], entropy: FixedKeyGenerator())
        pair.server = Connection(role: .server, extensions: [XORExtension()])
        try pair.client { (c, now) throws(UsageError) in try c.send(.text("über"), now: now) }
        pair.pump()
        #expect(pair.serverEvents == [.message(.text("über"))])
    }

    @Test func extensionInStreamingMode() {
        var config = Connection.Configuration()
        config.deliversFragments = true
        var server = Connection(role: .server, configuration: config, extensions: [XORExtension()])
        let input = Wire.client(.binary, [0x5B], fin: false, rsv: 0x40) + Wire.client(.continuation, [0x58])
        #expect(server.receive(input, now: .zero) == [
            .deliver(.fragment(Fragment(kind: .binary, bytes: [1], isFirst: true, isFinal: false))),
            .deliver(.fragment(Fragment(kind: .binary, bytes: [2], isFirst: false, isFinal: true))),
        ])
    }

    @Test func decodedSizeIsLimitedByMaxMessageSize() {
        var config = Connection.Configuration()
        config.maxMessageSize = 3
        var server = Connection(role: .server, configuration: config, extensions: [XORExtension()])
        let input = Wire.client(.binary, [1, 2], fin: false, rsv: 0x40) + Wire.client(.continuation, [3, 4])
        #expect(server.receive(input, now: .zero) == Wire.failure(.messageTooLarge(limit: 3), role: .server))
    }
}
