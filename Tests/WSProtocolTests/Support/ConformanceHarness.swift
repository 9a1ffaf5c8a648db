// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// What a connection did in reply to its input (the conformance tables' name for ``Transcript``).
typealias Outcome = Transcript

/// How the peer's bytes are cut before they reach `receive` (the Autobahn client's chopping).
enum Delivery: Hashable, Sendable, CustomStringConvertible {
    /// Everything in one call.
    case whole
    /// One call per frame.
    case perFrame
    /// One call per byte.
    case octets
    /// Calls of this many bytes (the last may be shorter).
    case chunks(Int)

    /// The cuts tried by default.
    static let all: [Delivery] = [.whole, .perFrame, .octets, .chunks(3), .chunks(997)]

    var description: String {
        switch self {
        case .whole: return "whole"
        case .perFrame: return "per frame"
        case .octets: return "octet-wise"
        case .chunks(let n): return "chunks of \(n)"
        }
    }

    /// The receive calls for `frames` under this cut.
    func pieces(_ frames: [[UInt8]]) -> [[UInt8]] {
        let stream = frames.flatMap { $0 }
        switch self {
        case .whole: return [stream]
        case .perFrame: return frames
        case .octets: return stream.map { [$0] }
        case .chunks(let n): return stride(from: 0, to: stream.count, by: n).map { Array(stream[$0 ..< min($0 + n, stream.count)]) }
        }
    }
}

/// A generator that makes every masking key ``TestFrameEncoder/key``, so a client's frames can be
/// predicted byte for byte. (`MaskingKey.random(using:)` draws a full-range `UInt32`, which takes
/// the low 32 bits of `next()`, first key byte lowest.)
struct TestKeyGenerator: RandomNumberGenerator, Sendable {
    mutating func next() -> UInt64 {
        let k = TestFrameEncoder.key.bytes
        return UInt64(k.0) | UInt64(k.1) << 8 | UInt64(k.2) << 16 | UInt64(k.3) << 24
    }
}

/// A ``Connection`` under test, fed as the Autobahn fuzzing peer feeds a testee, with everything
/// it did recorded.
struct Testee {
    var connection: Connection
    var outcome = Outcome()
    /// How many bytes were received in all.
    var received = 0
    /// The stream index of the last byte of the `receive` call that delivered `.closed`.
    var closedAt: Int?

    init(_ role: Role, configuration: Connection.Configuration = .init()) {
        connection = Connection(role: role, configuration: configuration, entropy: TestKeyGenerator())
    }

    var role: Role { connection.role }

    mutating func record(_ outputs: [Connection.Output]) {
        outcome.append(outputs)
        if closedAt == nil, outputs.contains(where: { if case .deliver(.closed) = $0 { return true } else { return false } }) {
            closedAt = received - 1
        }
    }

    mutating func receive(_ bytes: [UInt8]) {
        received += bytes.count
        record(connection.receive(bytes, now: .zero))
    }

    mutating func receive(_ frames: [[UInt8]], _ delivery: Delivery) {
        for piece in delivery.pieces(frames) { receive(piece) }
    }

    mutating func receiveEndOfStream() { record(connection.receiveEndOfStream(now: .zero)) }

    /// A frame as this testee writes it: masked with the test key for a client (RFC 6455 §5.1).
    func frame(_ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true) -> [UInt8] {
        Self.frame(from: role, opcode, payload, fin: fin)
    }

    static func frame(from role: Role, _ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true) -> [UInt8] {
        TestFrameEncoder.frame(opcode, payload, fin: fin, key: role == .client ? TestFrameEncoder.key : nil)
    }
}

/// Expected outcomes, as the core documents them.
enum Expect {
    /// The reason text of the close frame sent when failing the connection, per close code.
    static func failureReason(_ code: CloseCode) -> [UInt8] {
        switch code {
        case .protocolError: return Array("protocol error".utf8)
        case .invalidFramePayloadData: return Array("invalid UTF-8".utf8)
        case .messageTooBig: return Array("message too big".utf8)
        default: return []
        }
    }

    /// `before`, then the connection failed for `error` (RFC 6455 §7.1.7): a close frame with the
    /// error's code, `.closed(.protocolError(error))`, and the transport closed.
    static func failure(_ error: ProtocolError, role: Role, after before: Outcome = Outcome()) -> Outcome {
        var outcome = before
        outcome.written += Testee.frame(from: role, TestFrameEncoder.close,
                                        TestFrameEncoder.closePayload(error.closeCode.rawValue, failureReason(error.closeCode)))
        outcome.events.append(.closed(.protocolError(error)))
        outcome.transport.append(.closeTransport)
        return outcome
    }

    /// `before`, then a server received the peer's valid close frame (RFC 6455 §5.5.1, §7.1.1):
    /// it echoes the code (an empty close with an empty one), reports both events and closes TCP.
    static func serverClosedByPeer(_ peer: CloseFrame, after before: Outcome = Outcome()) -> Outcome {
        var outcome = before
        let echo = peer.code == .noStatusReceived ? [] : TestFrameEncoder.closePayload(peer.code.rawValue)
        outcome.written += TestFrameEncoder.server(TestFrameEncoder.close, echo)
        outcome.events += [.closeReceived(peer), .closed(.handshakeCompleted(peer: peer, initiatedLocally: false))]
        outcome.transport.append(.closeTransport)
        return outcome
    }

    /// Messages delivered, nothing written.
    static func messages(_ messages: [Message]) -> Outcome {
        Outcome(events: messages.map { .message($0) })
    }
}

/// Table-driven checks shared by the conformance suites.
enum Conformance {
    /// Feeds `frames` to a fresh testee under every cut in `deliveries` and expects `expected`
    /// each time; then feeds `after` (bytes the peer sends later) and expects nothing more when
    /// the testee had closed.
    static func check(_ role: Role, configuration: Connection.Configuration = .init(), frames: [[UInt8]],
                      deliveries: [Delivery] = Delivery.all, expected: Outcome,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        for delivery in deliveries {
            var testee = Testee(role, configuration: configuration)
            testee.receive(frames, delivery)
            #expect(testee.outcome == expected, "\(role), \(delivery)", sourceLocation: sourceLocation)
        }
    }

    /// The stream index of the byte at which a testee fed `frames` one byte per call delivers
    /// `.closed` (for fail-fast checks), or `nil` if it never does.
    static func closedAt(_ role: Role, frames: [[UInt8]]) -> Int? {
        var testee = Testee(role)
        testee.receive(frames, .octets)
        return testee.closedAt
    }
}
