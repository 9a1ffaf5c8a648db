// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// Answers before the close (`Configuration.answerTimeout`): when messages and a protocol
/// violation, or the peer's close frame, arrive in the same read, our close frame waits until
/// the application has answered the messages (Autobahn's "strict" verdict, RFC 6455 §7.1.7 does
/// not order the two). The close goes out on `eventsAnswered(now:)`, `close`, end of stream, or
/// at the answer timeout.
@Suite("Answers before the close")
struct AnswerBeforeCloseTests {
    static func configuration() -> Connection.Configuration {
        var c = Connection.Configuration()
        c.answerTimeout = .seconds(5)
        return c
    }
    static func server() -> Connection { Connection(role: .server, configuration: configuration(), entropy: FixedKeyGenerator()) }
    static func client() -> Connection { Connection(role: .client, configuration: configuration(), entropy: FixedKeyGenerator()) }

    static let hi = Wire.client(.text, Array("hi".utf8))
    static let echo: [UInt8] = [0x81, 0x02, 0x68, 0x69]

    /// One frame (or two) per violation class of RFC 6455 §5.2–§5.5, §7.4 and §8.1, as a client
    /// would send it right after a valid text message, and the error it must fail with.
    static let violations: [(String, [UInt8], ProtocolError)] = [
        ("RSV1 without an extension", Wire.client(.text, [0x78], rsv: 0x40), .reservedBitsSet(0x40)),
        ("RSV2 and RSV3 on a ping", Wire.client(.ping, [], rsv: 0x30), .reservedBitsSet(0x30)),
        ("reserved data opcode 3", TestFrameEncoder.client(0x3, [0x78]), .reservedOpcode(3)),
        ("reserved control opcode 0xB", TestFrameEncoder.client(0xB), .reservedOpcode(0xB)),
        ("unmasked client frame", Wire.server(.text, [0x78]), .unmaskedFrameFromClient),
        ("control frame over 125 bytes", Wire.client(.ping, Array(repeating: 1, count: 126)), .controlFrameTooLong(length: 126)),
        ("fragmented control frame", Wire.client(.ping, [1], fin: false), .fragmentedControlFrame),
        ("continuation without a start", Wire.client(.continuation, [0x78]), .unexpectedContinuation),
        ("new message inside a fragmented one", Wire.client(.text, [0x61], fin: false) + Wire.client(.text, [0x62]),
         .expectedContinuation),
        ("text that is not UTF-8", Wire.client(.text, [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80]),
         .invalidUTF8),
        ("close code 1005 on the wire", Wire.client(.close, Wire.close(1005)), .invalidCloseCode(1005)),
        ("close code 999", Wire.client(.close, Wire.close(999)), .invalidCloseCode(999)),
        ("one-byte close payload", Wire.client(.close, [0x03]), .closePayloadTooShort),
        ("close reason that is not UTF-8", Wire.client(.close, Wire.close(1000) + [0xFF]), .invalidUTF8),
    ]

    @Test("A message and a violation in one read: the echo precedes our close frame",
          arguments: violations.map { ($0.0, $0.1, $0.2) })
    func violationAfterAMessage(name: String, violation: [UInt8], error: ProtocolError) throws {
        var server = Self.server()
        #expect(server.receive(Self.hi + violation, now: .zero) == [.deliver(.message(.text("hi")))], "\(name)")
        #expect(server.isAwaitingAnswers)
        #expect(server.canSend)
        #expect(server.nextDeadline == .seconds(5))
        #expect(try server.send(.text("hi"), now: .zero) == [.write(Self.echo)])
        #expect(server.eventsAnswered(now: .milliseconds(1)) == Wire.failure(error, role: .server), "\(name)")
        #expect(!server.isAwaitingAnswers)
        #expect(server.isClosed)
    }

    @Test func aMessageAndACleanCloseInOneRead() throws {
        var server = Self.server()
        let peer = CloseFrame(code: .normalClosure)
        #expect(server.receive(Self.hi + Wire.client(.close, Wire.close(1000)), now: .zero)
                == [.deliver(.message(.text("hi"))), .deliver(.closeReceived(peer))])
        #expect(try server.send(.text("hi"), now: .zero) == [.write(Self.echo)])
        #expect(server.eventsAnswered(now: .zero)
                == [.write(Wire.server(.close, Wire.close(1000))),
                    .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
    }

    @Test func aClientHoldsItsCloseReplyAndThenWaitsForTheServersTCPClose() throws {
        var client = Self.client()
        let peer = CloseFrame(code: .goingAway)
        #expect(client.receive(Wire.server(.text, Array("hi".utf8)) + Wire.server(.close, Wire.close(1001)), now: .zero)
                == [.deliver(.message(.text("hi"))), .deliver(.closeReceived(peer))])
        #expect(client.eventsAnswered(now: .zero) == [.write(Wire.client(.close, Wire.close(1001)))])
        #expect(client.receiveEndOfStream(now: .zero)
                == [.deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
    }

    @Test func pongsOfTheSameReadGoOutBeforeTheHold() {
        var server = Self.server()
        #expect(server.receive(Self.hi + Wire.client(.ping, [7]) + TestFrameEncoder.client(0x3), now: .zero)
                == [.deliver(.message(.text("hi"))), .deliver(.ping([7])), .write(Wire.server(.pong, [7]))])
        #expect(server.eventsAnswered(now: .zero) == Wire.failure(.reservedOpcode(3), role: .server))
    }

    @Test func onceTheMessagesAreReportedAnsweredNothingIsHeld() {
        var server = Self.server()
        #expect(server.receive(Self.hi, now: .zero) == [.deliver(.message(.text("hi")))])
        #expect(server.eventsAnswered(now: .zero) == [])
        #expect(server.receive(TestFrameEncoder.client(0x3), now: .zero) == Wire.failure(.reservedOpcode(3), role: .server))
        var other = Self.server()
        #expect(other.receive(Wire.client(.ping, [1]) + Wire.client(.close, Wire.close(1000)), now: .zero).last == .closeTransport)
    }

    @Test func aMessageOfAnEarlierReadNotYetAnsweredHoldsTheClose() throws {
        // The async API: the consumer has not come back since "hi" was delivered.
        var server = Self.server()
        #expect(server.receive(Self.hi, now: .zero) == [.deliver(.message(.text("hi")))])
        let peer = CloseFrame(code: .normalClosure)
        #expect(server.receive(Wire.client(.close, Wire.close(1000)), now: .zero) == [.deliver(.closeReceived(peer))])
        #expect(try server.send(.text("hi"), now: .zero) == [.write(Self.echo)])
        #expect(server.eventsAnswered(now: .zero)
                == [.write(Wire.server(.close, Wire.close(1000))),
                    .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
    }

    @Test func withoutAnAnswerTimeoutNothingIsEverHeld() {
        var server = Connection(role: .server, entropy: FixedKeyGenerator())
        #expect(server.receive(Self.hi + TestFrameEncoder.client(0x3), now: .zero)
                == Wire.failure(.reservedOpcode(3), role: .server, before: [.message(.text("hi"))]))
    }

    @Test func nothingIsReadWhileHeld() {
        var server = Self.server()
        _ = server.receive(Self.hi + TestFrameEncoder.client(0x3), now: .zero)
        #expect(server.receive(Self.hi, now: .zero) == [])
        #expect(server.isAwaitingAnswers)
    }

    @Test func theAnswerTimeoutSendsTheHeldClose() {
        var server = Self.server()
        _ = server.receive(Self.hi + TestFrameEncoder.client(0x3), now: .seconds(1))
        #expect(server.nextDeadline == .seconds(6))
        #expect(server.handleTimeout(now: .milliseconds(5999)) == [])
        #expect(server.handleTimeout(now: .seconds(6)) == Wire.failure(.reservedOpcode(3), role: .server))
    }

    @Test func endOfStreamSendsTheHeldCloseFirst() {
        var server = Self.server()
        _ = server.receive(Self.hi + TestFrameEncoder.client(0x3), now: .zero)
        #expect(server.receiveEndOfStream(now: .zero) == Wire.failure(.reservedOpcode(3), role: .server))
        var client = Self.client()
        let peer = CloseFrame(code: .normalClosure)
        _ = client.receive(Wire.server(.text, [0x61]) + Wire.server(.close, Wire.close(1000)), now: .zero)
        #expect(client.receiveEndOfStream(now: .zero)
                == [.write(Wire.client(.close, Wire.close(1000))),
                    .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
    }

    @Test func closeWhileHeldSendsTheHeldCloseNotTheApplicationsCode() throws {
        var server = Self.server()
        _ = server.receive(Self.hi + Wire.client(.continuation, [1]), now: .zero)
        #expect(try server.close(code: .init(4000), now: .zero) == Wire.failure(.unexpectedContinuation, role: .server))
        #expect(throws: UsageError.alreadyClosing) { try server.close(now: .zero) }
    }

    @Test func eventsAnsweredWithNothingHeldDoesNothing() {
        var server = Self.server()
        #expect(server.eventsAnswered(now: .zero) == [])
        #expect(server.receive(Self.hi, now: .zero) == [.deliver(.message(.text("hi")))])
        #expect(server.eventsAnswered(now: .zero) == [])
    }
}
