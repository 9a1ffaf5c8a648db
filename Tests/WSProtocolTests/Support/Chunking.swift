// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// What a run of inputs produced, in a form that does not depend on how the input was split:
/// the events in order, every written byte in order, and the transport actions in order.
/// (How writes are grouped into `.write` outputs depends on the split; what is written does not.)
struct Transcript: Hashable, CustomStringConvertible {
    var events: [Event] = []
    var written: [UInt8] = []
    var transport: [Connection.Output] = []

    init(events: [Event] = [], written: [UInt8] = [], transport: [Connection.Output] = []) {
        self.events = events; self.written = written; self.transport = transport
    }
    init(_ outputs: [Connection.Output]) { append(outputs) }

    mutating func append(_ outputs: [Connection.Output]) {
        for output in outputs {
            switch output {
            case .write(let bytes): written += bytes
            case .deliver(let event): events.append(event)
            case .shutdownWrite, .closeTransport: transport.append(output)
            }
        }
    }

    var description: String {
        let hex = written.prefix(48).map { String($0, radix: 16) }.joined(separator: " ")
        return "Transcript(events: \(events.map { Self.short($0) }), written \(written.count) bytes: [\(hex)\(written.count > 48 ? " ..." : "")], transport: \(transport))"
    }

    /// An event with long payloads shortened, for readable failure messages.
    static func short(_ event: Event) -> String {
        switch event {
        case .message(.text(let s)) where s.utf8.count > 40: return "text(\(s.utf8.count) bytes)"
        case .message(.binary(let b)) where b.count > 40: return "binary(\(b.count) bytes)"
        default: return "\(event)"
        }
    }
}

/// Feeds one input split in every way h11's `tr()` and NIO's chunk-size tests do: whole, one
/// byte at a time, and in chunks of every size from 1 to 16.
enum Chunking {
    /// Chunk sizes tried besides the whole input.
    static let sizes = Array(1...16)

    /// `bytes` cut into pieces of `size` (the last may be shorter).
    static func chunks(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0 ..< min($0 + size, bytes.count)]) }
    }

    /// Every split tried: a label and the chunks.
    static func splits(of bytes: [UInt8]) -> [(label: String, chunks: [[UInt8]])] {
        [("whole", [bytes])] + sizes.map { ("chunks of \($0)", chunks(bytes, size: $0)) }
    }

    /// Feeds `chunks` to `connection` in order and returns the raw outputs of every call.
    static func feed(_ chunks: [[UInt8]], to connection: inout Connection, now: Instant = .zero) -> [Connection.Output] {
        var outputs: [Connection.Output] = []
        for chunk in chunks { outputs += connection.receive(chunk, now: now) }
        return outputs
    }

    /// The transcript of `bytes` fed to a fresh connection from `make`, for every split; also
    /// feeds the raw-pointer entry point (`receive(_:now:into:)`) one byte at a time.
    static func transcripts(of bytes: [UInt8], make: () -> Connection) -> [(label: String, transcript: Transcript)] {
        var results: [(String, Transcript)] = []
        for (label, chunks) in splits(of: bytes) {
            var connection = make()
            results.append((label, Transcript(feed(chunks, to: &connection))))
        }
        var connection = make()
        var outputs: [Connection.Output] = []
        for byte in bytes { [byte].withUnsafeBytes { connection.receive($0, now: .zero, into: &outputs) } }
        results.append(("pointer, byte by byte", Transcript(outputs)))
        return results
    }
}
