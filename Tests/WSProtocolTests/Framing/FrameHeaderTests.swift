// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("RFC 6455 §5.2 Frame header encoding")
struct FrameHeaderTests {
    @Test("The shortest length encoding is written", arguments: [
        (0, [0x82, 0x00]), (125, [0x82, 0x7D]), (126, [0x82, 0x7E, 0x00, 0x7E]), (65535, [0x82, 0x7E, 0xFF, 0xFF]),
        (65536, [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    ] as [(UInt64, [UInt8])])
    func lengthEncoding(length: UInt64, expected: [UInt8]) throws {
        var out: [UInt8] = []
        let header = FrameHeader(opcode: .binary, payloadLength: length)
        header.write(to: &out)
        #expect(out == expected)
        #expect(header.encodedLength == expected.count)
        let parsed = try #require(FrameHeader.parse(out))
        #expect(parsed.header == header)
        #expect(parsed.length == expected.count)
    }

    @Test func allFieldsRoundTrip() throws {
        let header = FrameHeader(fin: false, rsv: 0x50, opcode: Opcode(rawValue: 0xB), maskingKey: RFCVectors.key,
                                 payloadLength: 0x0102_0304_0506)
        var out: [UInt8] = []
        header.write(to: &out)
        #expect(out == [0x5B, 0xFF, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x37, 0xFA, 0x21, 0x3D])
        #expect(try #require(FrameHeader.parse(out)).header == header)
    }

    @Test func everyPrefixOfAHeaderNeedsMoreBytes() {
        let header: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0x37, 0xFA, 0x21, 0x3D]
        for n in 0..<header.count { #expect(FrameHeader.parse(Array(header.prefix(n))) == nil, "prefix \(n)") }
        #expect(FrameHeader.parse(header)?.length == 14)
    }

    @Test func theTopBitOfA64BitLengthIsDecodedForTheConnectionToReject() throws {
        let parsed = try #require(FrameHeader.parse([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]))
        #expect(parsed.header.payloadLength == 1 << 63)
    }

    @Test func maskedFrameMatchesTheRFCExample() {
        #expect(FrameWriter.frame(opcode: .text, maskingKey: RFCVectors.key, payload: RFCVectors.hello) == RFCVectors.maskedHello)
    }

    @Test func closePayload() {
        #expect(FrameWriter.closePayload(code: .normalClosure, reason: "ok") == [0x03, 0xE8, 0x6F, 0x6B])
        #expect(FrameWriter.closePayload(code: nil) == [])
    }
}
