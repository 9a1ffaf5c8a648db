// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Checks the outputs of one connection, operation after operation, against the contract of
/// `Connection` (Docs.docc/StateMachine.md): nothing after `.deliver(.closed)` but one
/// `.closeTransport`; `.closed` at most once, with a reason that matches what happened;
/// `.closeReceived` at most once and followed by no event but `.closed`; events only from
/// the inputs that may produce them; limits honoured; streaming fragments well sequenced; the
/// query properties agreeing with the events; usage errors thrown exactly when justified.
public struct OutputChecker {
    let role: Role
    let configuration: Connection.Configuration
    var closedDelivered = false
    var closeTransportSeen = false
    var reason: CloseReason? = nil
    var closeReceived: CloseFrame? = nil
    var closeCalled = false
    var fragmentOpen = false
    var fragmentKind: Message.Kind = .binary
    var fragmentBytes: [UInt8] = []
    var answerablePings = 0
    var userPongs = 0

    public init(role: Role, configuration: Connection.Configuration) {
        self.role = role; self.configuration = configuration
    }

    var closingOrClosed: Bool { closeCalled || closeReceived != nil || closedDelivered }

    mutating func sentDataMessage() {
        if closingOrClosed { violation("a data message was accepted after a close frame") }
    }

    mutating func noteCloseCalled() {
        if closingOrClosed { violation("close() accepted twice or after the peer's close") }
        closeCalled = true
    }

    func threw(_ error: UsageError, for op: ConnectionScript.Operation) {
        switch error {
        case .sendAfterClose, .alreadyClosing:
            if !closingOrClosed { violation("\(error) thrown while open, for \(op)") }
        case .invalidCloseCode(let code):
            if WrittenStreamChecker.isSendableCloseCode(code) { violation("close code \(code) refused") }
        case .controlPayloadTooLong(let n):
            if n <= 125 { violation("control payload of \(n) bytes refused") }
        case .invalidUTF8:
            guard case .sendTextHotPath(let bytes) = op else { violation("invalidUTF8 thrown for \(op)") }
            if String(validating: bytes, as: UTF8.self) != nil { violation("valid UTF-8 refused: \(bytes)") }
        @unknown default:
            break
        }
    }

    mutating func observe(_ outputs: [Connection.Output], after op: ConnectionScript.Operation) {
        if case .pong = op, !outputs.isEmpty { userPongs += 1 }
        var isReceive = false
        if case .receive = op { isReceive = true }
        for output in outputs {
            if closeTransportSeen { violation("\(output) after .closeTransport (op \(op))") }
            if closedDelivered {
                guard output == .closeTransport else { violation("\(output) after .closed (op \(op))") }
            }
            switch output {
            case .write:
                break
            case .shutdownWrite:
                break
            case .closeTransport:
                if !closedDelivered { violation(".closeTransport before .closed") }
                closeTransportSeen = true
            case .deliver(let event):
                if closeReceived != nil {
                    guard case .closed = event else { violation("\(event) after .closeReceived") }
                }
                if !isReceive {
                    guard case .closed = event else { violation("\(event) delivered by \(op)") }
                }
                deliver(event, op: op)
            }
        }
        if closedDelivered && !closeTransportSeen { violation(".closed without .closeTransport in the same output list") }
    }

    private mutating func deliver(_ event: Event, op: ConnectionScript.Operation) {
        switch event {
        case .message(let message):
            if configuration.deliversFragments { violation("whole message in streaming mode") }
            let size: Int
            switch message {
            case .text(let s): size = s.utf8.count
            case .binary(let b): size = b.count
            }
            if size > configuration.maxMessageSize { violation("message of \(size) bytes over the limit") }
        case .fragment(let f):
            if !configuration.deliversFragments { violation("fragment outside streaming mode") }
            if f.isFirst {
                if fragmentOpen { violation("first fragment while a message is open") }
                fragmentKind = f.kind; fragmentBytes = []
            } else {
                if !fragmentOpen { violation("continuing fragment without a message") }
                if f.kind != fragmentKind { violation("fragment kind changed") }
            }
            fragmentBytes += f.bytes
            fragmentOpen = !f.isFinal
            if fragmentBytes.count > configuration.maxMessageSize { violation("streamed message over the limit") }
            if f.isFinal && f.kind == .text && String(validating: fragmentBytes, as: UTF8.self) == nil {
                violation("streamed text message is not UTF-8")
            }
        case .ping(let payload):
            if payload.count > 125 { violation("ping payload of \(payload.count)") }
            if configuration.autoPong && !closeCalled { answerablePings += 1 }
        case .pong(let payload):
            if payload.count > 125 { violation("pong payload of \(payload.count)") }
        case .closeReceived(let frame):
            if closeReceived != nil { violation("second .closeReceived") }
            let ok = frame.code == .noStatusReceived ? frame.reason.isEmpty
                : WrittenStreamChecker.isSendableCloseCode(frame.code.rawValue)
            if !ok { violation("delivered a close frame with code \(frame.code)") }
            closeReceived = frame
        case .closed(let r):
            if closedDelivered { violation("second .closed") }
            closedDelivered = true
            reason = r
            switch r {
            case .handshakeCompleted(let peer, let initiatedLocally):
                if closeReceived != peer { violation("handshakeCompleted(\(peer)) but closeReceived was \(String(describing: closeReceived))") }
                if initiatedLocally != closeCalled { violation("initiatedLocally \(initiatedLocally), close() called \(closeCalled)") }
            case .protocolError:
                guard case .receive = op else { violation("protocol error from \(op)") }
                if closeReceived != nil { violation("protocol error after the peer's close") }
            case .abnormal:
                guard case .endOfStream = op else { violation("abnormal closure from \(op)") }
                if closeReceived != nil { violation("abnormal closure after the peer's close") }
            case .timedOut(.closeHandshake):
                guard case .advance = op, closeCalled, closeReceived == nil else { violation("close timeout from \(op)") }
            case .timedOut(.keepalive):
                guard case .advance = op, configuration.keepalive != nil, !closeCalled else { violation("keepalive timeout from \(op)") }
            case .timedOut(.message):
                guard case .advance = op, configuration.messageTimeout != nil else { violation("message timeout from \(op)") }
            @unknown default:
                break
            }
        @unknown default:
            break
        }
    }

    func checkQueries(_ c: Connection) {
        if c.isClosed != closedDelivered { violation("isClosed \(c.isClosed) but .closed delivered: \(closedDelivered)") }
        if closedDelivered {
            if c.closeReason != reason { violation("closeReason \(String(describing: c.closeReason)) != \(String(describing: reason))") }
            if c.nextDeadline != nil { violation("deadline after close") }
        }
        if c.canSend == closingOrClosed { violation("canSend \(c.canSend) after close frames: \(closingOrClosed)") }
    }

    /// Checks the written bytes as a whole against what was delivered.
    func finish(written: [UInt8]) {
        let extensionBits: UInt8 = 0x40  // harmless when no extension: the connection sets none then
        let frames = WrittenStreamChecker(role: role, extensionBits: extensionBits,
                                          fragmentSize: configuration.fragmentSize).check(written)
        let lastClose = frames.last.flatMap { $0.opcode == 0x8 ? $0 : nil }
        func code(_ f: WrittenFrame) -> UInt16? { f.payload.count >= 2 ? UInt16(f.payload[0]) << 8 | UInt16(f.payload[1]) : nil }
        if closeCalled || closeReceived != nil {
            if lastClose == nil { violation("closing, but no close frame written last") }
        }
        switch reason {
        case .protocolError(let e)?:
            if !closeCalled {
                guard let f = lastClose, code(f) == e.closeCode.rawValue else {
                    violation("failed with \(e) but did not write close \(e.closeCode)")
                }
            }
        case .handshakeCompleted(let peer, false)?:
            guard let f = lastClose else { violation("no close reply") }
            if peer.code == .noStatusReceived ? !f.payload.isEmpty : code(f) != peer.code.rawValue {
                violation("close reply \(f.payload) does not echo \(peer.code)")
            }
        case .timedOut(.keepalive)?:
            guard let f = lastClose, code(f) == 1011 else { violation("keepalive failure without close 1011") }
        default:
            break
        }
        if configuration.maxAutoPongsPerReceive == .max {
            let pongs = frames.filter { $0.opcode == 0xA }.count
            if pongs != answerablePings + userPongs {
                violation("\(pongs) pongs written for \(answerablePings) pings and \(userPongs) pong() calls")
            }
        }
    }
}
