// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO

/// What feeding a whole input gives: the header and the bytes after it, a failure, or nothing yet.
enum ProxyOutcome: Equatable {
    case header(ProxyHeader, leftover: [UInt8])
    case failed(ProxyHeaderError)
    case incomplete

    /// Feeds `input` in `pieces` (lengths, cycled) and collects the outcome.
    static func of(_ input: [UInt8], chunk: Int, limits: ProxyHeaderParser.Limits = .init()) -> ProxyOutcome {
        var parser = ProxyHeaderParser(limits: limits)
        var header: ProxyHeader? = nil
        var leftover: [UInt8] = []
        var at = 0
        while at < input.count {
            let piece = input[at..<min(at + chunk, input.count)]
            at += piece.count
            do throws(ProxyHeaderError) {
                if let (h, rest) = try parser.parse(piece) {
                    header = h
                    leftover += rest
                }
            } catch {
                return .failed(error)
            }
        }
        return header.map { .header($0, leftover: leftover) } ?? .incomplete
    }

    /// The same outcome at every chunk size 1-16, whole, and at every two-piece split point.
    static func atEverySplit(_ input: [UInt8], limits: ProxyHeaderParser.Limits = .init()) -> ProxyOutcome {
        let whole = of(input, chunk: max(input.count, 1), limits: limits)
        for chunk in 1...16 {
            let split = of(input, chunk: chunk, limits: limits)
            #expect(split == whole, "chunk size \(chunk)")
        }
        for point in 0...input.count {
            var parser = ProxyHeaderParser(limits: limits)
            var outcome = ProxyOutcome.incomplete
            var leftover: [UInt8] = []
            do throws(ProxyHeaderError) {
                for piece in [input[..<point], input[point...]] {
                    if let (h, rest) = try parser.parse(piece) {
                        leftover += rest
                        outcome = .header(h, leftover: leftover)
                    }
                }
            } catch {
                outcome = .failed(error)
            }
            #expect(outcome == whole, "split at \(point)")
        }
        return whole
    }
}

func v4(_ text: String, _ port: UInt16) -> SocketAddress { SocketAddress(numericHost: text, port: port)! }

@Suite("PROXY protocol v1 (text header)")
struct ProxyHeaderV1Tests {
    @Test func specExampleWithRequestAfterIt() {
        // The spec's example (proxy-protocol.txt §2.1), followed by the request it carries.
        let request = Array("GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n".utf8)
        let input = Array("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".utf8) + request
        let expected = ProxyHeader(version: .v1, command: .proxy, source: v4("192.168.0.1", 56324),
                                   destination: v4("192.168.0.11", 443))
        #expect(ProxyOutcome.atEverySplit(input) == .header(expected, leftover: request))
    }

    @Test func worstCaseTCP4AndTCP6() {
        let tcp4 = Array("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n".utf8)
        #expect(ProxyOutcome.atEverySplit(tcp4) == .header(
            ProxyHeader(version: .v1, command: .proxy, source: v4("255.255.255.255", 65535),
                        destination: v4("255.255.255.255", 65535)), leftover: []))
        let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let tcp6 = Array("PROXY TCP6 \(f) \(f) 65535 65535\r\n".utf8)
        #expect(tcp6.count == 104)
        #expect(ProxyOutcome.atEverySplit(tcp6) == .header(
            ProxyHeader(version: .v1, command: .proxy, source: v4(f, 65535), destination: v4(f, 65535)), leftover: []))
    }

    @Test func tcp6ShortForms() {
        let input = Array("PROXY TCP6 2001:db8::1 ::1 0 8080\r\nx".utf8)
        #expect(ProxyOutcome.atEverySplit(input) == .header(
            ProxyHeader(version: .v1, command: .proxy, source: v4("2001:db8::1", 0), destination: v4("::1", 8080)),
            leftover: [0x78]))
    }

    @Test func unknownWithAndWithoutAddresses() {
        #expect(ProxyOutcome.atEverySplit(Array("PROXY UNKNOWN\r\nGET".utf8))
                == .header(ProxyHeader(version: .v1, command: .proxy), leftover: Array("GET".utf8)))
        // The spec's longest line (107 bytes): UNKNOWN ignores the rest of the line.
        let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let longest = Array("PROXY UNKNOWN \(f) \(f) 65535 65535\r\n".utf8)
        #expect(longest.count == 107)
        #expect(ProxyOutcome.atEverySplit(longest) == .header(ProxyHeader(version: .v1, command: .proxy), leftover: []))
    }

    @Test("Malformed lines fail at every split", arguments: [
        ("GET / HTTP/1.1\r\n\r\n", ProxyHeaderError.missingHeader),
        ("PROXX TCP4", .missingHeader),
        ("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", .missingHeader),
        ("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", .v1UnsupportedProtocol),
        ("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", .v1UnsupportedProtocol),
        ("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", .v1Malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", .v1Malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", .v1Malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", .v1Malformed),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", .v1Malformed),
        ("PROXY TCP4 1.2.3.4\u{0}5.6.7.8 1 2\r\n", .v1Malformed),
        ("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", .invalidAddress),
        ("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", .invalidAddress),
        ("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", .invalidAddress),
        ("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", .invalidAddress),
        ("PROXY TCP6 [::1] ::1 1 2\r\n", .invalidAddress),
        ("PROXY TCP6 fe80::1%1 ::1 1 2\r\n", .invalidAddress),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", .invalidPort),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", .invalidPort),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", .invalidPort),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n", .invalidPort),
    ] as [(String, ProxyHeaderError)])
    func malformed(line: String, error: ProxyHeaderError) {
        #expect(ProxyOutcome.atEverySplit(Array(line.utf8)) == .failed(error))
    }

    @Test func lineOver107BytesFailsWithoutWaitingForMore() {
        let line = Array(("PROXY UNKNOWN " + String(repeating: "a", count: 93)).utf8)  // 107 bytes, no CRLF
        #expect(line.count == 107)
        #expect(ProxyOutcome.atEverySplit(line) == .failed(.v1LineTooLong))
        // CR as the 107th byte: its LF would be the 108th.
        let late = Array(("PROXY UNKNOWN " + String(repeating: "a", count: 92) + "\r\n").utf8)
        #expect(ProxyOutcome.atEverySplit(late) == .failed(.v1LineTooLong))
        #expect(ProxyOutcome.atEverySplit(Array(line.dropLast())) == .incomplete)
    }

    @Test func errorsAreStickyAndEndOfStreamFails() throws {
        var parser = ProxyHeaderParser()
        #expect(throws: ProxyHeaderError.missingHeader) { try parser.parse(Array("GET".utf8)) }
        #expect(throws: ProxyHeaderError.missingHeader) { try parser.parse(Array("PROXY ".utf8)) }
        var partial = ProxyHeaderParser()
        #expect(try partial.parse(Array("PROXY TCP4 1.2".utf8)) == nil)
        #expect(throws: ProxyHeaderError.endOfStream) { try partial.finish() }
        var done = ProxyHeaderParser()
        #expect(try done.parse(Array("PROXY UNKNOWN\r\n".utf8))?.leftover == [])
        #expect(try done.parse([1, 2])?.leftover == [1, 2])
        #expect(throws: Never.self) { try done.finish() }
    }
}

@Suite("PROXY protocol v2 (binary header)")
struct ProxyHeaderV2Tests {
    static let signature = ProxyHeader.v2Signature

    static func header(_ versionCommand: UInt8, _ familyTransport: UInt8, _ body: [UInt8]) -> [UInt8] {
        signature + [versionCommand, familyTransport, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    @Test func tcpOverIPv4() {
        // PROXY, AF_INET/STREAM, 12 bytes: 192.168.0.1:56324 -> 192.168.0.11:443 (the v1 example's addresses).
        let input = Self.header(0x21, 0x11, [192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB]) + Array("GET /".utf8)
        #expect(input.count == 28 + 5)
        #expect(ProxyOutcome.atEverySplit(input) == .header(
            ProxyHeader(version: .v2, command: .proxy, source: v4("192.168.0.1", 56324),
                        destination: v4("192.168.0.11", 443)), leftover: Array("GET /".utf8)))
    }

    @Test func tcpOverIPv6WithTLVs() {
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        let destination: [UInt8] = Array(repeating: 0, count: 15) + [1]
        // ALPN "h2" (0x01) and a 3-byte NOOP (0x04), as HAProxy may append.
        let tlvs: [UInt8] = [0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x03, 0, 0, 0]
        let input = Self.header(0x21, 0x21, source + destination + [0x12, 0x34, 0x00, 0x50] + tlvs)
        #expect(ProxyOutcome.atEverySplit(input) == .header(
            ProxyHeader(version: .v2, command: .proxy, source: v4("2001:db8::1", 0x1234), destination: v4("::1", 80),
                        tlvs: [.init(type: 1, value: [0x68, 0x32]), .init(type: 4, value: [0, 0, 0])]), leftover: []))
    }

    @Test func localCommandIgnoresItsAddressBlock() {
        // HAProxy's health checks with send-proxy-v2 use LOCAL with AF_UNSPEC and no addresses.
        #expect(ProxyOutcome.atEverySplit(Self.header(0x20, 0x00, []) + [0x47])
                == .header(ProxyHeader(version: .v2, command: .local), leftover: [0x47]))
        #expect(ProxyOutcome.atEverySplit(Self.header(0x20, 0x11, [1, 2, 3]))
                == .header(ProxyHeader(version: .v2, command: .local), leftover: []))
    }

    @Test func unspecifiedAndUnixFamiliesCarryNoAddress() {
        #expect(ProxyOutcome.atEverySplit(Self.header(0x21, 0x00, []))
                == .header(ProxyHeader(version: .v2, command: .proxy), leftover: []))
        #expect(ProxyOutcome.atEverySplit(Self.header(0x21, 0x31, Array(repeating: 0x61, count: 216)))
                == .header(ProxyHeader(version: .v2, command: .proxy), leftover: []))
    }

    @Test("Malformed headers fail at every split", arguments: [
        (ProxyHeaderV2Tests.header(0x11, 0x11, Array(repeating: 0, count: 12)), ProxyHeaderError.v2UnsupportedVersion(1)),
        (ProxyHeaderV2Tests.header(0x22, 0x11, Array(repeating: 0, count: 12)), .v2UnsupportedCommand(2)),
        (ProxyHeaderV2Tests.header(0x21, 0x41, Array(repeating: 0, count: 12)), .v2UnsupportedFamily(4)),
        (ProxyHeaderV2Tests.header(0x21, 0x13, Array(repeating: 0, count: 12)), .v2UnsupportedTransport(3)),
        (ProxyHeaderV2Tests.header(0x21, 0x12, Array(repeating: 0, count: 12)), .v2UnsupportedTransport(2)),
        (ProxyHeaderV2Tests.header(0x21, 0x11, Array(repeating: 0, count: 11)), .v2AddressesTruncated),
        (ProxyHeaderV2Tests.header(0x21, 0x21, Array(repeating: 0, count: 35)), .v2AddressesTruncated),
        (ProxyHeaderV2Tests.header(0x21, 0x11, Array(repeating: 0, count: 12) + [0x04, 0x00]), .v2MalformedTLV),
        (ProxyHeaderV2Tests.header(0x21, 0x11, Array(repeating: 0, count: 12) + [0x04, 0x00, 0x02, 0x00]), .v2MalformedTLV),
        (Array(ProxyHeaderV2Tests.signature.dropLast()) + [0x0B], .missingHeader),
    ] as [([UInt8], ProxyHeaderError)])
    func malformed(input: [UInt8], error: ProxyHeaderError) {
        #expect(ProxyOutcome.atEverySplit(input) == .failed(error))
    }

    @Test func lengthOverTheLimitFailsBeforeTheBodyArrives() {
        let announced = Self.signature + [0x21, 0x11, 0x04, 0x01]  // 1025 bytes to follow
        #expect(ProxyOutcome.atEverySplit(announced) == .failed(.v2TooLong(length: 1025)))
        let small = ProxyHeaderParser.Limits(maxV2Length: 12)
        let withTLV = Self.header(0x21, 0x11, Array(repeating: 0, count: 12) + [0x04, 0x00, 0x00])
        #expect(ProxyOutcome.atEverySplit(withTLV, limits: small) == .failed(.v2TooLong(length: 15)))
        #expect(ProxyOutcome.atEverySplit(Array(withTLV.dropLast())) == .incomplete)
    }
}

@Suite("PROXY protocol header writer")
struct ProxyHeaderWriterTests {
    @Test func writtenHeadersParseBack() throws {
        let headers = [
            ProxyHeader(version: .v1, command: .proxy, source: v4("192.168.0.1", 56324), destination: v4("192.168.0.11", 443)),
            ProxyHeader(version: .v1, command: .proxy, source: v4("2001:db8::1", 1), destination: v4("::1", 2)),
            ProxyHeader(version: .v1, command: .proxy),
            ProxyHeader(version: .v2, command: .proxy, source: v4("10.0.0.1", 65535), destination: v4("10.0.0.2", 0),
                        tlvs: [.init(type: 2, value: Array("example.com".utf8))]),
            ProxyHeader(version: .v2, command: .proxy, source: v4("::ffff:1.2.3.4", 9), destination: v4("fe80::1", 10)),
            ProxyHeader(version: .v2, command: .local),
        ]
        for header in headers {
            var parser = ProxyHeaderParser()
            #expect(try parser.parse(header.bytes)?.header == header)
        }
        #expect(headers[0].bytes == Array("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".utf8))
        #expect(headers[5].bytes == ProxyHeader.v2Signature + [0x20, 0x00, 0x00, 0x00])
    }
}
