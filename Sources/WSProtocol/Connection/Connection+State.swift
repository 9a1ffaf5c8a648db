// SPDX-License-Identifier: Apache-2.0

// Theory of operation
// -------------------
// Rule 1: every change of `Connection.state` happens in this file, in `finish`, `fail`,
// `completeHandshake`, `releaseHeldClose` and `fireTimers`, plus `close(code:reason:now:)`
// (open → closeSent).
// Rule 2: the state holds only small values; buffers (partial header, message, control payload)
// live in the struct beside it, so moving between states never copies a payload.
// Rule 3: every switch on the state names every case: a new state is a compile error wherever a
// decision is needed.
//
//                       close(code:reason:)                  peer's close frame
//              +------+ ─────────────────────► +-----------+ ──────────────────┐
//   init ────► | open |                        | closeSent |                   │
//              +------+ ─┐                     +-----------+ ─┐                │
//                 │      │ peer's close frame     │  timeout,  │ protocol      │
//                 │      │ (we echo it)           │  EOF       │ error         ▼
//                 │      ▼                        │            │      client: awaitingEndOfStream
//                 │   client: awaitingEndOfStream ┘            │             │ EOF or timeout
//                 │   server: closed ◄──────────────────────────┴─────────────┘
//                 │ protocol error, EOF, keepalive timeout
//                 └──────────────────────────────► closed(reason)
//
// `answering` (not drawn): when a receive call delivered messages and then met a protocol error
// or the peer's close frame, `open` moves to `answering` instead of sending our close frame;
// `eventsAnswered`, `close`, end of stream or the answer timeout then send it and continue as
// the arrows from `open` above (Docs.docc/StateMachine.md, "Answers before the close").
//
// `closed` is final: `.closed(reason)` has been delivered and nothing more is delivered or sent.
// The enum is internal (not private) only because Connection's files share it; no public API
// exposes it. The table in Docs.docc/StateMachine.md lists every transition.

extension Connection {
    /// Where the connection is in its life (RFC 6455 §7).
    enum State: Hashable, Sendable {
        /// Data flows both ways.
        case open
        /// Messages were delivered together with a protocol violation or the peer's close frame:
        /// nothing more is read, the application may still send, and `held` (our close frame,
        /// and what follows it) waits until the driver reports the messages answered or
        /// `deadline` passes.
        case answering(deadline: Instant, held: HeldClose)
        /// We sent a close frame (RFC 6455 §7.1.2) and wait for the peer's until `deadline`. The
        /// peer's data messages are still delivered; we send nothing more.
        case closeSent(deadline: Instant)
        /// Client only: both close frames were exchanged; we wait for the server to close the TCP
        /// connection (RFC 6455 §7.1.1) until `deadline`, then report `reason`.
        case awaitingEndOfStream(deadline: Instant, reason: CloseReason)
        /// Finished; `.closed(reason)` was delivered.
        case closed(CloseReason)
    }

    /// The close held back in ``State/answering(deadline:held:)``.
    enum HeldClose: Hashable, Sendable {
        /// Fail the connection with this error (RFC 6455 §7.1.7).
        case failure(ProtocolError)
        /// Answer the peer's close frame (RFC 6455 §5.5.1).
        case peerClose(CloseFrame)
    }

    /// The reason text of the close frame sent when failing the connection: short and fixed, so
    /// that it never reveals internals.
    static func failureReason(for code: CloseCode) -> String {
        switch code {
        case .protocolError: return "protocol error"
        case .invalidFramePayloadData: return "invalid UTF-8"
        case .messageTooBig: return "message too big"
        default: return ""
        }
    }

    /// The deadline of the timer that is running, if any.
    var deadline: Instant? {
        switch state {
        case .open:
            var earliest: Instant? = nil
            if configuration.keepalive != nil { earliest = keepalivePongDeadline ?? lastReceived.adding(nanoseconds: timerNanoseconds.keepaliveInterval) }
            if configuration.messageTimeout != nil, isReceivingFrame {
                let d = messageProgress.adding(nanoseconds: timerNanoseconds.message)
                earliest = earliest.map { min($0, d) } ?? d
            }
            if configuration.idleTimeout != nil {
                let d = lastDataActivity.adding(nanoseconds: timerNanoseconds.idle)
                earliest = earliest.map { min($0, d) } ?? d
            }
            return earliest
        case .closeSent(let deadline):
            return deadline
        case .answering(let deadline, _):
            return deadline
        case .awaitingEndOfStream(let deadline, _):
            return deadline
        case .closed:
            return nil
        }
    }

    /// A frame (its header or payload) or a fragmented data message is partly received.
    var isReceivingFrame: Bool { inFrame || !headerBuffer.isEmpty || incoming.isOpen }

    /// Where the message timeout runs from while ``isReceivingFrame``: the last byte received,
    /// except between the frames of a message (no data frame under way), where only the end of
    /// its last data frame counts. Control frames may come between fragments (RFC 6455 §5.4),
    /// but they are no progress on the message: counted, a peer that answered our keepalive
    /// pings (sent after 20 s of silence, under WSPosixIO's 30 s message timeout) or sent its
    /// own held a stalled message, and its buffer, forever. Inside a data frame every byte is
    /// its payload (nothing interleaves within a frame), so the last byte counts there.
    var messageProgress: Instant {
        if incoming.isOpen && !(inFrame && sink != .control) { return lastDataFrameEnd }
        return lastReceived
    }

    /// Open, with no frame or message half received: between messages. There the next deadline
    /// (keepalive, idle) only moves later as data comes and goes, so a driver's timer set for
    /// an earlier one still stands: a ping sent, a close, a held close or a frame under way
    /// (which bring earlier deadlines) all leave this state, and so does the keepalive pong
    /// until the timers next run (the next ping may be due before the pong deadline the timer
    /// was set for, when the interval is shorter than the pong timeout). Mutating only so that a
    /// driver holding the connection in a class asks it in place (a getter copied the whole
    /// connection there).
    package mutating func isOpenBetweenMessages() -> Bool {
        guard case .open = state, keepalivePongDeadline == nil, !keepaliveRearmed else { return false }
        return !isReceivingFrame
    }

    /// Whether a failure or the peer's close frame waits for the application's answers: holding
    /// is on (``Configuration/answerTimeout``) and messages were delivered that the driver has not
    /// reported answered (earlier in this receive call, or in an earlier one). Only from `open`:
    /// in `closeSent` our close frame is already out, so there is nothing to hold.
    func holdsClose(_ context: ReceiveContext, _ outputs: [Output]) -> Duration? {
        guard let timeout = configuration.answerTimeout else { return nil }
        if unansweredMessages || context.deliveredInPlace || Self.deliversMessages(outputs[context.firstOutput...]) { return timeout }
        return nil
    }

    /// Whether `outputs` deliver a data message or fragment.
    static func deliversMessages(_ outputs: ArraySlice<Output>) -> Bool {
        for output in outputs {
            switch output {
            case .deliver(.message), .deliver(.fragment): return true
            case .deliver, .write, .shutdownWrite, .closeTransport: continue
            }
        }
        return false
    }

    /// Sends the close held in `answering` and moves on as `open` would have: fail the
    /// connection, or answer the peer's close frame.
    mutating func releaseHeldClose(now: Instant) -> [Output] {
        guard case .answering(_, let held) = state else { return [] }
        state = .open
        var context = ReceiveContext(now: now, firstOutput: 0)
        var outputs: [Output] = []
        switch held {
        case .failure(let error):
            sendFailure(error, &context, into: &outputs)
        case .peerClose(let peer):
            answerClose(peer, now: now, &context, into: &outputs)
        }
        return outputs
    }

    /// A fresh key for a client frame; `nil` for a server (RFC 6455 §5.1, §5.3).
    mutating func nextMaskingKey() -> MaskingKey? {
        switch role {
        case .client: return MaskingKey.random(using: &entropy)
        case .server: return nil
        }
    }

    /// Appends a control frame (masked for a client) to `out`.
    mutating func writeControl(_ opcode: Opcode, _ payload: [UInt8], to out: inout [UInt8]) {
        let key = nextMaskingKey()
        FrameWriter.append(opcode: opcode, maskingKey: key, payload: payload, to: &out)
    }

    /// Enters `closed(reason)`: delivers `.closed` and closes the transport.
    mutating func finish(_ reason: CloseReason) -> [Output] {
        var outputs: [Output] = []
        finish(reason, into: &outputs)
        return outputs
    }

    /// Enters `closed(reason)`, appending `.deliver(.closed(reason))` and `.closeTransport`.
    mutating func finish(_ reason: CloseReason, into outputs: inout [Output]) {
        state = .closed(reason)
        outputs.append(.deliver(.closed(reason)))
        outputs.append(.closeTransport)
    }

    /// Fails the connection (RFC 6455 §7.1.7): "An endpoint MUST Fail the WebSocket Connection"
    /// by sending a close frame with the error's code (unless ours is already out), reporting
    /// `.closed(.protocolError(error))` and closing the transport. Both roles close the transport
    /// at once: the peer broke the protocol, so waiting for it serves no purpose.
    ///
    /// When this receive call delivered messages first, the close frame is held instead
    /// (`answering`) until the application has answered them (``Configuration/answerTimeout``).
    mutating func fail(_ error: ProtocolError, _ context: inout ReceiveContext, into outputs: inout [Output]) {
        switch state {
        case .open:
            if let timeout = holdsClose(context, outputs) {
                writeDeferredPong(&context)
                context.flush(into: &outputs)
                context.stopped = true
                state = .answering(deadline: context.now + timeout, held: .failure(error))
                return
            }
        case .closeSent:
            break
        case .answering, .awaitingEndOfStream, .closed:
            preconditionFailure("unreachable: no frame is parsed after the peer's close frame or a violation")
        }
        sendFailure(error, &context, into: &outputs)
    }

    /// The failure proper: our close frame (unless already out), `.closed`, `.closeTransport`.
    private mutating func sendFailure(_ error: ProtocolError, _ context: inout ReceiveContext, into outputs: inout [Output]) {
        switch state {
        case .open:
            writeDeferredPong(&context)
            let code = error.closeCode
            writeControl(.close, FrameWriter.closePayload(code: code, reason: Self.failureReason(for: code)), to: &context.writes)
        case .closeSent:
            break  // Our close frame is already out; only one may be sent (RFC 6455 §5.5.1).
        case .answering, .awaitingEndOfStream, .closed:
            preconditionFailure("unreachable: no frame is parsed after the peer's close frame or a violation")
        }
        context.flush(into: &outputs)
        context.stopped = true
        finish(.protocolError(error), into: &outputs)
    }

    /// The peer's valid close frame arrived (RFC 6455 §5.5.1): reply with ours unless we already
    /// sent it, then finish (server) or wait for the server's TCP close (client, RFC 6455 §7.1.1).
    ///
    /// When this receive call delivered messages first, our reply is held instead (`answering`)
    /// until the application has answered them (``Configuration/answerTimeout``).
    mutating func completeHandshake(peer: CloseFrame, now: Instant, _ context: inout ReceiveContext,
                                    into outputs: inout [Output]) {
        if case .open = state, let timeout = holdsClose(context, outputs) {
            outputs.append(.deliver(.closeReceived(peer)))
            writeDeferredPong(&context)
            context.flush(into: &outputs)
            context.stopped = true
            state = .answering(deadline: now + timeout, held: .peerClose(peer))
            return
        }
        outputs.append(.deliver(.closeReceived(peer)))
        answerClose(peer, now: now, &context, into: &outputs)
    }

    /// Replies to the peer's close frame unless ours is out, then finishes (server) or waits
    /// for the server's TCP close (client).
    private mutating func answerClose(_ peer: CloseFrame, now: Instant, _ context: inout ReceiveContext,
                                      into outputs: inout [Output]) {
        let initiatedLocally: Bool
        switch state {
        case .open:
            // "it MUST send a Close frame in response ... typically echoing the status code it
            // received" (RFC 6455 §5.5.1); an empty close frame is answered with an empty one.
            writeDeferredPong(&context)
            let echo: CloseCode? = peer.code == .noStatusReceived ? nil : peer.code
            writeControl(.close, FrameWriter.closePayload(code: echo), to: &context.writes)
            initiatedLocally = false
        case .closeSent:
            initiatedLocally = true
        case .answering, .awaitingEndOfStream, .closed:
            preconditionFailure("unreachable: no frame is parsed after the peer's close frame or a violation")
        }
        context.flush(into: &outputs)
        context.stopped = true
        let reason = CloseReason.handshakeCompleted(peer: peer, initiatedLocally: initiatedLocally)
        switch role {
        case .server:
            // "the server MUST close the underlying TCP connection immediately" (RFC 6455 §7.1.1).
            finish(reason, into: &outputs)
        case .client:
            state = .awaitingEndOfStream(deadline: now + configuration.closeTimeout, reason: reason)
        }
    }

    /// Writes the pong for the most recent ping beyond ``Configuration/maxAutoPongsPerReceive``.
    mutating func writeDeferredPong(_ context: inout ReceiveContext) {
        guard let payload = context.deferredPing else { return }
        context.deferredPing = nil
        writeControl(.pong, payload, to: &context.writes)
    }

    /// The keepalive ping payload: the ping's sequence number, 4 bytes big-endian (1, 2, ...).
    static func keepalivePayload(_ count: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: count >> 24), UInt8(truncatingIfNeeded: count >> 16),
         UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)]
    }

    /// Runs the timers that are due at `now`.
    mutating func fireTimers(now: Instant) -> [Output] {
        keepaliveRearmed = false  // the driver sets its timer from ``deadline`` after this
        switch state {
        case .open:
            if configuration.messageTimeout != nil, isReceivingFrame, now >= messageProgress.adding(nanoseconds: timerNanoseconds.message) {
                // A started frame or message stalled: fail with 1008 (the peer trickles or is gone;
                // we do not wait for its close frame).
                var out: [UInt8] = []
                writeControl(.close, FrameWriter.closePayload(code: .policyViolation, reason: "message timeout"), to: &out)
                var outputs: [Output] = [.write(out)]
                finish(.timedOut(.message), into: &outputs)
                return outputs
            }
            if configuration.idleTimeout != nil, now >= lastDataActivity.adding(nanoseconds: timerNanoseconds.idle) {
                // No data either way for too long: a normal close handshake, 1001.
                return (try? close(code: .goingAway, reason: "idle timeout", now: now)) ?? []
            }
            guard let keepalive = configuration.keepalive else { return [] }
            if let pongDeadline = keepalivePongDeadline {
                guard now >= pongDeadline else { return [] }
                // No pong in time: fail with 1011 (the peer is presumed gone; we do not wait).
                var out: [UInt8] = []
                writeControl(.close, FrameWriter.closePayload(code: .internalError, reason: "keepalive timeout"), to: &out)
                var outputs: [Output] = [.write(out)]
                finish(.timedOut(.keepalive), into: &outputs)
                return outputs
            }
            guard now >= lastReceived.adding(nanoseconds: timerNanoseconds.keepaliveInterval) else { return [] }
            keepaliveCount &+= 1
            keepalivePongDeadline = now + keepalive.timeout
            var out: [UInt8] = []
            writeControl(.ping, Self.keepalivePayload(keepaliveCount), to: &out)
            return [.write(out)]
        case .closeSent(let deadline):
            guard now >= deadline else { return [] }
            return finish(.timedOut(.closeHandshake))
        case .answering(let deadline, _):
            // The application did not report its answers in time: the close goes out anyway.
            guard now >= deadline else { return [] }
            return releaseHeldClose(now: now)
        case .awaitingEndOfStream(let deadline, let reason):
            // The handshake completed; the server just did not close TCP in time (RFC 6455 §7.1.1).
            guard now >= deadline else { return [] }
            return finish(reason)
        case .closed:
            return []
        }
    }
}

/// The durations ``Connection/deadline`` adds to instants, in nanoseconds (0 where unset).
struct TimerNanoseconds: Sendable {
    var keepaliveInterval: UInt64
    var message: UInt64
    var idle: UInt64

    init(_ configuration: Connection.Configuration) {
        keepaliveInterval = configuration.keepalive.map { Instant.zero + $0.interval }?.nanoseconds ?? 0
        message = configuration.messageTimeout.map { Instant.zero + $0 }?.nanoseconds ?? 0
        idle = configuration.idleTimeout.map { Instant.zero + $0 }?.nanoseconds ?? 0
    }
}
