// SPDX-License-Identifier: Apache-2.0

/// Data frames that are kept whole until they end: in streaming mode (each frame becomes an
/// ``Event/fragment(_:)``), and for messages a negotiated extension decodes (RFC 6455 §9).
extension Connection {
    /// Ends a data frame kept whole: decodes it through the extensions and/or delivers it as a
    /// fragment (streaming mode, ``Configuration/deliversFragments``).
    mutating func finishKeptFrame(fin: Bool, _ context: inout ReceiveContext, into outputs: inout [Output]) {
        let streaming = configuration.deliversFragments
        var piece: [UInt8]
        if incoming.reservedBits != 0 {
            // Streaming: each frame decodes into its own fragment. Whole messages: the decoded
            // bytes accumulate in `incoming.buffer` (moved out and back, so never copied).
            var output: [UInt8] = streaming ? [] : incoming.buffer
            incoming.buffer = []
            let start = output.count
            if let error = decodeThroughExtensions(fin: fin, into: &output) {
                return fail(error, &context, into: &outputs)
            }
            // Keep a small buffer for the next frame; let a big one go, so an idle connection
            // does not hold on to the largest frame it ever saw.
            if incoming.frameBuffer.capacity > 4096 {
                incoming.frameBuffer = []
            } else {
                incoming.frameBuffer.removeAll(keepingCapacity: true)
            }
            incoming.size += output.count - start
            if incoming.size > configuration.maxMessageSize {
                return fail(.messageTooLarge(limit: configuration.maxMessageSize), &context, into: &outputs)
            }
            if incoming.kind == .text && !incoming.validateText(output, from: start) {
                return fail(.invalidUTF8, &context, into: &outputs)
            }
            if !streaming && !fin {
                incoming.buffer = output
                return
            }
            piece = output
        } else {
            piece = incoming.frameBuffer
            incoming.frameBuffer = []
        }
        if fin && incoming.kind == .text && !incoming.validator.isComplete {
            return fail(.invalidUTF8, &context, into: &outputs)
        }
        if fin { incoming.finish() }
        if streaming {
            let isFirst = incoming.nextFragmentIsFirst
            incoming.nextFragmentIsFirst = false
            outputs.append(.deliver(.fragment(Fragment(kind: incoming.kind, bytes: piece, isFirst: isFirst, isFinal: fin))))
        } else {
            switch incoming.kind {
            case .binary: outputs.append(.deliver(.message(.binary(piece))))
            case .text: outputs.append(.deliver(.message(.text(String(decoding: piece, as: UTF8.self)))))
            }
        }
    }

    /// Runs the frame payload through every extension claiming the message's RSV bits, last
    /// negotiated first (RFC 6455 §9), appending the result to `output`. Each decode may append
    /// at most what is left of ``Configuration/maxMessageSize``.
    mutating func decodeThroughExtensions(fin: Bool, into output: inout [UInt8]) -> ProtocolError? {
        let bits = incoming.reservedBits
        // (Saturating: a negative limit allows nothing and `.max` lifts it; neither may overflow.)
        let (left, overflow) = configuration.maxMessageSize.subtractingReportingOverflow(incoming.size)
        let limit = overflow ? 0 : max(left, 0)
        var input = incoming.frameBuffer
        let claiming = extensions.indices.reversed().filter { extensions[$0].reservedBits & bits != 0 }
        for (n, i) in claiming.enumerated() {
            let isLast = n == claiming.count - 1
            var piece: [UInt8] = isLast ? output : []
            if isLast { output = [] }
            let failure: ProtocolError? = input.withUnsafeBytes { raw in
                do throws(ProtocolError) {
                    try extensions[i].decode(raw, reservedBits: bits, isFinal: fin, into: &piece, limit: limit)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure {
                // Report the configured limit, whatever the extension was told was left of it.
                if case .messageTooLarge = failure { return .messageTooLarge(limit: configuration.maxMessageSize) }
                return failure
            }
            if isLast { output = piece } else { input = piece }
        }
        return nil
    }
}
