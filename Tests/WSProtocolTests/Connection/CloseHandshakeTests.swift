// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// The close handshake, both roles, both initiators, and every way a close frame can be wrong.
@Suite("RFC 6455 §5.5.1 Close and §7 Closing the connection")
struct CloseHandshakeTests {
    static func server() -> Connection { Connection(role: .server, entropy: FixedKeyGenerator()) }
    static func client() -> Connection { Connection(role: .client, entropy: FixedKeyGenerator()) }
    static let bye = CloseFrame(code: .normalClosure, reason: "bye")

    // MARK: The peer initiates

    @Test func serverEchoesTheCodeThenClosesTheTransport() {
        var server = Self.server()
        let out = server.receive(Wire.client(.close, Wire.close(1000, "bye")), now: .zero)
        #expect(out == [.deliver(.closeReceived(Self.bye)), .write([0x88, 0x02, 0x03, 0xE8]),
                        .deliver(.closed(.handshakeCompleted(peer: Self.bye, initiatedLocally: false))), .closeTransport])
        #expect(server.isClosed)
        #expect(!server.canSend)
    }

    @Test func clientEchoesThenWaitsForTheServerToCloseTCP() {
        var client = Self.client()
        let out = client.receive(Wire.server(.close, Wire.close(1001)), now: .seconds(1))
        let peer = CloseFrame(code: .goingAway)
        #expect(out == [.deliver(.closeReceived(peer)), .write(Wire.client(.close, Wire.close(1001)))])
        #expect(!client.isClosed)
        #expect(!client.canSend)
        #expect(client.nextDeadline == .seconds(11))
        #expect(client.receiveEndOfStream(now: .seconds(2))
                == [.deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
        #expect(client.isClosed)
        #expect(client.nextDeadline == nil)
    }

    @Test func clientClosesTheTransportItselfAfterTheCloseTimeout() {
        var client = Self.client()
        _ = client.receive(Wire.server(.close, Wire.close(1000)), now: .zero)
        #expect(client.handleTimeout(now: .seconds(9)) == [])
        #expect(client.handleTimeout(now: .seconds(10))
                == [.deliver(.closed(.handshakeCompleted(peer: CloseFrame(code: .normalClosure), initiatedLocally: false))),
                    .closeTransport])
        #expect(client.receiveEndOfStream(now: .seconds(11)) == [])
    }

    @Test func anEmptyCloseFrameIsAnsweredWithAnEmptyOne() {
        var server = Self.server()
        let peer = CloseFrame(code: .noStatusReceived)
        #expect(server.receive(Wire.client(.close), now: .zero)
                == [.deliver(.closeReceived(peer)), .write([0x88, 0x00]),
                    .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport])
    }

    @Test("Application codes are echoed", arguments: [1003, 1007, 1011, 1014, 3000, 4999] as [UInt16])
    func echoesCode(code: UInt16) {
        var server = Self.server()
        let out = server.receive(Wire.client(.close, Wire.close(code, "why")), now: .zero)
        #expect(out.dropFirst().first == .write(Wire.server(.close, Wire.close(code))))
    }

    // MARK: We initiate

    @Test func serverInitiatesThenClosesOnTheClientsReply() throws {
        var server = Self.server()
        #expect(try server.close(code: .goingAway, reason: "bye", now: .seconds(1))
                == [.write([0x88, 0x05, 0x03, 0xE9, 0x62, 0x79, 0x65])])
        #expect(!server.canSend)
        #expect(server.nextDeadline == .seconds(11))
        let peer = CloseFrame(code: .goingAway)
        #expect(server.receive(Wire.client(.close, Wire.close(1001)), now: .seconds(2))
                == [.deliver(.closeReceived(peer)), .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: true))),
                    .closeTransport])
    }

    @Test func clientInitiatesThenWaitsForEndOfStream() throws {
        var client = Self.client()
        #expect(try client.close(now: .zero) == [.write(Wire.client(.close, Wire.close(1000)))])
        let peer = CloseFrame(code: .normalClosure)
        #expect(client.receive(Wire.server(.close, Wire.close(1000)), now: .seconds(3)) == [.deliver(.closeReceived(peer))])
        #expect(client.nextDeadline == .seconds(13))
        #expect(client.receiveEndOfStream(now: .seconds(4))
                == [.deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: true))), .closeTransport])
    }

    @Test func closeTimeoutWhenThePeerNeverAnswers() throws {
        var server = Self.server()
        _ = try server.close(now: .seconds(5))
        #expect(server.nextDeadline == .seconds(15))
        #expect(server.handleTimeout(now: .seconds(14)) == [])
        #expect(server.handleTimeout(now: .seconds(15)) == [.deliver(.closed(.timedOut(.closeHandshake))), .closeTransport])
        #expect(server.nextDeadline == nil)
        #expect(server.closeReason == .timedOut(.closeHandshake))
    }

    @Test func configuredCloseTimeout() throws {
        var config = Connection.Configuration()
        config.closeTimeout = .milliseconds(250)
        var server = Connection(role: .server, configuration: config)
        _ = try server.close(now: .seconds(1))
        #expect(server.nextDeadline == .milliseconds(1250))
    }

    @Test func peerDataIsStillDeliveredAfterWeSentClose() throws {
        var server = Self.server()
        _ = try server.close(now: .zero)
        let input = Wire.client(.text, Array("late".utf8)) + Wire.client(.ping, [1]) + Wire.client(.close, Wire.close(1000))
        let peer = CloseFrame(code: .normalClosure)
        // No pong: once our close frame is out we send nothing more.
        #expect(server.receive(input, now: .zero)
                == [.deliver(.message(.text("late"))), .deliver(.ping([1])), .deliver(.closeReceived(peer)),
                    .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: true))), .closeTransport])
    }

    @Test func framesAfterThePeersCloseAreIgnored() {
        var client = Self.client()
        let input = Wire.server(.text, Array("before".utf8)) + Wire.server(.close) + Wire.server(.text, Array("after".utf8))
        let peer = CloseFrame(code: .noStatusReceived)
        #expect(client.receive(input, now: .zero)
                == [.deliver(.message(.text("before"))), .deliver(.closeReceived(peer)), .write(Wire.client(.close))])
        #expect(client.receive(Wire.server(.text, Array("later".utf8)), now: .zero) == [])
    }

    // MARK: Invalid close frames

    @Test func oneBytePayload() {
        var server = Self.server()
        #expect(server.receive(Wire.client(.close, [0x03]), now: .zero) == Wire.failure(.closePayloadTooShort, role: .server))
    }

    @Test("Codes never valid on the wire", arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] as [UInt16])
    func invalidCode(code: UInt16) {
        var server = Self.server()
        #expect(server.receive(Wire.client(.close, Wire.close(code)), now: .zero)
                == Wire.failure(.invalidCloseCode(code), role: .server))
    }

    @Test func reasonThatIsNotUTF8() {
        var server = Self.server()
        #expect(server.receive(Wire.client(.close, Wire.close(1000) + [0xCE, 0xBA, 0xE1]), now: .zero)
                == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func invalidCloseAfterOursFailsWithoutASecondCloseFrame() throws {
        var server = Self.server()
        _ = try server.close(now: .zero)
        #expect(server.receive(Wire.client(.close, [0x03]), now: .zero)
                == [.deliver(.closed(.protocolError(.closePayloadTooShort))), .closeTransport])
    }

    // MARK: End of stream

    @Test func endOfStreamWithoutCloseIsAbnormal() {
        var server = Self.server()
        _ = server.receive(Array(RFCVectors.maskedHello.prefix(4)), now: .zero)
        #expect(server.receiveEndOfStream(now: .zero) == [.deliver(.closed(.abnormal)), .closeTransport])
        #expect(server.closeReason?.code == .abnormalClosure)
    }

    @Test func endOfStreamWhileWaitingForTheirCloseIsAbnormal() throws {
        var client = Self.client()
        _ = try client.close(now: .zero)
        #expect(client.receiveEndOfStream(now: .zero) == [.deliver(.closed(.abnormal)), .closeTransport])
    }

    // MARK: Misuse

    @Test("Close codes that may not be sent", arguments: [999, 1004, 1005, 1006, 1015, 2999, 5000] as [UInt16])
    func invalidLocalCode(code: UInt16) throws {
        var server = Self.server()
        #expect(throws: UsageError.invalidCloseCode(code)) { try server.close(code: CloseCode(code), now: .zero) }
        #expect(server.canSend)
        #expect(try server.close(now: .zero) == [.write([0x88, 0x02, 0x03, 0xE8])])
    }

    @Test func reasonOver123Bytes() throws {
        var server = Self.server()
        #expect(throws: UsageError.controlPayloadTooLong(126)) {
            try server.close(reason: String(repeating: "é", count: 62), now: .zero)  // 124 bytes
        }
        #expect(server.canSend)
        #expect(server.nextDeadline == nil)
        let reason = String(repeating: "x", count: 123)
        #expect(try server.close(reason: reason, now: .zero) == [.write([0x88, 0x7D, 0x03, 0xE8] + Array(reason.utf8))])
    }

    @Test func closingTwice() throws {
        var server = Self.server()
        _ = try server.close(now: .zero)
        #expect(throws: UsageError.alreadyClosing) { try server.close(now: .seconds(1)) }
        #expect(server.nextDeadline == .seconds(10))
    }

    @Test func sendingAfterClose() throws {
        var client = Self.client()
        _ = try client.close(now: .zero)
        #expect(throws: UsageError.sendAfterClose) { try client.send(.text("x"), now: .zero) }
        #expect(throws: UsageError.sendAfterClose) { try client.send([1, 2], now: .zero) }
        #expect(throws: UsageError.sendAfterClose) { try client.ping(now: .zero) }
        #expect(throws: UsageError.sendAfterClose) { try client.pong(now: .zero) }
        var outbound: [UInt8] = [9]
        #expect(throws: UsageError.sendAfterClose) { try client.send(.binary([1]), now: .zero, into: &outbound) }
        #expect(outbound == [9])
    }

    @Test func nothingAfterClosed() throws {
        var server = Self.server()
        _ = server.receive(Wire.client(.close), now: .zero)
        #expect(server.receive(RFCVectors.maskedHello, now: .zero) == [])
        #expect(server.receiveEndOfStream(now: .zero) == [])
        #expect(server.handleTimeout(now: .seconds(60)) == [])
        #expect(throws: UsageError.alreadyClosing) { try server.close(now: .zero) }
        #expect(throws: UsageError.sendAfterClose) { try server.send(.binary([]), now: .zero) }
    }
}
