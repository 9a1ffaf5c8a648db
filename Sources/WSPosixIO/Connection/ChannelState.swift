// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Where a channel is in its life.
enum ChannelPhase: Equatable {
    /// Client: the TCP connect is in progress.
    case connecting
    /// Client: the request is written, the response head is awaited (RFC 6455 §4.1).
    case clientHandshake
    /// Server: the request head is being read (RFC 6455 §4.2).
    case serverHandshake
    /// Server: the application is deciding on a request; reading is paused.
    case awaitingDecision
    /// Server: a plain HTTP response (or a refusal) is being written; then the socket closes.
    case httpResponse
    /// The WebSocket connection is open (or closing: the core knows which).
    case open
    /// The socket is closed.
    case closed
}

/// Everything about a channel that more than one thread touches, guarded by the channel's mutex.
///
/// Non-copyable because it owns the socket: setting ``socket`` to `nil` closes it, exactly once.
struct ChannelState: ~Copyable {
    /// The socket; `nil` once closed.
    var socket: FileDescriptor?
    var phase: ChannelPhase

    // Handshake machines live in a box that exists only during the handshake (they are a few
    // hundred bytes each; an open connection should not carry them).
    private var handshakes: HandshakeMachines?
    var clientHandshake: ClientHandshake? {
        get { handshakes?.client }
        _modify { yield &machines.client }
    }
    var clientOptions: ClientHandshake.Options? {
        get { handshakes?.options }
        _modify { yield &machines.options }
    }
    var serverHandshake: ServerHandshake? {
        get { handshakes?.server }
        _modify { yield &machines.server }
    }
    private var machines: HandshakeMachines {
        mutating get {
            if let h = handshakes { return h }
            let h = HandshakeMachines()
            handshakes = h
            return h
        }
    }
    /// Frees the handshake machines once the connection is open or closed.
    mutating func dropHandshakes() { handshakes = nil }
    /// The core, once the handshake is done.
    var connection: Connection?
    /// The core's next deadline, read in place: `connection?.nextDeadline` copied the whole
    /// `Connection` (retains and releases) on every read, and the loop asks after every read.
    var connectionDeadline: Instant? {
        mutating get { connection?.deadlineInPlace() }
    }
    /// Whether the core is closed (`nil` before it exists), read in place like the deadline.
    var connectionIsClosed: Bool? {
        mutating get { connection?.isClosedInPlace() }
    }
    /// Whether the core exists (`connection != nil` copied it too).
    var hasConnection: Bool {
        mutating get { connectionIsClosed != nil }
    }

    /// Connect deadline (client) or the time to give up flushing and close (lingering).
    var phaseDeadline: Instant?
    /// The deadline last handed to the loop's timer (so other threads know when to nudge it).
    var timerHint: Instant?

    // Outbound bytes: written from `outboundStart`; one write for everything queued.
    var outbound: [UInt8] = []
    var outboundStart = 0
    /// Large server payloads queued as they are (no copy into `outbound`), each written right
    /// after `outbound[..<at]`: `segments[segmentHead...]` are unwritten, the head one from
    /// `segmentOffset`. Plain TCP only (a transport wraps everything in `outbound`).
    var segments: [OutboundSegment] = []
    var segmentHead = 0
    var segmentOffset = 0
    /// Unwritten bytes in `segments`.
    var segmentBytes = 0
    var pendingBytes: Int { outbound.count - outboundStart + segmentBytes }
    /// With a ``Transport``: `outbound[outboundStart..<plainStart]` is wrapped (ready to write),
    /// `outbound[plainStart...]` is plaintext still to wrap.
    var plainStart = 0
    /// The transport between socket and WebSocket bytes; `nil` for plain TCP (the fast path).
    var transport: (any Transport)? {
        didSet { hasTransport = transport != nil }
    }
    /// `transport != nil`, kept as a flag: the data path asks on every read and write, and
    /// comparing the existential with `nil` copied it through its value witnesses.
    private(set) var hasTransport = false

    mutating func resetOutbound() {
        outbound = []
        outboundStart = 0
        plainStart = 0
        segments = []
        segmentHead = 0
        segmentOffset = 0
        segmentBytes = 0
    }

    // Poller interest as registered, and why reading may be off.
    var registeredRead = false
    var registeredWrite = false
    var wantsWrite = false
    var readPausedByApplication = false
    var endOfStream = false
    var shutdownAfterFlush = false
    var closeAfterFlush = false
    var writeShutDown = false

    // Events for the application (a queue: `events[eventsHead...]`).
    var events: [WebSocketEvent] = []
    var eventsHead = 0
    /// Events taken without suspending since the consumer last waited (see `nextEvent`).
    var eventStreak = 0
    var bufferedEventCount: Int { events.count - eventsHead }
    /// The parked consumer (an unsafe continuation: no allocation per wait on the hot path; the
    /// lock guarantees it is resumed exactly once).
    var eventWaiter: UnsafeContinuation<WebSocketEvent?, Never>?
    /// The `.closed` event has been queued (nothing follows it).
    var closedEventQueued = false
    /// The `.closed` event has been handed to the application (iteration ends).
    var closedEventTaken = false

    var sendWaiters: [CheckedContinuation<Void, Never>] = []
    var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>?
    var connectError: WebSocketError?
    var transportError: WebSocketError?
    var closeInfo: CloseInfo?
    /// The application dropped its ``WebSocket``: events are discarded, reading never pauses.
    var abandoned = false

    /// Server with an event handler: the handle passed to it (events go to the handler on the
    /// loop thread instead of the queue). Released when the socket closes.
    var inlineSocket: WebSocket?
    /// An event handler is running on the loop thread: sends queue without writing, and one
    /// write follows the batch.
    var deliveringInline = false

    // What the handshake exchanged.
    var response: HTTPResponseHead?
    var request: UpgradeRequest?
    var localAddress: SocketAddress?
    /// Server: the real client, as a PROXY header or a trusted proxy's forwarding headers said.
    var reportedPeer: SocketAddress?

    init(socket: consuming FileDescriptor, phase: ChannelPhase) {
        self.socket = .some(socket)
        self.phase = phase
    }
}

extension Connection {
    /// ``nextDeadline`` and ``isClosed`` through `inout` access, which borrows the connection where it is.
    fileprivate mutating func deadlineInPlace() -> Instant? { nextDeadline }
    fileprivate mutating func isClosedInPlace() -> Bool { isClosed }
}

/// A payload queued by reference: it goes to the socket after `outbound[..<at]`.
struct OutboundSegment {
    var at: Int
    var bytes: [UInt8]
}

/// Continuations and follow-up work collected under the lock and run after it is released.
///
/// Made and dropped two or three times per message, so the fields only handshakes and connects
/// use live in ``rare``, which stays `nil` on the data path (one branch to destroy, not five).
struct ChannelWakeups {
    var eventWaiter: UnsafeContinuation<WebSocketEvent?, Never>?
    var event: WebSocketEvent?
    var senders: [CheckedContinuation<Void, Never>] = []
    /// The socket was closed (tell the server's registry).
    var finished = false
    /// Work that must run on the loop thread (close the socket, reschedule the timer).
    var needsLoop = false
    /// Server: the connection opened; hand it to the application.
    var opened = false
    /// Server with an event handler: the events to hand to it, in order (the first one inline,
    /// to avoid an array per batch).
    var inlineTarget: WebSocket?
    var inlineFirst: WebSocketEvent?
    var inlineMore: [WebSocketEvent] = []
    /// `deliveringInline` was already set under the lock that collected these events.
    var inlineMarked = false
    /// Handshake and connect follow-ups.
    var rare: RareWakeups?

    /// A class, so that `nil` is a null pointer: a struct here made every check of the optional
    /// go through runtime layout queries. Filled under the channel's lock, then only read by
    /// whoever runs the wakeups (hence unchecked).
    final class RareWakeups: @unchecked Sendable {
        var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>?
        var connectResult: Result<Void, WebSocketError> = .success(())
        var decide: UpgradeRequest?
        var answer: HTTPRequestHead?
    }

    /// Client: the task waiting in `connect`, and what to resume it with.
    var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>? {
        get { rare?.connectWaiter }
        set { rare = rare ?? RareWakeups(); rare!.connectWaiter = newValue }
    }
    var connectResult: Result<Void, WebSocketError> {
        get { rare?.connectResult ?? .success(()) }
        set { rare = rare ?? RareWakeups(); rare!.connectResult = newValue }
    }
    /// Server: ask the application about this upgrade request.
    var decide: UpgradeRequest? {
        get { rare?.decide }
        set { rare = rare ?? RareWakeups(); rare!.decide = newValue }
    }
    /// Server: ask the application to answer this plain HTTP request.
    var answer: HTTPRequestHead? {
        get { rare?.answer }
        set { rare = rare ?? RareWakeups(); rare!.answer = newValue }
    }
}

/// The handshake machines of a channel, boxed (guarded by the channel's lock like the rest).
final class HandshakeMachines {
    var client: ClientHandshake?
    var options: ClientHandshake.Options?
    var server: ServerHandshake?
}
