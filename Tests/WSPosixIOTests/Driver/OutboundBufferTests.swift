// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO

/// The outbound buffer as a value: what the write path is offered, in order, and what is left.
@Suite("Outbound buffer (no sockets)")
struct OutboundBufferTests {
    /// Takes what `withNextWrite` offers, as a "kernel" that accepts at most `accept` bytes.
    static func write(_ out: inout OutboundBuffer, limit: Int = .max, accept: Int = .max) -> [UInt8] {
        let taken = out.withNextWrite(limit: limit) { a, b, c -> [UInt8] in Array((Array(a) + Array(b) + Array(c)).prefix(accept)) }
        out.advance(by: taken.count)
        return taken
    }

    @Test func partialWritesResumeWhereTheKernelStopped() {
        var out = OutboundBuffer()
        out.append([1, 2, 3, 4, 5])
        out.append([6, 7])
        #expect(out.count == 7)
        let r1 = Self.write(&out, accept: 3)
        #expect(r1 == [1, 2, 3])
        #expect(out.count == 4)
        let r2 = Self.write(&out, limit: 2)
        #expect(r2 == [4, 5])
        let r3 = Self.write(&out)
        #expect(r3 == [6, 7])
        #expect(out.isEmpty)
    }

    @Test func segmentsGoOutInOrderWithTheBytesAroundThem() {
        var out = OutboundBuffer()
        out.append([0xA0, 0xA1])          // a frame header
        out.appendSegment([1, 2, 3, 4])   // its payload, by reference
        out.append([0xB0])                // the next frame
        out.appendSegment([5, 6])
        #expect(out.count == 9)
        #expect(out.hasSegments)
        // One gathered write: header, payload, and the bytes up to the next segment.
        let r4 = Self.write(&out, accept: 4)
        #expect(r4 == [0xA0, 0xA1, 1, 2])
        let r5 = Self.write(&out)
        #expect(r5 == [3, 4, 0xB0])
        let r6 = Self.write(&out)
        #expect(r6 == [5, 6])
        #expect(out.isEmpty && !out.hasSegments)
    }

    @Test func theLimitCutsAGatheredWrite() {
        var out = OutboundBuffer()
        out.append([9])
        out.appendSegment(Array(repeating: 7, count: 10))
        let r7 = Self.write(&out, limit: 4)
        #expect(r7 == [9, 7, 7, 7])
        #expect(out.count == 7)
    }

    /// A transport's own records go ahead of plaintext not yet wrapped; wrapping replaces the
    /// plaintext tail; bytes queued before the transport started (a proxy stage's) stay as they are.
    @Test func wireBytesGoAheadOfPlaintextAndWrappingReplacesIt() {
        var out = OutboundBuffer()
        out.append(Array("CONNECT".utf8))  // before the transport: wire bytes
        out.startWrapping()
        out.append([1, 2, 3])              // plaintext
        out.insertWire([0xEE])             // the transport's hello
        #expect(out.hasPlaintext)
        out.wrapPlaintext { (plain: UnsafeRawBufferPointer, wire: inout [UInt8]) throws(Never) in
            wire.append(contentsOf: plain.map { $0 ^ 0xFF })
        }
        #expect(!out.hasPlaintext)
        let r8 = Self.write(&out)
        #expect(r8 == Array("CONNECT".utf8) + [0xEE, 0xFE, 0xFD, 0xFC])
    }

    /// Plaintext up to ``OutboundBuffer/stackWrapLimit`` is wrapped from the stack straight into
    /// the array, more through an array of its own: both give the same bytes, after the wire
    /// bytes and the bytes wrapped before, and a wrap that fails is reported.
    @Test func smallAndLargePlaintextIsWrappedAlike() {
        struct Refused: Error {}
        for count in [1, 34, OutboundBuffer.stackWrapLimit, OutboundBuffer.stackWrapLimit + 1, 70_000] {
            var out = OutboundBuffer()
            out.append([0xC0])             // before the transport
            out.startWrapping()
            let first = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            out.append(first)
            out.insertWire([0xEE, 0xEF])   // the transport's own record
            var calls = 0
            // A record: a length byte, then the plaintext inverted (longer than what it wraps).
            let record = { (plain: UnsafeRawBufferPointer, wire: inout [UInt8]) throws(Never) in
                calls += 1
                wire.append(UInt8(truncatingIfNeeded: plain.count))
                wire.append(contentsOf: plain.map { $0 ^ 0xFF })
            }
            out.wrapPlaintext(record)
            out.append([5, 6])
            out.wrapPlaintext(record)
            #expect(calls == 2 && !out.hasPlaintext, "\(count) bytes")
            let expected: [UInt8] = [0xC0, 0xEE, 0xEF, UInt8(truncatingIfNeeded: count)] + first.map { $0 ^ 0xFF } + [2, 0xFA, 0xF9]
            #expect(Self.write(&out) == expected, "\(count) bytes")

            out.append(first)
            #expect(throws: Refused.self) {
                try out.wrapPlaintext { (_: UnsafeRawBufferPointer, _: inout [UInt8]) throws(Refused) in throw Refused() }
            }
        }
    }

    /// A large message wrapped a record at a time (`upTo:`), written between records as the
    /// channel does on a quiet loop: the wire bytes offered never include plaintext, and what
    /// reaches the socket is exactly the records, in order, each wrapping its part.
    @Test func plaintextIsWrappedARecordAtATime() {
        var out = OutboundBuffer()
        out.startWrapping()
        let message = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        out.append(message)
        var records: [Int] = []
        let record = { (plain: UnsafeRawBufferPointer, wire: inout [UInt8]) throws(Never) in
            records.append(plain.count)
            wire.append(contentsOf: [0xAA, UInt8(truncatingIfNeeded: plain.count >> 8)])
            wire.append(contentsOf: plain.map { $0 ^ 0x55 })
        }
        var written: [UInt8] = []
        while out.hasPlaintext || !out.isEmpty {
            if out.wireCount == 0 { out.wrapPlaintext(upTo: 16_384, record) }
            #expect(out.wireCount + out.plaintextCount == out.count)
            // Part of the wire bytes at a time, as a socket might take them.
            let offered = out.withNextWrite(limit: min(out.wireCount, 10_000)) { a, b, c in [UInt8](a) + [UInt8](b) + [UInt8](c) }
            #expect(offered.count == min(out.wireCount, 10_000))
            written += offered
            out.advance(by: offered.count)
        }
        #expect(records == [16_384, 16_384, 16_384, 848])
        var expected: [UInt8] = []
        for (i, size) in records.enumerated() {
            expected += [0xAA, UInt8(truncatingIfNeeded: size >> 8)] + message[(i * 16_384)..<(i * 16_384 + size)].map { $0 ^ 0x55 }
        }
        #expect(written == expected)
        // A limit at or past the plaintext wraps it all, as without one.
        out.append([1, 2, 3])
        out.wrapPlaintext(upTo: 3, record)
        #expect(!out.hasPlaintext && out.wireCount == 5 && records.last == 3)
    }

    /// Small messages: written bytes stay in front of the next ones until ``writtenKept`` of
    /// them have gathered, then the array is emptied (not once per message); whatever is kept,
    /// what is offered is exactly the unwritten bytes, in order, with partial writes and
    /// segments queued behind kept bytes.
    @Test func writtenBytesAreKeptUntilAKiBHasGathered() {
        var out = OutboundBuffer()
        var sent: [UInt8] = [], written: [UInt8] = []
        var kept = 0
        for i in 0..<100 {
            let frame = (0..<34).map { UInt8(truncatingIfNeeded: i &* 34 &+ $0) }
            out.append(frame)
            sent += frame
            written += Self.write(&out)
            kept += 34
            if kept >= OutboundBuffer.writtenKept { kept = 0 }
            #expect(out.isEmpty && out.bytes.count == kept && out.start == kept, "after frame \(i)")
        }
        // Behind kept bytes: a header, a payload by reference, written in pieces.
        #expect(out.start > 0)
        out.append([0xA0, 0xA1])
        out.appendSegment([1, 2, 3, 4, 5])
        out.append([0xB0])
        sent += [0xA0, 0xA1, 1, 2, 3, 4, 5, 0xB0]
        written += Self.write(&out, accept: 3)
        #expect(out.count == 5)
        written += Self.write(&out)
        written += Self.write(&out)
        #expect(out.isEmpty)
        #expect(written == sent)
    }

    @Test func removeAllDropsEverything() {
        var out = OutboundBuffer()
        out.append([1, 2])
        out.appendSegment([3])
        out.removeAll()
        #expect(out.count == 0 && !out.hasSegments)
    }

    /// A long backlog drops its written head, so a slow peer does not make the array only grow.
    @Test func aWrittenHeadIsDroppedFromALongBacklog() {
        var out = OutboundBuffer()
        out.append(Array(repeating: 1, count: 3 << 20))
        out.append([2, 3])
        let r9 = Self.write(&out, accept: (3 << 20) - 1).count
        #expect(r9 == (3 << 20) - 1)
        #expect(out.start == 0)
        #expect(out.bytes == [1, 2, 3])
        let r10 = Self.write(&out)
        #expect(r10 == [1, 2, 3])
    }
}
