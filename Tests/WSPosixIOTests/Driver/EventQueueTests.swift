// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// The event queue as a value: order, byte accounting, the end, and the inbound budget.
@Suite("Event queue (no sockets)")
struct EventQueueTests {
    static let flow = FlowControl(maxBufferedEvents: 8, inboundBudget: 1000)

    static func push(_ q: inout EventQueue, _ e: WebSocketEvent) {
        if q.admit(e) { q.push(e) }
    }

    @Test func eventsComeOutInOrderAndTheirBytesAreCounted() {
        var q = EventQueue()
        Self.push(&q, .text("héllo"))   // 6 UTF-8 bytes
        Self.push(&q, .binary([1, 2, 3]))
        Self.push(&q, .ping([9]))
        #expect(q.count == 3 && q.bytes == 10)
        let r1 = q.pop()
        #expect(r1 == .text("héllo"))
        #expect(q.bytes == 4)
        let r2 = q.pop()
        #expect(r2 == .binary([1, 2, 3]))
        let r3 = q.pop()
        #expect(r3 == .ping([9]))
        let r4 = q.pop()
        #expect(r4 == nil)
        #expect(q.isEmpty && q.bytes == 0)
    }

    /// A queue kept from running empty (one event taken, one pushed, 100,000 times) holds
    /// only what is queued: a taken event's payload goes at once, and its slot soon after.
    @Test func aQueueThatNeverRunsEmptyHoldsOnlyItsEvents() {
        var q = EventQueue()
        Self.push(&q, .binary([0]))
        for i in 0..<100_000 {
            Self.push(&q, .ping(Array(repeating: UInt8(truncatingIfNeeded: i), count: 125)))
            let taken = q.pop()
            #expect(taken != nil)
            guard q.heldBytes == q.bytes, q.slotCount <= 2 * q.count + EventQueue.takenKept else {
                Issue.record("after \(i + 1) taken: \(q.heldBytes) bytes and \(q.slotCount) slots held for \(q.bytes) bytes in \(q.count) events")
                return
            }
        }
        #expect(q.count == 1 && q.bytes == 125)
        #expect(q.pop() == .ping(Array(repeating: UInt8(truncatingIfNeeded: 99_999), count: 125)))
        #expect(q.isEmpty && q.slotCount == 0)
    }

    @Test func nothingFollowsClosed() {
        var q = EventQueue()
        let closed = WebSocketEvent.closed(CloseInfo(code: .normalClosure))
        Self.push(&q, .text("a"))
        Self.push(&q, closed)
        #expect(q.ending == .closedQueued)
        let r5 = q.admit(.text("late"))
        #expect(!r5)
        let r6 = q.pop()
        #expect(r6 == .text("a"))
        let r7 = q.pop()
        #expect(r7 == closed)
        #expect(q.ending == .closedTaken)
    }

    @Test func discardingTheBacklogCountsClosedAsTaken() {
        var q = EventQueue()
        Self.push(&q, .binary([1]))
        Self.push(&q, .closed(CloseInfo(code: .goingAway)))
        q.discardAll()
        #expect(q.isEmpty && q.bytes == 0 && q.ending == .closedTaken)
    }

    /// Over the byte budget (queued events plus the message being assembled) reading stops;
    /// it resumes once both are at half.
    @Test func theByteBudgetStopsAndResumesReading() {
        var q = EventQueue()
        Self.push(&q, .binary(Array(repeating: 0, count: 600)))
        let r8 = q.updateBudget(assembling: 300, flow: Self.flow)
        #expect(!r8)   // 900 ≤ 1000
        let r9 = q.updateBudget(assembling: 500, flow: Self.flow)
        #expect(r9)    // 1100 > 1000: over
        #expect(q.isOverBudget)
        Self.push(&q, .binary(Array(repeating: 0, count: 100)))
        _ = q.pop()                                                  // 100 queued + 500 assembling
        let r10 = q.updateBudget(assembling: 500, flow: Self.flow)
        #expect(!r10)   // still over: 600 > 500
        let r11 = q.updateBudget(assembling: 300, flow: Self.flow)
        #expect(r11)    // 400 ≤ 500: back under
        #expect(!q.isOverBudget)
    }

    /// With nothing queued the consumer is waiting for the message being assembled: reading
    /// must go on whatever its size (the core's maxMessageSize bounds it).
    @Test func aWaitingConsumerNeverStopsReading() {
        var q = EventQueue()
        let r12 = q.updateBudget(assembling: 1 << 30, flow: Self.flow)
        #expect(!r12)
        #expect(!q.isOverBudget)
        Self.push(&q, .binary([1]))
        let r13 = q.updateBudget(assembling: 5000, flow: Self.flow)
        #expect(r13)
        _ = q.pop()
        let r14 = q.updateBudget(assembling: 5000, flow: Self.flow)
        #expect(r14)   // empty again: reading resumes
        #expect(!q.isOverBudget)
    }

    @Test func theEventCountLimitStillApplies() {
        var q = EventQueue()
        for i in 0..<8 { Self.push(&q, .binary([UInt8(i)])) }
        let r15 = q.updateBudget(assembling: 0, flow: Self.flow)
        #expect(r15)     // 8 events: over
        for _ in 0..<3 { _ = q.pop() }
        let r16 = q.updateBudget(assembling: 0, flow: Self.flow)
        #expect(!r16)    // 5 > 4: still over
        _ = q.pop()
        let r17 = q.updateBudget(assembling: 0, flow: Self.flow)
        #expect(r17)     // 4: under
    }
}
