// SPDX-License-Identifier: Apache-2.0
import Testing
import WSDeflate
import WSProtocol

/// The examples of RFC 7692 §7.2.3, byte for byte.
@Suite("RFC 7692 §7.2.3 Examples")
struct RFC7692ExampleTests {
    static let hello = Array("Hello".utf8)
    /// "Hello" compressed on its own (RFC 7692 §7.2.3.1).
    static let helloCompressed: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
    /// The second "Hello" with context takeover (RFC 7692 §7.2.3.2).
    static let helloAgain: [UInt8] = [0xF2, 0x00, 0x11, 0x00, 0x00]

    static func server(_ p: PerMessageDeflateParameters = .init()) -> PerMessageDeflate {
        PerMessageDeflate(parameters: p, role: .server)
    }

    @Test func helloCompressesToTheRFCBytes() {
        var ext = Self.server()
        let (payload, rsv) = ext.encode(Self.hello, kind: .text)
        #expect(payload == Self.helloCompressed)
        #expect(rsv == 0x40)
    }

    @Test func contextTakeoverShortensTheSecondHello() {
        var ext = Self.server()
        #expect(ext.encode(Self.hello, kind: .text).payload == Self.helloCompressed)
        #expect(ext.encode(Self.hello, kind: .text).payload == Self.helloAgain)
    }

    @Test func noContextTakeoverGivesTheSameBytesTwice() {
        var ext = Self.server(PerMessageDeflateParameters(serverNoContextTakeover: true))
        #expect(ext.encode(Self.hello, kind: .text).payload == Self.helloCompressed)
        #expect(ext.encode(Self.hello, kind: .text).payload == Self.helloCompressed)
    }

    @Test func serverConnectionWritesTheRFCFrame() throws {
        var server = Connection(role: .server, extensions: [Self.server()])
        let wire = DeflatePair.written(try server.send(.text("Hello"), now: .zero))
        #expect(wire == [0xC1, 0x07] + Self.helloCompressed)
        // Control frames are never compressed (RFC 7692 §6.1): RSV1 stays clear.
        #expect(DeflatePair.written(try server.ping(Array("ping".utf8), now: .zero)) == [0x89, 0x04] + Array("ping".utf8))
    }

    @Test func clientDecodesTheSingleFrameExample() {
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive([0xC1, 0x07] + Self.helloCompressed, now: .zero))
        #expect(events == [.message(.text("Hello"))])
    }

    @Test func clientDecodesTheTwoFragmentExample() {
        // RFC 7692 §7.2.3.1: the compressed "Hello" in two frames, RSV1 on the first only.
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let first = DeflatePair.events(client.receive([0x41, 0x03, 0xF2, 0x48, 0xCD], now: .zero))
        let second = DeflatePair.events(client.receive([0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00], now: .zero))
        #expect(first == [])
        #expect(second == [.message(.text("Hello"))])
    }

    @Test func clientDecodesTheSecondHelloWithSharedContext() {
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive([0xC1, 0x07] + Self.helloCompressed + [0xC1, 0x05] + Self.helloAgain,
                                                       now: .zero))
        #expect(events == [.message(.text("Hello")), .message(.text("Hello"))])
    }

    @Test func uncompressedBlockAndEmptyMessageDecode() {
        // RFC 7692 §7.2.3.3 (a stored block: 00 05 00 fa ff "Hello") and §7.2.3.6 (empty: 00).
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let stored: [UInt8] = [0xC1, 0x0B, 0x00, 0x05, 0x00, 0xFA, 0xFF] + Self.hello + [0x00]
        let events = DeflatePair.events(client.receive(stored + [0xC1, 0x01, 0x00], now: .zero))
        #expect(events == [.message(.text("Hello")), .message(.text(""))])
    }

    @Test func finalBlockExampleDecodes() {
        // RFC 7692 §7.2.3.4: BFINAL = 1 ("f3 48 cd c9 c9 07 00"), followed by another message.
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        let events = DeflatePair.events(client.receive([0xC1, 0x07, 0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00,
                                                        0xC1, 0x07] + Self.helloCompressed, now: .zero))
        #expect(events == [.message(.text("Hello")), .message(.text("Hello"))])
    }

    @Test func emptyMessageCompressesToOneByte() {
        var ext = Self.server()
        #expect(ext.encode([], kind: .binary).payload == [0x00])
    }

    @Test func shortMessagesCanBeSentUncompressed() throws {
        var ext = PerMessageDeflate(parameters: .init(), role: .server, options: .init(minimumSize: 6))
        let (payload, rsv) = ext.encode(Self.hello, kind: .text)
        #expect(payload == Self.hello)
        #expect(rsv == 0)
        // The peer reads it as a plain message (RSV1 unset).
        var client = Connection(role: .client, extensions: [PerMessageDeflate(parameters: .init(), role: .client)])
        var server = Connection(role: .server, extensions: [ext])
        let wire = DeflatePair.written(try server.send(.text("Hello"), now: .zero))
        #expect(wire == [0x81, 0x05] + Self.hello)
        #expect(DeflatePair.events(client.receive(wire, now: .zero)) == [.message(.text("Hello"))])
    }
}
