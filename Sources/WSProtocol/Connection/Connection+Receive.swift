// SPDX-License-Identifier: Apache-2.0

extension Connection {
    /// Scratch state of one receive call.
    struct ReceiveContext {
        /// Frames to write, sent as one `.write` (one syscall for many frames).
        var writes: [UInt8] = []
        /// Automatic pongs written so far in this call.
        var autoPongs = 0
        /// The most recent ping beyond the per-call pong cap, answered at the end of the call.
        var deferredPing: [UInt8]? = nil
        /// Parsing stopped: the connection failed, or the peer's close frame arrived.
        var stopped = false
        /// The time of this call.
        let now: Instant
        /// Where this call's outputs start in the caller's array (to tell whether this call
        /// delivered messages before a failure or the peer's close frame).
        let firstOutput: Int
        /// This call delivered a message in place (not among the outputs).
        var deliveredInPlace = false

        init(now: Instant, firstOutput: Int) { self.now = now; self.firstOutput = firstOutput }

        mutating func flush(into outputs: inout [Output]) {
            guard !writes.isEmpty else { return }
            outputs.append(.write(writes))
            writes = []
        }
    }

    /// Parses `input` frame by frame; see ``receive(_:now:into:)``. With `inPlace` (the same
    /// memory as `input`, writable), whole single-frame messages are unmasked there and reported
    /// in `messages` when their payload is at most `maxInPlace` bytes; see
    /// ``receive(inPlace:now:into:messages:maxInPlace:)``.
    @usableFromInline mutating func receiveBytes(_ input: UnsafeRawBufferPointer, now: Instant, into outputs: inout [Output],
                               inPlace: UnsafeMutableRawBufferPointer?, messages: inout [InPlaceMessage],
                               maxInPlace: Int = .max) {
        switch state {
        case .open, .closeSent:
            break
        case .answering, .awaitingEndOfStream, .closed:
            // Nothing is read after the peer's close frame (RFC 6455 §5.5.1) or a violation.
            return
        }
        guard input.count > 0 else { return }
        lastReceived = now
        let end = input.count
        var pos = 0
        let firstOutput = outputs.count
        if !inFrame, headerBuffer.isEmpty, !incoming.isOpen, admitsSmallMessages {
            if let inPlace {
                pos = takeSmallMessages(inPlace, now: now, outputIndex: firstOutput, messages: &messages, maxInPlace: maxInPlace)
            } else {
                pos = takeSmallMessages(input, now: now, into: &outputs)
            }
            if pos == end {
                if pos > 0 && holdsAnswers { unansweredMessages = true }
                return
            }
        }
        var context = ReceiveContext(now: now, firstOutput: firstOutput)
        context.deliveredInPlace = inPlace != nil && pos > 0
        while !context.stopped {
            if inFrame {
                if frameRemaining > 0 {
                    guard pos < end else { break }
                    let n = min(frameRemaining, end - pos)
                    consumePayload(UnsafeRawBufferPointer(rebasing: input[pos ..< pos + n]), &context, into: &outputs)
                    pos += n
                    if context.stopped || frameRemaining > 0 { continue }
                }
                finishFrame(now: now, &context, into: &outputs)
                continue
            }
            guard pos < end else { break }
            if headerBuffer.isEmpty {
                guard let (header, length) = FrameHeader.parse(UnsafeRawBufferPointer(rebasing: input[pos...])) else {
                    headerBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[pos...]))
                    pos = end
                    break
                }
                pos += length
                guard startFrame(header, &context, into: &outputs) else { continue }
                // Fast path: a whole single-frame message already in the input is built in one
                // pass (copy fused with the unmask), with no intermediate buffer.
                if sink == .message, header.fin, header.opcode != .continuation, end - pos >= frameRemaining {
                    let range = pos ..< pos + frameRemaining
                    pos += frameRemaining
                    if let inPlace, range.count <= maxInPlace {
                        deliverInPlace(range, in: inPlace, &context, into: &outputs, messages: &messages)
                    } else {
                        deliverWholeFrameMessage(UnsafeRawBufferPointer(rebasing: input[range]), &context, into: &outputs)
                    }
                }
            } else {
                let need = headerBuffer.count < 2 ? 2 : FrameHeader.encodedLength(byte1: headerBuffer[1])
                let take = min(need - headerBuffer.count, end - pos)
                headerBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[pos ..< pos + take]))
                pos += take
                guard let (header, _) = FrameHeader.parse(headerBuffer) else { continue }
                headerBuffer.removeAll(keepingCapacity: true)
                _ = startFrame(header, &context, into: &outputs)
            }
        }
        guard !context.stopped else { return }
        if holdsAnswers && !unansweredMessages {
            unansweredMessages = context.deliveredInPlace || Self.deliversMessages(outputs[context.firstOutput...])
        }
        switch state {
        case .open: writeDeferredPong(&context)
        case .closeSent, .answering, .awaitingEndOfStream, .closed: break
        }
        context.flush(into: &outputs)
    }

    /// The fast lanes: whole small messages at the start of the input (each one frame with FIN
    /// set, no RSV bit, text or binary, masked exactly when the peer is a client, a payload
    /// under 126 bytes, all of it in the input) are taken as the general path
    /// (``startFrame(_:_:into:)``, then ``deliverInPlace`` or ``deliverWholeFrameMessage``)
    /// would take them, without building a header or a receive context for each. Each returns
    /// where it stopped: the first byte it leaves to the general path (anything else, including
    /// text that is not UTF-8, which it leaves as it found it). Called with no frame, header or
    /// message under way, when ``Configuration/admitsSmallMessages``.
    ///
    /// The frame at `pos`, if it is such a message: its type, and where its payload starts.
    @inline(__always)
    private func smallMessage(at pos: Int, in base: UnsafeRawPointer, end: Int, masked: Bool) -> (Message.Kind, Int, Int)? {
        guard end &- pos >= 2 else { return nil }
        let b0 = base.load(fromByteOffset: pos, as: UInt8.self)
        let b1 = base.load(fromByteOffset: pos &+ 1, as: UInt8.self)
        let length = Int(b1 & 0x7F)
        let start = pos &+ (masked ? 6 : 2)
        guard b0 == 0x81 || b0 == 0x82, (b1 & 0x80 != 0) == masked, length < 126, end &- start >= length else { return nil }
        return (b0 == 0x81 ? .text : .binary, start, length)
    }

    @inline(__always)
    private static func maskingKey(at pos: Int, in base: UnsafeRawPointer) -> MaskingKey {
        MaskingKey(base.load(fromByteOffset: pos &+ 2, as: UInt8.self), base.load(fromByteOffset: pos &+ 3, as: UInt8.self),
                   base.load(fromByteOffset: pos &+ 4, as: UInt8.self), base.load(fromByteOffset: pos &+ 5, as: UInt8.self))
    }

    /// A message starts (what ``startFrame(_:_:into:)`` and the delivery record of it).
    @inline(__always)
    private mutating func startSmallMessage(_ kind: Message.Kind, length: Int) {
        incoming.kind = kind
        incoming.size = length
        incoming.nextFragmentIsFirst = true
        incoming.validator.reset()
    }

    /// The in-place lane: unmasks the messages where they lie and reports them in `messages`.
    @inline(__always)
    private mutating func takeSmallMessages(_ input: UnsafeMutableRawBufferPointer, now: Instant, outputIndex: Int,
                                            messages: inout [InPlaceMessage], maxInPlace: Int) -> Int {
        guard maxInPlace >= 125, let base = input.baseAddress else { return 0 }
        let masked = role == .server
        let end = input.count
        var pos = 0
        while let (kind, start, length) = smallMessage(at: pos, in: base, end: end, masked: masked) {
            let payload = base + start
            var key: MaskingKey? = nil
            if masked {
                let k = Self.maskingKey(at: pos, in: base)
                Masking.xor(k, offset: 0, source: UnsafeRawPointer(payload), destination: payload, count: length)
                key = k
            }
            startSmallMessage(kind, length: length)
            if kind == .text {
                guard incoming.validator.validate(UnsafeRawBufferPointer(start: payload, count: length)),
                      incoming.validator.isComplete else {
                    // The general path fails the connection (1007) on these bytes as they came.
                    if let key { Masking.xor(key, offset: 0, source: UnsafeRawPointer(payload), destination: payload, count: length) }
                    break
                }
            }
            lastDataActivity = now
            messages.append(InPlaceMessage(kind: kind, range: start ..< start &+ length, outputIndex: outputIndex))
            pos = start &+ length
        }
        return pos
    }

    /// The copying lane: each message as a `.deliver(.message)` output, unmasked into its array
    /// or string in one pass.
    @inline(__always)
    private mutating func takeSmallMessages(_ input: UnsafeRawBufferPointer, now: Instant, into outputs: inout [Output]) -> Int {
        guard let base = input.baseAddress else { return 0 }
        let masked = role == .server
        let end = input.count
        var pos = 0
        while let (kind, start, length) = smallMessage(at: pos, in: base, end: end, masked: masked) {
            let payload = UnsafeRawBufferPointer(start: base + start, count: length)
            let key: MaskingKey? = masked ? Self.maskingKey(at: pos, in: base) : nil
            startSmallMessage(kind, length: length)
            switch kind {
            case .binary:
                outputs.append(.deliver(.message(.binary(MessageAssembler.makeBytes(payload, key: key)))))
            case .text:
                // Not UTF-8: the general path fails the connection (1007).
                guard let text = MessageAssembler.makeText(payload, key: key, validator: &incoming.validator) else { return pos }
                outputs.append(.deliver(.message(.text(text))))
            }
            lastDataActivity = now
            pos = start &+ length
        }
        return pos
    }

    /// Checks a frame header against RFC 6455 §5 and the limits, and prepares for its payload.
    /// Returns `false` when it failed the connection.
    private mutating func startFrame(_ header: FrameHeader, _ context: inout ReceiveContext,
                                     into outputs: inout [Output]) -> Bool {
        if let error = headerError(header) {
            fail(error, &context, into: &outputs)
            return false
        }
        let length = Int(header.payloadLength)
        frame = header
        inFrame = true
        frameRemaining = length
        frameOffset = 0
        let opcode = header.opcode
        if opcode.isControl {
            sink = .control
            incoming.controlBuffer.removeAll(keepingCapacity: true)
            return true
        }
        lastDataActivity = context.now  // a data frame: message traffic (Configuration.idleTimeout)
        if opcode != .continuation {
            incoming.start(kind: opcode == .text ? .text : .binary, reservedBits: header.rsv)
        }
        // Without an extension the wire bytes count against the message limit; with one, the
        // decoded bytes do (counted when the frame is decoded).
        if incoming.reservedBits == 0 { incoming.size += length }
        if incoming.reservedBits != 0 || configuration.deliversFragments {
            sink = .frame
        } else {
            sink = .message
        }
        return true
    }

    /// The first rule `header` breaks, if any (RFC 6455 §5.1, §5.2, §5.4, §5.5; limits → 1009).
    @inline(__always)
    private func headerError(_ header: FrameHeader) -> ProtocolError? {
        // The usual frame, passed in a few tests: the first frame of a text or binary message
        // with no message open, no RSV bits, masked as the role requires, and shorter than any
        // limit (under 128 bytes, with both limits at least that).
        if header.rsv == 0, header.payloadLength < 128, !incoming.isOpen,
           header.opcode == .text || header.opcode == .binary,
           (header.maskingKey != nil) == (role == .server),
           configuration.maxFrameSize >= 128, configuration.maxMessageSize >= 128 {
            return nil
        }
        return anyHeaderError(header)
    }

    /// ``headerError(_:)`` for any frame.
    @inline(never)
    private func anyHeaderError(_ header: FrameHeader) -> ProtocolError? {
        let opcode = header.opcode
        let length = header.payloadLength
        if opcode.isReserved { return .reservedOpcode(opcode.rawValue) }
        if length >> 63 != 0 { return .payloadLengthTopBitSet }
        if opcode.isControl {
            if !header.fin { return .fragmentedControlFrame }
            if length > 125 { return .controlFrameTooLong(length: length) }
            if header.rsv != 0 { return .reservedBitsSet(header.rsv) }
        } else if opcode == .continuation {
            // RSV bits belong to a message's first frame only.
            if header.rsv != 0 { return .reservedBitsSet(header.rsv) }
            if !incoming.isOpen { return .unexpectedContinuation }
        } else {
            if incoming.isOpen { return .expectedContinuation }
            if header.rsv != 0 {
                var claimed: UInt8 = 0
                for e in extensions { claimed |= e.reservedBits }
                let unclaimed = header.rsv & ~claimed
                if unclaimed != 0 { return .reservedBitsSet(unclaimed) }
            }
        }
        switch role {
        case .server: if header.maskingKey == nil { return .unmaskedFrameFromClient }
        case .client: if header.maskingKey != nil { return .maskedFrameFromServer }
        }
        // Limits are checked on the announced length, before any payload is buffered.
        if length > UInt64(max(configuration.maxFrameSize, 0)) { return .frameTooLarge(limit: configuration.maxFrameSize) }
        if !opcode.isControl {
            let usesExtension = opcode == .continuation ? incoming.reservedBits != 0 : header.rsv != 0
            let soFar = opcode == .continuation ? incoming.size : 0
            if !usesExtension && UInt64(soFar) + length > UInt64(max(configuration.maxMessageSize, 0)) {
                return .messageTooLarge(limit: configuration.maxMessageSize)
            }
        }
        return nil
    }

    /// Takes the next payload bytes of the current frame.
    private mutating func consumePayload(_ chunk: UnsafeRawBufferPointer, _ context: inout ReceiveContext,
                                         into outputs: inout [Output]) {
        let key = frame.maskingKey
        let offset = frameOffset
        frameOffset += chunk.count
        frameRemaining -= chunk.count
        switch sink {
        case .control:
            MessageAssembler.appendUnmasked(chunk, key: key, offset: offset, to: &incoming.controlBuffer)
        case .message:
            incoming.growBuffer(toTake: chunk.count, frameRemaining: frameRemaining)
            let start = MessageAssembler.appendUnmasked(chunk, key: key, offset: offset, to: &incoming.buffer)
            // Fail fast on text that can no longer be UTF-8 (RFC 6455 §8.1), before the frame ends.
            if incoming.kind == .text && !incoming.validateText(incoming.buffer, from: start) {
                fail(.invalidUTF8, &context, into: &outputs)
            }
        case .frame:
            let start = MessageAssembler.appendUnmasked(chunk, key: key, offset: offset, to: &incoming.frameBuffer)
            if incoming.kind == .text && incoming.reservedBits == 0
                && !incoming.validateText(incoming.frameBuffer, from: start) {
                fail(.invalidUTF8, &context, into: &outputs)
            }
        }
    }

    /// Builds and delivers a single-frame message whose payload is all in `payload` (fast path).
    private mutating func deliverWholeFrameMessage(_ payload: UnsafeRawBufferPointer, _ context: inout ReceiveContext,
                                                   into outputs: inout [Output]) {
        inFrame = false
        frameRemaining = 0
        incoming.finish()
        switch incoming.kind {
        case .binary:
            outputs.append(.deliver(.message(.binary(MessageAssembler.makeBytes(payload, key: frame.maskingKey)))))
        case .text:
            guard let text = MessageAssembler.makeText(payload, key: frame.maskingKey, validator: &incoming.validator) else {
                return fail(.invalidUTF8, &context, into: &outputs)
            }
            outputs.append(.deliver(.message(.text(text))))
        }
    }

    /// Unmasks a single-frame message whose payload is all at `range` of `buffer`, there, and
    /// reports it in `messages` (the in-place fast path).
    private mutating func deliverInPlace(_ range: Range<Int>, in buffer: UnsafeMutableRawBufferPointer,
                                         _ context: inout ReceiveContext, into outputs: inout [Output],
                                         messages: inout [InPlaceMessage]) {
        inFrame = false
        frameRemaining = 0
        incoming.finish()
        let payload = UnsafeMutableRawBufferPointer(rebasing: buffer[range])
        if let key = frame.maskingKey { Masking.apply(key, offset: 0, to: payload) }
        if incoming.kind == .text {
            guard incoming.validator.validate(UnsafeRawBufferPointer(payload)), incoming.validator.isComplete else {
                return fail(.invalidUTF8, &context, into: &outputs)
            }
        }
        messages.append(InPlaceMessage(kind: incoming.kind, range: range, outputIndex: outputs.count))
        context.deliveredInPlace = true
    }

    /// The current frame's payload is complete.
    mutating func finishFrame(now: Instant, _ context: inout ReceiveContext, into outputs: inout [Output]) {
        inFrame = false
        let fin = frame.fin
        switch sink {
        case .control:
            handleControl(frame.opcode, now: now, &context, into: &outputs)
        case .message:
            guard fin else {
                lastDataFrameEnd = now  // progress on the message (``messageProgress``)
                return
            }
            incoming.finish()
            let payload = incoming.buffer
            incoming.buffer = []
            switch incoming.kind {
            case .binary:
                outputs.append(.deliver(.message(.binary(payload))))
            case .text:
                guard incoming.validator.isComplete else { return fail(.invalidUTF8, &context, into: &outputs) }
                outputs.append(.deliver(.message(.text(String(decoding: payload, as: UTF8.self)))))
            }
        case .frame:
            lastDataFrameEnd = now
            finishKeptFrame(fin: fin, &context, into: &outputs)
        }
    }
}
