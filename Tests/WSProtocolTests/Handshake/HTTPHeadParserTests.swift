// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

/// Feeds `chunks` and returns the outcome: the head and leftover, or the error, or nil.
private func feed(_ chunks: [[UInt8]], kind: HTTPHeadParser.Kind, limits: HTTPHeadParser.Limits = .init())
    -> Result<(HTTPHeadParser.Head, [UInt8]), HandshakeError>? {
    var parser = HTTPHeadParser(kind: kind, limits: limits)
    var leftover: [UInt8] = []
    var head: HTTPHeadParser.Head? = nil
    for chunk in chunks {
        if head != nil { leftover += chunk; continue }
        do {
            if let (h, rest) = try parser.parse(chunk) { head = h; leftover = rest }
        } catch {
            return .failure(error)
        }
    }
    return head.map { .success(($0, leftover)) }
}

private func outcome(_ r: Result<(HTTPHeadParser.Head, [UInt8]), HandshakeError>?) -> String {
    switch r {
    case nil: return "incomplete"
    case .success(let (h, rest))?: return "\(h) + \(rest)"
    case .failure(let e)?: return "error \(e)"
    }
}

@Suite("RFC 9112 HTTP/1.1 head parsing")
struct HTTPHeadParserTests {
    static let request = "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Empty:\r\nX-Dup: a\r\nx-dup:  b \t\r\n\r\n".bytes
    static let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".bytes

    @Test("A request parses into method, target, version and ordered fields")
    func parsesRequest() throws {
        var p = HTTPHeadParser(kind: .request)
        let (head, rest) = try #require(try p.parse(Self.request + [0x81, 0x00]))
        let expected = HTTPRequestHead(method: "GET", target: "/chat?x=1", version: .http1_1,
                                       headers: ["Host": "server.example.com", "Upgrade": "websocket",
                                                 "Connection": "Upgrade", "X-Empty": "", "X-Dup": "a", "x-dup": "b"])
        #expect(head == .request(expected))
        #expect(rest == [0x81, 0x00])
    }

    @Test("A response parses; a missing reason phrase is accepted")
    func parsesResponse() throws {
        var p = HTTPHeadParser(kind: .response)
        let (head, rest) = try #require(try p.parse(Self.response))
        #expect(head == .response(HTTPResponseHead(status: 101, reason: "Switching Protocols",
                                                   headers: ["Upgrade": "websocket", "Connection": "Upgrade"])))
        #expect(rest == [])
        var q = HTTPHeadParser(kind: .response)
        let (h2, _) = try #require(try q.parse("HTTP/1.0 404\r\n\r\n".bytes))
        #expect(h2 == .response(HTTPResponseHead(status: 404, reason: "", version: .http1_0)))
    }

    @Test("Every split gives the same head and leftover (whole, byte by byte, chunks 1–16)")
    func everySplit() {
        for (input, kind) in [(Self.request, HTTPHeadParser.Kind.request), (Self.response, .response)] {
            let full = input + "trailing frames".bytes
            let reference = outcome(feed([full], kind: kind))
            #expect(reference.hasSuffix(" + \("trailing frames".bytes)"))
            for chunks in Splits.all(full) {
                #expect(outcome(feed(chunks, kind: kind)) == reference, "chunk \(chunks.first?.count ?? 0)")
            }
            // Every two-piece cut as well.
            for cut in 0...full.count {
                #expect(outcome(feed([Array(full[..<cut]), Array(full[cut...])], kind: kind)) == reference, "cut \(cut)")
            }
        }
    }

    @Test("Malformed requests, each with its error and status", arguments: [
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", HandshakeError.malformedHead("LF without CR"), 400),
        ("GET / HTTP/1.1\r\nHost: a\n\r\n", .malformedHead("LF without CR"), 400),
        ("GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n", .malformedHead("CR not followed by LF"), 400),
        ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", .malformedHead("obsolete line folding"), 400),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .malformedHead("invalid header name"), 400),
        ("GET / HTTP/1.1\r\n: a\r\n\r\n", .malformedHead("invalid header name"), 400),
        ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", .malformedHead("header line without colon"), 400),
        ("GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n", .malformedHead("invalid character in header value"), 400),
        ("GET / HTTP/1.1\r\nX: a\u{7F}\r\n\r\n", .malformedHead("invalid character in header value"), 400),
        ("GET /  HTTP/1.1\r\n\r\n", .malformedHead("invalid HTTP version"), 400),
        ("GET / HTTP/1.1 x\r\n\r\n", .malformedHead("invalid HTTP version"), 400),
        ("GET /\r\n\r\n", .malformedHead("invalid request line"), 400),
        ("G(T / HTTP/1.1\r\n\r\n", .malformedHead("invalid method"), 400),
        (" GET / HTTP/1.1\r\n\r\n", .malformedHead("invalid method"), 400),
        ("GET / HTTP/11\r\n\r\n", .malformedHead("invalid HTTP version"), 400),
        ("GET / HTTP/1x1\r\n\r\n", .malformedHead("invalid HTTP version"), 400),  // the dot (DIGIT "." DIGIT)
        ("GET / http/1.1\r\n\r\n", .malformedHead("invalid HTTP version"), 400),
        ("GET \u{7F} HTTP/1.1\r\n\r\n", .malformedHead("invalid request target"), 400),
        ("\r\nGET / HTTP/1.1\r\n\r\n", .malformedHead("empty start line"), 400),
    ])
    func malformedRequests(input: String, error: HandshakeError, status: Int) {
        for chunks in [[input.bytes], input.bytes.map { [$0] }] {
            #expect(outcome(feed(chunks, kind: .request)) == "error \(error)")
        }
        #expect(error.httpStatus == status)
    }

    @Test("Malformed responses", arguments: [
        ("HTTP/1.1 1010 X\r\n\r\n", HandshakeError.malformedHead("invalid status code")),
        ("HTTP/1.1 10 X\r\n\r\n", .malformedHead("invalid status code")),
        ("HTTP/1.1 abc X\r\n\r\n", .malformedHead("invalid status code")),
        ("HTTP/1.1\r\n\r\n", .malformedHead("invalid status line")),
        ("HTTP/1.1 101 OK\r\nUpgrade: websocket\n\r\n", .malformedHead("LF without CR")),
        ("HTTP/1.1 101 OK\r\n\tUpgrade: websocket\r\n\r\n", .malformedHead("obsolete line folding")),
        ("ICY 200 OK\r\n\r\n", .malformedHead("invalid HTTP version")),
        ("HTTP/1.1 101 O\u{00}K\r\n\r\n", .malformedHead("invalid reason phrase")),
    ])
    func malformedResponses(input: String, error: HandshakeError) {
        #expect(outcome(feed([input.bytes], kind: .response)) == "error \(error)")
    }

    @Test("Limits: head size → 431, request line → 414, field count → 431, decided at the same byte for any split")
    func limits() {
        let limits = HTTPHeadParser.Limits(maxHeadSize: 200, maxHeaderCount: 3, maxRequestLineLength: 40)
        let longLine = ("GET /" + String(repeating: "a", count: 60) + " HTTP/1.1\r\n\r\n").bytes
        let bigHead = ("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 300) + "\r\n\r\n").bytes
        let manyFields = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n".bytes
        let cases: [([UInt8], HandshakeError, Int)] = [
            (longLine, .requestLineTooLong(limit: 40), 414),
            (bigHead, .headTooLarge(limit: 200), 431),
            (manyFields, .tooManyHeaders(limit: 3), 431),
        ]
        for (input, error, status) in cases {
            for chunks in Splits.all(input) {
                #expect(outcome(feed(chunks, kind: .request, limits: limits)) == "error \(error)")
            }
            #expect(error.httpStatus == status)
        }
        // Exactly at the limits is fine.
        let atLimit = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".bytes
        if case .success? = feed([atLimit], kind: .request, limits: limits) {} else { Issue.record("at limit failed") }
        // The head size boundary, to the byte: a head of exactly maxHeadSize bytes (its final
        // CRLF included) is read; one byte more is refused.
        let sized = { (n: Int) -> [UInt8] in
            let frame = "GET / HTTP/1.1\r\nX: \r\n\r\n".bytes.count
            return ("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: n - frame) + "\r\n\r\n").bytes
        }
        #expect(sized(200).count == 200)
        if case .success? = feed([sized(200)], kind: .request, limits: limits) {} else { Issue.record("a head of maxHeadSize bytes failed") }
        #expect(outcome(feed([sized(201)], kind: .request, limits: limits)) == "error \(HandshakeError.headTooLarge(limit: 200))")
        // An endless head without CRLF never buffers past the limit.
        var p = HTTPHeadParser(kind: .response, limits: limits)
        #expect(throws: HandshakeError.headTooLarge(limit: 200)) {
            _ = try p.parse(Array("HTTP/".utf8))  // a response must start so (checked byte by byte)
            for _ in 0..<100 { _ = try p.parse([UInt8](repeating: UInt8(ascii: "H"), count: 10)) }
        }
    }

    @Test("An error is sticky: later input gets the same error")
    func stickyError() {
        var p = HTTPHeadParser(kind: .request)
        #expect(throws: HandshakeError.malformedHead("invalid method")) { try p.parse("G@T / HTTP/1.1\r\n".bytes) }
        #expect(throws: HandshakeError.malformedHead("invalid method")) { try p.parse("\r\n".bytes) }
    }

    @Test("Random garbage never traps and gives the same outcome for any split (seeded)")
    func garbage() {
        var rng = SeededGenerator(seed: 2026)
        let alphabet = "GET HTTP/1.1\r\n:abc \t,;=\"\u{7F}\u{00}".bytes + [0xFF, 0x80]
        for seed in 0..<300 {
            let n = Int.random(in: 0...200, using: &rng)
            let garbage: [UInt8] = (0..<n).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            let input = (seed % 2 == 0 ? "GET / HTTP/1.1\r\n".bytes : []) + garbage
            for kind in [HTTPHeadParser.Kind.request, .response] {
                let whole = outcome(feed([input], kind: kind))
                let split = outcome(feed(Splits.random(input, using: &rng), kind: kind))
                #expect(whole == split, "seed \(seed)")
            }
        }
    }
}

extension HTTPHeadParserTests {
    @Test("After the head, later input comes back as bytes after the same head")
    func afterCompletion() throws {
        var p = HTTPHeadParser(kind: .response)
        let first = try #require(try p.parse("HTTP/1.1 200 OK\r\n\r\nab".bytes))
        #expect(first.leftover == "ab".bytes)
        let second = try #require(try p.parse("cd".bytes))
        #expect(second.head == first.head)
        #expect(second.leftover == "cd".bytes)
    }
}
