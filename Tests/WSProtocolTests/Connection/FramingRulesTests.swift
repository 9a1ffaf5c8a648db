// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// Every rule of the base framing protocol whose violation fails the connection with 1002.
@Suite("RFC 6455 §5.2 Base framing protocol: violations")
struct FramingRulesTests {
    static func server() -> Connection { Connection(role: .server, entropy: FixedKeyGenerator()) }
    static func client() -> Connection { Connection(role: .client, entropy: FixedKeyGenerator()) }

    @Test("Reserved opcodes fail the connection", arguments: [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcode(opcode: UInt8) {
        var server = Self.server()
        let out = server.receive(Wire.client(Opcode(rawValue: opcode), [1, 2]), now: .zero)
        #expect(out == Wire.failure(.reservedOpcode(opcode), role: .server))
        #expect(server.isClosed)
    }

    @Test("Reserved opcodes fail a client too, with a masked close frame", arguments: [0x3, 0xB] as [UInt8])
    func reservedOpcodeClient(opcode: UInt8) {
        var client = Self.client()
        let out = client.receive(Wire.server(Opcode(rawValue: opcode)), now: .zero)
        #expect(out == Wire.failure(.reservedOpcode(opcode), role: .client))
        #expect(out.first == .write([0x88, 0x90, 0x37, 0xFA, 0x21, 0x3D] + [0x34, 0x10, 0x51, 0x4F, 0x58, 0x8E, 0x4E, 0x5E, 0x58,
                                                                            0x96, 0x01, 0x58, 0x45, 0x88, 0x4E, 0x4F]))
    }

    @Test("RSV bits without an extension fail the connection", arguments: [0x40, 0x20, 0x10, 0x70] as [UInt8])
    func reservedBits(bits: UInt8) {
        var server = Self.server()
        let out = server.receive(Wire.client(.text, Array("hi".utf8), rsv: bits), now: .zero)
        #expect(out == Wire.failure(.reservedBitsSet(bits), role: .server))
    }

    @Test func reservedBitsOnAControlFrame() {
        var server = Connection(role: .server, extensions: [XORExtension()])
        let out = server.receive(Wire.client(.ping, [], rsv: 0x40), now: .zero)
        #expect(out == Wire.failure(.reservedBitsSet(0x40), role: .server))
    }

    @Test func reservedBitsOnAContinuationFrameEvenWithAnExtension() {
        var server = Connection(role: .server, extensions: [XORExtension()])
        let first = Wire.client(.binary, [1], fin: false, rsv: 0x40)
        let out = server.receive(first + Wire.client(.continuation, [2], rsv: 0x40), now: .zero)
        #expect(out == Wire.failure(.reservedBitsSet(0x40), role: .server))
    }

    @Test func bitsNotClaimedByTheExtension() {
        var server = Connection(role: .server, extensions: [XORExtension()])
        let out = server.receive(Wire.client(.binary, [1], rsv: 0x60), now: .zero)
        #expect(out == Wire.failure(.reservedBitsSet(0x20), role: .server))
    }

    @Test func sixtyFourBitLengthWithTopBitSet() {
        var server = Self.server()
        let header: [UInt8] = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 0x37, 0xFA, 0x21, 0x3D]
        #expect(server.receive(header, now: .zero) == Wire.failure(.payloadLengthTopBitSet, role: .server))
    }

    @Test("Control frames over 125 bytes", arguments: [126, 127, 65536] as [UInt64])
    func controlFrameTooLong(length: UInt64) {
        var server = Self.server()
        let out = server.receive(Wire.clientHeader(.ping, length: length), now: .zero)
        #expect(out == Wire.failure(.controlFrameTooLong(length: length), role: .server))
    }

    @Test func controlFrameOf125BytesIsFine() {
        var server = Self.server()
        let payload = [UInt8](repeating: 7, count: 125)
        let out = server.receive(Wire.client(.ping, payload), now: .zero)
        #expect(out == [.deliver(.ping(payload)), .write(Wire.server(.pong, payload))])
    }

    @Test("Fragmented control frames", arguments: [Opcode.ping, .pong, .close])
    func fragmentedControlFrame(opcode: Opcode) {
        var server = Self.server()
        let out = server.receive(Wire.client(opcode, [], fin: false), now: .zero)
        #expect(out == Wire.failure(.fragmentedControlFrame, role: .server))
    }

    @Test func continuationWithoutAMessage() {
        var server = Self.server()
        let out = server.receive(Wire.client(.continuation, [1, 2, 3]), now: .zero)
        #expect(out == Wire.failure(.unexpectedContinuation, role: .server))
    }

    @Test func continuationAfterACompleteMessage() {
        var server = Self.server()
        let out = server.receive(Wire.client(.binary, [1]) + Wire.client(.continuation, [2]), now: .zero)
        #expect(out == Wire.failure(.unexpectedContinuation, role: .server, before: [.message(.binary([1]))]))
    }

    @Test("A new data frame inside a fragmented message", arguments: [Opcode.text, .binary])
    func expectedContinuation(opcode: Opcode) {
        var server = Self.server()
        let out = server.receive(Wire.client(.binary, [1], fin: false) + Wire.client(opcode, [2]), now: .zero)
        #expect(out == Wire.failure(.expectedContinuation, role: .server))
    }

    @Test func unmaskedFrameToAServer() {
        var server = Self.server()
        #expect(server.receive(RFCVectors.unmaskedHello, now: .zero) == Wire.failure(.unmaskedFrameFromClient, role: .server))
    }

    @Test func maskedFrameToAClient() {
        var client = Self.client()
        #expect(client.receive(RFCVectors.maskedHello, now: .zero) == Wire.failure(.maskedFrameFromServer, role: .client))
    }

    @Test func eventsBeforeTheBadFrameAreDeliveredFirst() {
        var server = Self.server()
        let input = Wire.client(.text, Array("a".utf8)) + Wire.client(.ping, [9]) + Wire.client(Opcode(rawValue: 0x3))
            + Wire.client(.text, Array("never".utf8))
        let out = server.receive(input, now: .zero)
        #expect(out == [.deliver(.message(.text("a"))), .deliver(.ping([9])),
                        .write(Wire.server(.pong, [9]) + Wire.server(.close, Wire.close(1002, "protocol error"))),
                        .deliver(.closed(.protocolError(.reservedOpcode(3)))), .closeTransport])
    }

    @Test func everySplitOfAViolationGivesTheSameTranscript() throws {
        let input = Wire.client(.binary, [1, 2, 3]) + Wire.client(.ping, [4]) + Wire.client(.text, [0xFF])
        let runs = Chunking.transcripts(of: input, make: Self.server)
        let reference = try #require(runs.first).transcript
        #expect(reference == Transcript([.deliver(.message(.binary([1, 2, 3]))), .deliver(.ping([4])),
                                         .write(Wire.server(.pong, [4]))] + Wire.failure(.invalidUTF8, role: .server)))
        for (label, transcript) in runs { #expect(transcript == reference, "\(label)") }
    }

    @Test func nothingIsReadAfterFailing() throws {
        var server = Self.server()
        _ = server.receive(Wire.client(Opcode(rawValue: 0x3)), now: .zero)
        #expect(server.receive(RFCVectors.maskedHello, now: .zero) == [])
        #expect(server.receiveEndOfStream(now: .zero) == [])
        #expect(server.handleTimeout(now: .seconds(100)) == [])
        #expect(server.nextDeadline == nil)
        #expect(throws: UsageError.sendAfterClose) { try server.send(.text("x"), now: .zero) }
        #expect(server.closeReason == .protocolError(.reservedOpcode(3)))
    }
}

/// A toy extension for tests: claims RSV1 and XORs every payload byte with 0x5A (so a message
/// that skipped decoding is visibly wrong). Decoding respects `limit`.
struct XORExtension: MessageExtension {
    var name: String { "x-xor" }
    var reservedBits: UInt8 { 0x40 }
    mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8) {
        (payload.map { $0 ^ 0x5A }, 0x40)
    }
    mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                         into output: inout [UInt8], limit: Int) throws(ProtocolError) {
        guard payload.count <= limit else { throw .messageTooLarge(limit: limit) }
        output.append(contentsOf: payload.map { $0 ^ 0x5A })
    }
}
