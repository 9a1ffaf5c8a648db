// SPDX-License-Identifier: Apache-2.0

/// Backpressure limits of one connection, both ways.
public struct FlowControl: Hashable, Sendable {
    /// `send` suspends while more than this many bytes wait to be written. Default 1 MiB.
    public var highWaterMark: Int = 1 << 20
    /// Suspended senders resume once the unwritten bytes drop to this. Default 256 KiB.
    public var lowWaterMark: Int = 256 << 10
    /// Reading from the socket pauses while this many events wait for the application; it
    /// resumes when half of them have been consumed. Default 64.
    public var maxBufferedEvents: Int = 64

    public init(highWaterMark: Int = 1 << 20, lowWaterMark: Int = 256 << 10, maxBufferedEvents: Int = 64) {
        self.highWaterMark = highWaterMark
        self.lowWaterMark = min(lowWaterMark, highWaterMark)
        self.maxBufferedEvents = max(1, maxBufferedEvents)
    }
}
