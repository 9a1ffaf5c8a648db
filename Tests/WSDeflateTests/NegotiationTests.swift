// SPDX-License-Identifier: Apache-2.0
import Testing
import WSDeflate
import WSProtocol
import WSTestSupport

/// The negotiated parameters reach the compressor (RFC 7692 §7.1), through the real handshakes.
@Suite("RFC 7692 §7.1 Negotiated parameters")
struct NegotiationTests {
    typealias Prefs = PerMessageDeflateNegotiator.Preferences

    static func deflate(_ c: Connection) throws -> PerMessageDeflate {
        try #require(c.extensions.first as? PerMessageDeflate)
    }

    @Test("Window bits and context takeover", arguments: [
        (Prefs(), Prefs(), "permessage-deflate", 15, 15, false, false),
        (Prefs(serverMaxWindowBits: 10, clientMaxWindowBits: 12), Prefs(),
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", 12, 10, false, false),
        (Prefs(), Prefs(serverMaxWindowBits: 11, clientMaxWindowBits: 9),
         "permessage-deflate; server_max_window_bits=11; client_max_window_bits=9", 9, 11, false, false),
        // 8 is negotiated, zlib deflates with 9 (raw windows of 8 are not supported).
        (Prefs(serverMaxWindowBits: 8, clientMaxWindowBits: 8), Prefs(),
         "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8", 9, 9, false, false),
        (Prefs(serverNoContextTakeover: true), Prefs(clientNoContextTakeover: true),
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover", 15, 15, true, true),
    ] as [(Prefs, Prefs, String, Int, Int, Bool, Bool)])
    func negotiated(client: Prefs, server: Prefs, header: String, clientBits: Int, serverBits: Int,
                    clientResets: Bool, serverResets: Bool) throws {
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator(client)], server: [PerMessageDeflate.negotiator(server)])
        #expect(pair.negotiated == header)
        let c = try Self.deflate(pair.client), s = try Self.deflate(pair.server)
        #expect(c.sendWindowBits == clientBits && s.receiveWindowBits == clientBits)
        #expect(s.sendWindowBits == serverBits && c.receiveWindowBits == serverBits)
        #expect(c.resetsSendContext == clientResets && s.resetsReceiveContext == clientResets)
        #expect(s.resetsSendContext == serverResets && c.resetsReceiveContext == serverResets)
        // Data with matches farther back than the smallest window still round-trips.
        var rng = SeededGenerator(seed: 3)
        let block = rng.bytes(3000)
        let message = Message.binary(block + block + block)
        try pair.send(message)
        try pair.send(message, fromClient: false)
        try pair.send(message)
        #expect(pair.serverEvents == [.message(message), .message(message)])
        #expect(pair.clientEvents == [.message(message)])
    }

    @Test func noContextTakeoverRepeatsTheSameWireBytes() throws {
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator(Prefs(serverNoContextTakeover: true,
                                                                                clientNoContextTakeover: true))],
                                   server: [PerMessageDeflate.negotiator()])
        try pair.send(.text("Hello"), fromClient: false)
        try pair.send(.text("Hello"), fromClient: false)
        #expect(pair.serverWire == [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00,
                                    0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(pair.clientEvents == [.message(.text("Hello")), .message(.text("Hello"))])
    }

    @Test func withoutServerSupportNothingIsCompressed() throws {
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator()], server: [])
        #expect(pair.negotiated == nil)
        #expect(pair.client.extensions.isEmpty)
        try pair.send(.text("Hello"), fromClient: false)
        #expect(pair.serverWire == [0x81, 0x05] + Array("Hello".utf8))
    }

    @Test func copiesShareTheCompressorState() throws {
        // Documented: the zlib stream is a reference; a Connection copy continues the same context.
        var server = Connection(role: .server, extensions: [PerMessageDeflate(parameters: .init(), role: .server)])
        _ = try server.send(.text("Hello"), now: .zero)
        var copy = server
        let wire = DeflatePair.written(try copy.send(.text("Hello"), now: .zero))
        #expect(wire == [0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00])
    }
}
