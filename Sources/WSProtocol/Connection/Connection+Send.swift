// SPDX-License-Identifier: Apache-2.0

extension Connection {
    /// Whether one outgoing data message goes through the negotiated extensions.
    public enum ExtensionUse: Hashable, Sendable {
        /// Through every negotiated extension, in negotiation order (compressed when
        /// permessage-deflate is on). The default.
        case apply
        /// Sent as it is, with no RSV bit set: no extension sees it. With permessage-deflate this
        /// is an uncompressed message, which a sender may send at any time ("An endpoint MAY
        /// send a message uncompressed", RFC 7692 §6.1; the compression context is untouched), e.g.
        /// for a payload that is already compressed.
        case bypass
    }

    /// Appends the frames of one data message to `outbound`: through the extensions first (their
    /// RSV bits go on the first frame only, RFC 6455 §5.2), then split into frames of at most
    /// ``Configuration/fragmentSize`` payload bytes (RFC 6455 §5.4), each masked with a fresh key
    /// when this end is a client (RFC 6455 §5.3). With ``ExtensionUse/bypass`` no extension sees
    /// the message and no RSV bit is set.
    mutating func appendDataMessage(kind: Message.Kind, payload: UnsafeRawBufferPointer, extensions use: ExtensionUse = .apply,
                                    into outbound: inout [UInt8]) {
        let opcode: Opcode = kind == .text ? .text : .binary
        if extensions.isEmpty || use == .bypass {
            appendFragmented(opcode: opcode, rsv: 0, payload: payload, into: &outbound)
            return
        }
        var encoded = [UInt8](payload)
        var rsv: UInt8 = 0
        for i in extensions.indices {
            let result = extensions[i].encode(encoded, kind: kind)
            encoded = result.payload
            rsv |= result.reservedBits & 0x70
        }
        encoded.withUnsafeBytes { appendFragmented(opcode: opcode, rsv: rsv, payload: $0, into: &outbound) }
    }

    private mutating func appendFragmented(opcode: Opcode, rsv: UInt8, payload: UnsafeRawBufferPointer,
                                           into outbound: inout [UInt8]) {
        guard let size = configuration.fragmentSize, size > 0, payload.count > size else {
            FrameWriter.append(opcode: opcode, rsv: rsv, maskingKey: nextMaskingKey(), payload: payload, to: &outbound)
            return
        }
        var start = 0
        while start < payload.count {
            let end = min(start + size, payload.count)
            let first = start == 0
            FrameWriter.append(opcode: first ? opcode : .continuation, fin: end == payload.count, rsv: first ? rsv : 0,
                               maskingKey: nextMaskingKey(),
                               payload: UnsafeRawBufferPointer(rebasing: payload[start ..< end]), to: &outbound)
            start = end
        }
    }
}

extension Connection {
    /// Hot path for a large server payload the driver writes itself (no copy into the outbound
    /// buffer): when the message goes out as one unmasked frame that no extension transforms
    /// (a server, RFC 6455 §5.1; no extension; no fragmentation, §5.4), appends only that
    /// frame's header to `outbound` and returns `true`; the caller must write exactly `payload`
    /// right after it, before anything else appended later. Returns `false` (nothing appended)
    /// when the message needs the whole encoding (``send(_:kind:extensions:now:into:)``).
    /// Drivers whose transport takes several buffers per write use it: WSPosixIO's socket
    /// writer, and Examples/NIOIntegration, which writes a `ByteBuffer` payload as it is.
    /// - Throws: ``UsageError/sendAfterClose``; ``UsageError/invalidUTF8`` for text that is not UTF-8.
    public mutating func sendHeader(for payload: UnsafeRawBufferPointer, kind: Message.Kind,
                                    extensions use: ExtensionUse = .apply, now: Instant,
                                    into outbound: inout [UInt8]) throws(UsageError) -> Bool {
        guard canSend else { throw .sendAfterClose }
        guard role == .server, extensions.isEmpty || use == .bypass else { return false }
        if let size = configuration.fragmentSize, size > 0, payload.count > size { return false }
        if kind == .text {
            var validator = UTF8Validator()
            guard validator.validate(payload), validator.isComplete else { throw .invalidUTF8 }
        }
        lastDataActivity = now
        FrameHeader(opcode: kind == .text ? .text : .binary, payloadLength: UInt64(payload.count)).write(to: &outbound)
        return true
    }

    /// A data message encoded once for many connections (a broadcast): when this connection
    /// would put exactly `frame` on the wire for the message (a server, whose frames are
    /// unmasked, RFC 6455 §5.1; no extension transforms it; no fragmentation, §5.4), checks the
    /// state as ``send(_:extensions:now:into:)`` does, appends `frame` to `outbound` and returns
    /// `true`. Returns `false` (nothing appended) when this connection must encode the message
    /// itself. `frame` must be one whole unmasked data frame with FIN set and RSV clear whose
    /// payload is `payloadCount` bytes (text already valid UTF-8).
    /// - Throws: ``UsageError/sendAfterClose``.
    package mutating func sendEncoded(_ frame: [UInt8], payloadCount: Int, extensions use: ExtensionUse = .apply,
                                      now: Instant, into outbound: inout [UInt8]) throws(UsageError) -> Bool {
        guard canSend else { throw .sendAfterClose }
        guard role == .server, extensions.isEmpty || use == .bypass else { return false }
        if let size = configuration.fragmentSize, size > 0, payloadCount > size { return false }
        outbound.append(contentsOf: frame)
        return true
    }
}
