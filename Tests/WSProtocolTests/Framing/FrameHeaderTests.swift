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

    @Test("A whole frame is appended after what the buffer holds: header, then the payload, masked or not",
          arguments: [0, 1, 3, 125, 126, 127, 1000, 65535, 65536, 70001])
    func wholeFrameAppended(length: Int) {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        for key in [nil, RFCVectors.key] as [MaskingKey?] {
            for (fin, rsv, opcode) in [(true, UInt8(0), Opcode.binary), (false, 0x40, .text), (true, 0x70, .continuation)] {
                // The expected bytes built another way: the header as FrameHeader writes it, the
                // payload masked byte by byte.
                var expected: [UInt8] = [0xEE]
                FrameHeader(fin: fin, rsv: rsv, opcode: opcode, maskingKey: key, payloadLength: UInt64(length))
                    .write(to: &expected)
                var body = payload
                if let key { body.withUnsafeMutableBytes { Masking.applyByteLoop(key, offset: 0, to: $0) } }
                expected += body
                var out: [UInt8] = [0xEE]
                FrameWriter.append(opcode: opcode, fin: fin, rsv: rsv, maskingKey: key, payload: payload, to: &out)
                #expect(out == expected, "\(length) bytes, key \(key == nil ? "none" : "RFC"), opcode \(opcode.rawValue)")
            }
        }
    }

    @Test func closePayload() {
        #expect(FrameWriter.closePayload(code: .normalClosure, reason: "ok") == [0x03, 0xE8, 0x6F, 0x6B])
        #expect(FrameWriter.closePayload(code: nil) == [])
    }
}
