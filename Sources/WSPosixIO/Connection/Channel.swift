// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

/// The driver of one connection: the only code that moves bytes between a socket and the core
/// (read → stage, handshake or `Connection.receive` → perform outputs → write), turns deadlines
/// into a loop timer, and hands events to the application.
///
/// Theory of operation: all mutable state is in ``ChannelState`` behind one mutex; its
/// ``Lifecycle`` is the phase and owns the socket (see `ChannelLifecycle.swift`, which holds
/// every transition). The loop thread takes the lock for readiness and timers; application
/// tasks take it to send, close and pull events, so a message goes from `send` to the socket
/// without hopping to the loop (the caller writes it directly when nothing is queued). Only the
/// loop thread registers, deregisters and closes the socket and sets timers; other threads ask
/// it to with ``EventLoop/execute(_:)``.
///
/// The channel is cut by concern: this file is the loop's entry points and the "settle" step
/// that follows every input; `Channel+Read.swift` takes a read down to the event;
/// `Channel+Write.swift` queues and writes; `Channel+Events.swift` hands events to the
/// application; `Channel+Lifecycle.swift` starts, decides and ends.
@usableFromInline final class Channel: LoopHandler, @unchecked Sendable {
    // The fields a read or a write asks first, then the state behind its lock, then what
    // they do not touch: Swift lays a class out in declaration order, and behind the 400-byte
    // state these were a cache line more per message (callgrind's cache simulation).
    let loop: EventLoop
    /// The descriptor number (for system calls; the ``Lifecycle`` owns the descriptor and says
    /// whether it is still open).
    let fd: Int32
    let role: Role
    /// ``deliverInline(to:handler:_:)`` is running the event handler for this channel (loop
    /// thread only): a send from the loop thread is then one of its replies, queued for the
    /// settling after the batch (``sendNow(payload:borrowed:kind:_:)``'s short path).
    var deliveringOnLoop = false
    /// The server this channel belongs to (server side only).
    let server: ServerContext?
    /// Loop bookkeeping (loop thread only).
    var timerSlot = 0
    let state: Lock<ChannelState>
    let flow: FlowControl
    /// The remote address of the TCP connection (the one connected to, or the accepted peer).
    let peer: SocketAddress?

    init(loop: EventLoop, socket: consuming FileDescriptor, role: Role, setup: ChannelSetup, deadline: Instant,
         flow: FlowControl, peer: SocketAddress?, server: ServerContext?) {
        self.loop = loop
        self.role = role
        // Marks below 0 would never be reached: a negative high-water mark stopped reading for
        // good (the opening handshake timed out), a negative low-water mark (which `init` also
        // makes from a negative high-water mark) kept waiting senders waiting forever.
        var flow = flow
        flow.highWaterMark = max(0, flow.highWaterMark)
        flow.lowWaterMark = max(0, flow.lowWaterMark)
        self.flow = flow
        self.peer = peer
        self.server = server
        self.fd = socket.raw
        self.state = Lock(ChannelState(lifecycle: .connecting(Link(socket: socket), setup: setup, deadline: deadline)))
    }

    // MARK: loop side

    func handleReadiness(_ event: PollEvent) {
        // The loop's record, emptied after use, not a new one: destroying a record per
        // readiness event (its optional event and two references, through the value witness)
        // cost about 50 instructions per read. Only this entry point uses it, on the loop
        // thread, and nothing it calls reaches another channel's readiness. Emptied at once
        // after, not before the next use: a handle or event it still held would keep a closed
        // connection alive until the loop's next read (`FootprintTests`).
        handleReadiness(event, &loop.readinessWakeups)
        loop.readinessWakeups.reset()
    }

    private func handleReadiness(_ event: PollEvent, _ w: inout ChannelWakeups) {
        state.withLock { st in
            let phase = st.lifecycle.phase
            if phase == .connecting {
                if event.writable || event.hangup { connectCompleted(&st, &w) }
            } else {
                if event.writable { onWritable(&st, &w) }
                if event.hangup && st.lifecycle.isLive {
                    // Error or hang-up is reported even without interest, level-triggered: the
                    // peer is gone, so read what is left whatever the pauses, then close (no spinning).
                    if phase == .awaitingDecision || st.endOfStream {
                        if st.transportError == nil { st.transportError = .remoteHostClosed }
                        abortConnection(&st, &w)
                    } else {
                        // Bounded like any read; the hang-up is level-triggered, so the loop comes
                        // back for the rest after serving the others.
                        let more = onReadable(&st, &w, draining: true)
                        if st.lifecycle.isLive && !st.endOfStream && !more { abortConnection(&st, &w) }
                    }
                } else if event.readable && st.lifecycle.isLive {
                    onReadable(&st, &w, draining: false)
                }
            }
            if w.inlineTarget != nil && server?.hasEventHandler == true {
                // The batch goes to the event handler right after this lock (loop thread): mark
                // it now, saving ``deliverInline`` a lock round of its own. Settling waits for
                // the handler's replies (``deliverInline`` settles under its closing lock):
                // settling here too flushed nothing and set the timer and interest twice.
                st.deliveringInline = true
                w.inlineMarked = true
            } else {
                settle(&st, &w)
            }
        }
        if w.inPlaceCount > 0 && w.inlineMarked && w.isPlacedBatchOnly, let onMessage = server?.onMessage {
            deliverPlaced(&w, onMessage)
        } else if w.outputMessages > 0, let handler = server?.onEvent {
            // (Whatever else `w` holds is woken after: the general path would not see these.)
            deliverOutputs(&w, handler)
        } else {
            wake(&w)
        }
    }

    /// The usual read for a server with an event handler: only whole messages, left in the
    /// loop's outputs (`w` holds only the handle and their count). Each is moved out to the
    /// handler as its event, as ``deliverInline(to:handler:_:)`` would hand it after the queue's
    /// path (``enqueue(_:_:_:)``), without that path; then as ``deliverPlaced(_:_:)``.
    private func deliverOutputs(_ w: inout ChannelWakeups, _ handler: WebSocketServer.EventHandler) {
        guard let socket = w.inlineTarget.take() else { preconditionFailure("messages left without their handle") }
        let count = w.outputMessages
        w.outputMessages = 0
        w.inlineMarked = false
        let outer = deliveringOnLoop
        deliveringOnLoop = true
        var i = 0
        // (`i < loop.outputs.count`: nothing the handler does reads into them, but a bound
        // check costs nothing beside the call.)
        while i < count && i < loop.outputs.count {
            let output = loop.outputs.withUnsafeMutableBufferPointer { buffer -> Connection.Output in
                let slot = buffer.baseAddress! + i
                let output = slot.move()
                slot.initialize(to: .shutdownWrite)  // no payload: nothing to release when cleared
                return output
            }
            i += 1
            switch consume output {
            case .deliver(.message(.text(let text))): handler(socket, .text(text))
            case .deliver(.message(.binary(let bytes))): handler(socket, .binary(bytes))
            default: preconditionFailure("only messages are left for the event handler")
            }
        }
        handlerBatchDone(&w, outer: outer)
    }

    /// The usual read for a server with a message handler: only messages, read in place, and
    /// nothing else to wake (`w` holds only the handle and their count). They go to the
    /// handler as ``deliverInline(to:handler:_:)`` would hand them, without its general batch
    /// (events, lent arrays); then the replies are written and the channel settled under one
    /// lock, `w` (emptied) collecting what that wakes.
    private func deliverPlaced(_ w: inout ChannelWakeups, _ onMessage: WebSocketServer.MessageHandler) {
        // Moved out, not copied: one retain and one release of the handle per read.
        guard let socket = w.inlineTarget.take() else { return }
        let count = w.inPlaceCount
        w.inPlaceCount = 0
        w.inlineMarked = false
        let outer = deliveringOnLoop  // (a batch delivered from inside a handler's call)
        deliveringOnLoop = true
        for i in 0..<count {
            let message = loop.inPlace[i]
            onMessage(socket, message.kind, UnsafeRawBufferPointer(rebasing: loop.readBuffer[message.range]))
        }
        handlerBatchDone(&w, outer: outer)
    }

    /// After the handler's calls for a batch (``deliverPlaced(_:_:)``, ``deliverOutputs(_:_:)``):
    /// the replies written and the channel settled under one lock, then what that wakes.
    @inline(__always)
    private func handlerBatchDone(_ w: inout ChannelWakeups, outer: Bool) {
        deliveringOnLoop = outer
        state.withLock { st in
            st.deliveringInline = false
            // The handler has answered this batch (Channel+Answers.swift); and is the core
            // between messages (``settleReplies``)? One call into the core for both.
            var between = false
            if let core = st.lifecycle.openCore {
                switch core._withUnsafeGuaranteedRef({ $0.connection.answerBatch() }) {
                case .closeHeld: eventsAnswered(&st, &w)
                case .betweenMessages: between = true
                case .otherwise: break
                }
            }
            settleReplies(&st, &w, betweenMessages: between)
        }
        wake(&w)
    }

    /// ``settle(_:_:)`` after a placed batch's replies, skipping what such a batch cannot have
    /// changed: with every reply written, the socket open, read interest on and write interest
    /// off as registered, a timer set, and the core still open with no frame half read, the
    /// core's next deadline can only have moved later (data moves keepalive and idle on; the
    /// message timeout needs a frame under way, the close timeout a close), so the timer set for
    /// an earlier one stands (it fires, finds nothing due, and sets the next), and the interest
    /// stays. Anything else settles in full. A reply that closed or pinged asked the loop to
    /// settle again (``command(_:)``).
    /// `betweenMessages`: ``Connection/isOpenBetweenMessages()`` as the core said it at the
    /// batch's end (writing the replies does not change it; a failed write sets the transport
    /// error, which takes the full settle).
    private func settleReplies(_ st: inout ChannelState, _ w: inout ChannelWakeups, betweenMessages: Bool) {
        // The replies: one `send` (``flush``'s plain path), the rest as it always goes.
        if st.lifecycle.isLive && !st.wantsWrite { flush(&st, &w, now: loop.now) }
        if betweenMessages && st.pendingBytes == 0 && st.transportError == nil && timerSlot > 0 && st.registeredRead
            && !st.registeredWrite && !st.endOfStream && !st.events.isOverBudget && st.lifecycle.isOpen {
            // Nothing buffered now nor reported before: nothing to account.
            if st.reportedBytes != 0 || st.assembling != 0 || !st.events.isEmpty { account(&st, &w) }
            return
        }
        settle(&st, &w, flushing: false)
    }

    func handleTimer() {
        var w = ChannelWakeups()
        state.withLock { st in
            st.timerHint = nil
            let now = loop.now
            if let d = st.sendStallDeadline, now >= d {
                // A send made no progress for `sendTimeout`: the peer is not reading.
                st.transportError = .timeout(.send)
                abortConnection(&st, &w)
            } else {
                loop.outputs.clearKeepingCapacity()
                var reported: SocketAddress? = nil  // set only by a stage that reports the client
                let step = st.lifecycle.handleTimeout(now: now, &st.outbound, &loop.outputs, &reported)
                if let reported { st.reportedPeer = reported }
                take(step, &st, &w)
            }
            settle(&st, &w)
        }
        wake(&w)
    }

    /// Re-evaluates flushing, closing, interest and timers (loop thread; requested by other threads).
    func service() {
        var w = ChannelWakeups()
        state.withLock { st in settle(&st, &w) }
        wake(&w)
    }

    /// After any input: flush, close when done, fix the poller interest, set the timer, account
    /// the buffered bytes. Loop thread only.
    /// `flushing: false` when the caller has just flushed.
    func settle(_ st: inout ChannelState, _ w: inout ChannelWakeups, flushing: Bool = true) {
        if flushing && st.lifecycle.isLive && !st.wantsWrite && !st.deliveringInline { flush(&st, &w, now: loop.now) }
        switch st.lifecycle.phase {
        case .open:
            if st.transportError != nil { abortConnection(&st, &w) }
        case .closing:
            // A clean end over TLS sends close_notify last (TLS sends it at most once).
            if st.outbound.wraps && st.transportError == nil {
                finishTransport(&st)
                if !st.wantsWrite && st.pendingBytes > 0 { flush(&st, &w, now: loop.now) }
            }
            if st.pendingBytes == 0 { closeSocket(&st, &w) }
        case .connecting, .staging, .clientHandshake, .serverHandshake, .awaitingDecision, .httpResponse, .closed:
            break
        }
        account(&st, &w)
        guard st.lifecycle.isLive else { return }
        updateInterest(&st)
        reschedule(&st)
    }

    private func reschedule(_ st: inout ChannelState) {
        // Open: the core's deadline read through the unretained core, as the read paths do
        // (the phase's general switch cost about 25 instructions per message more).
        var deadline: Instant?
        if let core = st.lifecycle.openCore {
            // Between messages, with a timer set and no send stalled, the deadline can only have
            // moved later (``Connection/isOpenBetweenMessages()``): the timer stands (it fires
            // early, finds nothing due, and sets the next).
            if timerSlot > 0 && st.sendStallDeadline == nil
                && core._withUnsafeGuaranteedRef({ $0.connection.isOpenBetweenMessages() }) { return }
            deadline = core._withUnsafeGuaranteedRef { $0.connection.nextDeadline }
        } else {
            deadline = st.lifecycle.nextDeadline()
        }
        if let s = st.sendStallDeadline, deadline.map({ s < $0 }) ?? true { deadline = s }
        guard let deadline else { return }
        st.timerHint = min(deadline, st.timerHint ?? deadline)
        loop.schedule(self, at: deadline)
    }

    /// Sets the poller interest the state calls for (any thread, under the lock).
    func updateInterest(_ st: inout ChannelState) {
        guard st.lifecycle.isLive else { return }
        let read: Bool
        let write: Bool
        switch st.lifecycle.phase {
        case .connecting:
            read = false
            write = true
        case .awaitingDecision:
            read = false
            write = st.wantsWrite
        case .staging, .clientHandshake, .serverHandshake, .httpResponse, .open, .closing:
            // Bounded by bytes both ways: reading stops while the application is behind on its
            // events (``FlowControl/inboundBudget``) or the peer is behind on reading what we
            // queued (``FlowControl/highWaterMark``: app messages, pongs, close replies, records).
            let inboundFull = st.events.isOverBudget && !st.abandoned
            let outboundFull = st.pendingBytes > flow.highWaterMark
            read = !st.endOfStream && !inboundFull && !outboundFull
            write = st.wantsWrite
        case .closed:
            return
        }
        if read != st.registeredRead || write != st.registeredWrite {
            st.registeredRead = read
            st.registeredWrite = write
            loop.setInterest(fd: fd, read: read, write: write)
        }
    }

    /// Adds the change in this channel's buffered bytes (queued events, the message being
    /// assembled, bytes to write) to its server's total, in steps of ``ServerContext/accountingGranule``
    /// so that small messages cost no atomic operation.
    func account(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard server != nil else { return }
        let total = st.lifecycle.isLive ? st.pendingBytes + st.events.bytes + st.assembling : 0
        let delta = total - st.reportedBytes
        if delta >= ServerContext.accountingGranule || delta <= -ServerContext.accountingGranule
            || (total == 0 && delta != 0) {
            st.reportedBytes = total
            w.bufferedDelta += delta
        }
    }
}
