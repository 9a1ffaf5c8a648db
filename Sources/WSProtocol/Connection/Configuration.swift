// SPDX-License-Identifier: Apache-2.0

extension Connection {
    /// Settings for one connection. Every limit states its default and why.
    public struct Configuration: Sendable {
        /// The largest frame payload accepted (→ close 1009). Default 16 MiB, so a 16 MiB
        /// message passes in one frame.
        public var maxFrameSize: Int = 16 << 20
        /// The largest message accepted, after decompression (→ close 1009). Default 16 MiB.
        public var maxMessageSize: Int = 16 << 20
        /// The most automatic pongs produced by one ``Connection/receive(_:now:)`` call; beyond
        /// it, only the most recent ping is answered (RFC 6455 §5.5.3 allows answering only the
        /// most recent). Caps the pongs one call writes, not their total over many calls (the driver
        /// bounds that by not reading while its unwritten bytes are over a limit). Default 16.
        public var maxAutoPongsPerReceive: Int = 16
        /// Outgoing data messages longer than this are split into frames of at most this many
        /// payload bytes (RFC 6455 §5.4). `nil` (default) sends each message as one frame; so does
        /// a value below 1.
        public var fragmentSize: Int? = nil
        /// Answer pings with pongs automatically (RFC 6455 §5.5.2). Default on.
        public var autoPong: Bool = true
        /// Deliver data as ``Event/fragment(_:)`` pieces as they arrive instead of whole messages.
        public var deliversFragments: Bool = false
        /// The message type used by ``Connection/send(_:now:)-([UInt8],_)`` for raw bytes. Default binary (as Tufao).
        public var defaultMessageKind: Message.Kind = .binary
        /// How long to wait for the peer's close frame after ours, and, for a client, how long to
        /// wait after the close handshake for the server to close TCP (each wait is bounded
        /// separately, RFC 6455 §7.1.1). Default 10 s (as Python websockets).
        public var closeTimeout: Duration = .seconds(10)
        /// Answers before the close: when set, the messages delivered by the same
        /// ``Connection/receive(_:now:)`` call as a protocol violation or the peer's close frame
        /// are answered before our close frame goes out. The close is held back until the driver
        /// calls ``Connection/eventsAnswered(now:)`` (the application has handled those events)
        /// or this much time has passed (see <doc:StateMachine>, "Answers before the close").
        /// Default `nil`: no wait, the close frame is among that call's outputs, so a driver that
        /// does not report answers behaves as before and the outputs do not depend on how the
        /// input was cut. WSPosixIO sets it (10 s, as ``closeTimeout``).
        public var answerTimeout: Duration? = nil
        /// Keepalive pings; `nil` (default) sends none.
        public var keepalive: Keepalive? = nil
        /// How long a frame or data message that has started may go without a byte arriving;
        /// after it the connection fails with 1008 "message timeout" (``CloseReason/Timeout/message``):
        /// a peer that trickles a frame, or vanished in the middle of a message, does not hold the
        /// message buffer forever. Between the frames of a message only data frames count: control
        /// frames there (a pong to a keepalive ping, a ping of the peer's) are no progress on it.
        /// `nil` (default) waits forever; WSPosixIO sets 30 s.
        public var messageTimeout: Duration? = nil
        /// How long the connection may go without a data message either way (a data frame
        /// received or a message sent); after it the connection starts the close handshake with
        /// 1001 "idle timeout". Pings and pongs do not count. `nil` (default): no limit.
        public var idleTimeout: Duration? = nil

        /// Keepalive settings: a ping every `interval` of silence (no byte received), and failure
        /// with 1011 "keepalive timeout" if its pong does not come back within `timeout`. The
        /// n-th keepalive ping carries n as 4 big-endian bytes; only a pong echoing it counts.
        public struct Keepalive: Hashable, Sendable {
            /// How long the connection may receive nothing before a keepalive ping is sent.
            public var interval: Duration
            /// How long to wait for the pong that echoes a keepalive ping before failing the
            /// connection with 1011 "keepalive timeout".
            public var timeout: Duration
            /// Keepalive with a ping after `interval` of silence and `timeout` for its pong.
            public init(interval: Duration, timeout: Duration) { self.interval = interval; self.timeout = timeout }
        }

        /// A configuration with every setting at the default its property documents (no
        /// keepalive, no message or idle timeout, no answer wait; WSPosixIO's
        /// `Connection.Configuration.socketDefault` turns on all of these but the idle timeout).
        public init() {}

        /// Every limit admits a frame of up to 125 payload bytes and whole messages are
        /// delivered (not their frames): the receive path's fast lanes for small messages apply.
        var admitsSmallMessages: Bool { maxFrameSize >= 125 && maxMessageSize >= 125 && !deliversFragments }
    }
}
