// SPDX-License-Identifier: Apache-2.0

/// The WebSocket connection state machine after the opening handshake (RFC 6455 §5–§7).
///
/// A value type with no I/O: feed it what happened (bytes read, end of stream, the application's
/// commands, the passage of time) and perform the ``Output``s it returns, in order. A copy is a
/// snapshot (except for state an extension keeps in a reference type).
///
/// Peer violations never throw: the connection fails itself (close frame with the right code,
/// ``Event/closed(_:)`` with ``CloseReason/protocolError(_:)``, ``Output/closeTransport``).
/// Misuse by the caller throws ``UsageError`` and leaves the state unchanged.
/// See <doc:StateMachine> and <doc:WritingADriver>.
public struct Connection: Sendable {
    // Stored properties in two groups, in this order on purpose: Swift lays a struct out in
    // declaration order, and a read touches only the fields of the first group (its first 176
    // bytes, about three cache lines of the 424-byte value): the state, the parse position,
    // the clocks, the message being assembled, and the configuration facts a read asks. Spread
    // over the whole value they made six lines a message, each a cache miss when many
    // connections take turns (callgrind's cache simulation, 50 connections). The small fields
    // sit together: each between 8-byte fields cost up to 7 bytes of padding (FootprintTests).

    /// Client (masks its frames) or server.
    public let role: Role
    // The state proper and the buffers. Internal (not private) only because the machine is
    // spread over Connection+State, +Receive and +Send; nothing outside those files touches them.
    /// Where the connection is in its life (see Connection+State.swift).
    var state: State = .open
    /// A header was parsed and its payload is being received.
    var inFrame = false
    /// Messages were delivered since the driver last reported them answered
    /// (``eventsAnswered(now:)``); kept only with ``Configuration/answerTimeout`` set.
    var unansweredMessages = false
    /// The keepalive pong came, so the next deadline (the next ping) may be earlier than the
    /// pong deadline a driver's timer is set for: ``isOpenBetweenMessages()`` says no until the
    /// timers next run (``handleTimeout(now:)``), so that the driver sets its timer again.
    var keepaliveRearmed = false
    /// Where the current frame's payload goes.
    var sink: MessageAssembler.Sink = .control
    /// ``Configuration/admitsSmallMessages``, ``Configuration/answerTimeout`` set, and whether
    /// every message under 126 bytes goes as one frame (``Configuration/fragmentSize`` unset,
    /// at least 125, or not positive): asked on every read or small send, so copied beside the
    /// state at creation (``configuration`` never changes after it).
    let admitsSmallMessages: Bool
    let holdsAnswers: Bool
    let sendsSmallMessagesWhole: Bool
    /// Header bytes of a frame split across reads (at most 14).
    var headerBuffer: [UInt8] = []
    /// The negotiated extensions, in negotiation order.
    public internal(set) var extensions: [any MessageExtension]
    /// When bytes last arrived (keepalive measures silence from here).
    var lastReceived: Instant
    /// When a data frame last arrived or a message was last sent (``Configuration/idleTimeout``).
    var lastDataActivity: Instant
    /// When the last data frame ended: between the frames of a message the message timeout
    /// runs from here, not from the last byte (see ``messageProgress``).
    var lastDataFrameEnd: Instant
    /// The keepalive ping in flight must be answered by then.
    var keepalivePongDeadline: Instant? = nil
    /// Number of keepalive pings sent; the payload of the last one is this counter.
    var keepaliveCount: UInt32 = 0
    /// The message being assembled.
    @usableFromInline var incoming = MessageAssembler()
    /// Payload bytes of the current frame still to come.
    var frameRemaining = 0
    /// Payload bytes of the current frame already consumed (the masking offset).
    var frameOffset = 0
    /// The header of the frame whose payload is being received, when ``inFrame``.
    var frame = FrameHeader(opcode: .continuation, payloadLength: 0)

    // What a read or a small send does not touch.
    /// Limits and behaviour.
    public private(set) var configuration: Configuration
    /// The negotiated subprotocol, if any (informational; set by the handshake).
    public var subprotocol: String?
    /// Source of masking keys (RFC 6455 §5.3).
    var entropy: any RandomNumberGenerator & Sendable
    /// The keepalive interval and the message and idle timeouts in nanoseconds, converted once:
    /// ``deadline`` is asked after every read and send, and `Instant + Duration` divides the
    /// duration's 128-bit attoseconds each time.
    let timerNanoseconds: TimerNanoseconds

    /// Creates a connection in the open state.
    /// - Parameters:
    ///   - role: client (masks its frames) or server.
    ///   - configuration: limits and behaviour.
    ///   - extensions: negotiated extensions, in the order they were negotiated.
    ///   - subprotocol: the negotiated subprotocol.
    ///   - now: the current time (starts keepalive timers).
    ///   - entropy: source of masking keys (clients only need it).
    public init(role: Role, configuration: Configuration = .init(), extensions: [any MessageExtension] = [],
                subprotocol: String? = nil, now: Instant = .zero,
                entropy: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.role = role; self.configuration = configuration; self.extensions = extensions
        self.admitsSmallMessages = configuration.admitsSmallMessages
        self.holdsAnswers = configuration.answerTimeout != nil
        self.sendsSmallMessagesWhole = configuration.fragmentSize.map { $0 >= 125 || $0 <= 0 } ?? true
        self.subprotocol = subprotocol
        self.entropy = entropy
        self.lastReceived = now
        self.lastDataActivity = now
        self.lastDataFrameEnd = now
        self.timerNanoseconds = TimerNanoseconds(configuration)
    }

    /// Feeds bytes read from the transport.
    ///
    /// - Returns: the outputs, in order: events as frames complete, then one `.write` with every
    ///   frame this call produced (pongs, the close reply), then `.deliver(.closed)` and
    ///   `.closeTransport` if the connection ended.
    public mutating func receive(_ bytes: some Collection<UInt8>, now: Instant) -> [Output] {
        var outputs: [Output] = []
        let done: Void? = bytes.withContiguousStorageIfAvailable { receive(UnsafeRawBufferPointer($0), now: now, into: &outputs) }
        if done == nil {
            Array(bytes).withUnsafeBytes { receive($0, now: now, into: &outputs) }
        }
        return outputs
    }

    /// Feeds bytes read from the transport, appending outputs to a caller-owned array (no
    /// allocation on the hot path). Frames are parsed straight from `bytes`; only a partial header
    /// is kept between calls, and payloads are unmasked while they are copied into the message.
    @inlinable
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant, into outputs: inout [Output]) {
        var none: [InPlaceMessage] = []
        receiveBytes(bytes, now: now, into: &outputs, inPlace: nil, messages: &none)
    }

    /// Feeds bytes read from the transport, leaving whole messages where they are: a data
    /// message that is one frame (FIN set, no extension bits) and lies entirely in `bytes` is
    /// unmasked in place, its text checked as UTF-8 (RFC 6455 §8.1; invalid text fails the
    /// connection with 1007 as usual), and reported in `messages` with its range in `bytes`
    /// instead of as a `.deliver(.message)` output. No array or string is made for it.
    ///
    /// Everything else (fragmented messages, a frame split across reads, compressed messages,
    /// control frames, the close handshake) is exactly as with ``receive(_:now:into:)``; merging
    /// `messages` into `outputs` by ``InPlaceMessage/outputIndex`` gives what that call returns.
    /// Only the payloads of whole single-frame messages are changed in `bytes` (unmasked).
    /// - Parameters:
    ///   - bytes: bytes read from the transport; in-place payloads are unmasked here, so the
    ///     caller must not reuse the buffer before it has read them.
    ///   - now: the current time.
    ///   - outputs: outputs are appended, as with ``receive(_:now:into:)``.
    ///   - messages: in-place messages are appended, in arrival order.
    ///   - maxInPlace: a message with a larger payload is delivered as an output instead (its
    ///     array made with the unmask fused into the copy, one pass): for a caller that keeps
    ///     large payloads anyway, e.g. to write them by reference, reading them in place would
    ///     cost a second pass.
    @inlinable  // (a driver's call goes straight to the receive; the forwarding frame cost 16 instructions a read)
    public mutating func receive(inPlace bytes: UnsafeMutableRawBufferPointer, now: Instant, into outputs: inout [Output],
                                 messages: inout [InPlaceMessage], maxInPlace: Int = .max) {
        receiveBytes(UnsafeRawBufferPointer(bytes), now: now, into: &outputs, inPlace: bytes, messages: &messages,
                     maxInPlace: maxInPlace)
    }

    /// The transport reached end of stream (the peer closed or half-closed).
    ///
    /// Before the close handshake completed this is an abnormal closure (1006, RFC 6455 §7.1.5);
    /// a client waiting for the server's TCP close finishes cleanly.
    /// While a close is held for the application's answers (``isAwaitingAnswers``), the held
    /// close goes out first, as ``eventsAnswered(now:)`` would send it.
    public mutating func receiveEndOfStream(now: Instant) -> [Output] {
        switch state {
        case .open, .closeSent:
            return finish(.abnormal)
        case .answering:
            var outputs = releaseHeldClose(now: now)
            outputs += receiveEndOfStream(now: now)
            return outputs
        case .awaitingEndOfStream(_, let reason):
            return finish(reason)
        case .closed:
            return []
        }
    }

    /// Sends a whole message.
    /// - Parameters:
    ///   - message: the text or binary message.
    ///   - extensions: ``ExtensionUse/bypass`` sends this one message as it is, RSV bits clear
    ///     (uncompressed while permessage-deflate is on).
    ///   - now: the current time.
    /// - Throws: ``UsageError/sendAfterClose`` once a close frame was sent or received.
    public mutating func send(_ message: Message, extensions: ExtensionUse = .apply, now: Instant) throws(UsageError) -> [Output] {
        var out: [UInt8] = []
        try send(message, extensions: extensions, now: now, into: &out)
        return [.write(out)]
    }

    /// Sends bytes as a message of the connection's default type (``Configuration/defaultMessageKind``).
    /// - Throws: ``UsageError/sendAfterClose``; ``UsageError/invalidUTF8`` when the default type is
    ///   text and `bytes` is not UTF-8 (RFC 6455 §8.1).
    public mutating func send(_ bytes: [UInt8], now: Instant) throws(UsageError) -> [Output] {
        var out: [UInt8] = []
        let kind = configuration.defaultMessageKind
        let failure: UsageError? = bytes.withUnsafeBytes { raw in
            do throws(UsageError) {
                try send(raw, kind: kind, now: now, into: &out)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return [.write(out)]
    }

    /// Hot path: appends the encoded frames of a message to the driver's outbound buffer.
    /// - Parameters:
    ///   - message: the text or binary message.
    ///   - extensions: whether the message goes through the negotiated extensions (default) or
    ///     is sent as it is (see ``ExtensionUse``).
    ///   - now: the current time.
    ///   - outbound: the driver's outbound buffer; the frames are appended to it.
    /// - Throws: ``UsageError/sendAfterClose``.
    public mutating func send(_ message: Message, extensions: ExtensionUse = .apply, now: Instant,
                              into outbound: inout [UInt8]) throws(UsageError) {
        guard canSend else { throw .sendAfterClose }
        lastDataActivity = now
        switch message {
        case .text(var text):
            text.withUTF8 { appendMessage(kind: .text, payload: UnsafeRawBufferPointer($0), extensions: extensions, into: &outbound) }
        case .binary(let bytes):
            bytes.withUnsafeBytes { appendMessage(kind: .binary, payload: $0, extensions: extensions, into: &outbound) }
        }
    }

    /// The frames of a data message whose state and payload are checked: a server's small
    /// message (the usual reply) straight as its one unmasked frame, what ``appendDataMessage``
    /// comes to without its steps (about 100 instructions per message); anything else through it.
    @inline(__always)
    private mutating func appendMessage(kind: Message.Kind, payload: UnsafeRawBufferPointer, extensions use: ExtensionUse,
                                        into outbound: inout [UInt8]) {
        if role == .server && payload.count < 126 && (extensions.isEmpty || use == .bypass) && sendsSmallMessagesWhole {
            FrameWriter.append(opcode: kind == .text ? .text : .binary, maskingKey: nil, payload: payload, to: &outbound)
        } else {
            appendDataMessage(kind: kind, payload: payload, extensions: use, into: &outbound)
        }
    }

    /// Hot path without a `Message`: appends the frames of a message of type `kind` whose payload
    /// is `bytes` to the driver's outbound buffer.
    /// `extensions` as in ``send(_:extensions:now:into:)``.
    /// - Throws: ``UsageError/sendAfterClose``; ``UsageError/invalidUTF8`` for text that is not UTF-8.
    public mutating func send(_ bytes: UnsafeRawBufferPointer, kind: Message.Kind, extensions: ExtensionUse = .apply,
                              now: Instant, into outbound: inout [UInt8]) throws(UsageError) {
        guard canSend else { throw .sendAfterClose }
        if kind == .text {
            var validator = UTF8Validator()
            guard validator.validate(bytes), validator.isComplete else { throw .invalidUTF8 }
        }
        lastDataActivity = now
        appendMessage(kind: kind, payload: bytes, extensions: extensions, into: &outbound)
    }

    /// Sends a ping (payload at most 125 bytes, RFC 6455 §5.5).
    /// - Throws: ``UsageError/sendAfterClose``, ``UsageError/controlPayloadTooLong(_:)``.
    public mutating func ping(_ payload: [UInt8] = [], now: Instant) throws(UsageError) -> [Output] {
        try control(.ping, payload)
    }

    /// Sends an unsolicited pong (payload at most 125 bytes, RFC 6455 §5.5.3).
    /// - Throws: ``UsageError/sendAfterClose``, ``UsageError/controlPayloadTooLong(_:)``.
    public mutating func pong(_ payload: [UInt8] = [], now: Instant) throws(UsageError) -> [Output] {
        try control(.pong, payload)
    }

    /// Starts the close handshake (RFC 6455 §7.1.2): sends a close frame and waits up to
    /// ``Configuration/closeTimeout`` for the peer's. Data messages the peer sends meanwhile are
    /// still delivered. While a close is held for the application's answers
    /// (``isAwaitingAnswers``), that close goes out instead (its code, not `code`), as
    /// ``eventsAnswered(now:)`` would send it.
    /// - Throws: ``UsageError/alreadyClosing`` unless the connection is open;
    ///   ``UsageError/invalidCloseCode(_:)`` for a code not valid on the wire (RFC 6455 §7.4);
    ///   ``UsageError/controlPayloadTooLong(_:)`` when the reason exceeds 123 UTF-8 bytes.
    public mutating func close(code: CloseCode = .normalClosure, reason: String = "", now: Instant) throws(UsageError) -> [Output] {
        switch state {
        case .open: break
        case .answering: return releaseHeldClose(now: now)
        case .closeSent, .awaitingEndOfStream, .closed: throw .alreadyClosing
        }
        guard code.isValidOnWire else { throw .invalidCloseCode(code.rawValue) }
        let length = 2 + reason.utf8.count
        guard length <= 125 else { throw .controlPayloadTooLong(length) }
        var out: [UInt8] = []
        writeControl(.close, FrameWriter.closePayload(code: code, reason: reason), to: &out)
        state = .closeSent(deadline: now + configuration.closeTimeout)
        return [.write(out)]
    }

    /// The earliest instant at which ``handleTimeout(now:)`` must be called, if any.
    public var nextDeadline: Instant? { deadline }

    /// Fires the timers that are due: keepalive ping and pong timeout, close handshake timeout,
    /// a client's wait for the server's TCP close.
    public mutating func handleTimeout(now: Instant) -> [Output] { fireTimers(now: now) }

    /// The bytes held for the data message being received: the capacity of its assembly buffer
    /// (reserved up to a frame's announced length, at most ``Configuration/maxFrameSize``) and of
    /// a frame kept whole. A driver counts them, with the events it has not delivered yet,
    /// against its inbound byte budget.
    @inlinable public var bufferedIncomingBytes: Int { incoming.buffer.capacity + incoming.frameBuffer.capacity }

    /// Whether the connection is closed (after `.closed` was delivered).
    public var isClosed: Bool {
        switch state {
        case .closed: return true
        case .open, .closeSent, .answering, .awaitingEndOfStream: return false
        }
    }

    /// Why the connection closed, once it has (the payload of the `.closed` event delivered).
    public var closeReason: CloseReason? {
        switch state {
        case .closed(let reason): return reason
        case .open, .closeSent, .answering, .awaitingEndOfStream: return nil
        }
    }

    /// Whether data messages can still be sent (no close frame sent yet, and no close frame
    /// received unless it is held for the application's answers).
    public var canSend: Bool {
        switch state {
        case .open, .answering: return true
        case .closeSent, .awaitingEndOfStream, .closed: return false
        }
    }

    /// Whether our close frame is held back until the application has answered the messages
    /// delivered before a protocol violation or the peer's close frame (see
    /// ``Configuration/answerTimeout``). The driver then calls ``eventsAnswered(now:)`` once the
    /// application has handled every event delivered so far.
    public var isAwaitingAnswers: Bool {
        switch state {
        case .answering: return true
        case .open, .closeSent, .awaitingEndOfStream, .closed: return false
        }
    }

    /// The application has handled (and answered) every event delivered so far. A driver that
    /// sets ``Configuration/answerTimeout`` calls this each time its application has caught up
    /// (after an event handler ran, when a consumer asks for more and none is left): later
    /// violations and close frames then go out at once until the next message. The close held
    /// back for it, if any, goes out now, after whatever the application sent meanwhile. Returns the
    /// outputs of that close (``Output/write(_:)`` of the close frame, then as the held cause
    /// requires: `.closed` and `.closeTransport`, or a client's wait for the server's TCP
    /// close); `[]` when nothing is held (``isAwaitingAnswers`` is false).
    public mutating func eventsAnswered(now: Instant) -> [Output] {
        unansweredMessages = false
        switch state {
        case .answering: return releaseHeldClose(now: now)
        case .open, .closeSent, .awaitingEndOfStream, .closed: return []
        }
    }

    /// ``eventsAnswered(now:)`` when no close is held (``isAwaitingAnswers`` false), without
    /// making its empty outputs: returns `false`, and the caller calls that instead.
    package mutating func eventsAnsweredIfNothingHeld() -> Bool {
        switch state {
        case .answering: return false
        case .open, .closeSent, .awaitingEndOfStream, .closed:
            unansweredMessages = false
            return true
        }
    }

    /// What a driver asks when its application has had every message delivered so far (a
    /// loop-thread handler's batch is done), in one call: ``eventsAnsweredIfNothingHeld()``, then,
    /// when nothing was held, ``isOpenBetweenMessages()``.
    package enum BatchAnswer: Sendable { case closeHeld, betweenMessages, otherwise }

    /// ``eventsAnsweredIfNothingHeld()`` and ``isOpenBetweenMessages()`` in one call (see
    /// ``BatchAnswer``): `.closeHeld` when a close waits for the answers (the caller then calls
    /// ``eventsAnswered(now:)``); otherwise the answers are recorded, and `.betweenMessages`
    /// says the connection is open with nothing half received.
    package mutating func answerBatch() -> BatchAnswer {
        guard eventsAnsweredIfNothingHeld() else { return .closeHeld }
        return isOpenBetweenMessages() ? .betweenMessages : .otherwise
    }

    private mutating func control(_ opcode: Opcode, _ payload: [UInt8]) throws(UsageError) -> [Output] {
        guard canSend else { throw .sendAfterClose }
        guard payload.count <= 125 else { throw .controlPayloadTooLong(payload.count) }
        var out: [UInt8] = []
        writeControl(opcode, payload, to: &out)
        return [.write(out)]
    }
}
