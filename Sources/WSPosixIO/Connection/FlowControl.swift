// SPDX-License-Identifier: Apache-2.0

/// Backpressure limits of one connection, both ways, in bytes.
///
/// Inbound: the events the application has not taken yet plus the message being assembled
/// count against ``inboundBudget``; over it the driver stops reading from the socket (the
/// peer's TCP window closes), and reads again once the application has taken the backlog down
/// to half. Outbound: every byte queued to write (messages, automatic pongs, close replies,
/// handshake and TLS records) counts against ``highWaterMark``; over it the driver stops
/// reading too (so a peer that does not read cannot make us queue pongs without end), async
/// sends suspend until the backlog is down to ``lowWaterMark``, and the non-suspending sends
/// fail at once with ``WebSocketError/sendBufferFull``.
public struct FlowControl: Hashable, Sendable {
    /// `send` suspends, and reading stops, while more than this many bytes wait to be written.
    /// Default 1 MiB. A loop-thread handler's replies are counted once its batch has run, so
    /// they may go over the mark by the replies to one batch: what one readiness event read
    /// (at most 1 MiB for ``WebSocketServer/EventHandler``, one 256 KiB read for
    /// ``WebSocketServer/MessageHandler``). With 64 KiB here and a peer that sends 32 B
    /// messages and never reads their echoes, a server held 0.77 MB with the event handler
    /// (measured once) and stays under 0.38 MB with the message handler (a test checks it).
    /// A value below 0 counts as 0.
    public var highWaterMark: Int = 1 << 20
    /// Suspended senders resume once the unwritten bytes drop to this (a value below 0 counts
    /// as 0). Default 256 KiB.
    public var lowWaterMark: Int = 256 << 10
    /// Reading pauses while this many events wait for the application. Default 64.
    public var maxBufferedEvents: Int = 64
    /// Reading pauses while the events waiting for the application and the message being
    /// assembled hold more than this many bytes (with at least one event waiting: a consumer
    /// that waits always gets the message being assembled, which
    /// `Connection.Configuration.maxMessageSize` bounds). Default 4 MiB. While an extension is
    /// negotiated (permessage-deflate), and during the opening handshake, each read takes at
    /// most this over 1,024 bytes (4 KiB by default, at least 1 KiB), so that what one read
    /// completes inflates to about this budget at most.
    public var inboundBudget: Int = 4 << 20
    /// How long queued bytes may wait for the socket to take any of them: after it the
    /// connection is dropped (1006) and the suspended sends throw
    /// ``WebSocketError/timeout(_:)`` with `.send`. `nil` waits forever. Default 30 s.
    public var sendTimeout: Duration? = .seconds(30)

    /// Limits with the given values (defaults 1 MiB, 256 KiB, 64 events, 4 MiB, 30 s).
    /// `lowWaterMark` is lowered to `highWaterMark` if above it; `maxBufferedEvents` and
    /// `inboundBudget` are raised to at least 1.
    public init(highWaterMark: Int = 1 << 20, lowWaterMark: Int = 256 << 10, maxBufferedEvents: Int = 64,
                inboundBudget: Int = 4 << 20, sendTimeout: Duration? = .seconds(30)) {
        self.highWaterMark = highWaterMark
        self.lowWaterMark = min(lowWaterMark, highWaterMark)
        self.maxBufferedEvents = max(1, maxBufferedEvents)
        self.inboundBudget = max(1, inboundBudget)
        self.sendTimeout = sendTimeout
    }
}
