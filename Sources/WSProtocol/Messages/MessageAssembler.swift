// SPDX-License-Identifier: Apache-2.0

/// The incoming data message being put together from its frames (RFC 6455 §5.4), with the
/// buffers the receive path reuses. Plain storage: ``Connection`` decides what goes where.
@usableFromInline struct MessageAssembler: Sendable {
    /// Where the payload of the frame being received goes.
    enum Sink: Hashable, Sendable {
        /// A control frame: into ``controlBuffer``.
        case control
        /// A data frame of a whole-message delivery without extension: straight into ``buffer``.
        case message
        /// A data frame kept whole until it ends: streaming mode, or an extension decodes it.
        case frame
    }

    /// A data message has started and its final frame has not ended yet.
    var isOpen = false
    /// Text or binary, from the message's first frame.
    var kind: Message.Kind = .binary
    /// The RSV bits of the message's first frame (claimed by extensions, RFC 6455 §5.2).
    var reservedBits: UInt8 = 0
    /// In streaming mode: the next fragment delivered is the message's first.
    var nextFragmentIsFirst = true
    /// Payload bytes counted against ``Connection/Configuration/maxMessageSize`` so far: wire bytes
    /// for a plain message, decoded bytes for one an extension transforms.
    var size = 0
    /// The assembled payload (whole-message delivery).
    @usableFromInline var buffer: [UInt8] = []
    /// The payload of the current data frame when it is kept whole (see ``Sink/frame``).
    @usableFromInline var frameBuffer: [UInt8] = []
    /// The payload of the current control frame (at most 125 bytes; capacity is kept).
    var controlBuffer: [UInt8] = []
    /// Incremental UTF-8 state of a text message (RFC 6455 §8.1), across its frames.
    var validator = UTF8Validator()

    /// Starts a new message with its first frame's opcode and RSV bits.
    mutating func start(kind: Message.Kind, reservedBits: UInt8) {
        isOpen = true
        self.kind = kind
        self.reservedBits = reservedBits
        size = 0
        nextFragmentIsFirst = true
        validator.reset()
    }

    /// Ends the current message (its final frame was handled).
    mutating func finish() {
        isOpen = false
        reservedBits = 0
    }

    /// Makes room in ``buffer`` for `count` more bytes of a frame that has `frameRemaining`
    /// bytes left after them.
    ///
    /// The buffer grows with the bytes actually received, to twice what it must hold, and never
    /// past the end of the current frame: a header alone reserves nothing, so a peer that
    /// announces a huge frame (allowed when `maxFrameSize` is lifted) costs at most twice what it
    /// really sends. Doubling keeps the copies of a frame that spans many reads linear; the cap
    /// keeps the last step exact. A frame whose first read brings half of it or more gets its
    /// whole buffer at once: a 64 KiB frame is two TCP segments on loopback (its MSS is 65,483
    /// bytes), and a read between them cost a second allocation and a copy of the first part.
    mutating func growBuffer(toTake count: Int, frameRemaining: Int) {
        let needed = buffer.count + count
        guard needed > buffer.capacity else { return }
        let doubled = needed < Int.max / 2 ? 2 * needed : Int.max
        let frameEnd = needed + min(frameRemaining, Int.max - needed)
        buffer.reserveCapacity(min(doubled, frameEnd))
    }

    /// Appends `chunk` to `buffer`, unmasking it with `key` at payload position `offset` (RFC 6455
    /// §5.3). Returns the index in `buffer` where the new bytes start.
    @discardableResult
    ///
    /// One pass either way: unmasked bytes are written straight into the array's new tail (see
    /// ``UnmaskedBytes``), not appended masked and then unmasked in place.
    static func appendUnmasked(_ chunk: UnsafeRawBufferPointer, key: MaskingKey?, offset: Int,
                               to buffer: inout [UInt8]) -> Int {
        let start = buffer.count
        guard chunk.count > 0 else { return start }
        if let key {
            buffer.append(contentsOf: UnmaskedBytes(chunk, key: key, offset: offset))
        } else {
            buffer.append(contentsOf: chunk)
        }
        return start
    }

    /// Validates `buffer[start...]` as the next bytes of the text message.
    mutating func validateText(_ buffer: [UInt8], from start: Int) -> Bool {
        buffer.withUnsafeBytes { validator.validate(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }

    /// Builds a binary payload from a whole frame's bytes in one pass (copy fused with the unmask).
    static func makeBytes(_ source: UnsafeRawBufferPointer, key: MaskingKey?) -> [UInt8] {
        guard source.count > 0 else { return [] }
        // Small payloads: the stdlib's copying initialiser allocates fastest (measured ~30% less
        // time than the uninitialised-capacity one for 16 bytes); unmasking again in place is free.
        if source.count <= 256 {
            var bytes = [UInt8](source)
            if let key { bytes.withUnsafeMutableBytes { Masking.apply(key, offset: 0, to: $0) } }
            return bytes
        }
        return [UInt8](unsafeUninitializedCapacity: source.count) { out, count in
            copy(source, key: key, to: UnsafeMutableRawBufferPointer(out))
            count = source.count
        }
    }

    /// Builds a text payload straight from a whole frame's bytes (no intermediate array where the
    /// platform allows), validating it as complete UTF-8. Returns `nil` if it is not.
    static func makeText(_ source: UnsafeRawBufferPointer, key: MaskingKey?, validator: inout UTF8Validator) -> String? {
        if source.count == 0 { return "" }
        var valid = false
        if #available(macOS 11.0, iOS 14.0, watchOS 7.0, tvOS 14.0, *) {
            let text = String(unsafeUninitializedCapacity: source.count) { out in
                let raw = UnsafeMutableRawBufferPointer(out)
                copy(source, key: key, to: raw)
                valid = validator.validate(UnsafeRawBufferPointer(raw)) && validator.isComplete
                return source.count
            }
            return valid ? text : nil
        } else {
            let bytes = makeBytes(source, key: key)
            valid = bytes.withUnsafeBytes { validator.validate($0) } && validator.isComplete
            return valid ? String(decoding: bytes, as: UTF8.self) : nil
        }
    }

    private static func copy(_ source: UnsafeRawBufferPointer, key: MaskingKey?, to destination: UnsafeMutableRawBufferPointer) {
        if let key {
            Masking.apply(key, offset: 0, from: source, to: destination)
        } else {
            destination.copyMemory(from: source)
        }
    }
}
