// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

private typealias F = TestFrameEncoder

/// Autobahn|Testsuite section 10 (auto-fragmentation): with ``Connection/Configuration/fragmentSize``
/// set, an outgoing message goes out as frames of exactly that many payload bytes, the last one
/// shorter, with FIN only on the last (RFC 6455 §5.4).
@Suite("Autobahn 10 Auto-fragmentation (RFC 6455 §5.4)")
struct AutoFragmentationConformanceTests {
    /// The frames `role` writes for `payload` cut at `size`.
    static func expectedFrames(_ role: Role, opcode: UInt8, _ payload: [UInt8], size: Int) -> [UInt8] {
        guard payload.count > size else { return Testee.frame(from: role, opcode, payload) }
        var bytes: [UInt8] = []
        var start = 0
        while start < payload.count {
            let end = min(start + size, payload.count)
            bytes += Testee.frame(from: role, start == 0 ? opcode : F.continuation, Array(payload[start..<end]), fin: end == payload.count)
            start = end
        }
        return bytes
    }

    @Test("10.1.1: 65536 bytes of text with fragmentSize 1300: 50 full frames and one of 536",
          arguments: [Role.server, .client])
    func autobahn10_1_1(role: Role) throws {
        var configuration = Connection.Configuration()
        configuration.fragmentSize = 1300
        var testee = Testee(role, configuration: configuration)
        let text = String(repeating: "*", count: 65536)
        testee.record(try testee.connection.send(.text(text), now: .zero))
        #expect(testee.outcome == Outcome(written: Self.expectedFrames(role, opcode: F.text, Array(text.utf8), size: 1300)))
        // 51 frames: 50 × (4-byte header + 1300) and 1 × (4 + 536), plus 4 key bytes each for a client.
        let overhead = role == .client ? 8 : 4
        #expect(testee.outcome.written.count == 50 * (overhead + 1300) + overhead + 536)
    }

    @Test("Exact boundaries: sizes below, at, just above and at multiples of fragmentSize",
          arguments: [0, 1, 99, 100, 101, 200, 201, 1000])
    func boundaries(length: Int) throws {
        var configuration = Connection.Configuration()
        configuration.fragmentSize = 100
        for role in [Role.server, .client] {
            var testee = Testee(role, configuration: configuration)
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
            testee.record(try testee.connection.send(.binary(payload), now: .zero))
            #expect(testee.outcome == Outcome(written: Self.expectedFrames(role, opcode: F.binary, payload, size: 100)), "\(role)")
        }
    }

    @Test("Auto-fragmented messages, including text cut inside characters, arrive whole at the peer")
    func roundTrip() throws {
        var configuration = Connection.Configuration()
        configuration.fragmentSize = 7
        for seed in PropertyRun.seeds(default: 50) {
            var rng = SeededGenerator(seed: seed)
            let text = String(decoding: UTF8Samples.randomText(scalars: Int.random(in: 0...40, using: &rng), using: &rng), as: UTF8.self)
            var sender = Testee(.client, configuration: configuration)
            sender.record(try sender.connection.send(.text(text), now: .zero))
            var receiver = Testee(.server)
            receiver.receive([sender.outcome.written], .chunks(Int.random(in: 1...20, using: &rng)))
            #expect(receiver.outcome == Expect.messages([.text(text)]), "seed \(seed)")
        }
    }

    @Test("Control frames are never fragmented, whatever fragmentSize says (RFC 6455 §5.5)")
    func controlNotFragmented() throws {
        var configuration = Connection.Configuration()
        configuration.fragmentSize = 2
        var testee = Testee(.server, configuration: configuration)
        let payload = Array("a ping payload".utf8)
        testee.record(try testee.connection.ping(payload, now: .zero))
        testee.record(try testee.connection.close(code: .goingAway, reason: "bye", now: .zero))
        #expect(testee.outcome == Outcome(written: F.server(F.ping, payload) + F.server(F.close, F.closePayload(1001, Array("bye".utf8)))))
    }
}
