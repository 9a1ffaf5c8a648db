// SPDX-License-Identifier: Apache-2.0
import FuzzSupport
import WSDeflate
import WSProtocol

/// A fuzzer input for the permessage-deflate decoder (RFC 7692), with or without context
/// takeover, and its three oracles.
///
/// Layout: byte 0 flags (bit 0: a message limit from the next two bytes, else 1 MiB; bit 1:
/// window bits 9-15 from the next byte, else 15); byte 1 seeds the chunking; then up to 16
/// messages, each a header byte (bit 0 text; bits 1-2 one to four frames; bit 3 RSV1 clear on
/// the first frame) and its frames as length-prefixed byte strings. The same bytes serve as
/// compressed data (decoded as received) and as plaintext (compressed, then decoded back).
public struct InflateScript {
    struct Message {
        var text: Bool
        var compressed: Bool
        var frames: [[UInt8]]
        var joined: [UInt8] { frames.flatMap { $0 } }
    }

    let noContextTakeover: Bool
    let limit: Int
    let windowBits: Int?
    let chunkSeed: UInt8
    var messages: [Message] = []

    public init(_ input: [UInt8], noContextTakeover: Bool) {
        self.noContextTakeover = noContextTakeover
        var r = FuzzReader(input)
        let flags = r.byte()
        chunkSeed = r.byte()
        limit = flags & 0x01 != 0 ? Int(r.u16()) : 1 << 20
        windowBits = flags & 0x02 != 0 ? 9 + Int(r.byte() % 7) : nil
        while !r.isAtEnd && messages.count < 16 {
            let header = r.byte()
            let count = 1 + Int(header >> 1 & 0x03)
            messages.append(Message(text: header & 0x01 != 0, compressed: header & 0x08 == 0,
                                    frames: (0..<count).map { _ in r.take(r.length()) }))
        }
    }

    var parameters: PerMessageDeflateParameters {
        PerMessageDeflateParameters(serverNoContextTakeover: noContextTakeover, clientNoContextTakeover: noContextTakeover,
                                    serverMaxWindowBits: windowBits, clientMaxWindowBits: windowBits)
    }

    /// Runs every oracle.
    public func check() {
        decodeDirectly()
        roundTrip()
        compareWholeAndSplit()
    }

    /// The fuzz bytes as compressed frames straight into the decoder: never more than the limit,
    /// only the two documented errors, and the stream stays usable after one.
    func decodeDirectly() {
        var receiver = PerMessageDeflate(parameters: parameters, role: .client)
        for message in messages {
            var output: [UInt8] = []
            for (i, frame) in message.frames.enumerated() {
                // As the connection does: each frame may add what is left of the message's limit.
                let budget = limit - output.count
                let failure: ProtocolError? = frame.withUnsafeBytes { raw -> ProtocolError? in
                    do throws(ProtocolError) {
                        try receiver.decode(raw, reservedBits: 0x40, isFinal: i == message.frames.count - 1,
                                            into: &output, limit: budget)
                        return nil
                    } catch { return error }
                }
                if output.count > limit { violation("decode appended \(output.count) bytes, limit \(limit)") }
                guard let failure else { continue }
                switch failure {
                case .messageTooLarge(let reported):
                    if reported != budget { violation("messageTooLarge(\(reported)) for a budget of \(budget)") }
                    if output.count != limit { violation("stopped at \(output.count) bytes, not at the limit \(limit)") }
                case .extensionFailure(let detail):
                    if !detail.hasPrefix("permessage-deflate: ") { violation("extension failure \(detail)") }
                default:
                    violation("decode threw \(failure)")
                }
                break
            }
        }
    }

    /// The fuzz bytes as plaintext: compressed by one end, split into frames, decoded by the
    /// other; every message comes back exactly, also when earlier messages shaped the window.
    func roundTrip() {
        var sender = PerMessageDeflate(parameters: parameters, role: .server)
        var receiver = PerMessageDeflate(parameters: parameters, role: .client)
        var previous: (plain: [UInt8], encoded: [UInt8])? = nil
        for message in messages {
            let plain = message.joined
            let (encoded, bits) = sender.encode(plain, kind: message.text ? .text : .binary)
            guard bits == 0x40 else {
                // Sent uncompressed (RSV1 clear, RFC 7692 §6.1), as the sender may choose: then
                // exactly the plaintext, and the receiver does not decode it.
                if bits != 0 || encoded != plain { violation("uncompressed message changed or flagged \(bits)") }
                previous = nil
                continue
            }
            if noContextTakeover, let previous, previous.plain == plain, previous.encoded != encoded {
                violation("without context takeover the same message compressed differently")
            }
            previous = (plain, encoded)
            let frames = Chunking.split(encoded, seed: chunkSeed)
            var output: [UInt8] = []
            for (i, frame) in frames.enumerated() {
                let failure: ProtocolError? = frame.withUnsafeBytes { raw -> ProtocolError? in
                    do throws(ProtocolError) {
                        try receiver.decode(raw, reservedBits: 0x40, isFinal: i == frames.count - 1,
                                            into: &output, limit: .max)
                        return nil
                    } catch { return error }
                }
                if let failure { violation("our own compressed message failed to decode: \(failure)") }
            }
            if frames.isEmpty {
                // An empty payload still ends the message (the 00 00 FF FF tail).
                let failure: ProtocolError? = [UInt8]().withUnsafeBytes { raw -> ProtocolError? in
                    do throws(ProtocolError) {
                        try receiver.decode(raw, reservedBits: 0x40, isFinal: true, into: &output, limit: .max)
                        return nil
                    } catch { return error }
                }
                if let failure { violation("an empty compressed message failed to decode: \(failure)") }
            }
            if output != plain { violation("round trip changed a \(plain.count)-byte message") }
        }
    }

    /// Server frames carrying the fuzz bytes (RSV1 on the first frame unless the message says
    /// otherwise) into a client connection: fed whole and in pieces, the same events and bytes.
    func compareWholeAndSplit() {
        var wire: [UInt8] = []
        for message in messages {
            for (i, frame) in message.frames.enumerated() {
                let opcode: UInt8 = i > 0 ? 0x0 : (message.text ? 0x1 : 0x2)
                let rsv: UInt8 = i == 0 && message.compressed ? 0x40 : 0
                let fin: UInt8 = i == message.frames.count - 1 ? 0x80 : 0
                // An unmasked server frame (RFC 6455 §5.2); frames here are under 64 KiB.
                wire.append(fin | rsv | opcode)
                if frame.count < 126 {
                    wire.append(UInt8(frame.count))
                } else {
                    wire += [126, UInt8(frame.count >> 8), UInt8(frame.count & 0xFF)]
                }
                wire += frame
            }
        }
        let whole = run(wire, split: false)
        let split = run(wire, split: true)
        if whole != split { violation("whole and split runs differ:\n whole: \(whole)\n split: \(split)") }
    }

    func run(_ wire: [UInt8], split: Bool) -> [String] {
        var configuration = Connection.Configuration()
        configuration.maxMessageSize = limit
        var connection = Connection(role: .client, configuration: configuration,
                                    extensions: [PerMessageDeflate(parameters: parameters, role: .client)],
                                    now: .zero, entropy: SplitMix64(seed: 7))
        var records: [String] = []
        var written: [UInt8] = []
        for piece in split ? Chunking.split(wire, seed: chunkSeed) : [wire] {
            for output in connection.receive(piece, now: .zero) {
                switch output {
                case .write(let bytes): written += bytes
                case .deliver(.message(let message)):
                    let size: Int
                    switch message {
                    case .text(let t): size = t.utf8.count
                    case .binary(let b): size = b.count
                    }
                    if size > limit { violation("delivered \(size) bytes, limit \(limit)") }
                    records.append("\(output)")
                default: records.append("\(output)")
                }
            }
        }
        records.append("wrote \(written)")
        return records
    }
}
