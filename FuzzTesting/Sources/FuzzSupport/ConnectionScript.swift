// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A fuzzer input decoded into a connection configuration and a list of operations.
///
/// Layout: byte 0 selects variants (bit 0 streaming delivery; bit 1 small `maxFrameSize` /
/// `maxMessageSize` from the next two bytes; bit 2 `fragmentSize` from the next byte; bit 3 the
/// run-length extension on RSV1; bit 4 keepalive 1 s / 0.5 s; bit 5 automatic pong off; bit 6 a
/// small `maxAutoPongsPerReceive` from the next byte; bit 7 command mode). Byte 1 seeds the
/// chunking of the split run. Without command mode the rest of the input is one `receive`;
/// with it, the rest is a list of commands (see ``Operation``).
public struct ConnectionScript {
    public enum Operation: Hashable {
        case receive([UInt8])
        case sendTextHotPath([UInt8])
        case sendBinary([UInt8])
        case sendText(String)
        case sendDefault([UInt8])
        case ping([UInt8])
        case pong([UInt8])
        case close(code: UInt16, reason: String)
        case advance(milliseconds: UInt64)
        case endOfStream
    }

    public var configuration = Connection.Configuration()
    public var useExtension = false
    public var chunkSeed: UInt8 = 0
    public var operations: [Operation] = []
    /// Whether the whole-input and split-input runs must agree (not with a per-call pong cap).
    public var comparesSplitRun = true

    public init(_ input: [UInt8]) {
        var r = FuzzReader(input)
        let flags = r.byte()
        chunkSeed = r.byte()
        configuration.maxAutoPongsPerReceive = .max
        if flags & 0x01 != 0 { configuration.deliversFragments = true }
        if flags & 0x02 != 0 {
            configuration.maxFrameSize = Int(r.byte())
            configuration.maxMessageSize = Int(r.byte()) * 2
        }
        if flags & 0x04 != 0 { configuration.fragmentSize = Int(r.byte() % 32) }
        if flags & 0x08 != 0 { useExtension = true }
        if flags & 0x10 != 0 { configuration.keepalive = .init(interval: .seconds(1), timeout: .milliseconds(500)) }
        if flags & 0x20 != 0 { configuration.autoPong = false }
        if flags & 0x40 != 0 {
            configuration.maxAutoPongsPerReceive = Int(r.byte() % 4)
            comparesSplitRun = false
        }
        guard flags & 0x80 != 0 else {
            operations = [.receive(r.rest())]
            return
        }
        while !r.isAtEnd && operations.count < 64 {
            switch r.byte() % 10 {
            case 0: operations.append(.receive(r.take(r.length())))
            case 1: operations.append(.sendTextHotPath(r.take(r.length())))
            case 2: operations.append(.sendBinary(r.take(r.length())))
            case 3: operations.append(.ping(r.take(Int(r.byte() % 130))))
            case 4: operations.append(.pong(r.take(Int(r.byte() % 130))))
            case 5:
                let code = r.u16()
                let n = Int(r.byte() % 64)
                // Multi-byte characters so that the 123-byte reason limit is reached in bytes.
                operations.append(.close(code: code, reason: String(repeating: "é", count: n)))
            case 6: operations.append(.advance(milliseconds: UInt64(r.byte()) * 50))
            case 7: operations.append(.endOfStream)
            case 8: operations.append(.sendText(String(decoding: r.take(r.length()), as: UTF8.self)))
            default: operations.append(.sendDefault(r.take(r.length())))
            }
        }
    }

    /// What a run observed: every output but writes (and every thrown error) in order, and the
    /// concatenation of the writes.
    public struct Transcript: Equatable {
        public var records: [String] = []
        public var written: [UInt8] = []
        public var finalClosed = false
        public var finalReason: CloseReason? = nil

        /// Appends what `outputs` wrote, and a record of every other output.
        mutating func append(_ outputs: [Connection.Output]) {
            for output in outputs {
                switch output {
                case .write(let bytes): written += bytes
                case .deliver, .shutdownWrite, .closeTransport: records.append("\(output)")
                }
            }
        }
    }

    /// Runs the script on a fresh connection, checking every invariant; `split` feeds each
    /// `receive` in pieces; with `inPlace`, the pieces go to `receive(inPlace:now:into:messages:)`
    /// and its in-place messages are merged back among the outputs (checked for order and range).
    public func run(role: Role, split: Bool, inPlace: Bool = false) -> Transcript {
        var connection = Connection(role: role, configuration: configuration,
                                    extensions: useExtension ? [RunLengthExtension()] : [],
                                    now: .zero, entropy: SplitMix64(seed: 42))
        var checker = OutputChecker(role: role, configuration: configuration)
        var transcript = Transcript()
        var now = Instant.zero
        for op in operations {
            var outputs: [Connection.Output] = []
            do throws(UsageError) {
                switch op {
                case .receive(let bytes):
                    if inPlace {
                        for piece in Chunking.split(bytes, seed: chunkSeed) {
                            Self.receiveInPlace(piece, &connection, now: now, into: &outputs)
                        }
                    } else if split {
                        for piece in Chunking.split(bytes, seed: chunkSeed) {
                            piece.withUnsafeBytes { connection.receive($0, now: now, into: &outputs) }
                        }
                    } else {
                        outputs = connection.receive(bytes, now: now)
                    }
                case .sendTextHotPath(let bytes):
                    var out: [UInt8] = []
                    let failure: UsageError? = bytes.withUnsafeBytes { raw in
                        do throws(UsageError) {
                            try connection.send(raw, kind: .text, now: now, into: &out)
                            return nil
                        } catch {
                            return error
                        }
                    }
                    if let failure { throw failure }
                    outputs = [.write(out)]
                    checker.sentDataMessage()
                case .sendBinary(let bytes):
                    outputs = try connection.send(.binary(bytes), now: now)
                    checker.sentDataMessage()
                case .sendText(let text):
                    outputs = try connection.send(.text(text), now: now)
                    checker.sentDataMessage()
                case .sendDefault(let bytes):
                    outputs = try connection.send(bytes, now: now)
                    checker.sentDataMessage()
                case .ping(let payload):
                    outputs = try connection.ping(payload, now: now)
                    if payload.count > 125 { violation("ping with \(payload.count) bytes accepted") }
                case .pong(let payload):
                    outputs = try connection.pong(payload, now: now)
                    if payload.count > 125 { violation("pong with \(payload.count) bytes accepted") }
                case .close(let code, let reason):
                    outputs = try connection.close(code: CloseCode(code), reason: reason, now: now)
                    checker.noteCloseCalled()
                case .advance(let ms):
                    now = now + .milliseconds(ms)
                    outputs = connection.handleTimeout(now: now)
                case .endOfStream:
                    outputs = connection.receiveEndOfStream(now: now)
                }
            } catch {
                checker.threw(error, for: op)
                transcript.records.append("threw \(error)")
            }
            checker.observe(outputs, after: op)
            checker.checkQueries(connection)
            transcript.append(outputs)
        }
        checker.finish(written: transcript.written)
        transcript.finalClosed = connection.isClosed
        transcript.finalReason = connection.closeReason
        return transcript
    }

    /// One in-place receive of `piece`, its messages merged into `outputs` where their output
    /// indices put them; a message out of order or outside the piece is a violation.
    static func receiveInPlace(_ piece: [UInt8], _ connection: inout Connection, now: Instant,
                               into outputs: inout [Connection.Output]) {
        var buffer = piece
        var own: [Connection.Output] = [], messages: [InPlaceMessage] = []
        buffer.withUnsafeMutableBytes { connection.receive(inPlace: $0, now: now, into: &own, messages: &messages) }
        var next = 0, lastEnd = 0
        for index in 0...own.count {
            while next < messages.count && messages[next].outputIndex == index {
                let m = messages[next]
                if m.range.lowerBound < lastEnd || m.range.upperBound > buffer.count {
                    violation("in-place message \(m) outside the piece (\(buffer.count) bytes) or before the last")
                }
                lastEnd = m.range.upperBound
                let payload = Array(buffer[m.range])
                switch m.kind {
                case .binary: outputs.append(.deliver(.message(.binary(payload))))
                case .text:
                    guard let text = String(validating: payload, as: UTF8.self) else {
                        violation("in-place text that is not UTF-8: \(payload)")
                    }
                    outputs.append(.deliver(.message(.text(text))))
                }
                next += 1
            }
            if index < own.count { outputs.append(own[index]) }
        }
        if next != messages.count { violation("in-place message indices out of order: \(messages), \(own.count) outputs") }
    }

    /// The whole oracle: invariants on every run, the in-place run equal to the split run (the
    /// same calls), and the whole and split runs equal when they must agree.
    public func check(role: Role) {
        let whole = run(role: role, split: false)
        let split = run(role: role, split: true)
        let inPlace = run(role: role, split: true, inPlace: true)
        if inPlace.records != split.records || inPlace.written != split.written
            || inPlace.finalClosed != split.finalClosed || inPlace.finalReason != split.finalReason {
            violation("in-place and copying runs differ:\n in place: \(inPlace.records)\n copying: \(split.records)")
        }
        guard comparesSplitRun else { return }
        if whole.records != split.records {
            violation("whole and split runs differ in events:\n whole: \(whole.records)\n split: \(split.records)")
        }
        if whole.written != split.written {
            violation("whole and split runs wrote different bytes:\n whole: \(whole.written)\n split: \(split.written)")
        }
        if whole.finalClosed != split.finalClosed || whole.finalReason != split.finalReason {
            violation("whole and split runs end in different states")
        }
    }
}
