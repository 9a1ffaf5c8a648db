// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

extension Channel {
    private enum SendOutcome {
        case done
        case wait
        case failed(WebSocketError)
    }

    /// Queues a data message and writes it at once when nothing else is queued (no hop to the
    /// loop); suspends while more than the high-water mark is unwritten.
    ///
    /// `payload` (with its `kind`, `nil` for the connection's default) is the message's payload
    /// when it is one byte array: a large one may then go to the socket as it is (see
    /// ``queuePayload(_:kind:now:_:)``); otherwise `encode` appends the frames.
    nonisolated(nonsending) func send(payload: [UInt8]? = nil, kind: Message.Kind? = nil,
              _ encode: (inout Connection, Instant, inout [UInt8]) throws(UsageError) -> Void) async throws(WebSocketError) {
        let now = MonotonicClock.now()
        var w = ChannelWakeups()
        let outcome = state.withLock { st -> SendOutcome in
            guard st.phase == .open, st.socket != nil, st.hasConnection else { return .failed(.closed) }
            do throws(UsageError) {
                if try !queuePayload(payload, kind: kind, now: now, &st) { try encode(&st.connection!, now, &st.outbound) }
            } catch {
                return .failed(error == .sendAfterClose ? .closed : .usage(error))
            }
            if !st.wantsWrite && !st.deliveringInline { flush(&st, &w) }
            nudgeTimer(&st, &w)
            return st.pendingBytes > flow.highWaterMark ? .wait : .done
        }
        wake(w)
        switch outcome {
        case .done: return
        case .failed(let error): throw error
        case .wait: await waitForDrain()
        }
    }

    /// Queues a data message without waiting (for event handlers on the loop thread).
    func sendNow(payload: [UInt8]? = nil, kind: Message.Kind? = nil,
                 _ encode: (inout Connection, Instant, inout [UInt8]) throws(UsageError) -> Void) throws(WebSocketError) {
        let now = loop.inEventLoop ? loop.now : MonotonicClock.now()
        var w = ChannelWakeups()
        let failure = state.withLock { st -> WebSocketError? in
            guard st.phase == .open, st.socket != nil, st.hasConnection else { return .closed }
            do throws(UsageError) {
                if try !queuePayload(payload, kind: kind, now: now, &st) { try encode(&st.connection!, now, &st.outbound) }
            } catch {
                return error == .sendAfterClose ? .closed : .usage(error)
            }
            if !st.wantsWrite && !st.deliveringInline { flush(&st, &w) }
            nudgeTimer(&st, &w)
            return nil
        }
        wake(w)
        if let failure { throw failure }
    }

    /// Payloads at least this big go to the socket as they are, not copied into the outbound buffer.
    static let payloadSegmentThreshold = 16 << 10

    /// Server on plain TCP: queues a large payload by reference, after its frame header (one
    /// unmasked frame, RFC 6455 §5.2; the core checks the state and whether extensions or
    /// fragmentation need the whole encoding). Returns `false` when the caller must encode it.
    private func queuePayload(_ payload: [UInt8]?, kind: Message.Kind?, now: Instant,
                              _ st: inout ChannelState) throws(UsageError) -> Bool {
        guard let payload, payload.count >= Self.payloadSegmentThreshold, role == .server,
              !st.hasTransport, !st.writeShutDown else { return false }
        let kind = kind ?? st.connection!.configuration.defaultMessageKind
        let result = payload.withUnsafeBytes { raw -> Result<Bool, UsageError> in
            do throws(UsageError) {
                return .success(try st.connection!.sendHeader(for: raw, kind: kind, now: now, into: &st.outbound))
            } catch {
                return .failure(error)
            }
        }
        guard try result.get() else { return false }
        st.segments.append(OutboundSegment(at: st.outbound.count, bytes: payload))
        st.segmentBytes += payload.count
        return true
    }

    /// Suspends until the unwritten bytes fall to the low-water mark or the socket closes.
    nonisolated(nonsending) private func waitForDrain() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { st -> Bool in
                if st.pendingBytes <= flow.lowWaterMark || st.socket == nil { return true }
                st.sendWaiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    /// Runs a control command (ping, pong, close) against the core and performs its outputs.
    func command(_ body: (inout Connection, Instant) throws(UsageError) -> [Connection.Output]) throws(WebSocketError) {
        let now = MonotonicClock.now()
        var w = ChannelWakeups()
        let failure = state.withLock { st -> WebSocketError? in
            guard st.phase == .open, st.socket != nil, st.hasConnection else { return .closed }
            do throws(UsageError) {
                let outputs = try body(&st.connection!, now)
                perform(outputs, &st, &w)
            } catch {
                switch error {
                case .sendAfterClose, .alreadyClosing: return .closed
                default: return .usage(error)
                }
            }
            if !st.wantsWrite && !st.deliveringInline { flush(&st, &w) }
            w.needsLoop = true  // the core's timers changed (close timeout, ...)
            return nil
        }
        wake(w)
        if let failure { throw failure }
    }

    /// Asks the loop to move its timer earlier when the core's next deadline now comes first.
    private func nudgeTimer(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        if st.transportError != nil { w.needsLoop = true; return }
        guard let d = st.connectionDeadline else { return }
        if st.timerHint.map({ d < $0 }) ?? true {
            st.timerHint = d
            w.needsLoop = true
        }
    }

    // MARK: events

    /// Events a consumer takes from the backlog before ``nextEvent()`` yields once.
    static let eventsBetweenYields = 64

    /// The next event, suspending until one arrives; `nil` after `.closed` was returned, or when
    /// the waiting task is cancelled.
    nonisolated(nonsending) func nextEvent() async -> WebSocketEvent? {
        enum Next { case event(WebSocketEvent), yieldThen(WebSocketEvent), end, wait }
        var answered = ChannelWakeups()
        let first = state.withLock { st -> Next in
            if let e = popEvent(&st) {
                // A consumer served from the backlog never suspends; let others (on its loop)
                // run now and then.
                st.eventStreak += 1
                if st.eventStreak < Self.eventsBetweenYields { return .event(e) }
                st.eventStreak = 0
                return .yieldThen(e)
            }
            st.eventStreak = 0
            // Back for more with nothing left: everything delivered has been handled, so a
            // close held for the answers goes out now (Channel+Answers.swift).
            eventsAnswered(&st, &answered)
            if let e = popEvent(&st) { return .event(e) }
            return st.closedEventTaken ? .end : .wait
        }
        wake(answered)
        switch first {
        case .event(let e): return e
        case .yieldThen(let e):
            await Task.yield()
            return e
        case .end: return nil
        case .wait: break
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (c: UnsafeContinuation<WebSocketEvent?, Never>) in
                enum Now { case event(WebSocketEvent), end, parked }
                let now = state.withLock { st -> Now in
                    if let e = popEvent(&st) { return .event(e) }
                    if st.closedEventTaken || Task.isCancelled { return .end }
                    precondition(st.eventWaiter == nil, "a WebSocket's events have one consumer at a time")
                    st.eventWaiter = c
                    return .parked
                }
                switch now {
                case .event(let e): c.resume(returning: e)
                case .end: c.resume(returning: nil)
                case .parked: break
                }
            }
        } onCancel: {
            // A cancelled consumer stops waiting (iteration ends); the connection stays as it is.
            let waiter = state.withLock { st -> UnsafeContinuation<WebSocketEvent?, Never>? in
                defer { st.eventWaiter = nil }
                return st.eventWaiter
            }
            waiter?.resume(returning: nil)
        }
    }

    private func popEvent(_ st: inout ChannelState) -> WebSocketEvent? {
        guard st.bufferedEventCount > 0 else { return nil }
        let e = st.events[st.eventsHead]
        st.eventsHead += 1
        if st.eventsHead == st.events.count {
            if st.events.capacity > 16 { st.events = [] } else { st.events.removeAll(keepingCapacity: true) }
            st.eventsHead = 0
        }
        if case .closed = e { st.closedEventTaken = true }
        // Resume reading once half the backlog is consumed.
        if st.readPausedByApplication && st.bufferedEventCount <= flow.maxBufferedEvents / 2 {
            st.readPausedByApplication = false
            updateInterest(&st)
        }
        return e
    }

    // MARK: ending

    /// The application dropped its handle: discard events from now on and close (1001 if open).
    func abandon() {
        var w = ChannelWakeups()
        state.withLock { st in
            st.abandoned = true
            st.events = []; st.eventsHead = 0
            if st.readPausedByApplication {
                st.readPausedByApplication = false
                updateInterest(&st)
            }
            if st.phase == .open, st.connection?.canSend == true {
                if let outputs = try? st.connection!.close(code: .goingAway, now: MonotonicClock.now()) {
                    perform(outputs, &st, &w)
                }
            }
            w.needsLoop = true
        }
        wake(w)
    }

    /// Closes the socket now, without a close handshake (the peer sees the connection drop).
    func disconnect() {
        loop.execute { [self] in
            var w = ChannelWakeups()
            state.withLock { st in
                if st.transportError == nil { st.transportError = .closed }
                abortConnection(&st, &w)
            }
            wake(w)
        }
    }

    /// Server shutdown: sends close 1001 to an open connection, 503 to a request awaiting the
    /// application's decision; drops one still sending its request head.
    func goAway() {
        var w = ChannelWakeups()
        state.withLock { st in
            switch st.phase {
            case .open:
                if st.connection?.canSend == true,
                   let outputs = try? st.connection!.close(code: .goingAway, reason: "server shutdown", now: MonotonicClock.now()) {
                    perform(outputs, &st, &w)
                    if !st.wantsWrite { flush(&st, &w) }
                }
            case .awaitingDecision where st.socket != nil:
                // The request was read: answer it (the application's late decision is ignored).
                startHTTPResponse(HTTPResponse(status: 503, text: "Server shutting down\n").bytes, &st, &w)
            case .serverHandshake, .awaitingDecision, .connecting, .clientHandshake, .httpResponse:
                st.closeAfterFlush = true
            case .closed:
                break
            }
            w.needsLoop = true
        }
        wake(w)
    }
}
