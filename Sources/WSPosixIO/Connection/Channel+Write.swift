// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

// The write path: the application's sends and commands go through the core into the
// `OutboundBuffer`; `flush` writes it with one `write`/`writev` where it can.

extension Channel {
    /// Queues a data message and writes it at once when nothing else is queued (no hop to the
    /// loop); returns `true` when more than the high-water mark is now unwritten, and the
    /// sender must then wait (``waitForDrain()``) before it returns.
    ///
    /// The async `send` is this, then the wait only when needed: `WebSocket.send` is inlined
    /// into the sending task, so a message that does not wait makes no async call into the
    /// library (each cost an async frame from the task allocator).
    ///
    /// `payload` (with its `kind`, `nil` for the connection's default) is the message's payload
    /// when it is one byte array: a large one may then go to the socket as it is (see
    /// ``queuePayload(_:kind:now:_:_:)``); otherwise `encode` appends the frames.
    func queueForSend(payload: [UInt8]? = nil, kind: Message.Kind? = nil,
                      _ encode: (inout Connection, Instant, inout [UInt8]) throws(UsageError) -> Void) throws(WebSocketError) -> Bool {
        // On the loop thread (the server's handler tasks run there), the loop's time of this
        // iteration, as `sendNow` uses: no clock read per message.
        let now = loop.inEventLoop ? loop.now : MonotonicClock.now()
        var w = ChannelWakeups()
        let outcome = state.withLock { st -> Result<Bool, WebSocketError> in
            if let failure = queue(payload: payload, kind: kind, now: now, encode, &st) { return .failure(failure) }
            if !st.wantsWrite && !st.deliveringInline { flush(&st, &w, now: now) }
            nudgeTimer(&st, &w)
            account(&st, &w)
            return .success(st.pendingBytes > flow.highWaterMark)
        }
        wake(&w)
        return try outcome.get()
    }

    /// What a sender whose message went over the high-water mark waits for: the unwritten bytes
    /// falling to the low-water mark, or the socket closing.
    /// - Throws: ``WebSocketError/timeout(_:)`` with `.send` when the bytes queued made no
    ///   progress for ``FlowControl/sendTimeout`` (the connection is dropped).
    @usableFromInline nonisolated(nonsending) func waitForDrain() async throws(WebSocketError) {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { st -> Bool in
                if st.pendingBytes <= flow.lowWaterMark || !st.lifecycle.isLive { return true }
                st.sendWaiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
        let timedOut = state.withLock { st in !st.lifecycle.isLive && st.transportError == .timeout(.send) }
        if timedOut { throw .timeout(.send) }
    }

    /// Queues a data message without waiting (for event handlers on the loop thread).
    ///
    /// A reply from the connection's own event handler is always queued: it answers events
    /// already read, and reading stops above the high-water mark, so what such replies queue is
    /// bounded by one read batch. Any other non-suspending send (a broadcast, a timer) finds the
    /// buffer over the mark and fails instead.
    /// - Throws: ``WebSocketError/sendBufferFull`` at once when more than the high-water mark is
    ///   already unwritten outside the connection's own event delivery (the message is not queued).
    /// `borrowed` is a payload the caller only lends: copied into an array of its own only if it
    /// goes to the socket by reference (see ``queuePayload(_:borrowed:kind:now:_:_:)``).
    func sendNow(payload: [UInt8]? = nil, borrowed: UnsafeRawBufferPointer? = nil, kind: Message.Kind? = nil,
                 _ encode: (inout Connection, Instant, inout [UInt8]) throws(UsageError) -> Void) throws(WebSocketError) {
        let onLoop = loop.inEventLoop
        let now = onLoop ? loop.now : MonotonicClock.now()
        if onLoop && deliveringOnLoop {
            // A reply from this channel's event handler (the common case): only queued; the
            // settling after the batch (``deliverInline``) flushes, accounts and sets the timer
            // for all of them. No wakeups to make and drop.
            let failure = state.withLock { st in queue(payload: payload, borrowed: borrowed, kind: kind, now: now, encode, &st) }
            if let failure { throw failure }
            return
        }
        let failure = loop.withSpareWakeups(onLoop: onLoop) { w -> WebSocketError? in
            let failure = state.withLock { st -> WebSocketError? in
                if st.pendingBytes > flow.highWaterMark && !st.deliveringInline && st.lifecycle.phase == .open { return .sendBufferFull }
                if let failure = queue(payload: payload, borrowed: borrowed, kind: kind, now: now, encode, &st) { return failure }
                // While the loop delivers a batch to the event handler (from another thread's
                // point of view), the settling that follows it flushes for the whole batch.
                if st.deliveringInline { return nil }
                if !st.wantsWrite { flush(&st, &w, now: now) }
                nudgeTimer(&st, &w)
                account(&st, &w)
                return nil
            }
            wake(&w)
            return failure
        }
        if let failure { throw failure }
    }

    /// A message of type `kind` whose payload `bytes` the caller lends
    /// (`WebSocket.enqueue(_:bytes:compress:)`). The usual case, a loop-thread handler's reply
    /// during its batch smaller than ``payloadSegmentThreshold``, is queued straight through the
    /// core (``queueReply(_:)``); anything else goes through
    /// ``sendNow(payload:borrowed:kind:_:)``.
    func sendBorrowed(_ bytes: UnsafeRawBufferPointer, kind: Message.Kind, extensions use: Connection.ExtensionUse) throws(WebSocketError) {
        guard bytes.count < Self.payloadSegmentThreshold, loop.inEventLoop, deliveringOnLoop else {
            try sendNow(borrowed: bytes, kind: kind) { (c, now, out) throws(UsageError) in
                try c.send(bytes, kind: kind, extensions: use, now: now, into: &out)
            }
            return
        }
        try queueReply { (c, now, out) throws(UsageError) in try c.send(bytes, kind: kind, extensions: use, now: now, into: &out) }
    }

    /// `message` (`WebSocket.enqueue(_:compress:)`), as ``sendBorrowed(_:kind:extensions:)``: a
    /// loop-thread handler's reply during its batch straight through the core, unless it is a
    /// binary payload large enough to go to the socket by reference.
    func sendMessage(_ message: Message, extensions use: Connection.ExtensionUse) throws(WebSocketError) {
        let large = message.binaryPayload.map { $0.count >= Self.payloadSegmentThreshold } ?? false
        guard !large, loop.inEventLoop, deliveringOnLoop else {
            try sendNow(payload: message.binaryPayload, kind: .binary) { (c, now, out) throws(UsageError) in
                try c.send(message, extensions: use, now: now, into: &out)
            }
            return
        }
        try queueReply { (c, now, out) throws(UsageError) in try c.send(message, extensions: use, now: now, into: &out) }
    }

    /// Queues a reply of this channel's loop-thread handler during its batch: what
    /// ``sendNow(payload:borrowed:kind:_:)``'s first branch and ``queue(payload:borrowed:kind:now:_:_:)``
    /// come to for a payload that is not sent by reference, without their closures (about 17
    /// instructions per message). Loop thread, `deliveringOnLoop`.
    @inline(__always)
    private func queueReply(_ encode: (inout Connection, Instant, inout [UInt8]) throws(UsageError) -> Void) throws(WebSocketError) {
        let now = loop.now
        let failure = state.withLock { st -> UsageError? in
            guard let core = st.lifecycle.openCore else { return .sendAfterClose }
            return core._withUnsafeGuaranteedRef { core -> UsageError? in
                st.outbound.withAppendable { out -> UsageError? in
                    do throws(UsageError) {
                        try encode(&core.connection, now, &out)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
        }
        // As ``queue(payload:borrowed:kind:now:_:_:)`` maps them.
        if let failure { throw failure == .sendAfterClose ? .closed : .usage(failure) }
    }

    /// Encodes a data message into the outbound buffer (or queues its payload by reference).
    private func queue(payload: [UInt8]?, borrowed: UnsafeRawBufferPointer? = nil, kind: Message.Kind?, now: Instant,
                       _ encode: (inout Connection, Instant, inout [UInt8]) throws(UsageError) -> Void,
                       _ st: inout ChannelState) -> WebSocketError? {
        // Straight through the unretained core (as `Lifecycle.withConnection`, without its
        // generic result): every data message comes here.
        guard let core = st.lifecycle.openCore else { return .closed }
        let byReference = (payload?.count ?? borrowed?.count ?? 0) >= Self.payloadSegmentThreshold
            && role == .server && !st.writeShutDown && !st.outbound.wraps
        var failure: UsageError? = nil
        core._withUnsafeGuaranteedRef { core in
            do throws(UsageError) {
                if byReference, try queuePayload(payload, borrowed: borrowed, kind: kind, now: now, &core.connection, &st.outbound) {
                    return
                }
                try st.outbound.withAppendable { (bytes) throws(UsageError) in try encode(&core.connection, now, &bytes) }
            } catch {
                failure = error
            }
        }
        guard let failure else { return nil }
        return failure == .sendAfterClose ? .closed : .usage(failure)
    }

    /// Payloads at least this big go to the socket as they are, not copied into the outbound buffer.
    @usableFromInline static let payloadSegmentThreshold = 16 << 10

    /// Server on plain TCP: queues a large payload by reference, after its frame header (one
    /// unmasked frame, RFC 6455 §5.2; the core checks the state and whether extensions or
    /// fragmentation need the whole encoding). Returns `false` when the caller must encode it.
    /// A `borrowed` payload is copied into an array of its own only here, once it is kept.
    private func queuePayload(_ payload: [UInt8]?, borrowed: UnsafeRawBufferPointer?, kind: Message.Kind?, now: Instant,
                              _ connection: inout Connection, _ out: inout OutboundBuffer) throws(UsageError) -> Bool {
        guard (payload?.count ?? borrowed?.count ?? 0) >= Self.payloadSegmentThreshold else { return false }
        let kind = kind ?? connection.configuration.defaultMessageKind
        func header(_ raw: UnsafeRawBufferPointer) -> Result<Bool, UsageError> {
            do throws(UsageError) {
                return .success(try out.withAppendable { (bytes) throws(UsageError) in
                    try connection.sendHeader(for: raw, kind: kind, now: now, into: &bytes)
                })
            } catch {
                return .failure(error)
            }
        }
        let result: Result<Bool, UsageError>
        if let payload { result = payload.withUnsafeBytes { header($0) } } else { result = header(borrowed!) }
        guard try result.get() else { return false }
        out.appendSegment(payload ?? lentArray(matching: borrowed!) ?? [UInt8](borrowed!))
        return true
    }

    /// Runs a control command (ping, pong, close) against the core and performs its outputs.
    func command(_ body: (inout Connection, Instant) throws(UsageError) -> [Connection.Output]) throws(WebSocketError) {
        let now = MonotonicClock.now()
        var w = ChannelWakeups()
        let failure = state.withLock { st -> WebSocketError? in
            let outputs: [Connection.Output]
            do throws(UsageError) {
                guard let o = try st.lifecycle.withConnection(&st.outbound, { (c, _) throws(UsageError) in try body(&c, now) }) else {
                    return .closed
                }
                outputs = o
            } catch {
                switch error {
                case .sendAfterClose, .alreadyClosing: return .closed
                default: return .usage(error)
                }
            }
            perform(outputs, &st, &w)
            if !st.wantsWrite && !st.deliveringInline { flush(&st, &w, now: now) }
            w.needsLoop = true  // the core's timers changed (close timeout, ...)
            return nil
        }
        wake(&w)
        if let failure { throw failure }
    }

    /// Asks the loop to move its timer earlier when the core's next deadline (or the send
    /// stall deadline) now comes first.
    private func nudgeTimer(_ st: inout ChannelState, _ w: inout ChannelWakeups) {
        if st.transportError != nil { w.needsLoop = true; return }
        // A data message sent moves no deadline of the core's earlier (the idle one later);
        // only bytes left unwritten bring one (the send stall's).
        if st.sendStallDeadline == nil && st.lifecycle.phase == .open { return }
        var deadline = st.sendStallDeadline
        if let d = st.lifecycle.nextDeadline(), deadline.map({ d < $0 }) ?? true { deadline = d }
        guard let d = deadline else { return }
        if st.timerHint.map({ d < $0 }) ?? true {
            st.timerHint = d
            w.needsLoop = true
        }
    }

    /// The most bytes one ``flush(_:_:now:)`` writes (in calls of at most ``writeChunk``) before
    /// leaving the rest to the loop's next round, so a big message cannot monopolise the loop.
    static let writeBudget = 1 << 20
    /// Plaintext from which a message's TLS records are written one by one as they are
    /// encrypted (on a loop serving one connection), and the plaintext per record (TLS's
    /// largest, RFC 8446 §5.1).
    static let streamedRecordsThreshold = 32 << 10
    static let recordPlaintext = 16 << 10
    static let writeChunk = 256 << 10

    /// Writes what is queued with one call (more only if the kernel takes it all and more is
    /// left). Any thread, under the lock.
    func flush(_ st: inout ChannelState, _ w: inout ChannelWakeups, now: Instant) {
        guard st.lifecycle.isLive, !st.writeShutDown else {
            st.outbound.removeAll()
            return
        }
        // A large message over a transport, with nothing ahead of it, from a loop that serves one
        // connection at a time: each record goes to the socket as soon as it is encrypted, so
        // the peer decrypts one while we encrypt the next (as OpenSSL's own SSL_write does: a
        // write per record). A busy loop wraps the message whole and writes it with one call:
        // with many connections ready, system calls cost more than the overlap gains.
        if st.outbound.hasPlaintext {
            let streamed = st.outbound.wireCount == 0 && st.outbound.plaintextCount >= Self.streamedRecordsThreshold
                && loop.inEventLoop && loop.batchSize <= 1
            if let error = st.lifecycle.wrapPlaintext(&st.outbound, upTo: streamed ? Self.recordPlaintext : .max) {
                wrapFailed(error, &st, &w)
                return
            }
        }
        var budget = Self.writeBudget
        let pendingBefore = st.pendingBytes
        // Nothing to write, nothing waiting on it (settling after a read that queued nothing).
        if pendingBefore == 0 && st.sendStallDeadline == nil && !st.wantsWrite && st.sendWaiters.isEmpty { return }
        if !st.outbound.wraps && !st.outbound.hasSegments && pendingBefore > 0 && pendingBefore <= Self.writeChunk {
            // Plain TCP, frames in the array only (the usual reply): one `write` of it all, and
            // the loop below only for what the kernel did not take.
            let fd = self.fd
            let result = st.outbound.withUnwritten { bytes -> Result<Int?, SystemError> in
                do throws(SystemError) { return .success(try Sys.write(fd, bytes)) } catch { return .failure(error) }
            }
            if case .success(pendingBefore?) = result, !st.wantsWrite, !st.shutdownAfterFlush, st.sendWaiters.isEmpty,
               st.lifecycle.phase == .open {
                // All of it, with nothing waiting on the write (what the tail below would find).
                st.outbound.advance(by: pendingBefore)
                st.sendStallDeadline = nil
                return
            }
            written(result, &st, &w, budget: &budget)
        }
        while st.pendingBytes > 0 && budget >= 0 {  // (< 0: the socket refused, or failed)
            if st.outbound.wireCount == 0, st.outbound.hasPlaintext {
                // The record before is out: the next one now.
                if let error = st.lifecycle.wrapPlaintext(&st.outbound, upTo: Self.recordPlaintext) {
                    wrapFailed(error, &st, &w)
                    break
                }
            }
            if budget <= 0 {
                // Fairness: the rest goes out when the loop comes back (EPOLLOUT is level-triggered).
                if !st.wantsWrite {
                    st.wantsWrite = true
                    updateInterest(&st)
                }
                break
            }
            let fd = self.fd
            var limit = st.outbound.hasSegments ? budget : min(budget, Self.writeChunk)
            if st.outbound.hasPlaintext { limit = min(limit, st.outbound.wireCount) }  // never plaintext
            let result = st.outbound.withNextWrite(limit: limit) { a, b, c -> Result<Int?, SystemError> in
                do throws(SystemError) {
                    if b.isEmpty && c.isEmpty { return .success(try Sys.write(fd, a)) }
                    return .success(try Sys.writev(fd, a, b, c))
                } catch {
                    return .failure(error)
                }
            }
            written(result, &st, &w, budget: &budget)
            if budget < 0 { break }
        }
        if st.pendingBytes == 0 {
            st.sendStallDeadline = nil
            if st.wantsWrite {
                st.wantsWrite = false
                updateInterest(&st)
            }
            if pendingBefore > 0 && st.transportError == nil && (st.shutdownAfterFlush || st.lifecycle.phase == .httpResponse) {
                flushed(&st, now: now)
            }
        } else if st.transportError == nil {
            // Unwritten bytes: the peer has `sendTimeout` from the last progress to take them.
            if st.pendingBytes < pendingBefore || st.sendStallDeadline == nil {
                st.sendStallDeadline = flow.sendTimeout.map { now + $0 }
                if st.lifecycle.phase == .httpResponse { st.lifecycle.responseProgressed(now: now) }
            }
        }
        if !st.sendWaiters.isEmpty && (st.pendingBytes <= flow.lowWaterMark || !st.lifecycle.isLive) {
            w.addSenders(st.sendWaiters)
            st.sendWaiters.removeAll()
        }
    }

    /// What one write did: moves past the bytes the kernel took (out of `budget`); on `EAGAIN`
    /// waits for the socket to be writable, on failure ends the connection (`budget` then < 0).
    @inline(__always)
    private func written(_ result: Result<Int?, SystemError>, _ st: inout ChannelState, _ w: inout ChannelWakeups,
                         budget: inout Int) {
        switch result {
        case .success(let written?):
            st.outbound.advance(by: written)
            budget -= written
        case .success(nil):
            if !st.wantsWrite {
                st.wantsWrite = true
                updateInterest(&st)
            }
            budget = -1
        case .failure(let error):
            st.transportError = WebSocketError(error)
            st.outbound.removeAll()
            w.needsLoop = true
            budget = -1
        }
    }

    /// Everything queued is written: after an HTTP response, half-close (plain TCP; over TLS
    /// close_notify went last) and linger for the peer to close; half-close when the core asked.
    /// The transport could not wrap: the connection ends (on the loop), nothing more is written.
    private func wrapFailed(_ error: WebSocketError, _ st: inout ChannelState, _ w: inout ChannelWakeups) {
        st.transportError = error
        st.outbound.removeAll()
        w.needsLoop = true
    }

    private func flushed(_ st: inout ChannelState, now: Instant) {
        let responding = st.lifecycle.phase == .httpResponse
        if (responding && !st.outbound.wraps || st.shutdownAfterFlush) && !st.writeShutDown {
            st.writeShutDown = true
            Sys.shutdownWrite(fd)
        }
        if responding { st.lifecycle.responseWritten(now: now, linger: server?.configuration.responseLinger ?? Lifecycle.httpLinger) }
    }
}
