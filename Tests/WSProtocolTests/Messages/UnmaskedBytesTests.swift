// SPDX-License-Identifier: Apache-2.0
import Testing
import WSTestSupport
@testable import WSProtocol

/// The one-pass append of masked payload that spans reads (RFC 6455 §5.3), against the byte loop.
@Suite("Unmasked append (frames that span reads)")
struct UnmaskedBytesTests {
    static func byteLoop(_ masked: [UInt8], key: MaskingKey, offset: Int) -> [UInt8] {
        masked.indices.map { masked[$0] ^ key[offset + $0] }
    }

    @Test("append(contentsOf:) writes the unmasked bytes after what the array holds, at every key offset and length 0...70")
    func appendEqualsByteLoop() {
        var rng = SeededGenerator(seed: 7)
        let key = MaskingKey(0x37, 0xFA, 0x21, 0x3D)
        let masked = rng.bytes(70)
        var failures: [String] = []
        for offset in 0...7 {
            for length in 0...70 {
                for prefix in [0, 3, 16] {
                    var array = [UInt8](repeating: 0xAB, count: prefix)  // no spare capacity: append must grow
                    let chunk = Array(masked[..<length])
                    chunk.withUnsafeBytes { array.append(contentsOf: UnmaskedBytes($0, key: key, offset: offset)) }
                    let expected = [UInt8](repeating: 0xAB, count: prefix) + Self.byteLoop(chunk, key: key, offset: offset)
                    if array != expected { failures.append("offset \(offset) length \(length) prefix \(prefix)") }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
    }

    @Test("Iterating gives the same bytes as the fused copy")
    func iteratorEqualsFusedCopy() {
        var rng = SeededGenerator(seed: 8)
        let key = MaskingKey(1, 2, 3, 250)
        let masked = rng.bytes(300)
        masked.withUnsafeBytes { raw in
            for offset in 0...3 {
                let sequence = UnmaskedBytes(raw, key: key, offset: offset)
                let iterated = Array(IteratorSequence(sequence.makeIterator()))
                var appended: [UInt8] = []
                appended.append(contentsOf: sequence)
                #expect(iterated == Self.byteLoop(masked, key: key, offset: offset))
                #expect(appended == iterated)
                #expect(sequence.underestimatedCount == 300)
            }
        }
    }

    @Test("A 300,000-byte frame fed in 64 KiB reads arrives unmasked, byte for byte")
    func bigFrameAcrossReads() throws {
        var rng = SeededGenerator(seed: 9)
        let payload = rng.bytes(300_000)
        let key = MaskingKey(0x9E, 0x37, 0x79, 0xB9)
        var wire: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x04, 0x93, 0xE0, 0x9E, 0x37, 0x79, 0xB9]  // 300,000 = 0x0493E0
        wire += Self.byteLoop(payload, key: key, offset: 0)
        var connection = Connection(role: .server)
        var events: [Event] = []
        var start = 0
        while start < wire.count {
            let end = min(wire.count, start + 65_536)
            for output in connection.receive(wire[start..<end], now: .zero) {
                if case .deliver(let event) = output { events.append(event) }
            }
            start = end
        }
        #expect(events.count == 1)
        guard case .message(.binary(let received)) = try #require(events.first) else {
            Issue.record("expected one binary message, got \(events)")
            return
        }
        let same = received == payload  // not inside #expect: a failure would print it all
        #expect(same)
    }
}
