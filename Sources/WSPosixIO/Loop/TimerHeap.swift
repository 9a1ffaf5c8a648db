// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A binary min-heap of timer entries. Cancellation is lazy: an entry whose deadline no longer
/// matches its handler's ``LoopHandler/scheduledDeadline`` is skipped when it comes due.
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

    mutating func push(_ deadline: Instant, _ handler: any LoopHandler) {
        sequence &+= 1
        entries.append(Entry(deadline: deadline, sequence: sequence, handler: handler))
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard entries[i].before(entries[parent]) else { break }
            entries.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(now: Instant) -> Entry? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < entries.count && entries[l].before(entries[m]) { m = l }
                if r < entries.count && entries[r].before(entries[m]) { m = r }
                if m == i { break }
                entries.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
