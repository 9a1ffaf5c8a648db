// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSProtocol

@Suite("Footprint")
struct FootprintTests {
    /// An idle connection costs its inline state plus nothing on the heap but what the caller
    /// shares (configuration strings, extensions); the budget is 5 KiB per idle connection.
    /// (424 since the timer durations are also kept in nanoseconds, 24 bytes that save a
    /// 128-bit division on every deadline a driver asks for after a read or a send; 432 since
    /// the end of the last data frame is kept for the message timeout, which control frames
    /// between fragments no longer move.)
    @Test func inlineStateIsSmall() {
        #expect(MemoryLayout<Connection>.size <= 432, "\(MemoryLayout<Connection>.size) bytes")
    }

    /// What a read or a small send touches lies at the front of the value, the configuration
    /// and what only handshakes, keepalive pings and closes use behind it: Swift lays a struct
    /// out in declaration order, and spread over the value these fields made six cache lines a
    /// message, missed each time when many connections take turns (callgrind's cache
    /// simulation). The front group ends before 176 bytes.
    @Test func theFieldsOfAReadLieAtTheFront() {
        let hot: [(String, PartialKeyPath<Connection>)] = [
            ("role", \.role), ("state", \.state), ("inFrame", \.inFrame),
            ("unansweredMessages", \.unansweredMessages), ("sink", \.sink),
            ("admitsSmallMessages", \.admitsSmallMessages), ("holdsAnswers", \.holdsAnswers),
            ("sendsSmallMessagesWhole", \.sendsSmallMessagesWhole), ("headerBuffer", \.headerBuffer),
            ("extensions", \.extensions), ("lastReceived", \.lastReceived), ("lastDataActivity", \.lastDataActivity),
            ("keepalivePongDeadline", \.keepalivePongDeadline), ("incoming", \.incoming),
            ("frameRemaining", \.frameRemaining), ("frameOffset", \.frameOffset), ("frame", \.frame),
        ]
        var lastHot = 0
        for (name, path) in hot {
            let offset = MemoryLayout<Connection>.offset(of: path) ?? .max
            #expect(offset < 176, "\(name) at \(offset)")
            lastHot = max(lastHot, offset)
        }
        // The configuration (and everything declared after it) lies behind the whole group.
        let configuration = MemoryLayout<Connection>.offset(of: \.configuration) ?? 0
        #expect(configuration > lastHot, "configuration at \(configuration), a read's field at \(lastHot)")
    }

    /// An event fits a 3-word existential buffer (24 bytes), so a driver that passes events as
    /// `Any` (NIO's `NIOAny`, `fireChannelRead`) does not box each one: the close events, once
    /// per connection, are `indirect` so the message events stay small.
    @Test func eventFitsAnExistentialBuffer() {
        #expect(MemoryLayout<Event>.size <= 24, "\(MemoryLayout<Event>.size) bytes")
        #expect(MemoryLayout<Connection.Output>.size <= 24, "\(MemoryLayout<Connection.Output>.size) bytes")
    }
}
