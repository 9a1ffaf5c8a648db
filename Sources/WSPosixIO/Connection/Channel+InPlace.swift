// SPDX-License-Identifier: Apache-2.0
import Synchronization
public import WSProtocol

// Messages lent in place to the async consumer (`WebSocket.AsyncIterator.next(message:)`).
//
// The loop-thread message handler gets each data message as borrowed bytes of the loop's read
// buffer (Channel+Read.swift). A task can have the same when it runs on the connection's loop,
// as the server's handler tasks do:
//
//   1. The consumer parks in `next(message:)` on the loop thread (`waiterTakesInPlace`).
//   2. A read for this channel then goes in place. When its whole messages all come after its
//      other outputs (typically none, or a message completed from the previous read), the
//      outputs are performed and the messages *lent*: the channel records
//      `loop.inPlace[0 ..< n]` as its own (`inPlaceNext ..< inPlaceEnd`), becomes the loop's
//      `inPlaceOwner`, resumes the consumer and reads no more in this wakeup. Otherwise they
//      are copied into events in their place among the outputs.
//   3. The loop runs the task jobs this read made ready before it handles the next readiness
//      event (EventLoop.run). The consumer resumes there and takes the lent messages one by
//      one, each handed to its closure as a pointer into the read buffer, with no copy.
//   4. Right after those jobs, the loop *spills* whatever is still lent (`spillInPlace()`):
//      copied into events, in order, before anything reads into the buffer again. A consumer
//      that suspended elsewhere meanwhile, or runs on another thread, gets them as events.
//
// Order: lent messages come after the events queued when they were lent (the outputs of
// their own read) and before every later one. The consumer takes the queue first and the lent
// messages once it is empty; an event queued while messages are lent spills them first
// (`enqueue`), and so does a take from the emptied queue that cannot have them in place
// (`popEvent`: another thread, or the plain `next()`; so a consumer with lent messages left is
// never taken as having answered everything, which would release a held close early, see
// Channel+Answers.swift). Neither spill has a path that needs it today (no event is queued
// while messages are lent: errors found while writing close the connection from the loop,
// after its spill; a close frame read with messages is an output after them, so they are not
// lent), but both keep the order whatever comes. Only the loop thread hands out lent bytes;
// another thread spills under the lock (reading the buffer, which the loop does not write
// before its own spill, under the same lock).

extension Channel {
    /// Lends the messages of an in-place read to the async consumer (step 2 above). Loop thread,
    /// under the lock.
    func lendInPlace(_ count: Int, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.inPlaceNext = 0
        st.inPlaceEnd = UInt16(count)
        w.inPlaceCount = count
        loop.inPlaceOwner = self
        // The waiter, if still parked, is the in-place consumer this read was made for (an
        // output of the read may have handed it an event already): resumed with `nil`, it looks again.
        if let waiter = st.eventWaiter {
            assert(st.waiterTakesInPlace, "messages are lent only to a consumer that takes them in place")
            st.eventWaiter = nil
            w.eventWaiter = waiter
            w.event = nil
        }
    }

    /// An in-place message of the last read as an event of its own (a copy).
    func copiedEvent(_ message: InPlaceMessage) -> WebSocketEvent {
        let bytes = UnsafeRawBufferPointer(rebasing: loop.readBuffer[message.range])
        switch message.kind {
        case .text: return .text(String(decoding: bytes, as: UTF8.self))  // checked by the core
        case .binary: return .binary([UInt8](bytes))
        }
    }

    /// Queues the messages still lent, copied, in order (under the lock; any thread).
    func spillInPlace(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        let range = Int(st.inPlaceNext)..<Int(st.inPlaceEnd)
        st.inPlaceNext = 0
        st.inPlaceEnd = 0
        for m in range { enqueue(copiedEvent(loop.inPlace[m]), &st, &w) }
    }

    /// Step 4: the loop is about to read into its buffer again (loop thread).
    func spillInPlace() {
        var w = ChannelWakeups()
        state.withLock { st in
            if st.inPlaceEnd != 0 { spillInPlace(&st, &w) }
        }
        wake(&w)
    }

    /// A consumer (`next(message:)`, or the message handler) is about to borrow the bytes of
    /// `array` (a binary message of at least ``payloadSegmentThreshold`` bytes that arrived in
    /// an array of its own): until ``endLending()``, sending exactly those bytes on this loop
    /// writes the array by reference, as sending the event's message would, instead of copying
    /// it. Loop thread only; a no-op elsewhere.
    @usableFromInline @inline(never)
    func beginLending(_ array: [UInt8]) {
        if loop.inEventLoop { loop.lentArray = array }
    }

    @usableFromInline @inline(never)
    func endLending() {
        if loop.inEventLoop { loop.lentArray = nil }
    }

    /// The array lent on this loop when `bytes` are exactly its bytes.
    func lentArray(matching bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard loop.inEventLoop, let array = loop.lentArray, array.count == bytes.count,
              array.withUnsafeBytes({ $0.baseAddress == bytes.baseAddress }) else { return nil }
        return array
    }

    @usableFromInline enum InPlaceNext {
        /// A data message lent in place (valid until the caller returns to the loop).
        /// `parkNext`: it was the last message lent and nothing is queued, and the caller is
        /// the server's handler task (which waits uncancellably): its next call may go
        /// straight to ``parkInPlace(_:cancellable:answering:)``.
        case message(Message.Kind, UnsafeRawBufferPointer, parkNext: Bool)
        /// What the event queue gives (`takeEvent()`'s answers).
        case queued(NextEvent)
    }

    /// The synchronous part of `next(message:)`: a lent message once the queue is empty, else
    /// what `takeEvent()` would say.
    @usableFromInline @inline(never)
    func takeInPlace() -> InPlaceNext {
        // Wakeups only when the queue is looked at: a lent message (the usual case) makes none,
        // and an empty `ChannelWakeups` still cost its destruction (four release calls).
        var wakeups: ChannelWakeups? = nil
        let onLoop = loop.inEventLoop
        let next = state.withLock { st -> InPlaceNext in
            if st.inPlaceEnd != 0 && onLoop && st.events.isEmpty {
                let message = loop.inPlace[Int(st.inPlaceNext)]
                st.inPlaceNext += 1
                var last = false
                if st.inPlaceNext == st.inPlaceEnd {
                    st.inPlaceNext = 0
                    st.inPlaceEnd = 0
                    loop.inPlaceOwner = nil
                    last = st.handlerTask != 0 && st.handlerTask == currentTask
                }
                st.eventStreak = 0
                return .message(message.kind, UnsafeRawBufferPointer(rebasing: loop.readBuffer[message.range]), parkNext: last)
            }
            var w = ChannelWakeups()
            let queued = takeQueued(&st, &w)
            wakeups = w
            return .queued(queued)
        }
        if var wakeups { wake(&wakeups) }
        return next
    }

    /// Parks the in-place consumer as the event waiter, or resumes it at once: with an event
    /// from the queue, or with `nil` when it should look again (messages lent, the end, or, when
    /// `cancellable`, its task cancelled). While parked, an event is handed to it directly
    /// (`enqueue`), and lent messages wake it with `nil`.
    ///
    /// `answering`: the consumer comes here without looking first (`parkFirst`), so this looks
    /// as ``takeQueued(_:_:)`` does: with the queue empty, everything delivered has been
    /// handled, and a close held for the answers goes out (Channel+Answers.swift).
    @usableFromInline @inline(never)
    func parkInPlace(_ c: UnsafeContinuation<WebSocketEvent?, Never>, cancellable: Bool, answering: Bool = false, owner: UInt = 0) {
        enum Now { case event(WebSocketEvent), lookAgain, parked }
        let onLoop = loop.inEventLoop
        let now = loop.withSpareWakeups(onLoop: onLoop) { w -> Now in
            let now = state.withLock { st -> Now in
                if st.inPlaceEnd != 0 || st.events.ending == .closedTaken { return .lookAgain }
                if answering {
                    switch takeQueued(&st, &w) {
                    case .event(let e), .yieldThen(let e): return .event(e)
                    case .end: return .lookAgain
                    case .wait, .waitUncancellable: break
                    }
                } else if let e = popEvent(&st, &w) {
                    return .event(e)
                }
                // Another consumer already waits: looking again, this one finds the end
                // (`takeQueued`).
                if (cancellable && Task.isCancelled) || st.eventWaiter != nil { return .lookAgain }
                st.eventWaiter = c
                st.eventWaiterOwner = owner
                st.waiterTakesInPlace = onLoop
                return .parked
            }
            wake(&w)
            return now
        }
        switch now {
        case .event(let e): c.resume(returning: e)
        case .lookAgain: c.resume(returning: nil)
        case .parked: break
        }
    }

    /// Waits (cancellably) for `next(message:)`: an event, or `nil` to look again (the caller
    /// checks for cancellation). The cancellation resumes this task's waiter only (see `nextEvent`).
    @usableFromInline nonisolated(nonsending) func waitInPlace() async -> WebSocketEvent? {
        let me = currentTask
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<WebSocketEvent?, Never>) in
                parkInPlace(c, cancellable: true, owner: me)
            }
        } onCancel: {
            cancelWait(owner: me)
        }
    }
}
