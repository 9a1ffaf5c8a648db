// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSProtocol

/// Limits set very high (`.max`, to lift them) or very low: memory follows the bytes that
/// actually arrive, never a length the peer announces, and no limit makes arithmetic overflow.
@Suite("Limits lifted to .max, or below zero")
struct LiftedLimitTests {
    static func server(frame: Int = .max, message: Int = .max) -> Connection {
        var config = Connection.Configuration()
        config.maxFrameSize = frame
        config.maxMessageSize = message
        return Connection(role: .server, configuration: config)
    }

    /// `count` payload bytes as a client sends them after `Wire.clientHeader` (the RFC key).
    static func masked(_ plain: [UInt8], offset: Int = 0) -> [UInt8] {
        plain.indices.map { plain[$0] ^ RFCVectors.key[offset + $0] }
    }

    @Test("A header announcing a huge frame plus a few bytes buffers only those bytes",
          arguments: [1 << 30, 1 << 40, (1 << 62) + 12345] as [UInt64])
    func announcedLengthIsNotReserved(announced: UInt64) {
        var server = Self.server()
        let first = Self.masked(Array(repeating: 7, count: 100))
        #expect(server.receive(Wire.clientHeader(.binary, length: announced) + first, now: .zero) == [])
        #expect(server.incoming.buffer.count == 100)
        #expect(server.incoming.buffer.capacity < 4096, "capacity \(server.incoming.buffer.capacity)")
        // It keeps growing with what arrives (doubling), not with what was announced.
        var received = 100
        for _ in 0..<50 {
            let piece = Self.masked(Array(repeating: 7, count: 1000), offset: received)
            #expect(server.receive(piece, now: .zero) == [])
            received += 1000
            #expect(server.incoming.buffer.capacity <= 2 * received + 4096,
                    "capacity \(server.incoming.buffer.capacity) after \(received) bytes")
        }
        #expect(server.incoming.buffer == Array(repeating: 7, count: received))
    }

    @Test("A frame that spans reads is delivered exactly, and its buffer ends at the frame's size")
    func spanningFrameIsExactAndTight() {
        var server = Self.server()
        let plain = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let wire = Wire.client(.binary, plain)
        var outputs: [Connection.Output] = []
        var position = 0
        for size in [3, 997, 64, 5000, 4000] {
            let end = min(position + size, wire.count)
            outputs += server.receive(wire[position..<end], now: .zero)
            position = end
            if position < wire.count {
                // Never past the frame's end (give or take the allocator's rounding).
                #expect(server.incoming.buffer.capacity <= plain.count + 64, "capacity \(server.incoming.buffer.capacity)")
            }
        }
        #expect(position == wire.count)
        #expect(outputs == [.deliver(.message(.binary(plain)))])
    }

    @Test("A frame whose first read brings half of it or more gets its whole buffer at once")
    func halfAFrameReservesTheRest() {
        for first in [5_000, 6_000, 9_999] {
            var server = Self.server()
            let plain = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let wire = Wire.client(.binary, plain)
            let header = wire.count - plain.count
            #expect(server.receive(wire[..<(header + first)], now: .zero) == [])
            #expect(server.incoming.buffer.capacity >= plain.count, "capacity \(server.incoming.buffer.capacity) after \(first) bytes")
            #expect(server.incoming.buffer.capacity <= plain.count + 64, "capacity \(server.incoming.buffer.capacity)")
            let address = server.incoming.buffer.withUnsafeBufferPointer { $0.baseAddress }
            // The rest lands in the same buffer (no second allocation); the message is exact.
            let last = wire.count - 1
            #expect(server.receive(wire[(header + first)..<last], now: .zero) == [])
            #expect(server.incoming.buffer.withUnsafeBufferPointer { $0.baseAddress } == address)
            #expect(server.receive(wire[last...], now: .zero) == [.deliver(.message(.binary(plain)))])
        }
    }

    @Test("With .max limits a fragmented message still ends with the exact bytes, and 1009 needs no overflow")
    func fragmentedMessageUnderMaxLimits() {
        var server = Self.server()
        let out = server.receive(Wire.client(.text, Array("héllo ".utf8), fin: false)
                                 + Wire.client(.continuation, Array("wörld".utf8)), now: .zero)
        #expect(out == [.deliver(.message(.text("héllo wörld")))])
    }

    @Test("A negative or zero limit refuses every non-empty frame with 1009; empty ones pass",
          arguments: [Int.min, -1, 0])
    func negativeLimits(limit: Int) {
        var frameLimited = Self.server(frame: limit)
        #expect(frameLimited.receive(Wire.client(.binary, []), now: .zero) == [.deliver(.message(.binary([])))])
        #expect(frameLimited.receive(Wire.client(.binary, [1]), now: .zero)
                == Wire.failure(.frameTooLarge(limit: limit), role: .server))
        var messageLimited = Self.server(message: limit)
        #expect(messageLimited.receive(Wire.client(.binary, [1]), now: .zero)
                == Wire.failure(.messageTooLarge(limit: limit), role: .server))
    }
}
