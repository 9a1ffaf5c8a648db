// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// The events a channel has received and the application has not taken yet, with the bytes
/// they hold: a FIFO of ``WebSocketEvent``s that ends with `.closed`.
///
/// A value type with no I/O or locking of its own. The driver pushes what the core delivers
/// and pops for the consumer; it stops reading from the socket while ``isOverBudget`` (the
/// queued bytes plus the message being assembled exceed ``FlowControl/inboundBudget``, or the
/// queue holds ``FlowControl/maxBufferedEvents``), and reads again once the consumer has taken
/// the backlog down to half of both.
struct EventQueue {
    private var events: [WebSocketEvent] = []
    private var head = 0
    /// Payload bytes held by the queued events (see ``size(of:)``).
    private(set) var bytes = 0
    /// Where the queue is in its life: `.closed` is always the last event.
    private(set) var ending = Ending.open
    /// Reading is paused because the backlog went over budget (see ``updateBudget(assembling:flow:)``).
    private(set) var isOverBudget = false

    enum Ending: Hashable {
        /// `.closed` has not been pushed yet.
        case open
        /// `.closed` was pushed (nothing more is accepted).
        case closedQueued
        /// `.closed` was taken by the application: iteration is over.
        case closedTaken
    }

    /// Events waiting to be taken.
    var count: Int { events.count - head }
    var isEmpty: Bool { head == events.count }

    /// The bytes an event holds in memory (its payload; a `.closed` event counts as 0).
    static func size(of event: WebSocketEvent) -> Int {
        switch event {
        case .text(let text): return text.utf8.count
        case .binary(let bytes), .ping(let bytes), .pong(let bytes): return bytes.count
        case .fragment(let fragment): return fragment.bytes.count
        case .closed: return 0
        }
    }

    /// Records the event that ends the stream: called for every event before it is queued or
    /// handed to a consumer directly. Returns `false` when `.closed` already went by (the event is
    /// dropped: nothing follows `.closed`).
    mutating func admit(_ event: WebSocketEvent) -> Bool {
        guard ending == .open else { return false }
        if case .closed = event { ending = .closedQueued }
        return true
    }

    /// `.closed` was handed to the application without passing through the queue.
    mutating func closedWasTaken() { ending = .closedTaken }

    /// Appends an admitted event.
    mutating func push(_ event: consuming WebSocketEvent) {
        bytes += Self.size(of: event)
        events.append(event)
    }

    /// Taken events the array keeps in front of the queued ones before they are dropped (once
    /// they are also at least half of it).
    static let takenKept = 64

    /// Takes the oldest event.
    ///
    /// The event is moved out (an empty ping stays in its slot), and the slots of taken events
    /// are dropped once they are ``takenKept`` and half the array: a queue that never ran empty
    /// (a consumer a little behind a peer that keeps sending) kept every event taken since it
    /// last did, payload and all: 80,000 pings (15 MB) behind 100-1,000 queued ones in a TLS
    /// ping flood to `ws serve`, whose budget counted only the queued ones.
    mutating func pop() -> WebSocketEvent? {
        guard head < events.count else { return nil }
        let event = events.withUnsafeMutableBufferPointer { buffer -> WebSocketEvent in
            let slot = buffer.baseAddress! + head
            let event = slot.move()
            slot.initialize(to: .ping([]))  // no payload: nothing held for a taken event
            return event
        }
        head += 1
        bytes -= Self.size(of: event)
        if head == events.count {
            // Small arrays are kept for the next events; a big backlog's array is given back.
            if events.capacity > 16 { events = [] } else { events.removeAll(keepingCapacity: true) }
            head = 0
        } else if head >= Self.takenKept && head >= events.count - head {
            events.removeFirst(head)
            head = 0
        }
        if case .closed = event { ending = .closedTaken }
        return event
    }

    /// Slots in the array, taken events' included (tests).
    var slotCount: Int { events.count }
    /// Payload bytes held by every slot, taken events' included (tests: equal to ``bytes``).
    var heldBytes: Int { events.reduce(0) { $0 + Self.size(of: $1) } }

    /// Drops every queued event (the application went away); `.closed` counts as taken.
    mutating func discardAll() {
        events = []
        head = 0
        bytes = 0
        if ending == .closedQueued { ending = .closedTaken }
    }

    /// Re-evaluates ``isOverBudget`` with `assembling`, the bytes of the message the core is
    /// putting together: over when something is queued and the total exceeds the byte budget or
    /// the queue holds the most events; back under once both are at half. (With nothing queued
    /// the consumer is waiting, so reading goes on and the core's ``maxMessageSize`` bounds the
    /// message.) Returns whether the answer changed.
    mutating func updateBudget(assembling: Int, flow: FlowControl) -> Bool {
        let total = bytes + assembling
        let over: Bool
        if isEmpty {
            over = false
        } else if isOverBudget {
            over = total > flow.inboundBudget / 2 || count > flow.maxBufferedEvents / 2
        } else {
            over = total > flow.inboundBudget || count >= flow.maxBufferedEvents
        }
        guard over != isOverBudget else { return false }
        isOverBudget = over
        return true
    }
}
