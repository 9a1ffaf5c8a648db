// SPDX-License-Identifier: Apache-2.0
import Testing
import WSDeflate
import WSProtocol

/// What the zlib streams of one connection hold (the numbers in Docs/Deflate.md), counted by
/// the allocator WSDeflate gives zlib.
@Suite("permessage-deflate memory per connection")
struct MemoryFootprintTests {
    /// `memoryInUse` before any message, after one sent, after one sent and one received.
    static func footprint(_ parameters: PerMessageDeflateParameters, options: PerMessageDeflate.Options = .init())
        -> (idle: Int, sent: Int, both: Int) {
        var peer = PerMessageDeflate(parameters: parameters, role: .server, options: options)
        let compressed = peer.encode(Array(repeating: 0x61, count: 1000), kind: .binary).payload
        var ext = PerMessageDeflate(parameters: parameters, role: .client, options: options)
        let idle = ext.memoryInUse
        _ = ext.encode(Array(repeating: 0x62, count: 1000), kind: .binary)
        let sent = ext.memoryInUse
        var output: [UInt8] = []
        compressed.withUnsafeBytes { raw in
            try? ext.decode(raw, reservedBits: 0x40, isFinal: true, into: &output, limit: 1 << 20)
        }
        return (idle, sent, ext.memoryInUse)
    }

    /// The buffers zlib documents (zconf.h): deflate `2^(windowBits+2) + 2^(memLevel+9)` bytes
    /// (window, prev, head, pending), inflate `2^windowBits`; the rest is each stream's state,
    /// a few KiB depending on the zlib version (zlib 1.2.13 here: 5,952 and 7,160 bytes).
    static func buffers(windowBits: Int, memoryLevel: Int) -> (deflate: Int, inflate: Int) {
        ((1 << (windowBits + 2)) + (1 << (memoryLevel + 9)), 1 << windowBits)
    }

    static let stateAllowance = 0..<12_288

    @Test func defaultWindowAndMemoryLevel() {
        let (idle, sent, both) = Self.footprint(.init())
        let expected = Self.buffers(windowBits: 15, memoryLevel: 8)  // 262,144 and 32,768
        #expect(idle == 0)
        #expect(Self.stateAllowance.contains(sent - expected.deflate), "compressor: \(sent) bytes")
        #expect(Self.stateAllowance.contains(both - sent - expected.inflate), "inflater: \(both - sent) bytes")
    }

    @Test func smallWindowAndMemoryLevel() {
        // websockets' defaults: window 12, memLevel 5.
        let (_, sent, both) = Self.footprint(.init(serverMaxWindowBits: 12, clientMaxWindowBits: 12),
                                             options: .init(memoryLevel: 5))
        let expected = Self.buffers(windowBits: 12, memoryLevel: 5)  // 32,768 and 4,096
        #expect(Self.stateAllowance.contains(sent - expected.deflate), "compressor: \(sent) bytes")
        #expect(Self.stateAllowance.contains(both - sent - expected.inflate), "inflater: \(both - sent) bytes")
    }

    @Test func noContextTakeoverKeepsTheSameStreams() {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)
        var ext = PerMessageDeflate(parameters: parameters, role: .client)
        _ = ext.encode(Array(repeating: 1, count: 100), kind: .binary)
        let first = ext.memoryInUse
        for _ in 0..<10 { _ = ext.encode(Array(repeating: 1, count: 100), kind: .binary) }
        #expect(first > 0 && ext.memoryInUse == first)
    }
}
