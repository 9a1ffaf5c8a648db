// SPDX-License-Identifier: Apache-2.0
import WSProtocol
import WSTLS

/// Everything about a channel that more than one thread touches, guarded by the channel's mutex.
///
/// Non-copyable because its ``lifecycle`` owns the socket: the phase says what exists (socket,
/// stages, handshake machine, connection), see `ChannelLifecycle.swift`. Beside it live the two
/// buffers (``outbound``, ``events``) and the parties waiting on them.
struct ChannelState: ~Copyable {
    // The flags and counters every read and write asks come first, the buffers and the phase
    // after them, what only opening and closing touch last: Swift lays a struct out in
    // declaration order, and spread over the 400 bytes these took a cache line more per message
    // (callgrind's cache simulation, 50 connections taking turns).

    // Poller interest as registered, and the write side's own progress.
    var registeredRead = false
    var registeredWrite = false
    /// The socket refused more bytes: the loop writes the rest when it is writable.
    var wantsWrite = false
    /// The peer closed its side (or reading failed): nothing more is read.
    var endOfStream = false
    /// Half-close once everything queued is written (after an HTTP response).
    var shutdownAfterFlush = false
    /// The write side is shut down (`shutdown(SHUT_WR)` done); nothing more is written.
    var writeShutDown = false
    /// ``eventWaiter`` is a consumer in ``WebSocket/AsyncIterator/next(message:)`` parked on
    /// the loop thread: it runs there again right after the read that wakes it, so that read
    /// goes in place and lends it the messages (`Channel+InPlace.swift`; resumed with `nil`,
    /// it looks again).
    var waiterTakesInPlace = false
    /// Messages of the last read lent to the async consumer where they lie:
    /// `loop.inPlace[inPlaceNext ..< inPlaceEnd]` (both 0 when none). One read holds at most
    /// one message per 6 bytes of the 256 KiB buffer (43,690), so 16 bits do (the lifetime
    /// footprint of every connection's state is what FootprintTests bounds).
    var inPlaceNext: UInt16 = 0
    var inPlaceEnd: UInt16 = 0
    /// The application dropped its ``WebSocket``: events are discarded, reading never pauses.
    var abandoned = false
    /// An event handler is running on the loop thread: sends queue without writing, and one
    /// write follows the batch.
    var deliveringInline = false
    /// Events taken without suspending since the consumer last waited (see `nextEvent`): at
    /// most ``Channel/eventsBetweenYields``, so a byte, in the room the flags leave (as an
    /// `Int` further down it took 8 bytes of every channel's state).
    var eventStreak: UInt8 = 0
    /// Reads are cut to ``Channel/slicedReadSize(_:)`` (the byte after ``eventStreak``, in the
    /// flags' padding): until the opening handshake ends (its leftover bytes reach the core at
    /// once), and after it while an extension is negotiated (permessage-deflate inflates up
    /// to 1,032 bytes per byte read; see ``Channel/onReadable(_:_:draining:)``).
    var readsInSlices = true
    /// Server with an event handler: the handle passed to it (events go to the handler on the
    /// loop thread instead of the queue). Released when the socket closes.
    var inlineSocket: WebSocket?
    /// The bytes this channel last added to its server's total (see ``ServerContext/bufferedBytes``).
    var reportedBytes = 0

    /// Bytes of the message the core is assembling (read after each receive), counted with
    /// the queued events against ``FlowControl/inboundBudget``.
    var assembling = 0
    /// Events for the application.
    var events = EventQueue()
    /// When queued bytes that could not be written fail the connection (``FlowControl/sendTimeout``
    /// after the last write progress); `nil` while nothing waits for the socket.
    var sendStallDeadline: Instant?

    /// The parked consumer (an unsafe continuation: no allocation per wait on the hot path; the
    /// lock guarantees it is resumed exactly once).
    var eventWaiter: UnsafeContinuation<WebSocketEvent?, Never>?
    /// The task the server started for this connection's handler (its identity, while it runs;
    /// 0 otherwise). Nothing outside can cancel that task (no one holds a handle to it), so
    /// it waits for events without a cancellation handler of its own (see ``Channel/nextEvent(after:)``).
    var handlerTask: UInt = 0
    /// The task that parked ``eventWaiter`` when it waits cancellably (its identity, as
    /// ``handlerTask``; 0 for an uncancellable wait): its cancellation handler resumes the
    /// waiter only while it is still this task's, never another consumer's (``Channel/cancelWait(owner:)``).
    var eventWaiterOwner: UInt = 0

    var sendWaiters: [CheckedContinuation<Void, Never>] = []
    /// Why the socket failed, or why the driver ended it.
    var transportError: WebSocketError?

    /// Bytes queued for the socket.
    var outbound = OutboundBuffer()

    /// The phase and what it owns.
    var lifecycle: Lifecycle
    /// Client: the task waiting in `connect` (kept in ``ClientFacts``: a `CheckedContinuation`
    /// stored here gave the whole state a layout known only at run time, so that every access
    /// to a field after it called the type's metadata accessor).
    var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>? {
        get { factsBox?.client?.connectWaiter }
        set { if newValue != nil || hasClientFacts { clientFacts.connectWaiter = newValue } }
    }
    /// Client: the task waiting in `connect` was cancelled (its attempt stops once started).
    var connectCancelled: Bool {
        get { factsBox?.client?.connectCancelled ?? false }
        set { if newValue || hasClientFacts { clientFacts.connectCancelled = newValue } }
    }
    /// How the connection ended and why a connection attempt failed, in a box made when the
    /// connection ends (inline they were 138 bytes of every live channel's state).
    private var endingBox: ChannelEnding?
    private var ending: ChannelEnding { mutating get { boxed(&endingBox, ChannelEnding.init) } }
    /// Why the connection attempt failed (client, before open).
    var connectError: WebSocketError? {
        get { endingBox?.connectError }
        set { if newValue != nil || endingBox != nil { ending.connectError = newValue } }
    }
    var closeInfo: CloseInfo? {
        get { endingBox?.closeInfo }
        set { if newValue != nil || endingBox != nil { ending.closeInfo = newValue } }
    }
    /// The deadline last handed to the loop's timer (so other threads know when to nudge it).
    var timerHint: Instant?

    // What the handshake exchanged, kept after close: in a box made at the first write (an
    // idle connection's state stays small; nothing on the data path touches it).
    private var factsBox: ChannelFacts?
    private var facts: ChannelFacts { mutating get { boxed(&factsBox, ChannelFacts.init) } }
    /// The client side's facts, in a box of their own (see ``ChannelFacts/client``).
    private var clientFacts: ClientFacts { mutating get { boxed(&facts.client, ClientFacts.init) } }
    /// Client: the server's 101 response.
    var response: HTTPResponseHead? {
        get { factsBox?.client?.response }
        set { if newValue != nil || factsBox?.client != nil { clientFacts.response = newValue } }
    }
    var request: UpgradeRequest? {
        get { factsBox?.request }
        set { if newValue != nil || factsBox != nil { facts.request = newValue } }
    }
    /// Client: the request head sent.
    var handshakeRequest: HTTPRequestHead? {
        get { factsBox?.client?.handshakeRequest }
        set { if newValue != nil || factsBox?.client != nil { clientFacts.handshakeRequest = newValue } }
    }
    /// Client over TLS: what the TLS handshake agreed on, kept when the opening handshake ends
    /// (the transport is gone after close).
    var tlsSession: TLSSessionInfo? {
        get { factsBox?.client?.tlsSession }
        set { if newValue != nil || factsBox?.client != nil { clientFacts.tlsSession = newValue } }
    }
    var localAddress: SocketAddress? {
        get { factsBox?.localAddress }
        set { if newValue != nil || factsBox != nil { facts.localAddress = newValue } }
    }
    /// Server: the real client, as a PROXY header (a stage's ``StreamStageFacts/source``) or a
    /// trusted proxy's forwarding headers said.
    var reportedPeer: SocketAddress? {
        get { factsBox?.reportedPeer }
        set { if newValue != nil || factsBox != nil { facts.reportedPeer = newValue } }
    }
    var subprotocol: String? {
        get { factsBox?.subprotocol }
        set { if newValue != nil || factsBox != nil { facts.subprotocol = newValue } }
    }
    var extensionNames: [String] {
        get { factsBox?.extensionNames ?? [] }
        set { if !newValue.isEmpty || factsBox != nil { facts.extensionNames = newValue } }
    }

    /// Whether the client-side facts box exists (only clients make one; for FootprintTests).
    var hasClientFacts: Bool { factsBox?.client != nil }

    init(lifecycle: consuming Lifecycle) {
        self.lifecycle = lifecycle
    }

    /// Bytes queued and not yet written.
    var pendingBytes: Int { outbound.count }
}

/// Continuations and follow-up work collected under the lock and run after it is released.
///
/// Made and dropped two or three times per message, so everything but the data path's own
/// fields lives in ``rare``, which stays `nil` there: dropping one costs one release call (for
/// `rare`; `inlineTarget` only when set), where each array or class reference held inline
/// cost one more per drop (measured with uprobes on `swift_release`: 12 calls per 32 B echo
/// went to dropping these).
struct ChannelWakeups {
    var eventWaiter: UnsafeContinuation<WebSocketEvent?, Never>?
    /// The event for ``eventWaiter``; or, with ``inlineTarget``, the first event for the event
    /// handler (the rest in ``rare``). A channel has one or the other, never both: one field,
    /// one destruction less per wakeup.
    var event: WebSocketEvent?
    /// The socket was closed (tell the server's registry).
    var finished = false
    /// Work that must run on the loop thread (close the socket, reschedule the timer).
    var needsLoop = false
    /// Server: the connection opened; hand it to the application.
    var opened = false
    /// Server with an event handler: the handle its events (``event``, then ``rare``'s) go with.
    var inlineTarget: WebSocket?
    /// `deliveringInline` was already set under the lock that collected these events.
    var inlineMarked = false
    /// Messages of this batch lying in the loop's read buffer: `loop.inPlace[0 ..< inPlaceCount]`
    /// (an in-place read, on the loop thread: for the server's message handler, or lent to the
    /// async consumer); no further read into the buffer in this wakeup.
    var inPlaceCount = 0
    /// Messages of this batch left in the loop's outputs: `loop.outputs[0 ..< outputMessages]`,
    /// all `.deliver(.message)`, for the event handler (on the loop thread, right after the lock).
    var outputMessages = 0
    /// The change in this channel's buffered bytes to add to the server's total.
    var bufferedDelta = 0
    /// Senders to resume, further inline events, handshake and connect follow-ups.
    var rare: RareWakeups?

    /// A class, so that `nil` is a null pointer: a struct here made every check of the optional
    /// go through runtime layout queries. Filled under the channel's lock, then only read by
    /// whoever runs the wakeups (hence unchecked).
    final class RareWakeups: @unchecked Sendable {
        var senders: [CheckedContinuation<Void, Never>] = []
        var inlineMore: [WebSocketEvent] = []
        var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>?
        var connectResult: Result<Void, WebSocketError> = .success(())
        var decide: UpgradeRequest?
        var answer: HTTPRequestHead?
    }

    private mutating func rareBox() -> RareWakeups { boxed(&rare, RareWakeups.init) }

    /// Empties the record after use, for the next (`EventLoop.readinessWakeups`): what the use
    /// left (a waiter resumed but not taken, a reference) is dropped, every flag cleared. Only
    /// what is set is written, so an empty record costs a few compares.
    @inline(__always)
    mutating func reset() {
        if eventWaiter != nil { eventWaiter = nil }
        if event != nil { event = nil }
        if inlineTarget != nil { inlineTarget = nil }
        if rare != nil { rare = nil }
        finished = false
        needsLoop = false
        opened = false
        inlineMarked = false
        inPlaceCount = 0
        outputMessages = 0
        bufferedDelta = 0
    }

    /// Whether running these wakeups has nothing to do (checked without touching a reference count).
    var isEmpty: Bool {
        eventWaiter == nil && inlineTarget == nil && rare == nil && !needsLoop && !finished && !opened && bufferedDelta == 0
    }

    /// Nothing but the batch for the event handler (``inlineTarget``, ``inPlaceCount``) to
    /// run: no event, waiter, follow-up or accounting.
    var isPlacedBatchOnly: Bool {
        event == nil && eventWaiter == nil && rare == nil && !needsLoop && !finished && !opened && bufferedDelta == 0
    }

    /// Tasks waiting in `send` for the buffer to drain, to resume.
    mutating func addSenders(_ waiting: [CheckedContinuation<Void, Never>]) {
        if !waiting.isEmpty { rareBox().senders.append(contentsOf: waiting) }
    }
    /// Inline events after the first (``event``).
    var inlineMore: [WebSocketEvent] { rare?.inlineMore ?? [] }
    /// The events collected for the event handler so far.
    var inlineEventCount: Int { event == nil ? 0 : 1 + (rare?.inlineMore.count ?? 0) }
    mutating func addInline(_ event: consuming WebSocketEvent) { rareBox().inlineMore.append(event) }

    /// Client: the task waiting in `connect`, and what to resume it with.
    var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>? {
        get { rare?.connectWaiter }
        set { rareBox().connectWaiter = newValue }
    }
    var connectResult: Result<Void, WebSocketError> {
        get { rare?.connectResult ?? .success(()) }
        set { rareBox().connectResult = newValue }
    }
    /// Server: ask the application about this upgrade request.
    var decide: UpgradeRequest? {
        get { rare?.decide }
        set { rareBox().decide = newValue }
    }
    /// Server: ask the application to answer this plain HTTP request.
    var answer: HTTPRequestHead? {
        get { rare?.answer }
        set { rareBox().answer = newValue }
    }
}

/// What a channel's handshake exchanged (guarded by the channel's lock, like the rest).
///
/// A server keeps one per connection for as long as the connection lives, so what only a
/// client has (the 101 response, the request sent, the TLS session) lives in ``client``, made
/// only on the client side.
final class ChannelFacts: @unchecked Sendable {
    var request: UpgradeRequest?
    var client: ClientFacts?
    var localAddress: SocketAddress?
    var reportedPeer: SocketAddress?
    var subprotocol: String?
    var extensionNames: [String] = []
}

/// What only a client's handshake exchanged (see ``ChannelFacts/client``).
final class ClientFacts: @unchecked Sendable {
    var response: HTTPResponseHead?
    var handshakeRequest: HTTPRequestHead?
    var tlsSession: TLSSessionInfo?
    var connectWaiter: CheckedContinuation<Result<Void, WebSocketError>, Never>?
    var connectCancelled = false
}

/// How a channel ended (see ``ChannelState/closeInfo``; guarded by the channel's lock).
final class ChannelEnding: @unchecked Sendable {
    var closeInfo: CloseInfo?
    var connectError: WebSocketError?
}

/// The box in `slot`, made on first use (the boxes above keep rarely used state out of the
/// structs every connection and every wakeup carries).
private func boxed<Box: AnyObject>(_ slot: inout Box?, _ make: () -> Box) -> Box {
    if let box = slot { return box }
    let box = make()
    slot = box
    return box
}
