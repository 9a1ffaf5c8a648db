// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

/// `receive(inPlace:now:into:messages:maxInPlace:)`: whole single-frame messages stay in the caller's
/// buffer (unmasked there); everything else, and the order of it all, is what
/// `receive(_:now:into:)` gives for the same bytes.
@Suite("Receiving messages in place")
struct InPlaceReceiveTests {
    /// One in-place call on a copy of `input`: its outputs, its messages and the buffer after it.
    static func inPlace(_ input: [UInt8], _ connection: inout Connection, now: Instant = .zero, maxInPlace: Int = .max)
        -> (outputs: [Connection.Output], messages: [InPlaceMessage], buffer: [UInt8]) {
        var buffer = input
        var outputs: [Connection.Output] = [], messages: [InPlaceMessage] = []
        buffer.withUnsafeMutableBytes {
            connection.receive(inPlace: $0, now: now, into: &outputs, messages: &messages, maxInPlace: maxInPlace)
        }
        return (outputs, messages, buffer)
    }

    /// The outputs with each in-place message put back as the `.deliver(.message)` output it
    /// stands for, at its `outputIndex`.
    static func merged(_ outputs: [Connection.Output], _ messages: [InPlaceMessage], _ buffer: [UInt8]) -> [Connection.Output] {
        var result: [Connection.Output] = []
        var next = 0
        for index in 0...outputs.count {
            while next < messages.count && messages[next].outputIndex == index {
                let m = messages[next]
                let payload = Array(buffer[m.range])
                switch m.kind {
                case .text: result.append(.deliver(.message(.text(String(decoding: payload, as: UTF8.self)))))
                case .binary: result.append(.deliver(.message(.binary(payload))))
                }
                next += 1
            }
            if index < outputs.count { result.append(outputs[index]) }
        }
        #expect(next == messages.count, "an in-place message with an output index out of order or range")
        return result
    }

    @Test func wholeFramesStayInTheBufferUnmasked() {
        let binary: [UInt8] = Array(0..<200)
        let input = Wire.client(.text, Array("hello".utf8)) + Wire.client(.binary, binary, key: MaskingKey(1, 2, 3, 4))
        var server = Connection(role: .server)
        let (outputs, messages, buffer) = Self.inPlace(input, &server)
        #expect(outputs == [])
        // text: 2 header bytes + 4 key bytes, then 5; binary: 2 + 2 (16-bit length) + 4, then 200.
        #expect(messages == [
            InPlaceMessage(kind: .text, range: 6 ..< 11, outputIndex: 0),
            InPlaceMessage(kind: .binary, range: 19 ..< 219, outputIndex: 0),
        ])
        #expect(Array(buffer[6 ..< 11]) == Array("hello".utf8))
        #expect(Array(buffer[19 ..< 219]) == binary)
        // Headers and keys are left as they were.
        #expect(Array(buffer[0 ..< 6]) == Array(input[0 ..< 6]))
        #expect(Array(buffer[11 ..< 19]) == Array(input[11 ..< 19]))
    }

    /// `maxInPlace`: a message up to the limit stays in place; a larger one comes as its output
    /// (copied, unmasked in the copy), and its bytes in the buffer are left as they arrived.
    @Test func messagesOverTheLimitComeAsOutputs() {
        let small: [UInt8] = Array(0..<100), large: [UInt8] = Array(0..<101)
        let key = MaskingKey(9, 8, 7, 6)
        let input = Wire.client(.binary, small, key: key) + Wire.client(.binary, large, key: key)
            + Wire.client(.text, Array("hi".utf8), key: key)
        var server = Connection(role: .server)
        let (outputs, messages, buffer) = Self.inPlace(input, &server, maxInPlace: 100)
        #expect(outputs == [.deliver(.message(.binary(large)))])
        // small: 2 + 4 header bytes, then 100; large: 2 + 4, then 101; text: 2 + 4, then 2.
        #expect(messages == [
            InPlaceMessage(kind: .binary, range: 6 ..< 106, outputIndex: 0),
            InPlaceMessage(kind: .text, range: 219 ..< 221, outputIndex: 1),
        ])
        #expect(Array(buffer[6 ..< 106]) == small)
        #expect(Array(buffer[106 ..< 213]) == Array(input[106 ..< 213]))
        #expect(Array(buffer[219 ..< 221]) == Array("hi".utf8))
    }

    @Test func aClientReadsUnmaskedFramesWhereTheyAre() {
        let input = Wire.server(.binary, [7, 8, 9]) + Wire.server(.text, Array("ok".utf8))
        var client = Connection(role: .client, entropy: FixedKeyGenerator())
        let (outputs, messages, buffer) = Self.inPlace(input, &client)
        #expect(outputs == [])
        #expect(messages == [InPlaceMessage(kind: .binary, range: 2 ..< 5, outputIndex: 0),
                             InPlaceMessage(kind: .text, range: 7 ..< 9, outputIndex: 0)])
        #expect(buffer == input)
    }

    @Test func controlFramesAndTheCloseKeepTheirPlace() {
        let input = Wire.client(.text, Array("a".utf8)) + Wire.client(.ping, Array("p".utf8))
            + Wire.client(.binary, [9]) + Wire.client(.close, Wire.close(1000, "bye"))
            + Wire.client(.text, Array("after the close".utf8))
        var server = Connection(role: .server)
        let (outputs, messages, buffer) = Self.inPlace(input, &server)
        let peer = CloseFrame(code: .normalClosure, reason: "bye")
        #expect(outputs == [
            .deliver(.ping(Array("p".utf8))), .deliver(.closeReceived(peer)),
            .write(Wire.server(.pong, Array("p".utf8)) + Wire.server(.close, Wire.close(1000))),
            .deliver(.closed(.handshakeCompleted(peer: peer, initiatedLocally: false))), .closeTransport,
        ])
        #expect(messages.map(\.kind) == [.text, .binary])
        #expect(messages.map(\.outputIndex) == [0, 1])
        var reference = Connection(role: .server)
        #expect(Self.merged(outputs, messages, buffer) == reference.receive(input, now: .zero))
    }

    @Test func invalidTextFailsTheConnectionWith1007() {
        let input = Wire.client(.binary, [1]) + Wire.client(.text, [0x61, 0xC0, 0x80])
        var server = Connection(role: .server)
        let (outputs, messages, _) = Self.inPlace(input, &server)
        #expect(messages == [InPlaceMessage(kind: .binary, range: 6 ..< 7, outputIndex: 0)])
        #expect(outputs == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func splitAndFragmentedMessagesComeAsOutputs() {
        let whole = Wire.client(.binary, [UInt8](repeating: 5, count: 40))
        let fragmented = Wire.client(.text, Array("frag".utf8), fin: false) + Wire.client(.continuation, Array("ment".utf8))
        var server = Connection(role: .server)
        // The first 20 bytes of a frame: nothing whole yet.
        var first = Self.inPlace(Array(whole[..<20]), &server)
        #expect(first.outputs == [] && first.messages == [])
        // Its rest, then a fragmented message, then a whole one: only the last is in place.
        first = Self.inPlace(Array(whole[20...]) + fragmented + Wire.client(.text, Array("z".utf8)), &server)
        #expect(first.outputs == [.deliver(.message(.binary([UInt8](repeating: 5, count: 40)))),
                                  .deliver(.message(.text("fragment")))])
        #expect(first.messages.count == 1)
        #expect(first.messages.first?.kind == .text)
        #expect(first.messages.first?.outputIndex == 2)
        #expect(first.messages.first.map { Array(first.buffer[$0.range]) } == Array("z".utf8))
    }

    /// With answers before the close on, a message delivered in place holds the peer's close
    /// frame for the application's answer, as a message among the outputs does.
    @Test func aMessageInPlaceHoldsTheCloseForItsAnswer() {
        var configuration = Connection.Configuration()
        configuration.answerTimeout = .seconds(5)
        let input = Wire.client(.text, Array("question".utf8)) + Wire.client(.close, Wire.close(1000))
        var server = Connection(role: .server, configuration: configuration)
        let (outputs, messages, buffer) = Self.inPlace(input, &server)
        #expect(messages.count == 1)
        #expect(server.isAwaitingAnswers)
        #expect(!outputs.contains { if case .write = $0 { return true } else { return false } })
        var reference = Connection(role: .server, configuration: configuration)
        #expect(Self.merged(outputs, messages, buffer) == reference.receive(input, now: .zero))
        #expect(reference.isAwaitingAnswers)
    }

    /// Random sessions (messages of every size class, fragmented or not, pings, pongs, bad
    /// UTF-8 now and then, a close), cut at random points, in both roles and with streaming or
    /// answers-before-close on: every call gives, merged, exactly what the copying call gives.
    @Test func sameOutputsAsTheCopyingCallUnderRandomChunking() {
        var placed = 0
        for seed in PropertyRun.seeds(default: 300) {
            var rng = SeededGenerator(seed: seed)
            let role: Role = Bool.random(using: &rng) ? .server : .client
            var configuration = Connection.Configuration()
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: configuration.deliversFragments = true
            case 1: configuration.answerTimeout = .seconds(1)
            case 2: configuration.maxMessageSize = 300
            default: break
            }
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let lengths = [0, 1, 125, 126, 300, 70_000]
                let length = Int.random(in: 0..<6, using: &rng) == 0 ? lengths.randomElement(using: &rng)! : Int.random(in: 0...64, using: &rng)
                switch Int.random(in: 0..<8, using: &rng) {
                case 0: input += Wire.toward(role, .ping, rng.bytes(Int.random(in: 0...125, using: &rng)))
                case 1: input += Wire.toward(role, .pong, rng.bytes(Int.random(in: 0...5, using: &rng)))
                case 2:
                    let text = UTF8Samples.randomText(scalars: length, using: &rng)
                    let cut = Int.random(in: 0...text.count, using: &rng)
                    input += Wire.toward(role, .text, Array(text[..<cut]), fin: false)
                    input += Wire.toward(role, .continuation, Array(text[cut...]))
                case 3:
                    var text = UTF8Samples.randomText(scalars: length, using: &rng)
                    if Int.random(in: 0..<4, using: &rng) == 0 { text.insert(0xFF, at: Int.random(in: 0...text.count, using: &rng)) }
                    input += Wire.toward(role, .text, text)
                default: input += Wire.toward(role, .binary, rng.bytes(length))
                }
            }
            if Bool.random(using: &rng) { input += Wire.toward(role, .close, Wire.close(1000, "end")) }
            var cuts = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Int.random(in: 0...input.count, using: &rng) }
            cuts = ([0] + cuts.sorted() + [input.count])
            let make = { Connection(role: role, configuration: configuration, entropy: FixedKeyGenerator()) }
            var inPlace = make(), reference = make()
            let maxInPlace = [Int.max, Int.max, 0, 64, 126].randomElement(using: &rng)!
            for (start, end) in zip(cuts, cuts.dropFirst()) {
                let chunk = Array(input[start ..< end])
                let (outputs, messages, buffer) = Self.inPlace(chunk, &inPlace, maxInPlace: maxInPlace)
                #expect(messages.allSatisfy { $0.range.count <= maxInPlace }, "seed \(seed)")
                placed += messages.count
                let expected = reference.receive(chunk, now: .zero)
                let got = Self.merged(outputs, messages, buffer)
                #expect(got == expected, "seed \(seed), bytes \(start)..<\(end)")
                if got != expected { return }
                if configuration.deliversFragments { #expect(messages.isEmpty, "seed \(seed): streaming delivers no message in place") }
            }
            #expect(inPlace.isAwaitingAnswers == reference.isAwaitingAnswers, "seed \(seed)")
        }
        // The run exercised the in-place path, not only the fallbacks.
        #expect(placed >= PropertyRun.seeds(default: 300).count)
    }
}

/// The receive path's fast lanes for small whole messages (copying and in place) against the
/// general path alone, which a connection fed one byte at a time takes (no lane sees a whole
/// frame in one call).
@Suite("Small-message fast lanes")
struct SmallMessageLaneTests {
    /// What a receive delivered, and the bytes it wrote, whatever the calls.
    static func delivered(_ outputs: [Connection.Output]) -> (events: [Event], written: [UInt8], closes: Bool) {
        var events: [Event] = [], written: [UInt8] = [], closes = false
        for output in outputs {
            switch output {
            case .deliver(let event): events.append(event)
            case .write(let bytes): written += bytes
            case .closeTransport: closes = true
            case .shutdownWrite: break
            }
        }
        return (events, written, closes)
    }

    @Test func theLanesAgreeWithTheGeneralPath() {
        var laned = 0
        for seed in PropertyRun.seeds(default: 400) {
            var rng = SeededGenerator(seed: seed)
            let role: Role = Bool.random(using: &rng) ? .server : .client
            var configuration = Connection.Configuration()
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: configuration.maxMessageSize = [0, 60, 124, 125, 126].randomElement(using: &rng)!
            case 1: configuration.maxFrameSize = [60, 124, 125].randomElement(using: &rng)!
            case 2: configuration.answerTimeout = .seconds(1)
            case 3: configuration.deliversFragments = true
            default: break
            }
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...10, using: &rng) {
                let length = [0, 1, 31, 124, 125, 126, 127].randomElement(using: &rng)!
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: input += Wire.toward(role, .ping, rng.bytes(Int.random(in: 0...8, using: &rng)))
                case 1: input += Wire.toward(role, .binary, rng.bytes(length), fin: false) + Wire.toward(role, .continuation, [1])
                case 2: input += Wire.toward(role == .server ? .client : .server, .binary, rng.bytes(3))  // wrongly masked
                case 3, 4:
                    var text = Array(UTF8Samples.randomText(scalars: length, using: &rng).prefix(length))
                    while !text.isEmpty && String(validating: text, as: UTF8.self) == nil { text.removeLast() }
                    if Int.random(in: 0..<4, using: &rng) == 0 { text.insert(0xC0, at: Int.random(in: 0...text.count, using: &rng)) }
                    input += Wire.toward(role, .text, text)
                default: input += Wire.toward(role, .binary, rng.bytes(length))
                }
            }
            let make = { Connection(role: role, configuration: configuration, entropy: FixedKeyGenerator()) }
            var whole = make(), inPlace = make(), byteByByte = make()
            var general: [Connection.Output] = []
            for byte in input { general += byteByByte.receive([byte], now: .seconds(5)) }
            let copied = whole.receive(input, now: .seconds(5))
            let placed = InPlaceReceiveTests.inPlace(input, &inPlace, now: .seconds(5))
            let reference = Self.delivered(general)
            for (name, outputs) in [("copying", copied), ("in place", InPlaceReceiveTests.merged(placed.outputs, placed.messages, placed.buffer))] {
                let got = Self.delivered(outputs)
                #expect(got.events == reference.events, "seed \(seed), \(name)")
                #expect(got.written == reference.written, "seed \(seed), \(name)")
                #expect(got.closes == reference.closes, "seed \(seed), \(name)")
            }
            for connection in [whole, inPlace] {
                #expect(connection.closeReason == byteByByte.closeReason, "seed \(seed)")
                #expect(connection.isAwaitingAnswers == byteByByte.isAwaitingAnswers, "seed \(seed)")
                #expect(connection.nextDeadline == byteByByte.nextDeadline, "seed \(seed)")
            }
            laned += placed.messages.count
        }
        #expect(laned >= PropertyRun.seeds(default: 400).count)
    }
}

extension Wire {
    /// A frame from `role`'s peer: masked toward a server, unmasked toward a client.
    static func toward(_ role: Role, _ opcode: Opcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        switch role {
        case .server: return client(opcode, payload, fin: fin)
        case .client: return server(opcode, payload, fin: fin)
        }
    }
}
