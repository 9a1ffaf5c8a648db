// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

// Events to the application: queued in the `EventQueue` for the async consumer (or handed to it
// directly when it waits), or to the server's event handler on the loop thread; and the
// wakeups that run after the lock.

extension Channel {
    /// Queues an event, or hands it straight to a waiting consumer or to the event handler;
    /// stops reading when the backlog goes over its budget.
    /// The event is consumed: moved, not copied, into the queue or the wakeups (each copy of a
    /// message's string or array was a retain and, later, a release).
    func enqueue(_ event: consuming WebSocketEvent, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        // Messages lent in place came first: they are queued (after the events queued before
        // them) ahead of this event.
        if st.inPlaceEnd != 0 { spillInPlace(&st, &w) }
        guard st.events.admit(event) else { return }
        if let target = st.inlineSocket {
            if case .closed = event {
                st.events.closedWasTaken()
                st.inlineSocket = nil  // breaks the channel ↔ handle cycle; released after the lock
            }
            w.inlineTarget = target
            if w.event == nil { w.event = consume event } else { w.addInline(consume event) }
            return
        }
        if st.abandoned {
            if case .closed = event { st.events.closedWasTaken() }
            return
        }
        if let waiter = st.eventWaiter, st.events.isEmpty {
            st.eventWaiter = nil
            if case .closed = event { st.events.closedWasTaken() }
            w.eventWaiter = waiter
            w.event = consume event
            return
        }
        st.events.push(consume event)
        if st.events.updateBudget(assembling: st.assembling, flow: flow) { updateInterest(&st) }
    }

    /// Events a consumer takes from the backlog before ``nextEvent(after:)`` yields once.
    static let eventsBetweenYields = 64

    /// The next event once ``takeEvent()`` said what to do, suspending until one arrives; `nil`
    /// after `.closed` was returned, or when the waiting task is cancelled.
    /// `WebSocket.AsyncIterator` (inlined into the iterating task) calls ``takeEvent()``, handles
    /// an event at hand and the handler task's plain wait itself, and calls this for the rest.
    @usableFromInline nonisolated(nonsending) func nextEvent(after first: NextEvent) async -> WebSocketEvent? {
        // The async frames stay small (everything under the lock runs in synchronous helpers):
        // a task parked here keeps this chain of frames for as long as the connection is idle,
        // and the task allocator's first slab (984 usable bytes) holds it all only if it is
        // short (Docs/Performance.md, "Where an idle async connection's bytes go"): a few bytes
        // more anywhere on the chain, this frame included, cost a second slab, about 1 KiB per
        // idle connection.
        switch first {
        case .event(let e): return e
        case .yieldThen(let e):
            await Task.yield()
            return e
        case .end: return nil
        case .waitUncancellable:
            // The server's own handler task: nothing but itself can cancel it, and it is
            // waiting here, so no cancellation can come while it waits (`park` checks for one
            // that came before). A handler per wait cost four locked updates of the task's
            // status records and an executor check on every message.
            return await withUnsafeContinuation { (c: UnsafeContinuation<WebSocketEvent?, Never>) in park(c) }
        case .wait: break
        }
        // The waiter is this task's: its cancellation resumes this waiter only, never one that
        // another consumer parked (after this one's `takeEvent()` found none, or after this
        // one's wait ended), which would end that consumer's iteration.
        let me = currentTask
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<WebSocketEvent?, Never>) in park(c, owner: me) }
        } onCancel: {
            cancelWait(owner: me)
        }
    }

    @usableFromInline enum NextEvent { case event(WebSocketEvent), yieldThen(WebSocketEvent), end, wait, waitUncancellable }

    /// The synchronous part of waiting for an event: an event from the backlog, the end, or `.wait`.
    @usableFromInline @inline(never)
    func takeEvent() -> NextEvent {
        var w = ChannelWakeups()
        let first = state.withLock { st in takeQueued(&st, &w) }
        wake(&w)
        return first
    }

    /// An event from the backlog, the end, or which wait (under the lock; `takeEvent()` and
    /// `takeInPlace()`).
    func takeQueued(_ st: inout ChannelState, _ w: inout ChannelWakeups) -> NextEvent {
        if Self.mayPop(st), let e = popEvent(&st, &w) {
            // A consumer served from the backlog never suspends; let others (on its loop)
            // run now and then.
            st.eventStreak += 1
            if Int(st.eventStreak) < Self.eventsBetweenYields { return .event(e) }
            st.eventStreak = 0
            return .yieldThen(e)
        }
        st.eventStreak = 0
        // Back for more with nothing left: everything delivered has been handled, so a
        // close held for the answers goes out now (Channel+Answers.swift).
        eventsAnswered(&st, &w)
        if Self.mayPop(st), let e = popEvent(&st, &w) { return .event(e) }
        if st.events.ending == .closedTaken { return .end }
        // Another consumer already waits: this one's iteration ends (events have one consumer
        // at a time; each goes to the one waiting).
        if st.eventWaiter != nil { return .end }
        return st.handlerTask != 0 && st.handlerTask == currentTask ? .waitUncancellable : .wait
    }

    /// Whether ``popEvent(_:_:)`` can find anything: queued events, or lent messages it would
    /// spill (asked first: with both empty, the usual case after a lent batch, the call is saved).
    @inline(__always)
    static func mayPop(_ st: borrowing ChannelState) -> Bool { !st.events.isEmpty || st.inPlaceEnd != 0 }

    /// Resumes `c` at once with a queued event or the end, or leaves it as the event waiter.
    /// `owner`: the waiting task, when its cancellation handler may resume the waiter (see
    /// ``cancelWait(owner:)``); 0 for an uncancellable wait.
    @usableFromInline @inline(never)
    func park(_ c: UnsafeContinuation<WebSocketEvent?, Never>, owner: UInt = 0) {
        enum Now { case event(WebSocketEvent), end, parked }
        var w = ChannelWakeups()
        let now = state.withLock { st -> Now in
            if let e = popEvent(&st, &w) { return .event(e) }
            // Another consumer already waits (it came between `takeEvent()` and here): this
            // one's iteration ends, as `takeQueued` would have said.
            if st.events.ending == .closedTaken || Task.isCancelled || st.eventWaiter != nil { return .end }
            st.eventWaiter = c
            st.eventWaiterOwner = owner
            st.waiterTakesInPlace = false
            return .parked
        }
        if w.bufferedDelta != 0 { wake(&w) }
        switch now {
        case .event(let e): c.resume(returning: e)
        case .end: c.resume(returning: nil)
        case .parked: break
        }
    }

    /// The current task's identity (0 outside a task), to compare with ``ChannelState/handlerTask``.
    /// On the loop thread, the job the loop runs (a task is its own job: the same address);
    /// asking the runtime cost a thread-local lookup and a retain and release of the task, on
    /// every wait of the async API.
    var currentTask: UInt {
        guard loop.inEventLoop else { return Self.runtimeCurrentTask }
        let job = loop.runningJob
        assert(job == Self.runtimeCurrentTask, "the loop's running job is the current task")
        return job
    }

    static var runtimeCurrentTask: UInt {
        withUnsafeCurrentTask { task in task.map { unsafeBitCast($0, to: UInt.self) } ?? 0 }
    }

    /// Records the calling task as the server's handler task for this connection, until
    /// ``handlerTaskEnded()`` (the identity of a finished task may be reused).
    func handlerTaskStarted() {
        let task = currentTask
        state.withLock { $0.handlerTask = task }
    }

    func handlerTaskEnded() {
        state.withLock { $0.handlerTask = 0 }
    }

    /// A cancelled consumer stops waiting (iteration ends); the connection stays as it is.
    /// Only the waiter that task `owner` parked is resumed: a consumer cancelled while another
    /// waits (it came to wait in the same moment and was told to end, or its own wait had
    /// already ended) leaves the other's waiter parked.
    func cancelWait(owner: UInt) {
        let waiter = state.withLock { st -> UnsafeContinuation<WebSocketEvent?, Never>? in
            guard owner != 0, st.eventWaiterOwner == owner, let waiter = st.eventWaiter else { return nil }
            st.eventWaiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Takes the oldest queued event; reading resumes once the backlog is back under budget.
    func popEvent(_ st: inout ChannelState, _ w: inout ChannelWakeups) -> WebSocketEvent? {
        // Messages lent in place follow the queued events: once those are taken, a consumer
        // that does not take the lent ones in place gets them here, copied.
        if st.inPlaceEnd != 0 && st.events.isEmpty { spillInPlace(&st, &w) }
        guard let e = st.events.pop() else { return nil }
        if st.events.isOverBudget || st.events.isEmpty {
            if st.events.updateBudget(assembling: st.assembling, flow: flow) { updateInterest(&st) }
            account(&st, &w)
        }
        return e
    }

    /// Runs the continuations collected under the lock.
    /// (In place: the events it carries are moved to whoever gets them, not copied.)
    @inline(__always)
    func wake(_ w: inout ChannelWakeups) {
        if w.isEmpty { return }  // (most sends: nothing to wake, no reference touched)
        wakeAll(&w)
    }

    @inline(never)
    private func wakeAll(_ w: inout ChannelWakeups) {
        if let c = w.eventWaiter { c.resume(returning: w.event.take()) }
        if let rare = w.rare { resumeWaiters(rare) }
        if let target = w.inlineTarget {
            if let handler = server?.onEvent {
                if loop.inEventLoop {
                    deliverInline(to: target, handler: handler, &w)
                } else {
                    var unmarked = w
                    unmarked.inlineMarked = false
                    let batch = unmarked
                    loop.execute { [self] in
                        var events = batch
                        deliverInline(to: target, handler: handler, &events)
                    }
                }
            } else if w.inlineMarked {
                // No handler after all (cannot happen: only servers with one set a target).
                state.withLock { st in st.deliveringInline = false }
            }
        }
        if w.needsLoop { loop.execute { [self] in service() } }
        if w.bufferedDelta != 0 || w.rare != nil || w.opened, let server {
            if w.bufferedDelta != 0 { server.addBuffered(w.bufferedDelta) }
            if let request = w.rare?.decide { server.decide(request, on: self) }
            if let head = w.rare?.answer { server.answer(head, on: self) }
            if w.opened { server.opened(self) }
        }
    }

    /// The senders and the connecting task to resume (apart: their continuation types have a
    /// layout known only at run time, which cost every wakeup a metadata lookup on entry).
    @inline(never)
    private func resumeWaiters(_ rare: ChannelWakeups.RareWakeups) {
        for c in rare.senders { c.resume() }
        if let c = rare.connectWaiter { c.resume(returning: rare.connectResult) }
    }

    /// A batch for a server with a message handler: the messages read in place (borrowed from
    /// the loop's read buffer, which no read touches before this returns) and the data messages
    /// among the events (borrowed from their array or string) go to `onMessage`, the other
    /// events to `handler`, all in arrival order.
    private func deliverMessages(to socket: WebSocket, onMessage: WebSocketServer.MessageHandler,
                                 handler: WebSocketServer.EventHandler, _ w: inout ChannelWakeups) {
        precondition(w.inPlaceCount == 0 || loop.inEventLoop, "in-place messages are read on the loop thread")
        var next = 0  // the next in-place message
        func messages(after events: Int) {
            while next < w.inPlaceCount && loop.inPlace[next].outputIndex <= events {
                let message = loop.inPlace[next]
                next += 1
                onMessage(socket, message.kind, UnsafeRawBufferPointer(rebasing: loop.readBuffer[message.range]))
            }
        }
        func event(_ event: WebSocketEvent) {
            switch event {
            case .text(var text): text.withUTF8 { onMessage(socket, .text, UnsafeRawBufferPointer($0)) }
            case .binary(let bytes):
                // A large array goes on by reference when the handler sends exactly its bytes.
                let large = bytes.count >= Self.payloadSegmentThreshold
                if large { beginLending(bytes) }
                bytes.withUnsafeBytes { onMessage(socket, .binary, $0) }
                if large { endLending() }
            case .fragment, .ping, .pong, .closed: handler(socket, event)
            }
        }
        messages(after: 0)
        var delivered = 0
        if let first = w.event.take() {
            event(first)
            delivered = 1
            messages(after: 1)
        }
        for e in w.inlineMore {
            event(e)
            delivered += 1
            messages(after: delivered)
        }
        messages(after: Int.max)
    }

    /// Calls the server's event handler for a batch (loop thread), then writes everything it
    /// queued with one call.
    private func deliverInline(to socket: WebSocket, handler: WebSocketServer.EventHandler, _ w: inout ChannelWakeups) {
        if !w.inlineMarked { state.withLock { $0.deliveringInline = true } }
        let outer = deliveringOnLoop  // (a batch delivered from inside a handler's call)
        deliveringOnLoop = true
        if let onMessage = server?.onMessage {
            deliverMessages(to: socket, onMessage: onMessage, handler: handler, &w)
        } else {
            if let first = w.event.take() { handler(socket, first) }
            for event in w.inlineMore { handler(socket, event) }
        }
        deliveringOnLoop = outer
        var after = ChannelWakeups()
        state.withLock { st in
            st.deliveringInline = false
            eventsAnswered(&st, &after)  // the handler has answered this batch (Channel+Answers.swift)
            settle(&st, &after)
        }
        wake(&after)
    }
}
