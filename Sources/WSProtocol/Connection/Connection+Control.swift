// SPDX-License-Identifier: Apache-2.0

/// Control frames received (RFC 6455 §5.5): ping, pong, close.
extension Connection {
    /// Handles a complete control frame (RFC 6455 §5.5).
    mutating func handleControl(_ opcode: Opcode, now: Instant, _ context: inout ReceiveContext,
                                        into outputs: inout [Output]) {
        let payload = incoming.controlBuffer
        switch opcode {
        case .ping:
            outputs.append(.deliver(.ping(payload)))
            // "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response,
            // unless it already received a Close frame" (RFC 6455 §5.5.2). Once our close frame
            // is out we send nothing more.
            switch state {
            case .open:
                guard configuration.autoPong else { return }
                if context.autoPongs < configuration.maxAutoPongsPerReceive {
                    context.autoPongs += 1
                    writeControl(.pong, payload, to: &context.writes)
                } else {
                    context.deferredPing = payload  // Only the most recent is answered (§5.5.3).
                }
            case .closeSent, .answering, .awaitingEndOfStream, .closed:
                return
            }
        case .pong:
            outputs.append(.deliver(.pong(payload)))
            if keepalivePongDeadline != nil && payload == Self.keepalivePayload(keepaliveCount) {
                keepalivePongDeadline = nil
                keepaliveRearmed = true
            }
        case .close:
            switch Self.parseClose(payload) {
            case .success(let frame): completeHandshake(peer: frame, now: now, &context, into: &outputs)
            case .failure(let error): fail(error, &context, into: &outputs)
            }
        default:
            preconditionFailure("unreachable: reserved opcodes are rejected with the header")
        }
    }

    /// Decodes and checks a close frame's payload (RFC 6455 §5.5.1, §7.4).
    static func parseClose(_ payload: [UInt8]) -> Result<CloseFrame, ProtocolError> {
        if payload.isEmpty { return .success(CloseFrame(code: .noStatusReceived)) }
        if payload.count == 1 { return .failure(.closePayloadTooShort) }
        let code = CloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isValidOnWire else { return .failure(.invalidCloseCode(code.rawValue)) }
        let reason = payload[2...]
        var validator = UTF8Validator()
        guard validator.validate(reason), validator.isComplete else { return .failure(.invalidUTF8) }
        return .success(CloseFrame(code: code, reason: String(decoding: reason, as: UTF8.self)))
    }
}
