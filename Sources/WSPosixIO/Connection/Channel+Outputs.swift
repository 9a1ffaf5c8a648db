// SPDX-License-Identifier: Apache-2.0
import WSProtocol

extension Channel {
    /// Performs the core's outputs in order (any thread, under the lock). Closing the socket is
    /// left to ``settle(_:_:)`` on the loop thread.
    func perform(_ outputs: [Connection.Output], _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        for output in outputs {
            switch output {
            case .write(let bytes):
                if st.socket != nil && !st.writeShutDown { st.outbound.append(contentsOf: bytes) }
            case .deliver(let event):
                deliver(event, &st, &w)
            case .shutdownWrite:
                if st.hasTransport { finishTransport(&st, &w) }
                st.shutdownAfterFlush = true
            case .closeTransport:
                if st.hasTransport { finishTransport(&st, &w) }
                st.closeAfterFlush = true
                w.needsLoop = true
            }
        }
    }

    /// Maps a core event to the application's and queues it.
    private func deliver(_ event: Event, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        switch event {
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
        }
    }

    /// Queues an event, or hands it straight to a waiting consumer; pauses reading when the
    /// application falls `maxBufferedEvents` behind.
    func enqueue(_ event: WebSocketEvent, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard !st.closedEventQueued else { return }
        if case .closed = event { st.closedEventQueued = true }
        if let target = st.inlineSocket {
            if case .closed = event {
                st.closedEventTaken = true
                st.inlineSocket = nil  // breaks the channel ↔ handle cycle; released after the lock
            }
            w.inlineTarget = target
            if w.inlineFirst == nil { w.inlineFirst = event } else { w.inlineMore.append(event) }
            return
        }
        if st.abandoned {
            if case .closed = event { st.closedEventTaken = true }
            return
        }
        if let waiter = st.eventWaiter, st.bufferedEventCount == 0 {
            st.eventWaiter = nil
            if case .closed = event { st.closedEventTaken = true }
            w.eventWaiter = waiter
            w.event = event
            return
        }
        st.events.append(event)
        if st.bufferedEventCount >= flow.maxBufferedEvents && !st.readPausedByApplication {
            st.readPausedByApplication = true
            updateInterest(&st)
        }
    }

    /// The most bytes one ``flush(_:_:)`` writes (in calls of at most ``writeChunk``) before
    /// leaving the rest to the loop's next round, so a big message cannot monopolise the loop.
    static let writeBudget = 1 << 20
    static let writeChunk = 256 << 10
    /// Plain HTTP responses: how long writing may stall, and how long to wait for the peer to
    /// close once it is written.
    static let httpWriteIdleTimeout: Duration = .seconds(10)
    static let httpLinger: Duration = .seconds(2)

    /// Writes what is queued with one call (more only if the kernel takes it all and more is
    /// left). Any thread, under the lock.
    func flush(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard let fd = st.socket?.raw, !st.writeShutDown else {
            st.resetOutbound()
            return
        }
        if st.hasTransport && st.outbound.count > st.plainStart { wrapPlaintext(&st, &w) }
        var budget = Self.writeBudget
        let pendingBefore = st.pendingBytes
        defer {
            // A plain HTTP response may take a while to reach a slow reader: its deadline is an
            // idle timeout while it is written, then a short linger for the peer to close.
            if st.phase == .httpResponse && st.socket != nil && st.pendingBytes < pendingBefore {
                st.phaseDeadline = MonotonicClock.now() + (st.pendingBytes == 0 ? Self.httpLinger : Self.httpWriteIdleTimeout)
            }
        }
        while st.pendingBytes > 0 {
            if budget <= 0 {
                // Fairness: the rest goes out when the loop comes back (EPOLLOUT is level-triggered).
                if !st.wantsWrite {
                    st.wantsWrite = true
                    updateInterest(&st)
                }
                break
            }
            let written: Int?
            let result: Result<Int?, SystemError>
            if st.segmentHead < st.segments.count {
                result = writeGathered(fd, limit: budget, &st)
            } else {
                let start = st.outboundStart
                let end = start + min(st.pendingBytes, Self.writeChunk)
                result = st.outbound.withUnsafeBytes { raw -> Result<Int?, SystemError> in
                    do throws(SystemError) {
                        return .success(try Sys.write(fd, UnsafeRawBufferPointer(rebasing: raw[start..<end])))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            switch result {
            case .success(let n): written = n
            case .failure(let error):
                st.transportError = WebSocketError(error)
                st.resetOutbound()
                w.needsLoop = true
                written = nil
            }
            if st.transportError != nil { break }
            guard let written else {
                if !st.wantsWrite {
                    st.wantsWrite = true
                    updateInterest(&st)
                }
                break
            }
            advance(by: written, &st)
            budget -= written
        }
        if st.pendingBytes == 0 {
            // Keep a small buffer for the next messages; give big ones back (idle memory).
            // (Idle budget: a few KiB per connection, so only a small buffer is kept.)
            if st.outbound.capacity > 4 << 10 {
                st.outbound = []
            } else if !st.outbound.isEmpty {
                st.outbound.removeAll(keepingCapacity: true)
            }
            st.outboundStart = 0
            st.plainStart = 0
            if st.segments.capacity > 0 { st.segments = [] }
            st.segmentHead = 0
            st.segmentOffset = 0
            if st.wantsWrite {
                st.wantsWrite = false
                updateInterest(&st)
            }
            if st.shutdownAfterFlush && !st.writeShutDown && st.socket != nil {
                st.writeShutDown = true
                Sys.shutdownWrite(fd)
            }
        } else if st.outboundStart > (1 << 20) && st.outboundStart > st.outbound.count / 2 {
            st.outbound.removeFirst(st.outboundStart)
            st.plainStart -= st.outboundStart
            for i in st.segmentHead..<st.segments.count { st.segments[i].at -= st.outboundStart }
            st.outboundStart = 0
        }
        if !st.sendWaiters.isEmpty && (st.pendingBytes <= flow.lowWaterMark || st.socket == nil) {
            w.senders.append(contentsOf: st.sendWaiters)
            st.sendWaiters.removeAll()
        }
    }

    /// Writes with one gathered call: the outbound bytes before the first unwritten payload
    /// segment, that segment (from where a partial write left it), and the outbound bytes after
    /// it up to the next segment; at most `limit` bytes.
    private func writeGathered(_ fd: Int32, limit: Int, _ st: inout ChannelState) -> Result<Int?, SystemError> {
        let head = st.segments[st.segmentHead]
        let next = st.segmentHead + 1 < st.segments.count ? st.segments[st.segmentHead + 1].at : st.outbound.count
        let before = st.outboundStart ..< head.at
        let after = head.at ..< next
        let offset = st.segmentOffset
        return st.outbound.withUnsafeBytes { out in
            head.bytes.withUnsafeBytes { payload in
                // Each part only after the whole of the one before it, at most `limit` bytes.
                var left = limit
                func take(_ part: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
                    let n = min(part.count, left)
                    left -= n
                    return UnsafeRawBufferPointer(rebasing: part[0..<n])
                }
                let first = take(UnsafeRawBufferPointer(rebasing: out[before]))
                let second = take(UnsafeRawBufferPointer(rebasing: payload[offset...]))
                let third = take(UnsafeRawBufferPointer(rebasing: out[after]))
                do throws(SystemError) {
                    return .success(try Sys.writev(fd, first, second, third))
                } catch {
                    return .failure(error)
                }
            }
        }
    }

    /// Moves past `written` bytes: outbound bytes and payload segments, in their order.
    private func advance(by written: Int, _ st: inout ChannelState) {
        var n = written
        while n > 0 {
            if st.segmentHead < st.segments.count && st.outboundStart == st.segments[st.segmentHead].at {
                let size = st.segments[st.segmentHead].bytes.count
                let k = min(n, size - st.segmentOffset)
                st.segmentOffset += k
                st.segmentBytes -= k
                n -= k
                if st.segmentOffset == size {
                    st.segments[st.segmentHead].bytes = []  // the application's array is released
                    st.segmentHead += 1
                    st.segmentOffset = 0
                }
            } else {
                let end = st.segmentHead < st.segments.count ? st.segments[st.segmentHead].at : st.outbound.count
                let k = min(n, end - st.outboundStart)
                st.outboundStart += k
                n -= k
            }
        }
        if st.segmentHead == st.segments.count && st.segmentHead > 0 {
            st.segments.removeAll(keepingCapacity: true)
            st.segmentHead = 0
        }
    }

    /// Queues bytes that go to the socket as they are (a transport's own records), ahead of
    /// any plaintext not yet wrapped.
    func queueWire(_ bytes: [UInt8], _ st: inout ChannelState) {
        st.outbound.insert(contentsOf: bytes, at: st.plainStart)
        st.plainStart += bytes.count
    }

    /// Installs a transport and queues its opening bytes (TCP is up). Returns `false` on failure.
    func startTransport(_ transport: any Transport, _ st: inout ChannelState) -> Bool {
        var t = transport
        do throws(WebSocketError) {
            let hello = try t.start()
            st.transport = t
            queueWire(hello, &st)
            return true
        } catch {
            st.transportError = error
            st.connectError = error
            return false
        }
    }

    /// Passes the plaintext at the end of the outbound buffer through the transport (TLS seam).
    private func wrapPlaintext(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        var wire: [UInt8] = []
        let plain = Array(st.outbound[st.plainStart...])
        let failure = plain.withUnsafeBytes { raw -> WebSocketError? in
            do throws(WebSocketError) { try st.transport!.wrap(raw, into: &wire); return nil } catch { return error }
        }
        if let failure {
            st.transportError = failure
            st.resetOutbound()
            w.needsLoop = true
            return
        }
        st.outbound.removeSubrange(st.plainStart...)
        st.outbound.append(contentsOf: wire)
        st.plainStart = st.outbound.count
    }

    /// A clean end over a transport: what is queued is wrapped, then the transport's closing
    /// bytes (TLS close_notify) go last.
    func finishTransport(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        if st.outbound.count > st.plainStart { wrapPlaintext(&st, &w) }
        guard st.transportError == nil else { return }
        let closing = st.transport!.close()
        st.outbound.append(contentsOf: closing)
        st.plainStart = st.outbound.count
    }

    /// Queues the transport's closing bytes if it has any left (close_notify not sent yet);
    /// returns whether it queued some.
    func appendTransportClose(_ st: inout ChannelState) -> Bool {
        guard st.outbound.count == st.plainStart else { return false }  // plaintext first: flush wraps it
        let closing = st.transport!.close()
        guard !closing.isEmpty else { return false }
        st.outbound.append(contentsOf: closing)
        st.plainStart = st.outbound.count
        return true
    }

    /// A transport failed or saw its stream end uncleanly: its last bytes (a TLS alert telling
    /// the peer why) are written once, if the socket takes them now.
    func writeTransportAlert(_ st: inout ChannelState) {
        guard let fd = st.socket?.raw, st.hasTransport else { return }
        let alert = st.transport!.takeOutput()
        guard !alert.isEmpty, st.pendingBytes == 0 else { return }
        _ = alert.withUnsafeBytes { raw in try? Sys.write(fd, raw) }
    }

    /// Tells the transport the socket's stream ended; returns the error when the end is not
    /// clean (TLS without close_notify), recorded as the connection's transport error.
    func transportEndOfStream(_ st: inout ChannelState) -> WebSocketError? {
        guard st.hasTransport else { return nil }
        do throws(WebSocketError) {
            try st.transport!.receiveEndOfStream()
            return nil
        } catch {
            if st.transportError == nil { st.transportError = error }
            return error
        }
    }

    /// Ends an open connection without a close handshake: the core reports 1006 (or its own
    /// reason), the socket closes. Loop thread.
    func abortConnection(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        if st.phase == .open, st.connectionIsClosed == false {
            perform(st.connection!.receiveEndOfStream(now: loop.now), &st, &w)
        }
        st.resetOutbound()
        closeSocket(&st, &w)
    }

    /// Deregisters and closes the socket (exactly once), and settles everyone waiting. Loop thread.
    func closeSocket(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        guard let fd = st.socket?.raw else { return }
        loop.deregister(fd: fd)
        st.socket = nil  // closes the descriptor
        let wasOpen = st.phase == .open
        st.phase = .closed
        st.dropHandshakes()
        st.phaseDeadline = nil
        st.resetOutbound()
        if wasOpen && st.connectionIsClosed == false {
            perform(st.connection!.receiveEndOfStream(now: loop.now), &st, &w)
        }
        if !st.closedEventQueued {
            let info = st.closeInfo ?? CloseInfo(code: .abnormalClosure, error: st.transportError ?? st.connectError ?? .remoteHostClosed)
            st.closeInfo = info
            enqueue(.closed(info), &st, &w)
        }
        if let c = st.connectWaiter {
            st.connectWaiter = nil
            w.connectWaiter = c
            w.connectResult = .failure(st.connectError ?? st.transportError ?? .remoteHostClosed)
        }
        w.senders.append(contentsOf: st.sendWaiters)
        st.sendWaiters.removeAll()
        w.finished = true
    }
}
