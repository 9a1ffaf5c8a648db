// SPDX-License-Identifier: Apache-2.0
import Testing
import WSTestSupport
@testable import WSTLS

/// What an idle engine keeps: OpenSSL reads records straight from the bytes given to `receive`
/// (no input buffer), the handshake's flights leave no output capacity behind, and a burst over
/// 256 KiB does not stay allocated (memory BIOs kept their high-water capacity after being
/// drained); the output of ordinary records keeps its capacity for the next ones.
@Suite("TLS engine: buffers released while idle")
struct EngineMemoryTests {
    @Test("After the handshake and after a 1 MiB message each way, idle engines hold no buffer",
          arguments: [TLSVersion.v1_2, .v1_3])
    func idleAfterALargeMessage(version: TLSVersion) throws {
        var client = try TLSClientConfiguration.test()
        client.maximumVersion = version
        var pair = try EnginePair(client: client, server: .test())
        try pair.handshake()
        #expect(pair.client.heldBufferCapacity == 0)
        #expect(pair.server.heldBufferCapacity == 0)

        let message = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try message.withUnsafeBytes { try pair.client.send($0) }
        #expect(pair.client.heldBufferCapacity > 1 << 20)  // the records wait in the output
        try pair.toServer()
        #expect(pair.serverReceived == message)
        var wire: [UInt8] = []
        try message.withUnsafeBytes { try pair.server.send($0, into: &wire) }
        #expect(wire.count > 1 << 20)
        try wire.withUnsafeBytes { try pair.client.receive($0, into: &pair.clientReceived) }
        #expect(pair.clientReceived == message)

        #expect(pair.client.heldBufferCapacity == 0)
        #expect(pair.server.heldBufferCapacity == 0)
        #expect(!pair.client.hasOutput && !pair.server.hasOutput)
    }

    @Test func smallRecordsKeepOnlyTheirOwnSize() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.handshake()
        var wire: [UInt8] = []
        try [UInt8](repeating: 0x61, count: 32).withUnsafeBytes { try pair.server.send($0, into: &wire) }
        #expect(wire.count == 32 + 22)  // TLS 1.3: 5-byte header, content type, 16-byte tag
        #expect(pair.server.heldBufferCapacity >= 54)
        #expect(pair.server.heldBufferCapacity < 128)
    }

    @Test func sendIntoAppendsAfterWhatTheBufferAndTheOutputHold() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.handshake()
        try Array("one".utf8).withUnsafeBytes { try pair.client.send($0) }
        var wire: [UInt8] = [0xAA]
        pair.client.takeOutput(into: &wire)
        #expect(wire.first == 0xAA)
        try Array("two".utf8).withUnsafeBytes { try pair.client.send($0) }
        try Array("three".utf8).withUnsafeBytes { try pair.client.send($0, into: &wire) }  // after "two"
        #expect(!pair.client.hasOutput)
        try wire.dropFirst().withUnsafeBytes { try pair.server.receive($0, into: &pair.serverReceived) }
        #expect(pair.serverReceived == Array("onetwothree".utf8))
    }

    @Test func sendIntoBeforeTheHandshakeHoldsTheBytesUntilItIsDone() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        var wire: [UInt8] = []
        try Array("early".utf8).withUnsafeBytes { try pair.client.send($0, into: &wire) }
        #expect(wire.isEmpty)  // nothing before the peer is verified
        try pair.handshake()
        #expect(pair.serverReceived == Array("early".utf8))
    }

    @Test func aRecordSplitAcrossReceivesWaitsInsideOpenSSL() throws {
        var pair = try EnginePair(client: .test(), server: .test())
        try pair.handshake()
        let text = Array("split record".utf8)
        let length = text.count + 22  // TLS 1.3: every record of this text has this length
        for cut in 1..<length {
            try text.withUnsafeBytes { try pair.client.send($0) }
            let record = pair.client.takeOutput()
            #expect(record.count == length)
            var received: [UInt8] = []
            try record[..<cut].withUnsafeBytes { try pair.server.receive($0, into: &received) }
            #expect(received.isEmpty, "cut \(cut)")
            #expect(pair.server.heldBufferCapacity == 0)
            try record[cut...].withUnsafeBytes { try pair.server.receive($0, into: &received) }
            #expect(received == text, "cut \(cut)")
        }
    }
}
