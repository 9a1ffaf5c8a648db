// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("Footprint")
struct FootprintTests {
    /// An idle connection costs its inline state plus nothing on the heap but what the caller
    /// shares (configuration strings, extensions); the budget is 5 KiB per idle connection.
    /// (424 since the timer durations are also kept in nanoseconds, 24 bytes that save a
    /// 128-bit division on every deadline a driver asks for after a read or a send.)
    @Test func inlineStateIsSmall() {
        #expect(MemoryLayout<Connection>.size <= 424, "\(MemoryLayout<Connection>.size) bytes")
    }

    /// An event fits a 3-word existential buffer (24 bytes), so a driver that passes events as
    /// `Any` (NIO's `NIOAny`, `fireChannelRead`) does not box each one: the close events, once
    /// per connection, are `indirect` so the message events stay small.
    @Test func eventFitsAnExistentialBuffer() {
        #expect(MemoryLayout<Event>.size <= 24, "\(MemoryLayout<Event>.size) bytes")
        #expect(MemoryLayout<Connection.Output>.size <= 24, "\(MemoryLayout<Connection.Output>.size) bytes")
    }
}
