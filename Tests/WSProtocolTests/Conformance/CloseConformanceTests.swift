// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

private typealias F = TestFrameEncoder

/// Autobahn|Testsuite section 7 (close handling, RFC 6455 §5.5.1, §7): the close handshake in
/// both roles, close payload rules, and the close code table (RFC 6455 §7.4, IANA registry).
@Suite("Autobahn 7 Close handling (RFC 6455 §5.5.1, §7)")
struct CloseConformanceTests {
    /// Codes a peer may send (7.7.x, plus the IANA codes 1012–1014).
    static let validCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                                       3000, 3999, 4000, 4999]
    /// Codes a peer may not send (7.9.x, 7.13.x).
    static let invalidCodes: [UInt16] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

    @Test("7.1.1: a message, then a close: the message is delivered, the close echoed, TCP closed by the server")
    func messageThenClose() {
        let frames = [F.client(F.text, Array("Hello World!".utf8)), F.client(F.close, F.closePayload(1000))]
        Conformance.check(.server, frames: frames,
                          expected: Expect.serverClosedByPeer(CloseFrame(code: .normalClosure), after: Expect.messages([.text("Hello World!")])))
    }

    @Test("7.1.2–7.1.4: after the peer's close, a second close, a ping or a message is ignored",
          arguments: [F.client(F.close, F.closePayload(1000)), F.client(F.ping, Array("ping".utf8)), F.client(F.text, Array("late".utf8))])
    func dataAfterCloseIgnored(late: [UInt8]) {
        let expected = Expect.serverClosedByPeer(CloseFrame(code: .normalClosure))
        Conformance.check(.server, frames: [F.client(F.close, F.closePayload(1000)), late], expected: expected)
        var testee = Testee(.server)
        testee.receive([F.client(F.close, F.closePayload(1000))], .whole)
        testee.receive(late)
        testee.receiveEndOfStream()
        #expect(testee.outcome == expected)
    }

    @Test("7.1.5: a close in the middle of a fragmented message ends the connection; the message is dropped")
    func closeDuringFragmentedMessage() {
        let frames = [F.client(F.text, Array("fragment1".utf8), fin: false), F.client(F.close, F.closePayload(1000)),
                      F.client(F.continuation, Array("fragment2".utf8))]
        Conformance.check(.server, frames: frames, expected: Expect.serverClosedByPeer(CloseFrame(code: .normalClosure)))
    }

    @Test("7.1.6: a large message, a ping, then a close: all handled in order")
    func largeMessageThenClose() {
        let big = [UInt8](repeating: 0x2A, count: 256 * 1024)
        let frames = [F.client(F.binary, big), F.client(F.ping, []), F.client(F.close, F.closePayload(1000))]
        Conformance.check(.server, frames: frames, deliveries: [.whole, .perFrame, .chunks(4093)],
                          expected: Expect.serverClosedByPeer(CloseFrame(code: .normalClosure),
                                                              after: Outcome(events: [.message(.binary(big)), .ping([])], written: F.server(F.pong, []))))
    }

    @Test("7.3.1: an empty close is answered with an empty close; the peer's code reads 1005")
    func emptyClose() {
        Conformance.check(.server, frames: [F.client(F.close, [])],
                          expected: Expect.serverClosedByPeer(CloseFrame(code: .noStatusReceived)))
    }

    @Test("7.3.2: a close with a 1-byte payload fails with 1002")
    func oneBytePayload() {
        Conformance.check(.server, frames: [F.client(F.close, [0x03])], expected: Expect.failure(.closePayloadTooShort, role: .server))
    }

    @Test("7.3.3–7.3.5: code 1000 with no reason, a reason, and a 123-byte reason (125-byte payload)",
          arguments: ["", "Hello World!", String(repeating: "*", count: 123)])
    func closeWithReason(reason: String) {
        Conformance.check(.server, frames: [F.client(F.close, F.closePayload(1000, Array(reason.utf8)))],
                          expected: Expect.serverClosedByPeer(CloseFrame(code: .normalClosure, reason: reason)))
    }

    @Test("7.3.6: a close with a 124-byte reason (126-byte payload) fails with 1002")
    func closePayloadTooLong() {
        let payload = F.closePayload(1000, [UInt8](repeating: 0x2A, count: 124))
        Conformance.check(.server, frames: [F.client(F.close, payload)],
                          expected: Expect.failure(.controlFrameTooLong(length: 126), role: .server))
    }

    @Test("7.5.1: a close reason that is not UTF-8 fails with 1007")
    func invalidReason() {
        let reason: [UInt8] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80] + Array("edited".utf8)
        for role in [Role.server, .client] {
            Conformance.check(role, frames: [F.toward(role, F.close, F.closePayload(1000, reason))],
                              expected: Expect.failure(.invalidUTF8, role: role))
        }
        // A reason cut inside a character is not UTF-8 either.
        Conformance.check(.server, frames: [F.client(F.close, F.closePayload(1000, [0x41, 0xE2, 0x82]))],
                          expected: Expect.failure(.invalidUTF8, role: .server))
    }

    @Test("7.7.x: every valid close code is accepted and echoed", arguments: validCodes)
    func validCode(code: UInt16) {
        Conformance.check(.server, frames: [F.client(F.close, F.closePayload(code))],
                          expected: Expect.serverClosedByPeer(CloseFrame(code: CloseCode(code))))
    }

    @Test("7.9.x, 7.13.x: every invalid close code fails with 1002", arguments: invalidCodes)
    func invalidCode(code: UInt16) {
        for role in [Role.server, .client] {
            Conformance.check(role, frames: [F.toward(role, F.close, F.closePayload(code))],
                              expected: Expect.failure(.invalidCloseCode(code), role: role))
        }
    }

    @Test("Client role: the server's close is echoed masked; the client waits for the server's TCP close (RFC 6455 §7.1.1)")
    func clientWaitsForServerToCloseTCP() {
        var testee = Testee(.client)
        testee.receive([F.server(F.close, F.closePayload(1001, Array("bye".utf8)))], .octets)
        let peer = CloseFrame(code: .goingAway, reason: "bye")
        #expect(testee.outcome == Outcome(events: [.closeReceived(peer)], written: F.client(F.close, F.closePayload(1001))))
        #expect(!testee.connection.isClosed)
        testee.receive([F.server(F.text, Array("ignored".utf8))], .whole)
        testee.receiveEndOfStream()
        #expect(testee.outcome == Outcome(events: [.closeReceived(peer), .closed(.handshakeCompleted(peer: peer, initiatedLocally: false))],
                                          written: F.client(F.close, F.closePayload(1001)), transport: [.closeTransport]))
    }

    @Test("Server initiates: its close goes out, the peer's echo completes the handshake, the server closes TCP")
    func serverInitiates() throws {
        var testee = Testee(.server)
        testee.record(try testee.connection.close(code: .normalClosure, reason: "done", now: .zero))
        #expect(testee.outcome == Outcome(written: F.server(F.close, F.closePayload(1000, Array("done".utf8)))))
        // Messages the peer sent before seeing our close are still delivered (RFC 6455 §5.5.1).
        testee.receive([F.client(F.text, Array("in flight".utf8)), F.client(F.close, F.closePayload(1000))], .octets)
        let peer = CloseFrame(code: .normalClosure)
        #expect(testee.outcome == Outcome(events: [.message(.text("in flight")), .closeReceived(peer),
                                                   .closed(.handshakeCompleted(peer: peer, initiatedLocally: true))],
                                          written: F.server(F.close, F.closePayload(1000, Array("done".utf8))), transport: [.closeTransport]))
    }

    @Test("End of stream without a close frame reports 1006 (abnormal), in both roles")
    func endOfStreamWithoutClose() {
        for role in [Role.server, .client] {
            var testee = Testee(role)
            testee.receive([F.toward(role, F.text, Array("partial".utf8), fin: false)], .whole)
            testee.receiveEndOfStream()
            #expect(testee.outcome == Outcome(events: [.closed(.abnormal)], transport: [.closeTransport]), "\(role)")
            #expect(CloseReason.abnormal.code == .abnormalClosure)
        }
    }

    @Test("Sending after close is refused; closing twice is refused; state unchanged")
    func usageAfterClose() throws {
        var connection = Connection(role: .server)
        _ = try connection.close(code: .normalClosure, now: .zero)
        #expect(throws: UsageError.sendAfterClose) { _ = try connection.send(.text("late"), now: .zero) }
        #expect(throws: UsageError.alreadyClosing) { _ = try connection.close(code: .normalClosure, now: .zero) }
        var fresh = Connection(role: .server)
        for code: UInt16 in [1005, 1006, 1015, 999, 5000] {
            #expect(throws: UsageError.invalidCloseCode(code)) { _ = try fresh.close(code: CloseCode(code), now: .zero) }
        }
        #expect(fresh.canSend)
    }
}
