// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol
import WSTestSupport

/// A summary of a server step that tests compare (the request or the error and response).
enum ServerOutcome: Hashable {
    case needMoreData
    case upgrade(UpgradeRequest)
    case plain(HTTPRequestHead)
    case invalid(HandshakeError, [UInt8])

    init(_ step: ServerHandshake.Step) {
        switch step {
        case .needMoreData: self = .needMoreData
        case .upgradeRequest(let r): self = .upgrade(r)
        case .notAnUpgrade(let h): self = .plain(h)
        case .invalid(let e, let response): self = .invalid(e, response)
        }
    }

    var error: HandshakeError? {
        if case .invalid(let e, _) = self { return e }
        return nil
    }
    var request: UpgradeRequest? {
        if case .upgrade(let r) = self { return r }
        return nil
    }
}

@Suite("RFC 6455 §4.2 Server-side requirements")
struct ServerHandshakeTests {
    /// The RFC 6455 §1.3 example request.
    static let request = """
        GET /chat?room=1 HTTP/1.1\r
        Host: server.example.com\r
        Upgrade: websocket\r
        Connection: Upgrade\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Origin: http://example.com\r
        Sec-WebSocket-Protocol: chat, superchat\r
        Sec-WebSocket-Version: 13\r
        \r

        """

    static func receive(_ bytes: [UInt8]) -> ServerOutcome {
        var hs = ServerHandshake(now: .zero)
        return ServerOutcome(hs.receive(bytes, now: .zero))
    }

    @Test("A valid request is exposed with path, query, origin, subprotocols and extensions, at every split")
    func validRequest() throws {
        let input = (Self.request.replacing("Sec-WebSocket-Version: 13\r\n",
            with: "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit\r\n")).bytes
        var reference: ServerOutcome? = nil
        for chunks in Splits.all(input) {
            var hs = ServerHandshake(now: .zero)
            var outcome = ServerOutcome.needMoreData
            for chunk in chunks { if outcome == .needMoreData { outcome = ServerOutcome(hs.receive(chunk, now: .zero)) } }
            if reference == nil { reference = outcome }
            #expect(outcome == reference)
        }
        let r = try #require(reference?.request)
        #expect(r.mode == .http1Upgrade)
        #expect(r.path == "/chat")
        #expect(r.query == "room=1")
        #expect(r.host == "server.example.com")
        #expect(r.origin == "http://example.com")
        #expect(r.key == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(r.subprotocols == ["chat", "superchat"])
        #expect(r.extensions == [ExtensionOffer(name: "permessage-deflate", parameters: [.init(name: "client_max_window_bits")]),
                                 ExtensionOffer(name: "x-webkit")])
        #expect(r.headers.first(name: "sec-websocket-version") == "13")
    }

    @Test("The 101 response, byte for byte (RFC 6455 §1.3)")
    func goldenResponse() throws {
        var hs = ServerHandshake(now: .zero)
        let r = try #require(ServerOutcome(hs.receive(Self.request.bytes, now: .zero)).request)
        let (response, connection, leftover) = try hs.accept(r, subprotocol: "chat", headers: ["Set-Cookie": "id=1"], now: .zero)
        #expect(response == """
            HTTP/1.1 101 Switching Protocols\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r
            Sec-WebSocket-Protocol: chat\r
            Set-Cookie: id=1\r
            \r

            """.bytes)
        #expect(connection.role == .server)
        #expect(connection.subprotocol == "chat")
        #expect(leftover == [])
        #expect(hs.nextDeadline == nil)
    }

    @Test("Accepting refuses a subprotocol that was not offered and headers the handshake owns")
    func acceptArguments() throws {
        var hs = ServerHandshake(now: .zero)
        let r = try #require(ServerOutcome(hs.receive(Self.request.bytes, now: .zero)).request)
        #expect(throws: HandshakeError.invalidArgument("subprotocol mqtt was not offered")) {
            try hs.accept(r, subprotocol: "mqtt", now: .zero)
        }
        #expect(throws: HandshakeError.invalidArgument("header Upgrade is set by the handshake")) {
            try hs.accept(r, headers: ["upgrade": "x"], now: .zero)
        }
        #expect(throws: HandshakeError.invalidArgument("header X cannot be written")) {
            try hs.accept(r, headers: ["X": "a\nb"], now: .zero)
        }
    }

    @Test("Accepting is one decision: not before the request head, not twice, not after a rejection or a failure")
    func acceptOnlyOnce() throws {
        let early = HandshakeError.invalidArgument("no request head was received yet")
        let ended = HandshakeError.invalidArgument("the handshake already ended (accepted, rejected or failed)")
        var reference = ServerHandshake(now: .zero)
        let r = try #require(ServerOutcome(reference.receive(Self.request.bytes, now: .zero)).request)

        var waiting = ServerHandshake(now: .zero)
        #expect(ServerOutcome(waiting.receive(Self.request.bytes.prefix(20), now: .zero)) == .needMoreData)
        #expect(throws: early) { try waiting.accept(r, now: .zero) }
        // Nothing changed: the rest of the head still makes the request.
        #expect(ServerOutcome(waiting.receive(Self.request.bytes.dropFirst(20), now: .zero)) == .upgrade(r))

        var twice = ServerHandshake(now: .zero)
        _ = twice.receive(Self.request.bytes, now: .zero)
        _ = try twice.accept(r, now: .zero)
        #expect(throws: ended) { try twice.accept(r, now: .zero) }

        var rejected = ServerHandshake(now: .zero)
        _ = rejected.receive(Self.request.bytes, now: .zero)
        _ = try rejected.reject(status: 403)
        #expect(throws: ended) { try rejected.accept(r, now: .zero) }

        var timedOut = ServerHandshake(now: .zero)
        _ = timedOut.receive(Self.request.bytes.prefix(20), now: .zero)
        #expect(timedOut.handleTimeout(now: .seconds(10)).map(ServerOutcome.init)?.error == .timedOut)
        #expect(throws: ended) { try timedOut.accept(r, now: .seconds(10)) }
    }

    @Test("Bytes after the request head are handed to the connection, also those read before accepting")
    func leftover() throws {
        var hs = ServerHandshake(now: .zero)
        let frame = Wire.client(.text, RFCVectors.hello)
        let r = try #require(ServerOutcome(hs.receive(Self.request.bytes + frame.prefix(3), now: .zero)).request)
        #expect(ServerOutcome(hs.receive(frame.dropFirst(3), now: .zero)) == .needMoreData)
        #expect(hs.leftover == frame)
        var (_, connection, leftover) = try hs.accept(r, now: .zero)
        #expect(leftover == frame)
        #expect(connection.receive(leftover, now: .zero) == [.deliver(.message(.text("Hello")))])
    }

    /// Builds a request from the RFC example with one line replaced.
    static func request(replacing old: String, with new: String) -> [UInt8] {
        request.replacing(old, with: new).bytes
    }

    @Test("Faulty upgrade requests: error and status", arguments: [
        ("GET /chat?room=1 HTTP/1.1", "POST /chat HTTP/1.1", HandshakeError.methodNotGet("POST"), 400),
        ("GET /chat?room=1 HTTP/1.1", "get /chat HTTP/1.1", .methodNotGet("get"), 400),
        ("GET /chat?room=1 HTTP/1.1", "GET /chat HTTP/1.0", .httpVersionTooOld(.http1_0), 400),
        ("GET /chat?room=1 HTTP/1.1", "GET * HTTP/1.1", .malformedHead("invalid request target for an upgrade"), 400),
        ("GET /chat?room=1 HTTP/1.1", "GET chat HTTP/1.1", .malformedHead("invalid request target for an upgrade"), 400),
        ("GET /chat?room=1 HTTP/1.1", "GET http:///chat HTTP/1.1", .malformedHead("invalid request target for an upgrade"), 400),
        ("Host: server.example.com\r\n", "", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host:\r\n", .invalidHost, 400),
        // A body would be frames to us and a body to an intermediary: refused.
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nContent-Length: 5\r\n",
         .malformedHead("an upgrade request cannot have a body"), 400),
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\nContent-Length: 2\r\n",
         .malformedHead("an upgrade request cannot have a body"), 400),
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n",
         .malformedHead("an upgrade request cannot have a body"), 400),
        // "a Host header field with an invalid field value" → 400 (RFC 9112 §3.2; RFC 9110 §7.2).
        ("Host: server.example.com\r\n", "Host: server example.com\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: server.example.com:http\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: server.example.com/chat\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: user@server.example.com\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: [::1\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: :8080\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: [::1]x\r\n", .invalidHost, 400),
        ("Host: server.example.com\r\n", "Host: %zz.example.com\r\n", .invalidHost, 400),
        ("Upgrade: websocket\r\n", "", .missingUpgradeHeader, 400),
        ("Upgrade: websocket\r\n", "Upgrade: h2c\r\n", .missingUpgradeHeader, 400),
        ("Connection: Upgrade\r\n", "", .missingConnectionUpgrade, 400),
        ("Connection: Upgrade\r\n", "Connection: keep-alive\r\n", .missingConnectionUpgrade, 400),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", .invalidKey, 400),
        ("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j", .invalidKey, 400),
        ("dGhlIHNhbXBsZSBub25jZQ==", "not base64!", .invalidKey, 400),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", .invalidKey, 400),
        ("Sec-WebSocket-Version: 13\r\n", "", .unsupportedVersion(nil), 426),
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n", .unsupportedVersion("8"), 426),
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13, 8\r\n", .unsupportedVersion("13, 8"), 426),
        // Two header lines, one of them 13 (found by Scripts/mutate: only exactly one 13 passes).
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 8\r\n", .unsupportedVersion("13"), 426),
        ("chat, superchat", "chat, super chat", .invalidSubprotocolHeader, 400),
        ("chat, superchat", "chat, [x]", .invalidSubprotocolHeader, 400),
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: a; b=\"c d\"\r\n", .invalidExtensionHeader, 400),
        ("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: a b\r\n", .invalidExtensionHeader, 400),
        ("Host: server.example.com\r\n", "Host : server.example.com\r\n", .malformedHead("invalid header name"), 400),
    ])
    func faults(old: String, new: String, error: HandshakeError, status: Int) {
        let outcome = Self.receive(Self.request(replacing: old, with: new))
        #expect(outcome.error == error)
        #expect(error.httpStatus == status)
        if case .invalid(_, let response) = outcome {
            #expect(response.starts(with: "HTTP/1.1 \(status) ".bytes))
        }
    }

    @Test("Tolerated variations: case-insensitive tokens, token lists, extra whitespace, HTTP/1.2")
    func tolerated() {
        for (old, new) in [("Upgrade: websocket", "upgrade: WebSocket"), ("Connection: Upgrade", "Connection: keep-alive, upgrade"),
                           ("Connection: Upgrade\r\n", "Connection: keep-alive\r\nConnection: Upgrade\r\n"),
                           ("Upgrade: websocket", "Upgrade: foo/2, websocket"), ("HTTP/1.1\r\nHost", "HTTP/1.2\r\nHost"),
                           ("Sec-WebSocket-Key: dGhl", "Sec-WebSocket-Key:    dGhl"),
                           ("Host: server.example.com", "Host: server.example.com:8080"),
                           ("Upgrade: websocket", "Content-Length: 0\r\nUpgrade: websocket"),
                           ("Host: server.example.com", "Host: 192.0.2.1:80"), ("Host: server.example.com", "Host: [::1]:8080"),
                           ("Host: server.example.com", "Host: [fe80::1%25eth0]"), ("Host: server.example.com", "Host: b%C3%BCcher.example")] {
            #expect(Self.receive(Self.request(replacing: old, with: new)).request != nil, "\(new)")
        }
    }

    @Test("426 carries Upgrade: websocket, Connection: Upgrade and Sec-WebSocket-Version: 13 (RFC 9110 §15.5.22, §7.8; RFC 6455 §4.2.2 item 4)")
    func upgradeRequired() {
        let outcome = Self.receive(Self.request(replacing: "Sec-WebSocket-Version: 13", with: "Sec-WebSocket-Version: 7"))
        let body = "Unsupported Sec-WebSocket-Version\n"
        #expect(outcome == .invalid(.unsupportedVersion("7"), """
            HTTP/1.1 426 Upgrade Required\r
            Upgrade: websocket\r
            Connection: Upgrade, close\r
            Sec-WebSocket-Version: 13\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Length: \(body.utf8.count)\r
            \r
            \(body)
            """.bytes))
    }

    @Test("An absolute-form target carries the resource name (RFC 6455 §4.1 item 3)", arguments: [
        ("http://server.example.com/chat?room=1", "/chat?room=1", "/chat", "room=1"),
        ("HTTPS://server.example.com:443/a/b", "/a/b", "/a/b", nil),
        ("ws://h", "/", "/", nil),
        ("wss://h?x", "/?x", "/", "x"),
        ("/plain", "/plain", "/plain", nil),
    ] as [(String, String, String, String?)])
    func absoluteForm(target: String, resource: String, path: String, query: String?) throws {
        let r = try #require(Self.receive(Self.request(replacing: "/chat?room=1", with: target)).request)
        #expect(r.target == target)
        #expect(r.resource == resource)
        #expect(r.path == path)
        #expect(r.query == query)
    }

    @Test("Plain HTTP requests are told apart from bad upgrades")
    func notAnUpgrade() {
        let get = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        #expect(Self.receive(get.bytes) == .plain(HTTPRequestHead(method: "GET", target: "/", headers: ["Host": "localhost"])))
        let post = "POST /form HTTP/1.0\r\nContent-Length: 0\r\n\r\n"
        #expect(Self.receive(post.bytes) == .plain(HTTPRequestHead(method: "POST", target: "/form", version: .http1_0,
                                                                   headers: ["Content-Length": "0"])))
        let h2c = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
        if case .plain = Self.receive(h2c.bytes) {} else { Issue.record("h2c upgrade should be plain HTTP") }
        // Any sign of WebSocket makes it an upgrade attempt, judged strictly.
        let keyOnly = "GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        #expect(Self.receive(keyOnly.bytes).error == .missingUpgradeHeader)
    }

    @Test("A plain request without one valid Host is answered 400 (RFC 9112 §3.2)", arguments: [
        "GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "HEAD / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    ])
    func plainRequestWithoutAValidHost(request: String) {
        let body = "Missing, repeated or invalid Host header\n"
        #expect(Self.receive(request.bytes) == .invalid(.invalidHost, """
            HTTP/1.1 400 Bad Request\r
            Content-Type: text/plain; charset=utf-8\r
            Connection: close\r
            Content-Length: \(body.utf8.count)\r
            \r
            \(body)
            """.bytes))
    }

    @Test("A plain request may have an empty Host, and an HTTP/1.0 one none")
    func plainRequestHosts() {
        #expect(Self.receive("OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n".bytes)
                == .plain(HTTPRequestHead(method: "OPTIONS", target: "*", headers: ["Host": ""])))
        #expect(Self.receive("GET / HTTP/1.0\r\n\r\n".bytes) == .plain(HTTPRequestHead(method: "GET", target: "/", version: .http1_0)))
    }

    @Test("Rejecting: any status, headers and body (401, 403, 302)")
    func rejections() throws {
        func waiting() -> ServerHandshake {
            var hs = ServerHandshake(now: .zero)
            _ = hs.receive(Self.request.bytes, now: .zero)
            return hs
        }
        var hs = waiting()
        #expect(try hs.reject(status: 401, headers: ["WWW-Authenticate": "Basic realm=\"ws\""]) ==
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ws\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".bytes)
        hs = waiting()
        #expect(try hs.reject(status: 403, reason: "Bad Origin", body: "no".bytes) ==
                "HTTP/1.1 403 Bad Origin\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno".bytes)
        hs = waiting()
        #expect(try hs.reject(status: 302, headers: ["Location": "/elsewhere", "Connection": "keep-alive"]) ==
                "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n".bytes)
        // Before the head is complete too (a server at its cap, or shutting down).
        var early = ServerHandshake(now: .zero)
        _ = early.receive(Self.request.bytes.prefix(20), now: .zero)
        #expect(try early.reject(status: 503) ==
                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".bytes)
    }

    /// One response per handshake: a refusal after an acceptance, a refusal or a failure would
    /// follow the first response on the wire (it returned a second one); an interim status
    /// cannot end the exchange (a "101" refusal looked like an acceptance without its key).
    @Test func aRefusalThatCannotBeWrittenIsAnError() throws {
        let ended = HandshakeError.invalidArgument("the handshake already ended (accepted, rejected or failed)")
        guard case .upgrade(let r) = Self.receive(Self.request.bytes) else { Issue.record("no request"); return }
        var accepted = ServerHandshake(now: .zero)
        _ = accepted.receive(Self.request.bytes, now: .zero)
        _ = try accepted.accept(r, now: .zero)
        #expect(throws: ended) { try accepted.reject(status: 403) }

        var rejected = ServerHandshake(now: .zero)
        _ = rejected.receive(Self.request.bytes, now: .zero)
        _ = try rejected.reject(status: 403)
        #expect(throws: ended) { try rejected.reject(status: 403) }

        var failed = ServerHandshake(now: .zero)
        _ = failed.receive("GET / HTTP/1.1\r\nHost: a b\r\n\r\n".bytes, now: .zero)
        #expect(throws: ended) { try failed.reject(status: 403) }

        for status in [100, 101, 199] {
            var interim = ServerHandshake(now: .zero)
            _ = interim.receive(Self.request.bytes, now: .zero)
            #expect(throws: HandshakeError.invalidArgument("status \(status) is interim: it cannot refuse a request")) {
                try interim.reject(status: status)
            }
            // Nothing changed: a refusal that can be written still can.
            #expect(try interim.reject(status: 403).starts(with: "HTTP/1.1 403 Forbidden\r\n".bytes))
        }
    }

    @Test("Head limits answer 431 and 414")
    func limits() {
        var hs = ServerHandshake(options: .init(limits: .init(maxHeadSize: 1024, maxHeaderCount: 4)), now: .zero)
        #expect(ServerOutcome(hs.receive(Self.request.bytes, now: .zero)).error == .tooManyHeaders(limit: 4))
        var hs2 = ServerHandshake(options: .init(limits: .init(maxRequestLineLength: 16)), now: .zero)
        let outcome = ServerOutcome(hs2.receive(Self.request.bytes, now: .zero))
        #expect(outcome.error == .requestLineTooLong(limit: 16))
        if case .invalid(_, let response) = outcome { #expect(response.starts(with: "HTTP/1.1 414 URI Too Long\r\n".bytes)) }
    }

    @Test("The head must arrive within the timeout (default 10 s); then 408")
    func timeout() {
        var hs = ServerHandshake(now: .seconds(1))
        #expect(hs.nextDeadline == .seconds(11))
        #expect(ServerOutcome(hs.receive("GET / HT".bytes, now: .seconds(5))) == .needMoreData)
        #expect(hs.handleTimeout(now: .seconds(10)) == nil)
        let step = hs.handleTimeout(now: .seconds(11)).map(ServerOutcome.init)
        #expect(step?.error == .timedOut)
        if case .invalid(_, let response)? = step { #expect(response.starts(with: "HTTP/1.1 408 Request Timeout\r\n".bytes)) }
        #expect(hs.nextDeadline == nil)
        var hs2 = ServerHandshake(options: .init(timeout: .milliseconds(500)), now: .zero)
        #expect(hs2.nextDeadline == .milliseconds(500))
        #expect(ServerOutcome(hs2.receive(Self.request.bytes, now: .milliseconds(500))).error == .timedOut)
    }

    @Test("End of stream while reading the head: nothing to write")
    func endOfStream() {
        var hs = ServerHandshake(now: .zero)
        _ = hs.receive("GET /".bytes, now: .zero)
        #expect(ServerOutcome(hs.receiveEndOfStream(now: .zero)) == .invalid(.endOfStream, []))
    }

    @Test("A head parsed by another HTTP stack is validated the same way")
    func embedded() throws {
        let r = try UpgradeRequest.validate(method: "GET", target: "/ws", headers: [
            "host": "a", "upgrade": "websocket", "connection": "upgrade",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13"])
        let (head, extensions) = try ServerHandshake.acceptResponse(for: r, subprotocol: nil, extensions: [], headers: [:])
        #expect(head.status == 101)
        #expect(head.headers.first(name: "Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(extensions.isEmpty)
        #expect(throws: HandshakeError.methodNotGet("PUT")) {
            try UpgradeRequest.validate(method: "PUT", target: "/ws", headers: [:])
        }
    }

    @Test("Random garbage never traps: only documented outcomes (seeded)")
    func garbage() {
        var rng = SeededGenerator(seed: 99)
        let base = Self.request.bytes
        for seed in 0..<300 {
            var input = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<input.count, using: &rng)
                input[i] = UInt8.random(in: 0...255, using: &rng)
            }
            let whole = Self.receive(input)
            var hs = ServerHandshake(now: .zero)
            var split = ServerOutcome.needMoreData
            for chunk in Splits.random(input, using: &rng) where split == .needMoreData {
                split = ServerOutcome(hs.receive(chunk, now: .zero))
            }
            #expect(whole == split, "seed \(seed)")
            if case .invalid(let e, let response) = whole {
                #expect(e.httpStatus != nil, "seed \(seed)")
                #expect(response.starts(with: "HTTP/1.1 \(e.httpStatus ?? 0) ".bytes), "seed \(seed)")
            }
        }
    }
}
