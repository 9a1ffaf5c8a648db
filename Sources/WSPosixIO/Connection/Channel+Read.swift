// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

// The read path, straight down: socket → `Lifecycle.receive` (stage, transport, handshake or
// core) → the step it returns → the core's outputs → events queued or handed over.

extension Channel {
    /// Reads (and processes) at most ``readsPerWakeup`` buffers (1 MiB) per readiness event, so
    /// one busy peer cannot keep its loop from other connections' reads, timers and handshakes.
    static let readsPerWakeup = 4

    /// The size of each read while ``ChannelState/readsInSlices``: the inbound budget over
    /// 1,024, at least 1 KiB, at most the whole buffer (4 KiB by default).
    ///
    /// The budget is looked at after each read, and one read's bytes all reach the core, which
    /// completes every message they hold. Compressed, a byte can inflate to 1,032 (deflate's
    /// longest match, 258 bytes, coded in two bits): one 256 KiB read carried 64 messages of
    /// 16 MiB - 16 bytes of zeros (16,294 bytes each, context takeover) and `ws serve` held
    /// 336 MiB for the one peer. Cut this way, what one read completes inflates to about the
    /// budget, plus the one message its first bytes finish (``Connection/Configuration/maxMessageSize``).
    static func slicedReadSize(_ flow: FlowControl) -> Int {
        min(EventLoop.readBufferSize, max(1 << 10, flow.inboundBudget >> 10))
    }

    /// Reads what the socket holds, within the budget. Returns `true` when the budget ran out
    /// with more probably waiting (the loop comes back: epoll is level-triggered).
    @discardableResult
    func onReadable(_ st: inout ChannelState, _ w: inout ChannelWakeups, draining: Bool) -> Bool {
        if st.readsInSlices { return onReadableInSlices(&st, &w, draining: draining) }
        return readLoop(&st, &w, draining: draining, into: loop.readBuffer, reads: Self.readsPerWakeup)
    }

    /// ``onReadable(_:_:draining:)`` with reads cut to ``slicedReadSize(_:)``, as many more of
    /// them (the same bytes per wakeup). Sliced reads start at the buffer's start, so in-place
    /// messages' ranges in `loop.readBuffer` hold. (Kept apart: computing the sizes in the plain
    /// path cost each read there some 30 instructions.)
    @inline(never)
    private func onReadableInSlices(_ st: inout ChannelState, _ w: inout ChannelWakeups, draining: Bool) -> Bool {
        let whole = loop.readBuffer
        let size = Self.slicedReadSize(flow)
        guard size < whole.count else { return readLoop(&st, &w, draining: draining, into: whole, reads: Self.readsPerWakeup) }
        return readLoop(&st, &w, draining: draining, into: UnsafeMutableRawBufferPointer(rebasing: whole[0 ..< size]),
                    reads: Self.readsPerWakeup * (whole.count / size))
    }

    /// Up to `reads` reads into `buffer` (the loop's read buffer or its start).
    @inline(__always)
    private func readLoop(_ st: inout ChannelState, _ w: inout ChannelWakeups, draining: Bool,
                          into buffer: UnsafeMutableRawBufferPointer, reads: Int) -> Bool {
        // In place for the server's message handler, or for an async consumer waiting on this
        // loop in `next(message:)` with nothing queued (Channel+InPlace.swift).
        let inPlace = st.inlineSocket != nil ? server?.hasMessageHandler == true
            : st.eventWaiter != nil && st.waiterTakesInPlace && !draining && st.events.isEmpty && st.inPlaceEnd == 0
        for _ in 0..<reads {
            guard !st.endOfStream, st.lifecycle.isLive, st.lifecycle.phase != .awaitingDecision else { return false }
            let n: Int?
            do {
                n = try Sys.read(fd, into: buffer)
            } catch {
                st.transportError = WebSocketError(error)
                endOfStream(&st, &w)
                return false
            }
            guard let n else { return false }
            if n == 0 {
                if st.outbound.wraps, let error = st.lifecycle.transportEndOfStream() {
                    // Not a clean end (TLS without close_notify). A refusal whose head came
                    // (authenticated) and whose body ran to the end is still reported as that
                    // refusal (its body may be cut short); before a head, the TLS error is it.
                    if st.lifecycle.phase == .clientHandshake && !st.lifecycle.isCollectingRefusalBody {
                        fail(error, &st, &w)  // e.g. a plain server that hung up on our ClientHello
                        return false
                    }
                    if st.transportError == nil { st.transportError = error }
                }
                endOfStream(&st, &w)
                return false
            }
            loop.outputs.clearKeepingCapacity()
            // With a message handler, whole messages stay where they lie in the read buffer.
            var placed: LifecycleStep? = nil
            if inPlace {
                loop.inPlace.clearKeepingCapacity()
                placed = st.lifecycle.receiveInPlace(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]),
                                                     now: loop.now, &loop.outputs, &loop.inPlace)
            }
            if let placed {
                if case .outputs(let assembling) = placed, loop.outputs.isEmpty, !st.abandoned, !loop.inPlace.isEmpty,
                   st.inlineSocket == nil ? loop.inPlace.count <= Int(UInt16.max) : w.inlineTarget == nil {
                    // Only messages, with nothing to perform (the usual read; ``take`` would find
                    // nothing else to do). For the message handler with no event before them,
                    // they are the batch, in order (`outputIndex` 0: before any event); for the
                    // async consumer, they are lent to it (Channel+InPlace.swift).
                    st.assembling = assembling
                    if let target = st.inlineSocket {
                        w.inlineTarget = target
                        w.inPlaceCount = loop.inPlace.count
                    } else {
                        lendInPlace(loop.inPlace.count, &st, &w)
                    }
                    // (Nothing queued, not over budget, nothing assembling: the budget stands.)
                    if (assembling != 0 || !st.events.isEmpty || st.events.isOverBudget)
                        && st.events.updateBudget(assembling: assembling, flow: flow) { updateInterest(&st) }
                } else {
                    take(placed, &st, &w, inPlace: true)
                }
            } else {
                // A stage may report the client (a PROXY header); the phases only ever set it, so
                // it starts empty (reading the stored one cost a retain per read).
                var reported: SocketAddress? = nil
                let step = st.lifecycle.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: loop.now,
                                                &st.outbound, &loop.outputs, &reported)
                if let reported { st.reportedPeer = reported }
                // The peer ended its stream inside the transport (a TLS close_notify): nothing
                // more can arrive, and a peer that keeps TCP open would otherwise hold the
                // connection forever. Handled as the socket's end of stream, after this read.
                let transportEnded = st.outbound.wraps && st.lifecycle.transportReceivedEndOfStream()
                if case .outputs(let assembling) = step, !transportEnded, !draining, w.inlineTarget == nil, let target = st.inlineSocket,
                   server?.hasMessageHandler == false, !st.abandoned, st.events.ending == .open, st.inPlaceEnd == 0,
                   Self.onlyMessages(loop.outputs) {
                    // Only whole messages, for the event handler, with nothing before them (the
                    // usual read): they stay in the loop's outputs and go to the handler from
                    // there, moved (``deliverOutputs(_:_:)``), with nothing to perform.
                    st.assembling = assembling
                    w.inlineTarget = target
                    w.outputMessages = loop.outputs.count
                    if st.events.updateBudget(assembling: assembling, flow: flow) { updateInterest(&st) }
                    return n == buffer.count  // (the loop comes back for more: level-triggered)
                }
                if case .failed = step, !loop.outputs.isEmpty {
                    // The transport failed on a record after good ones in this read (a TLS
                    // record that does not decrypt): what those carried reached the core, and
                    // its messages are delivered before the failure, as over plain TCP.
                    performLoopOutputs(&st, &w)
                }
                take(step, &st, &w)
                if transportEnded && st.lifecycle.isLive && !st.endOfStream {
                    endOfStream(&st, &w)
                    return false
                }
            }
            // Messages left in the read buffer stay there until the handler has seen them (right
            // after this lock): no further read into it in this wakeup. The loop comes back for
            // the rest (level-triggered); while draining after a hang-up, `true` says so
            // (`false` would end the connection unread).
            if w.inPlaceCount > 0 { return draining || n == buffer.count }
            // Over a byte budget, the rest stays in the kernel (the peer's TCP window closes).
            if st.events.isOverBudget || st.pendingBytes > flow.highWaterMark { return false }
            // Draining (the peer hung up): read on to end of stream, within the budget.
            if !draining && n < buffer.count { return false }
        }
        return true
    }

    /// Whether `outputs` are one or more whole data messages and nothing else.
    static func onlyMessages(_ outputs: [Connection.Output]) -> Bool {
        guard !outputs.isEmpty else { return false }
        for output in outputs {
            guard case .deliver(.message) = output else { return false }
        }
        return true
    }

    /// The peer closed its side (or the socket failed).
    func endOfStream(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.endOfStream = true
        loop.outputs.clearKeepingCapacity()
        var reported: SocketAddress? = nil  // set only by a stage that reports the client
        let step = st.lifecycle.receiveEndOfStream(now: loop.now, pending: st.pendingBytes, &st.outbound,
                                                   &loop.outputs, &reported)
        if let reported { st.reportedPeer = reported }
        take(step, &st, &w)
    }

    /// Performs the core's outputs in order (any thread, under the lock). Closing the socket is
    /// left to ``settle(_:_:)`` on the loop thread.
    func perform(_ outputs: [Connection.Output], _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        for output in outputs { perform(output, &st, &w) }
    }

    /// Performs the loop's outputs array (loop thread; what a read produced), moving each
    /// output out instead of copying it: a copy retained its payload, and clearing the array
    /// before the next read released it again (two reference-count calls per message).
    ///
    /// After an in-place read (`inPlace`), the messages in `loop.inPlace` join the batch for the
    /// message handler where they arrived among the outputs: each one's `outputIndex` is
    /// rewritten to the number of batch events that come before it, the order
    /// ``deliverInline(to:handler:_:)`` follows. Without a message handler they were read for
    /// the async consumer: lent to it when they follow all the read's other outputs, else
    /// queued as events (copied) in their place (Channel+InPlace.swift).
    func performLoopOutputs(_ st: inout ChannelState, _ w: inout ChannelWakeups, inPlace: Bool = false) {
        let messages = inPlace ? loop.inPlace.count : 0
        // For the async consumer, messages that follow every output (the common case: a
        // message completed from the previous read is the only output before them) are lent
        // after the outputs are performed; others are copied into events in their place.
        let lend = messages > 0 && st.inlineSocket == nil && !st.abandoned
            && loop.inPlace[0].outputIndex == loop.outputs.count && messages <= Int(UInt16.max)
        var i = 0, m = lend ? messages : 0
        defer { if lend { lendInPlace(messages, &st, &w) } }
        while true {
            while m < messages && loop.inPlace[m].outputIndex == i {
                if let target = st.inlineSocket {
                    w.inlineTarget = target
                    loop.inPlace[m].outputIndex = w.inlineEventCount
                    w.inPlaceCount = m + 1
                } else {
                    // Read in place for the async consumer, but among other events: queued,
                    // copied, in order.
                    enqueue(copiedEvent(loop.inPlace[m]), &st, &w)
                }
                m += 1
            }
            guard i < loop.outputs.count else { return }
            let output = loop.outputs.withUnsafeMutableBufferPointer { buffer -> Connection.Output in
                let slot = buffer.baseAddress! + i
                let output = slot.move()
                slot.initialize(to: .shutdownWrite)  // no payload: nothing to release when cleared
                return output
            }
            perform(output, &st, &w)
            i += 1
        }
    }

    private func perform(_ output: consuming Connection.Output, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        switch consume output {
        case .write(let bytes):
            if !st.writeShutDown && st.lifecycle.isLive { st.outbound.append(bytes) }
        case .deliver(let event):
            deliver(event, &st, &w)
        case .shutdownWrite:
            finishTransport(&st)
            st.shutdownAfterFlush = true
        case .closeTransport:
            // The core is finished: write what it queued (its close frame, then a
            // transport's closing bytes), then close.
            finishTransport(&st)
            st.lifecycle.finish(now: loop.inEventLoop ? loop.now : MonotonicClock.now())
            w.needsLoop = true
        }
    }

    /// A clean end over a transport: its closing bytes (TLS close_notify) go after everything
    /// queued.
    func finishTransport(_ st: inout ChannelState) {
        guard st.outbound.wraps, st.transportError == nil, st.lifecycle.isLive else { return }
        if let error = st.lifecycle.closeTransport(&st.outbound) {
            st.transportError = error
            st.outbound.removeAll()
        }
    }

    /// Maps a core event to the application's and queues it.
    private func deliver(_ event: consuming Event, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        switch consume event {
        case .message(.text(let s)): enqueue(.text(s), &st, &w)
        case .message(.binary(let b)): enqueue(.binary(b), &st, &w)
        case .fragment(let f): enqueue(.fragment(f), &st, &w)
        case .ping(let p): enqueue(.ping(p), &st, &w)
        case .pong(let p): enqueue(.pong(p), &st, &w)
        case .closeReceived: break  // the `.closed` event follows with the peer's code and reason
        case .closed(let reason):
            let info = closeInfo(for: reason, transportError: st.transportError)
            st.closeInfo = info
            enqueue(.closed(info), &st, &w)
            w.needsLoop = true
        }
    }

    func closeInfo(for reason: CloseReason, transportError: WebSocketError?) -> CloseInfo {
        switch reason {
        case .handshakeCompleted(let peer, _):
            return CloseInfo(code: peer.code, reason: peer.reason, closeReason: reason)
        case .protocolError(let e):
            return CloseInfo(code: e.closeCode, closeReason: reason, error: .protocolError(e))
        case .abnormal:
            return CloseInfo(code: .abnormalClosure, closeReason: reason, error: transportError ?? .remoteHostClosed)
        case .timedOut(.closeHandshake):
            return CloseInfo(code: .abnormalClosure, closeReason: reason, error: .timeout(.closeHandshake))
        case .timedOut(.keepalive):
            return CloseInfo(code: reason.code, closeReason: reason, error: .timeout(.keepalive))
        case .timedOut(.message):
            return CloseInfo(code: reason.code, closeReason: reason, error: .timeout(.message))
        }
    }
}
