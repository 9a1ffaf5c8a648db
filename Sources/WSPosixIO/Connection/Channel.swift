// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

/// The driver of one connection: the only code that moves bytes between a socket and the core
/// (read → handshake or `Connection.receive` → perform outputs → write), turns `nextDeadline`
/// into a loop timer, and hands events to the application.
///
/// Theory of operation: all mutable state is in ``ChannelState`` behind one mutex. The loop
/// thread takes it for readiness and timers; application tasks take it to send, close and pull
/// events, so a message goes from `send` to the socket without hopping to the loop (the caller
/// writes it directly when nothing is queued). Only the loop thread registers, deregisters and
/// closes the socket and sets timers; other threads ask it to with ``EventLoop/execute(_:)``.
final class Channel: LoopHandler, @unchecked Sendable {
    let loop: EventLoop
    let state: Lock<ChannelState>
    let role: Role
    let flow: FlowControl
    /// The remote address (the one connected to, or the accepted peer).
    let peer: SocketAddress?
    /// The server this channel belongs to (server side only).
    let server: ServerContext?
    /// Loop bookkeeping (loop thread only).
    var scheduledDeadline: Instant?

    init(loop: EventLoop, socket: consuming FileDescriptor, role: Role, phase: ChannelPhase,
         flow: FlowControl, peer: SocketAddress?, server: ServerContext?) {
        self.loop = loop
        self.role = role
        self.flow = flow
        self.peer = peer
        self.server = server
        self.state = Lock(ChannelState(socket: socket, phase: phase))
    }

    // MARK: loop side

    func handleReadiness(_ event: PollEvent) {
        var w = ChannelWakeups()
        state.withLock { st in
            if event.writable || (event.hangup && st.phase == .connecting) { onWritable(&st, &w) }
            if event.hangup && st.socket != nil && st.phase != .connecting {
                // Error or hang-up is reported even without interest, level-triggered: the peer
                // is gone, so read what is left whatever the pauses, then close (no spinning).
                if st.phase == .awaitingDecision || st.endOfStream {
                    if st.transportError == nil { st.transportError = .remoteHostClosed }
                    abortConnection(&st, &w)
                } else {
                    // Bounded like any read; the hang-up is level-triggered, so the loop comes
                    // back for the rest after serving the others.
                    let more = onReadable(&st, &w, draining: true)
                    if st.socket != nil && !st.endOfStream && !more { abortConnection(&st, &w) }
                }
            } else if event.readable && st.socket != nil && st.phase != .connecting {
                onReadable(&st, &w, draining: false)
            }
            settle(&st, &w)
            if w.inlineTarget != nil {
                // The batch goes to the event handler right after this lock (loop thread): mark
                // it now, saving ``deliverInline`` a lock round of its own.
                st.deliveringInline = true
                w.inlineMarked = true
            }
        }
        wake(w)
    }

    func handleTimer() {
        var w = ChannelWakeups()
        state.withLock { st in
            st.timerHint = nil
            let now = loop.now
            switch st.phase {
            case .connecting:
                if let d = st.phaseDeadline, now >= d { connectFailed(.timeout(.connect), &st, &w) }
            case .clientHandshake:
                if let step = st.clientHandshake?.handleTimeout(now: now) { handleClientStep(step, &st, &w) }
            case .serverHandshake:
                if let step = st.serverHandshake?.handleTimeout(now: now) { handleServerStep(step, &st, &w) }
            case .awaitingDecision:
                if let d = st.phaseDeadline, now >= d { decisionTimedOut(&st, &w) }
            case .closed:
                break
            case .httpResponse:
                if let d = st.phaseDeadline, now >= d { closeSocket(&st, &w) }
            case .open:
                if let d = st.connectionDeadline, now >= d {
                    loop.outputs.removeAll(keepingCapacity: true)
                    loop.outputs.append(contentsOf: st.connection!.handleTimeout(now: now))
                    perform(loop.outputs, &st, &w)
                }
                if st.socket != nil, let d = st.phaseDeadline, now >= d {
                    // The peer stopped reading while we wait to flush before closing.
                    abortConnection(&st, &w)
                }
            }
            settle(&st, &w)
        }
        wake(w)
    }

    /// Re-evaluates flushing, closing, interest and timers (loop thread; requested by other threads).
    func service() {
        var w = ChannelWakeups()
        state.withLock { st in settle(&st, &w) }
        wake(w)
    }

    /// Reads (and processes) at most ``readsPerWakeup`` buffers (1 MiB) per readiness event, so
    /// one busy peer cannot keep its loop from other connections' reads, timers and handshakes.
    static let readsPerWakeup = 4

    /// Reads what the socket holds, within the budget. Returns `true` when the budget ran out
    /// with more probably waiting (the loop comes back: epoll is level-triggered).
    @discardableResult
    private func onReadable(_ st: inout ChannelState, _ w: inout ChannelWakeups, draining: Bool) -> Bool {
        let buffer = loop.readBuffer
        for _ in 0..<Self.readsPerWakeup {
            guard let fd = st.socket?.raw, !st.endOfStream, st.phase != .awaitingDecision else { return false }
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
                if let error = transportEndOfStream(&st), st.phase == .clientHandshake {
                    connectFailed(error, &st, &w)  // e.g. a plain server that hung up on our ClientHello
                    return false
                }
                endOfStream(&st, &w)
                return false
            }
            if !st.hasTransport {
                feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), &st, &w)
            } else {
                var plain: [UInt8] = []
                do throws(WebSocketError) {
                    try st.transport!.unwrap(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), into: &plain)
                } catch {
                    writeTransportAlert(&st)
                    if st.phase == .clientHandshake {
                        connectFailed(error, &st, &w)  // the TLS error, not a handshake EOF
                        return false
                    }
                    st.transportError = error
                    endOfStream(&st, &w)
                    return false
                }
                let own = st.transport!.takeOutput()
                if !own.isEmpty { queueWire(own, &st) }
                plain.withUnsafeBytes { feed($0, &st, &w) }
            }
            // Draining (the peer hung up): read on to end of stream, within the budget.
            if !draining && (n < buffer.count || st.readPausedByApplication) { return false }
        }
        return true
    }

    private func onWritable(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard let fd = st.socket?.raw else { return }
        if st.phase == .connecting {
            let code = Sys.pendingError(fd)
            if code != 0 {
                connectFailed(WebSocketError(SystemError(errno: code, operation: "connect")), &st, &w)
            } else {
                tcpConnected(&st, &w)
            }
            return
        }
        st.wantsWrite = false
        flush(&st, &w)
    }

    /// Feeds bytes read from the socket to the machine of the current phase.
    private func feed(_ bytes: UnsafeRawBufferPointer, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        let now = loop.now
        switch st.phase {
        case .open:
            loop.outputs.removeAll(keepingCapacity: true)
            st.connection!.receive(bytes, now: now, into: &loop.outputs)
            perform(loop.outputs, &st, &w)
            if st.abandoned { eventsAnswered(&st, &w) }  // nobody will answer (Channel+Answers.swift)
        case .clientHandshake:
            if let step = st.clientHandshake?.receive(bytes, now: now) { handleClientStep(step, &st, &w) }
        case .serverHandshake:
            if let step = st.serverHandshake?.receive(bytes, now: now) { handleServerStep(step, &st, &w) }
        case .connecting, .awaitingDecision, .httpResponse, .closed:
            break  // an HTTP response is on its way out; what the peer sends now is ignored
        }
    }

    /// The peer closed its side (or the socket failed).
    private func endOfStream(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.endOfStream = true
        let now = loop.now
        switch st.phase {
        case .open:
            perform(st.connection!.receiveEndOfStream(now: now), &st, &w)
            if st.transportError != nil || st.pendingBytes == 0 { closeSocket(&st, &w) }
        case .clientHandshake:
            if let step = st.clientHandshake?.receiveEndOfStream(now: now) { handleClientStep(step, &st, &w) }
            if st.socket != nil { closeSocket(&st, &w) }
        case .httpResponse where st.transportError == nil && st.pendingBytes > 0:
            st.closeAfterFlush = true  // a half-closed peer still gets the whole response
        case .serverHandshake, .awaitingDecision, .httpResponse, .connecting:
            closeSocket(&st, &w)
        case .closed:
            break
        }
    }

    /// After any input: flush, close when done, fix the poller interest, set the timer.
    /// Loop thread only.
    func settle(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        if st.socket != nil && !st.wantsWrite && !st.deliveringInline { flush(&st, &w) }
        if st.socket != nil && st.transportError != nil && st.phase == .open {
            abortConnection(&st, &w)
        }
        if st.socket != nil && (st.closeAfterFlush || st.connectionIsClosed == true) {
            // A clean end over TLS sends close_notify first (at most once; nothing if sent).
            if st.hasTransport && st.transportError == nil && appendTransportClose(&st) && !st.wantsWrite {
                flush(&st, &w)
            }
            if st.pendingBytes == 0 {
                closeSocket(&st, &w)
            } else if st.phaseDeadline == nil {
                st.phaseDeadline = loop.now + (st.connection?.configuration.closeTimeout ?? .seconds(2))
            }
        }
        guard st.socket != nil else { return }
        updateInterest(&st)
        reschedule(&st)
    }

    private func reschedule(_ st: inout ChannelState) {
        // Per phase, and without an array or a copy of a machine: this runs after every read.
        var deadline = st.phaseDeadline
        let machine: Instant?
        switch st.phase {
        case .open: machine = st.connectionDeadline
        case .clientHandshake: machine = st.clientHandshake?.nextDeadline
        case .serverHandshake: machine = st.serverHandshake?.nextDeadline
        case .connecting, .awaitingDecision, .httpResponse, .closed: machine = nil
        }
        if let m = machine, deadline.map({ m < $0 }) ?? true { deadline = m }
        guard let deadline else { return }
        st.timerHint = min(deadline, st.timerHint ?? deadline)
        loop.schedule(self, at: deadline)
    }

    /// Sets the poller interest the state calls for (any thread, under the lock).
    func updateInterest(_ st: inout ChannelState) {
        guard let fd = st.socket?.raw else { return }
        let read: Bool
        switch st.phase {
        case .connecting, .awaitingDecision, .closed: read = false
        case .clientHandshake, .serverHandshake, .httpResponse, .open:
            // With an event handler, reading pauses while its replies are above the high-water mark.
            let repliesBacklogged = st.inlineSocket != nil && st.pendingBytes > flow.highWaterMark
            read = !st.endOfStream && (!st.readPausedByApplication || st.abandoned) && !repliesBacklogged
        }
        let write = st.wantsWrite || st.phase == .connecting
        if read != st.registeredRead || write != st.registeredWrite {
            st.registeredRead = read
            st.registeredWrite = write
            loop.setInterest(fd: fd, read: read, write: write)
        }
    }

    /// Runs the continuations collected under the lock.
    func wake(_ w: ChannelWakeups) {
        if let c = w.eventWaiter { c.resume(returning: w.event) }
        for c in w.senders { c.resume() }
        if let rare = w.rare, let c = rare.connectWaiter { c.resume(returning: rare.connectResult) }
        if let target = w.inlineTarget {
            if let handler = server?.onEvent {
                if loop.inEventLoop {
                    deliverInline(to: target, handler: handler, w)
                } else {
                    var unmarked = w
                    unmarked.inlineMarked = false
                    let batch = unmarked
                    loop.execute { [self] in deliverInline(to: target, handler: handler, batch) }
                }
            } else if w.inlineMarked {
                // No handler after all (cannot happen: only servers with one set a target).
                state.withLock { st in st.deliveringInline = false }
            }
        }
        if w.needsLoop { loop.execute { [self] in service() } }
        if let server {
            if w.finished { server.remove(self) }
            if let request = w.rare?.decide { server.decide(request, on: self) }
            if let head = w.rare?.answer { server.answer(head, on: self) }
            if w.opened { server.opened(self) }
        }
    }

    /// Calls the server's event handler for a batch (loop thread), then writes everything it
    /// queued with one call.
    private func deliverInline(to socket: WebSocket, handler: WebSocketServer.EventHandler, _ w: ChannelWakeups) {
        if !w.inlineMarked { state.withLock { $0.deliveringInline = true } }
        if let first = w.inlineFirst { handler(socket, first) }
        for event in w.inlineMore { handler(socket, event) }
        var after = ChannelWakeups()
        state.withLock { st in
            st.deliveringInline = false
            eventsAnswered(&st, &after)  // the handler has answered this batch (Channel+Answers.swift)
            settle(&st, &after)
        }
        if after.inlineTarget != nil || after.needsLoop || after.finished || !after.senders.isEmpty {
            wake(after)
        }
    }
}
