// SPDX-License-Identifier: Apache-2.0
import Testing
import WSDeflate
import WSProtocol

/// What the zlib streams of one connection hold (the numbers in Docs/Deflate.md), counted by
/// the allocator WSDeflate gives zlib.
@Suite("permessage-deflate memory per connection")
struct MemoryFootprintTests {
    /// `memoryInUse` before any message, after one sent, after one sent and one received. Both
    /// messages must really have been compressed and inflated (else the numbers would be of
    /// streams that never ran): a failure throws.
    static func footprint(_ parameters: PerMessageDeflateParameters, options: PerMessageDeflate.Options = .init())
        throws -> (idle: Int, sent: Int, both: Int) {
        let plain = [UInt8](repeating: 0x61, count: 1000)
        var peer = PerMessageDeflate(parameters: parameters, role: .server, options: options)
        let compressed = peer.encode(plain, kind: .binary)
        try #require(compressed.reservedBits == 0x40 && compressed.payload.count < 100, "the peer did not compress")
        var ext = PerMessageDeflate(parameters: parameters, role: .client, options: options)
        let idle = ext.memoryInUse
        let sent = ext.encode(Array(repeating: 0x62, count: 1000), kind: .binary)
        try #require(sent.reservedBits == 0x40, "the extension did not compress")
        let afterSending = ext.memoryInUse
        var output: [UInt8] = []
        let failure: ProtocolError? = compressed.payload.withUnsafeBytes { raw -> ProtocolError? in
            do throws(ProtocolError) {
                try ext.decode(raw, reservedBits: 0x40, isFinal: true, into: &output, limit: 1 << 20)
                return nil
            } catch { return error }
        }
        try #require(failure == nil, "decode failed: \(String(describing: failure))")
        try #require(output == plain)
        return (idle, afterSending, ext.memoryInUse)
    }

    /// The buffers zlib documents (zconf.h): deflate `2^(windowBits+2) + 2^(memLevel+9)` bytes
    /// (window, prev, head, pending), inflate `2^windowBits`; the rest is each stream's state,
    /// a few KiB depending on the zlib version (zlib 1.2.13 here: 5,952 and 7,160 bytes).
    static func buffers(windowBits: Int, memoryLevel: Int) -> (deflate: Int, inflate: Int) {
        ((1 << (windowBits + 2)) + (1 << (memoryLevel + 9)), 1 << windowBits)
    }

    static let stateAllowance = 0..<12_288

    @Test func defaultWindowAndMemoryLevel() throws {
        let (idle, sent, both) = try Self.footprint(.init())
        let expected = Self.buffers(windowBits: 15, memoryLevel: 8)  // 262,144 and 32,768
        #expect(idle == 0)
        #expect(Self.stateAllowance.contains(sent - expected.deflate), "compressor: \(sent) bytes")
        #expect(Self.stateAllowance.contains(both - sent - expected.inflate), "inflater: \(both - sent) bytes")
    }

    @Test func smallWindowAndMemoryLevel() throws {
        // websockets' defaults: window 12, memLevel 5.
        let (_, sent, both) = try Self.footprint(.init(serverMaxWindowBits: 12, clientMaxWindowBits: 12),
                                             options: .init(memoryLevel: 5))
        let expected = Self.buffers(windowBits: 12, memoryLevel: 5)  // 32,768 and 4,096
        #expect(Self.stateAllowance.contains(sent - expected.deflate), "compressor: \(sent) bytes")
        #expect(Self.stateAllowance.contains(both - sent - expected.inflate), "inflater: \(both - sent) bytes")
    }

    @Test func noContextTakeoverKeepsTheSameStreams() {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)
        var ext = PerMessageDeflate(parameters: parameters, role: .client)
        let once = ext.encode(Array(repeating: 1, count: 100), kind: .binary)
        let first = ext.memoryInUse
        #expect(first > 0)
        for _ in 0..<10 {
            // Without context takeover every message compresses alone: the same bytes each time.
            #expect(ext.encode(Array(repeating: 1, count: 100), kind: .binary) == once)
        }
        #expect(once.reservedBits == 0x40)
        #expect(ext.memoryInUse == first)
    }
}
