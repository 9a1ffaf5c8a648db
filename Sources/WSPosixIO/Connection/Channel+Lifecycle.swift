// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

// The channel's side of the lifecycle: starting (connect, accept), acting on the
// `LifecycleStep`s the phases return, the application's decisions, and ending. The transitions
// themselves are in ChannelLifecycle.swift.

extension Channel {
    // MARK: starting

    /// Client: registers the socket and starts the TCP connect; resumes when the WebSocket is
    /// open or the attempt failed. The waiting task's cancellation stops the attempt wherever
    /// it is (``WebSocketError/cancelled``).
    func startClient() async -> Result<Void, WebSocketError> {
        guard let peer else { return .failure(.invalidArgument("no address")) }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                state.withLock { st in st.connectWaiter = continuation }
                loop.execute { [self] in
                    var w = ChannelWakeups()
                    state.withLock { st in
                        do throws(SystemError) {
                            try loop.register(self, fd: fd, read: false, write: true)
                            st.registeredWrite = true
                            // Cancelled before this job ran (the handler's job found nothing started).
                            if st.connectCancelled {
                                fail(.cancelled, &st, &w)
                            } else if try Sys.connect(fd, peer) {
                                tcpUp(&st, &w)
                            }
                        } catch {
                            fail(WebSocketError(error), &st, &w)
                        }
                        settle(&st, &w)
                    }
                    wake(&w)
                }
            }
        } onCancel: {
            cancelConnect()
        }
    }

    /// The task waiting in ``startClient()`` was cancelled (any thread): an attempt under way
    /// ends with ``WebSocketError/cancelled``; one not started yet ends so as it starts (the
    /// flag, set here under the lock, is what the start job finds); one that already opened
    /// or failed is left as it is.
    private func cancelConnect() {
        state.withLock { st in st.connectCancelled = true }
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                guard st.connectWaiter != nil, st.registeredWrite || st.registeredRead, st.lifecycle.isLive else { return }
                fail(.cancelled, &st, &w)
            }
            wake(&w)
        }
    }

    /// Client: the connect finished (the socket is writable or hung up).
    func connectCompleted(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        let code = Sys.pendingError(fd)
        if code != 0 {
            fail(WebSocketError(SystemError(errno: code, operation: "connect")), &st, &w)
        } else {
            tcpUp(&st, &w)
        }
    }

    /// Server: registers an accepted socket and starts its stages or reads the request head.
    /// Loop thread. `refusal` (e.g. a 503 at the connection cap) is written at once instead.
    func startServer(refusal: HTTPResponse?) {
        var w = ChannelWakeups()
        state.withLock { st in
            do throws(SystemError) {
                try loop.register(self, fd: fd, read: true, write: false)
                st.registeredRead = true
            } catch {
                st.transportError = WebSocketError(error)
                closeSocket(&st, &w)
                return
            }
            if let refusal {
                take(st.lifecycle.respond(refusal, now: loop.now, &st.outbound), &st, &w)
            } else {
                tcpUp(&st, &w)
            }
            settle(&st, &w)
        }
        wake(&w)
    }

    /// TCP is up: stages, transport and handshake start (see ``Lifecycle/tcpUp(now:_:_:)``).
    private func tcpUp(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        try? Sys.setNoDelay(fd)
        st.localAddress = Sys.localAddress(fd)
        var reported = st.reportedPeer
        let step = st.lifecycle.tcpUp(now: loop.now, &st.outbound, &reported)
        st.reportedPeer = reported
        take(step, &st, &w)
    }

    // MARK: acting on the phases' steps

    /// Does what a ``LifecycleStep`` asks. The core's outputs are in `loop.outputs` (loop
    /// thread) or `outputs` (a decision applied elsewhere).
    func take(_ step: LifecycleStep, _ st: inout ChannelState, _ w: inout ChannelWakeups, inPlace: Bool = false) {
        switch step {
        case .none:
            return
        case .outputs(let assembling):
            st.assembling = assembling
            performLoopOutputs(&st, &w, inPlace: inPlace)
            if st.abandoned { eventsAnswered(&st, &w) }  // nobody will answer (Channel+Answers.swift)
            if st.events.updateBudget(assembling: assembling, flow: flow) { updateInterest(&st) }
        case .connected(let response, let request):
            st.response = response
            st.handshakeRequest = request
            st.tlsSession = st.lifecycle.inspectTransport { ($0 as? TLSTransport)?.session }
            opened(&st)
            if let c = st.connectWaiter {
                st.connectWaiter = nil
                w.connectWaiter = c
                w.connectResult = .success(())
            }
            perform(loop.outputs, &st, &w)
        case .upgradeRequest(let request):
            st.request = request
            // Behind a trusted HTTP proxy: report the client its forwarding headers name.
            if let trusted = server?.configuration.trustedForwarders,
               let client = ForwardedHeaders.reportedClient(direct: st.reportedPeer ?? peer, headers: request.headers, trusted: trusted) {
                st.reportedPeer = client
            }
            if server?.isShuttingDown == true {
                take(st.lifecycle.reject(HTTPResponse(status: 503, text: "Server shutting down\n"), now: loop.now, &st.outbound), &st, &w)
            } else if server?.hasUpgradeHandler == true {
                st.lifecycle.awaitDecision(until: loop.now + (server?.configuration.decisionTimeout ?? .seconds(10)))
                w.decide = request
            } else {
                accept(request, decision: .accept(), now: loop.now, &st, &w)
            }
        case .notAnUpgrade(let head):
            if server?.hasHTTPHandler == true {
                st.lifecycle.awaitDecision(until: loop.now + (server?.configuration.decisionTimeout ?? .seconds(10)))
                w.answer = head
            } else {
                take(st.lifecycle.respond(HTTPResponse.upgradeRequired, now: loop.now, &st.outbound), &st, &w)
            }
        case .accepted:
            opened(&st)
            if server?.onEvent != nil {
                st.inlineSocket = WebSocket(channel: self)
            } else {
                w.opened = true
            }
            perform(loop.outputs, &st, &w)
        case .responding:
            // `flush` half-closes once the response is written; over TLS close_notify follows
            // it instead (the TLS handshake may still be running when a refusal is queued).
            finishTransport(&st)
        case .failed(let error):
            fail(error, &st, &w)
        case .handshakeFailed(let error, let request):
            st.handshakeRequest = request
            st.tlsSession = st.lifecycle.inspectTransport { ($0 as? TLSTransport)?.session }
            fail(error, &st, &w)
        case .close:
            closeSocket(&st, &w)
        }
    }

    /// The connection opened: keep what the application may ask after it closes, and drop the
    /// handshake's timer. That one may be later than the core's first deadline (a keepalive,
    /// idle or message timeout shorter than the handshake timeout), and `reschedule`
    /// keeps a set timer between messages (assuming it is the core's): the settling after this
    /// sets the core's. Loop thread.
    private func opened(_ st: inout ChannelState) {
        loop.cancelTimer(self)
        st.timerHint = nil
        let negotiated = st.lifecycle.withConnection(&st.outbound) { c, _ in (c.subprotocol, c.extensions.map(\.name)) }
        if let (subprotocol, names) = negotiated {
            st.subprotocol = subprotocol
            st.extensionNames = names
            st.readsInSlices = !names.isEmpty
        }
    }

    /// The phase failed: before open it is the connection attempt's error, after it the
    /// transport's; the socket closes.
    func fail(_ error: WebSocketError, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        if st.connectWaiter != nil { st.connectError = error }
        st.transportError = error
        if st.outbound.wraps {
            // A failed transport's last bytes (a TLS alert telling the peer why) are written
            // once, if the socket takes them now.
            let alert = st.lifecycle.transportAlert()
            if !alert.isEmpty && st.pendingBytes == 0 { _ = alert.withUnsafeBytes { raw in try? Sys.write(fd, raw) } }
        }
        abortConnection(&st, &w)
    }

    // MARK: the application's decisions (server)

    /// Applies the application's decision on an upgrade request (any thread; the work runs on
    /// the loop thread, so the first events are delivered there, in order).
    func apply(_ decision: UpgradeDecision) {
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                guard st.lifecycle.phase == .awaitingDecision, let request = st.request else { return }
                accept(request, decision: decision, now: loop.now, &st, &w)
                settle(&st, &w)
            }
            wake(&w)
        }
    }

    /// Answers a plain HTTP request with the application's response (any thread); `headOnly`
    /// for a HEAD request.
    func respond(_ response: HTTPResponse, headOnly: Bool) {
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                guard st.lifecycle.phase == .awaitingDecision else { return }
                take(st.lifecycle.respond(response, headOnly: headOnly, now: loop.now, &st.outbound), &st, &w)
                settle(&st, &w)
            }
            wake(&w)
        }
    }

    private func accept(_ request: UpgradeRequest, decision: UpgradeDecision, now: Instant,
                        _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        loop.outputs.clearKeepingCapacity()
        switch decision {
        case .accept(let subprotocol, let extensions, let headers):
            let extensions = WebSocket.Compression.extensions(extensions, adding: server?.configuration.compression)
            let step = st.lifecycle.accept(request, subprotocol: subprotocol, extensions: extensions, headers: headers,
                                           configuration: server?.configuration.connection ?? .socketDefault, now: now,
                                           &st.outbound, &loop.outputs)
            take(step, &st, &w)
        case .reject(let response):
            take(st.lifecycle.reject(response, now: now, &st.outbound), &st, &w)
        }
    }

    /// Server, once the connection is open (after the lock that opened it, so the 101 response
    /// has been written when the socket took it, as on loopback and most links): gives the
    /// outbound array back, so that an idle connection holds no outbound storage.
    func releaseHandshakeStorage() {
        state.withLock { st in if st.outbound.isEmpty { st.outbound.removeAll() } }
    }

    // MARK: ending

    /// The application dropped its handle: discard events from now on and close (1001 if open).
    func abandon() {
        var w = ChannelWakeups()
        let now = MonotonicClock.now()
        state.withLock { st in
            st.abandoned = true
            st.events.discardAll()
            if st.events.updateBudget(assembling: 0, flow: flow) { updateInterest(&st) }
            let outputs = st.lifecycle.withConnection(&st.outbound) { c, _ -> [Connection.Output] in
                guard c.canSend else { return [] }
                return (try? c.close(code: .goingAway, now: now)) ?? []
            }
            if let outputs { perform(outputs, &st, &w) }
            w.needsLoop = true
        }
        wake(&w)
    }

    /// Closes the socket now, without a close handshake (the peer sees the connection drop).
    func disconnect() {
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                if st.transportError == nil { st.transportError = .closed }
                abortConnection(&st, &w)
            }
            wake(&w)
        }
    }

    /// Server shutdown: sends close 1001 to an open connection, 503 to a request awaiting the
    /// application's decision; drops one still sending its request head.
    func goAway() {
        var w = ChannelWakeups()
        let now = MonotonicClock.now()
        state.withLock { st in
            switch st.lifecycle.phase {
            case .open:
                let outputs = st.lifecycle.withConnection(&st.outbound) { c, _ -> [Connection.Output] in
                    guard c.canSend else { return [] }
                    return (try? c.close(code: .goingAway, reason: "server shutdown", now: now)) ?? []
                }
                if let outputs { perform(outputs, &st, &w) }
                if !st.wantsWrite { flush(&st, &w, now: now) }
            case .awaitingDecision:
                // The request was read: answer it (the application's late decision is ignored).
                _ = st.lifecycle.respond(HTTPResponse(status: 503, text: "Server shutting down\n"), now: now, &st.outbound)
            case .connecting, .staging, .serverHandshake, .clientHandshake, .httpResponse:
                st.lifecycle.finish(now: now)
            case .closing, .closed:
                break
            }
            w.needsLoop = true
        }
        wake(&w)
    }

    /// Ends the connection without a close handshake: the core reports 1006 (or its own
    /// reason), the socket closes. Loop thread.
    func abortConnection(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.outbound.removeAll()
        closeSocket(&st, &w)
    }

    /// Deregisters and closes the socket (exactly once), and settles everyone waiting. Loop thread.
    func closeSocket(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard st.lifecycle.isLive else { return }
        // The server stops counting the connection before the descriptor closes: a peer that
        // sees the close never finds it still in `connectionCount`.
        server?.remove(self)
        loop.deregister(fd: fd)
        // No timer outlives the socket, and the loop lets go of the channel now: a timer left
        // to expire held it (and all it owns) until its deadline, seconds later.
        loop.cancelTimer(self)
        st.timerHint = nil
        loop.outputs.clearKeepingCapacity()
        st.lifecycle.close(now: loop.now, &loop.outputs)  // closes the descriptor
        st.outbound.removeAll()
        st.sendStallDeadline = nil
        perform(loop.outputs, &st, &w)
        if st.events.ending == .open {
            let info = st.closeInfo ?? CloseInfo(code: .abnormalClosure, error: st.transportError ?? st.connectError ?? .remoteHostClosed)
            st.closeInfo = info
            enqueue(.closed(info), &st, &w)
        }
        if let c = st.connectWaiter {
            st.connectWaiter = nil
            w.connectWaiter = c
            w.connectResult = .failure(st.connectError ?? st.transportError ?? .remoteHostClosed)
        }
        w.addSenders(st.sendWaiters)
        st.sendWaiters.removeAll()
        account(&st, &w)
        w.finished = true
    }

    /// The socket is writable: write what is queued.
    func onWritable(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.wantsWrite = false
        flush(&st, &w, now: loop.now)
    }
}
