// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// The message timeout (a started frame or message that stops receiving bytes) and the idle
/// timeout (no data message either way), driven through `now:`.
@Suite("Message and idle timeouts")
struct StalledAndIdleTests {
    static func server(message: Duration? = nil, idle: Duration? = nil) -> Connection {
        var config = Connection.Configuration()
        config.messageTimeout = message
        config.idleTimeout = idle
        return Connection(role: .server, configuration: config, now: .seconds(100))
    }

    @Test func offByDefault() {
        var server = Connection(role: .server, now: .seconds(100))
        _ = server.receive(Array(Wire.client(.binary, [1, 2, 3]).prefix(4)), now: .seconds(100))
        #expect(server.nextDeadline == nil)
        #expect(server.handleTimeout(now: .seconds(1_000_000)) == [])
    }

    /// No deadline while nothing is being received; a started frame gets one, moved by every
    /// byte; when it passes, 1008 "message timeout" goes out and the connection closes.
    @Test func aTrickledFrameFailsWith1008() {
        var server = Self.server(message: .seconds(30))
        #expect(server.nextDeadline == nil)
        let frame = Wire.client(.text, Array("hello".utf8))
        #expect(server.receive(Array(frame.prefix(3)), now: .seconds(101)) == [])
        #expect(server.nextDeadline == .seconds(131))
        #expect(server.receive(Array(frame[3..<5]), now: .seconds(120)) == [])  // progress: the deadline moves
        #expect(server.nextDeadline == .seconds(150))
        #expect(server.handleTimeout(now: .seconds(149)) == [])
        #expect(server.handleTimeout(now: .seconds(150))
                == [.write(Wire.server(.close, Wire.close(1008, "message timeout"))), .deliver(.closed(.timedOut(.message))),
                    .closeTransport])
        #expect(server.closeReason?.code == .policyViolation)
        #expect(server.nextDeadline == nil)
    }

    /// A fragmented message counts as started between its frames, too.
    @Test func aMessageStalledBetweenFragmentsTimesOut() {
        var server = Self.server(message: .seconds(30))
        let first = Wire.client(.text, Array("he".utf8), fin: false)
        #expect(server.receive(first, now: .seconds(101)) == [])
        #expect(server.nextDeadline == .seconds(131))
        #expect(server.handleTimeout(now: .seconds(131)).last == .closeTransport)
        #expect(server.closeReason == .timedOut(.message))
    }

    /// Control frames between the fragments are no progress on the message: with WSPosixIO's
    /// defaults (a keepalive ping after 20 s of silence, a 30 s message timeout) a peer that
    /// answers the pings, or sends its own, still has its stalled message failed 30 s after
    /// its last data frame ended. (Counted as progress, every pong moved the deadline on by
    /// 30 s, past the next ping: the message stayed open for good.)
    @Test func controlFramesBetweenFragmentsAreNoProgress() {
        var config = Connection.Configuration()
        config.messageTimeout = .seconds(30)
        config.keepalive = .init(interval: .seconds(20), timeout: .seconds(20))
        var server = Connection(role: .server, configuration: config, now: .seconds(100))
        #expect(server.receive(Wire.client(.text, Array("he".utf8), fin: false), now: .seconds(101)) == [])
        #expect(server.nextDeadline == .seconds(121))  // the keepalive ping comes first
        #expect(server.handleTimeout(now: .seconds(121)) == [.write(Wire.server(.ping, [0, 0, 0, 1]))])
        #expect(server.receive(Wire.client(.pong, [0, 0, 0, 1]), now: .seconds(122)) == [.deliver(.pong([0, 0, 0, 1]))])
        #expect(server.receive(Wire.client(.ping, [7]), now: .seconds(130)) == [.deliver(.ping([7])), .write(Wire.server(.pong, [7]))])
        #expect(server.nextDeadline == .seconds(131))
        #expect(server.handleTimeout(now: .seconds(130)) == [])
        #expect(server.handleTimeout(now: .seconds(131))
                == [.write(Wire.server(.close, Wire.close(1008, "message timeout"))), .deliver(.closed(.timedOut(.message))),
                    .closeTransport])
    }

    /// A data frame trickling in is progress, however long it takes in all; so is a fragment
    /// that ends: the deadline then runs from its end.
    @Test func dataFramesBetweenControlFramesAreProgress() {
        var server = Self.server(message: .seconds(30))
        #expect(server.receive(Wire.client(.binary, [1], fin: false), now: .seconds(101)) == [])
        let second = Wire.client(.continuation, [2, 3], fin: false)
        #expect(server.receive(Array(second.prefix(7)), now: .seconds(125)) == [])  // under way: its last byte counts
        #expect(server.nextDeadline == .seconds(155))
        #expect(server.receive(Array(second.dropFirst(7)), now: .seconds(150)) == [])  // the fragment ends
        #expect(server.receive(Wire.client(.ping, [1]), now: .seconds(170)) == [.deliver(.ping([1])), .write(Wire.server(.pong, [1]))])
        #expect(server.nextDeadline == .seconds(180))
        #expect(server.receive(Wire.client(.continuation, [4]), now: .seconds(179)) == [.deliver(.message(.binary([1, 2, 3, 4])))])
        #expect(server.nextDeadline == nil)
    }

    @Test func aCompleteMessageClearsTheDeadline() {
        var server = Self.server(message: .seconds(30))
        let frame = Wire.client(.binary, [7])
        _ = server.receive(Array(frame.prefix(2)), now: .seconds(101))
        #expect(server.receive(Array(frame.dropFirst(2)), now: .seconds(102)) == [.deliver(.message(.binary([7])))])
        #expect(server.nextDeadline == nil)
    }

    /// No data message either way for `idleTimeout`: a close handshake with 1001; pings do not count.
    @Test func idleConnectionsCloseWith1001() throws {
        var server = Self.server(idle: .seconds(60))
        #expect(server.nextDeadline == .seconds(160))
        _ = server.receive(Wire.client(.binary, [1]), now: .seconds(120))
        #expect(server.nextDeadline == .seconds(180))
        var out: [UInt8] = []
        try server.send(.text("x"), now: .seconds(130), into: &out)
        #expect(server.nextDeadline == .seconds(190))
        _ = server.receive(Wire.client(.ping, [9]), now: .seconds(150))  // control frames are not activity
        #expect(server.nextDeadline == .seconds(190))
        #expect(server.handleTimeout(now: .seconds(189)) == [])
        #expect(server.handleTimeout(now: .seconds(190)) == [.write(Wire.server(.close, Wire.close(1001, "idle timeout")))])
        #expect(!server.canSend)
        // The peer answers: a clean close, initiated here.
        let closed = server.receive(Wire.client(.close, Wire.close(1001, "")), now: .seconds(191))
        #expect(closed.last == .closeTransport)
        #expect(server.closeReason?.code == .goingAway)
    }
    /// Messages read in place are data activity too (the small-message fast lane of
    /// `receive(inPlace:)` included), and a trickled frame behind them still has its deadline.
    @Test func messagesReadInPlaceCountAsActivity() {
        var server = Self.server(message: .seconds(30), idle: .seconds(60))
        func inPlace(_ bytes: [UInt8], at seconds: UInt64) -> ([Connection.Output], [InPlaceMessage]) {
            var buffer = bytes
            var outputs: [Connection.Output] = [], messages: [InPlaceMessage] = []
            buffer.withUnsafeMutableBytes { server.receive(inPlace: $0, now: .seconds(seconds), into: &outputs, messages: &messages) }
            return (outputs, messages)
        }
        let (outputs, messages) = inPlace(Wire.client(.binary, [1]) + Wire.client(.text, Array("ok".utf8)), at: 120)
        #expect(outputs == [])
        #expect(messages == [InPlaceMessage(kind: .binary, range: 6 ..< 7, outputIndex: 0),
                             InPlaceMessage(kind: .text, range: 13 ..< 15, outputIndex: 0)])
        #expect(server.nextDeadline == .seconds(180))  // idle from 120 s, not from 100 s
        #expect(server.handleTimeout(now: .seconds(179)) == [])
        // A frame trickling in behind a whole message: its 30 s run from its last byte.
        let frame = Wire.client(.binary, [2, 3])
        #expect(inPlace(Wire.client(.binary, [4]) + Array(frame.prefix(3)), at: 130).1.count == 1)
        #expect(server.nextDeadline == .seconds(160))
        #expect(inPlace(Array(frame.dropFirst(3)), at: 140).0 == [.deliver(.message(.binary([2, 3])))])
        #expect(server.nextDeadline == .seconds(200))
    }
}
