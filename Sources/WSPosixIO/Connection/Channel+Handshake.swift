// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

extension Channel {
    // MARK: client (RFC 6455 §4.1)

    /// Registers the socket and starts the TCP connect; resumes when the WebSocket is open or
    /// the attempt failed.
    func startClient(options: ClientHandshake.Options, connectDeadline: Instant,
                     transport: (@Sendable () -> any Transport)?) async -> Result<Void, WebSocketError> {
        guard let peer else { return .failure(.invalidArgument("no address")) }
        return await withCheckedContinuation { continuation in
            state.withLock { st in
                st.connectWaiter = continuation
                st.clientOptions = options
                st.phaseDeadline = connectDeadline
                st.transport = transport?()  // started once TCP is up
            }
            loop.execute { [self] in
                var w = ChannelWakeups()
                state.withLock { st in
                    guard let fd = st.socket?.raw else { return }
                    do throws(SystemError) {
                        try loop.register(self, fd: fd, read: false, write: true)
                        st.registeredWrite = true
                        if try Sys.connect(fd, peer) { tcpConnected(&st, &w) }
                    } catch {
                        connectFailed(WebSocketError(error), &st, &w)
                    }
                    settle(&st, &w)
                }
                wake(w)
            }
        }
    }

    /// TCP is up: send the request and wait for the response head.
    func tcpConnected(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard let fd = st.socket?.raw, let options = st.clientOptions else { return }
        try? Sys.setNoDelay(fd)
        st.localAddress = Sys.localAddress(fd)
        st.phaseDeadline = nil
        if let transport = st.transport, !startTransport(transport, &st) {
            connectFailed(st.transportError ?? .closed, &st, &w)
            return
        }
        do {
            // The handshake timeout starts now, after the connect (a separate timer).
            // Masking keys from a ChaCha20 keystream keyed once by the kernel (no syscall per frame).
            let handshake = try ClientHandshake(options: options, now: loop.now, entropy: ChaChaRandomNumberGenerator())
            st.outbound.append(contentsOf: handshake.requestBytes)
            st.clientHandshake = handshake
            st.phase = .clientHandshake
        } catch {
            connectFailed(.handshakeFailed(error), &st, &w)
        }
    }

    func connectFailed(_ error: WebSocketError, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.connectError = error
        closeSocket(&st, &w)
    }

    func handleClientStep(_ step: ClientHandshake.Step, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        switch step {
        case .needMoreData:
            return
        case .connected(let connection, let leftover, let response):
            st.dropHandshakes()
            st.connection = connection
            st.response = response
            st.phase = .open
            if let c = st.connectWaiter {
                st.connectWaiter = nil
                w.connectWaiter = c
                w.connectResult = .success(())
            }
            if !leftover.isEmpty {
                perform(st.connection!.receive(leftover, now: loop.now), &st, &w)
            }
        case .failed(let error):
            st.clientHandshake = nil
            connectFailed(error == .timedOut ? .timeout(.handshake) : .handshakeFailed(error), &st, &w)
        }
    }

    // MARK: server (RFC 6455 §4.2)

    /// Registers an accepted socket and starts reading the request head. Loop thread.
    /// `refusal` (e.g. a 503 at the connection cap) is written at once instead.
    func startServer(options: ServerHandshake.Options, refusal: [UInt8]?) {
        var w = ChannelWakeups()
        state.withLock { st in
            guard let fd = st.socket?.raw else { return }
            do throws(SystemError) {
                try loop.register(self, fd: fd, read: true, write: false)
                st.registeredRead = true
            } catch {
                st.transportError = WebSocketError(error)
                closeSocket(&st, &w)
                return
            }
            try? Sys.setNoDelay(fd)
            st.localAddress = Sys.localAddress(fd)
            if let transport = server?.makeTransport(), !startTransport(transport, &st) {
                closeSocket(&st, &w)
                return
            }
            if let refusal {
                startHTTPResponse(refusal, &st, &w)
            } else {
                st.serverHandshake = ServerHandshake(options: options, now: loop.now)
            }
            settle(&st, &w)
        }
        wake(w)
    }

    func handleServerStep(_ step: ServerHandshake.Step, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        switch step {
        case .needMoreData:
            return
        case .upgradeRequest(let request):
            st.request = request
            // Behind a trusted HTTP proxy: report the client its forwarding headers name.
            if let trusted = server?.configuration.trustedForwarders,
               let client = ForwardedHeaders.reportedClient(direct: st.reportedPeer ?? peer, headers: request.headers, trusted: trusted) {
                st.reportedPeer = client
            }
            if server?.isShuttingDown == true {
                let bytes = st.serverHandshake!.reject(status: 503, body: Array("Server shutting down\n".utf8))
                startHTTPResponse(bytes, &st, &w)
            } else if server?.hasUpgradeHandler == true {
                awaitDecision(&st)
                w.decide = request
            } else {
                accept(request, decision: .accept(), &st, &w)
            }
        case .notAnUpgrade(let head):
            if server?.hasHTTPHandler == true {
                awaitDecision(&st)
                w.answer = head
            } else {
                startHTTPResponse(HTTPResponse.upgradeRequired.bytes, &st, &w)
            }
        case .invalid(_, let response):
            startHTTPResponse(response, &st, &w)
        }
    }

    /// Hands the request to the application, which has ``WebSocketServer/Configuration/decisionTimeout``.
    private func awaitDecision(_ st: inout ChannelState) {
        st.phase = .awaitingDecision
        st.phaseDeadline = loop.now + (server?.configuration.decisionTimeout ?? .seconds(10))
    }

    /// The application did not decide in time: 503, then close (a late decision is ignored).
    func decisionTimedOut(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        let response = HTTPResponse(status: 503, headers: ["Retry-After": "1"],
                                    text: "Service Unavailable: no decision in time\n")
        startHTTPResponse(response.bytes, &st, &w)
    }

    /// Applies the application's decision on an upgrade request (any thread; the work runs on
    /// the loop thread, so the first events are delivered there, in order).
    func apply(_ decision: UpgradeDecision) {
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                guard st.phase == .awaitingDecision, st.socket != nil, let request = st.request else { return }
                accept(request, decision: decision, &st, &w)
                settle(&st, &w)
            }
            wake(w)
        }
    }

    /// Answers a plain HTTP request with the application's response (any thread).
    func respond(_ response: [UInt8]) {
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                guard st.phase == .awaitingDecision, st.socket != nil else { return }
                startHTTPResponse(response, &st, &w)
                settle(&st, &w)
            }
            wake(w)
        }
    }

    private func accept(_ request: UpgradeRequest, decision: UpgradeDecision,
                        _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        switch decision {
        case .accept(let subprotocol, let extensions, let headers):
            let now = MonotonicClock.now()
            do {
                let (response, connection, leftover) = try st.serverHandshake!.accept(
                    request, subprotocol: subprotocol,
                    extensions: WebSocket.Compression.extensions(extensions, adding: server?.configuration.compression),
                    headers: headers,
                    configuration: server?.configuration.connection ?? .socketDefault, now: now)
                st.dropHandshakes()
                st.outbound.append(contentsOf: response)
                st.connection = connection
                st.phase = .open
                st.phaseDeadline = nil  // the decision deadline; open connections use it to linger
                if server?.onEvent != nil {
                    st.inlineSocket = WebSocket(channel: self)
                } else {
                    w.opened = true
                }
                if !leftover.isEmpty { perform(st.connection!.receive(leftover, now: now), &st, &w) }
            } catch {
                // The application asked for something the handshake cannot write.
                startHTTPResponse(HTTPResponse(status: 500, text: "Internal Server Error: \(error.reasonText)").bytes, &st, &w)
            }
        case .reject(let response):
            let bytes = st.serverHandshake!.reject(status: response.status, reason: response.reason,
                                                   headers: response.headers, body: response.body)
            startHTTPResponse(bytes, &st, &w)
        }
    }

    /// Writes an HTTP response, half-closes, and closes once the peer has closed too (or after
    /// a short linger), so the peer reads the response instead of a reset.
    func startHTTPResponse(_ bytes: [UInt8], _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.dropHandshakes()
        st.phase = .httpResponse
        st.outbound.append(contentsOf: bytes)
        // Over TLS: close_notify follows the response, and no TCP half-close (the handshake
        // may still be running when a refusal is queued).
        if st.hasTransport { finishTransport(&st, &w) } else { st.shutdownAfterFlush = true }
        // See `flush`. Over TLS a response queued before the handshake finished (a timeout's
        // 408) waits for it, for the short linger only.
        st.phaseDeadline = MonotonicClock.now() + (st.hasTransport ? Self.httpLinger : Self.httpWriteIdleTimeout)
    }
}
