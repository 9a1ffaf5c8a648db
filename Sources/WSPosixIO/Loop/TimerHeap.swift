// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A binary min-heap of timers, at most one per handler. Each handler knows where its entry
/// is (``LoopHandler/timerSlot``: its index plus one, 0 for none), so an earlier deadline moves
/// the entry up in place and a handler that is done removes its entry at once
/// (``cancel(_:)``).
///
/// The heap it replaces cancelled lazily (a stale entry was skipped when it came due); but an
/// entry holds its handler, so a connection that closed stayed in memory, with everything it
/// owned, until its last deadline passed: a server taking about 1,900 TLS connections per
/// second held every one of the last 10 s (the handshake timeout), 46 MB where the C floor
/// needs 7 (`Docs/Performance.md`, "Closed connections freed at once").
struct TimerHeap {
    struct Entry {
        var deadline: Instant
        var sequence: UInt64
        var handler: any LoopHandler

        func before(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var entries: [Entry] = []
    private var sequence: UInt64 = 0

    var earliest: Instant? { entries.first?.deadline }
    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The deadline `handler`'s timer is set for, if any.
    func deadline(of handler: any LoopHandler) -> Instant? {
        let slot = handler.timerSlot
        return slot > 0 ? entries[slot - 1].deadline : nil
    }

    /// Whether the timer at `slot` (a handler's ``LoopHandler/timerSlot``) is set for `deadline`
    /// or earlier, when ``schedule(_:_:)`` would change nothing (asked by a handler that knows
    /// its slot, without the protocol's accessor).
    func isSet(slot: Int, atOrBefore deadline: Instant) -> Bool {
        slot > 0 && entries[slot - 1].deadline <= deadline
    }

    /// Sets `handler`'s timer to `deadline`, unless it is already set for that time or earlier
    /// (a deadline that moves later costs nothing here: the timer fires early, finds nothing
    /// due, and the handler sets the next one).
    mutating func schedule(_ deadline: Instant, _ handler: any LoopHandler) {
        sequence &+= 1
        let slot = handler.timerSlot
        if slot > 0 {
            let i = slot - 1
            guard deadline < entries[i].deadline else { return }
            entries[i].deadline = deadline
            entries[i].sequence = sequence
            siftUp(i)
        } else {
            entries.append(Entry(deadline: deadline, sequence: sequence, handler: handler))
            handler.timerSlot = entries.count
            siftUp(entries.count - 1)
        }
    }

    /// Removes `handler`'s timer, if it has one (and with it the heap's reference to it).
    mutating func cancel(_ handler: any LoopHandler) {
        let slot = handler.timerSlot
        guard slot > 0 else { return }
        handler.timerSlot = 0
        remove(at: slot - 1)
    }

    /// Removes and returns the handler whose timer is earliest, if it is due at `now`.
    mutating func popDue(now: Instant) -> (any LoopHandler)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        first.handler.timerSlot = 0
        remove(at: 0)
        return first.handler
    }

    private mutating func remove(at i: Int) {
        let last = entries.removeLast()
        guard i < entries.count else { return }  // it was the last entry
        entries[i] = last
        last.handler.timerSlot = i + 1
        if i > 0 && entries[i].before(entries[(i - 1) / 2]) { siftUp(i) } else { siftDown(i) }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard entries[i].before(entries[parent]) else { break }
            exchange(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < entries.count && entries[l].before(entries[m]) { m = l }
            if r < entries.count && entries[r].before(entries[m]) { m = r }
            if m == i { break }
            exchange(i, m)
            i = m
        }
    }

    private mutating func exchange(_ i: Int, _ j: Int) {
        entries.swapAt(i, j)
        entries[i].handler.timerSlot = i + 1
        entries[j].handler.timerSlot = j + 1
    }

    /// Checks the heap order and every handler's slot (tests).
    func isConsistent() -> Bool {
        for (i, e) in entries.enumerated() {
            if e.handler.timerSlot != i + 1 { return false }
            if i > 0 && e.before(entries[(i - 1) / 2]) { return false }
        }
        return true
    }
}
