// SPDX-License-Identifier: Apache-2.0
import Testing
import WSDeflate
import WSProtocol

/// RFC 7692 §6.1: "An endpoint MAY send a message uncompressed" while permessage-deflate is on
/// (`Connection.ExtensionUse.bypass`): RSV1 clear, and the compression context untouched.
@Suite("RFC 7692 §6.1 Uncompressed messages on a compressed connection")
struct UncompressedMessageTests {
    @Test func serverBypassSendsRSV1ClearAndKeepsTheContext() throws {
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator()], server: [PerMessageDeflate.negotiator()])
        try pair.send(.text("Hello"), fromClient: false)
        try pair.send(.text("Hello"), fromClient: false, extensions: .bypass)
        try pair.send(.text("Hello"), fromClient: false)
        // Compressed (§7.2.3.1), as is with RSV1 clear, then compressed with the context of the
        // first message only (§7.2.3.2: the second "Hello" is `f2 00 11 00 00`).
        #expect(pair.serverWire == [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00,
                                    0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F,
                                    0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00])
        #expect(pair.clientEvents == [.message(.text("Hello")), .message(.text("Hello")), .message(.text("Hello"))])
    }

    @Test func clientBypassIsMaskedWithRSV1Clear() throws {
        var pair = try DeflatePair(client: [PerMessageDeflate.negotiator()], server: [PerMessageDeflate.negotiator()])
        let payload: [UInt8] = [0x1F, 0x8B, 0x08, 0x00]  // a gzip header: already compressed data
        try pair.send(.binary(payload), extensions: .bypass)
        #expect(pair.clientWire.count == 2 + 4 + payload.count)
        #expect(pair.clientWire[0] == 0x82)  // FIN, RSV1 clear, binary
        #expect(pair.clientWire[1] == 0x80 | UInt8(payload.count))
        let key = Array(pair.clientWire[2..<6])
        #expect(pair.clientWire[6...].enumerated().map { $1 ^ key[$0 % 4] } == payload)
        #expect(pair.serverEvents == [.message(.binary(payload))])
    }

    @Test func bypassWithoutExtensionsIsAPlainMessage() throws {
        var server = Connection(role: .server)
        #expect(try server.send(.text("Hello"), extensions: .bypass, now: .zero)
                == [.write([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])])
    }
}
