// SPDX-License-Identifier: Apache-2.0
import Testing
@_spi(Testing) import WSProtocol
import WSTestSupport

/// The error of a failed step, or nil.
func failure(_ step: ClientHandshake.Step) -> HandshakeError? {
    if case .failed(let e) = step { return e }
    return nil
}

func isNeedMoreData(_ step: ClientHandshake.Step) -> Bool {
    if case .needMoreData = step { return true }
    return false
}

@Suite("RFC 6455 §4.1 Client requirements")
struct ClientHandshakeTests {
    static let options = ClientHandshake.Options(host: "server.example.com", resource: "/chat",
                                                 origin: "http://example.com", subprotocols: ["chat", "superchat"])
    /// The 101 the server sends for the RFC nonce, choosing `chat`.
    static let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"

    static func make(_ options: ClientHandshake.Options = options) throws -> ClientHandshake {
        try ClientHandshake(options: options, now: .zero, entropy: ScriptedRNG.rfcNonce)
    }

    @Test("The request, byte for byte (RFC 6455 §1.3 example with the sample nonce)")
    func goldenRequest() throws {
        let hs = try Self.make()
        #expect(hs.key == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(hs.requestBytes == """
            GET /chat HTTP/1.1\r
            Host: server.example.com\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            Origin: http://example.com\r
            Sec-WebSocket-Protocol: chat, superchat\r
            \r

            """.bytes)
    }

    @Test("Extensions offered and extra headers follow the handshake's own fields")
    func goldenRequestWithExtensions() throws {
        var o = ClientHandshake.Options(host: "127.0.0.1", port: 9001, resource: "/?x=1",
                                        extensions: [PerMessageDeflateNegotiator.recording()],
                                        headers: ["Authorization": "Bearer t", "Cookie": "a=b"])
        o.secure = false
        let hs = try Self.make(o)
        #expect(hs.requestBytes == """
            GET /?x=1 HTTP/1.1\r
            Host: 127.0.0.1:9001\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r
            Authorization: Bearer t\r
            Cookie: a=b\r
            \r

            """.bytes)
    }

    @Test("A seeded generator gives a valid, repeatable key")
    func seededKey() throws {
        let a = try ClientHandshake(options: Self.options, now: .zero, entropy: SeededGenerator(seed: 5))
        let b = try ClientHandshake(options: Self.options, now: .zero, entropy: SeededGenerator(seed: 5))
        let c = try ClientHandshake(options: Self.options, now: .zero, entropy: SeededGenerator(seed: 6))
        #expect(a.requestBytes == b.requestBytes)
        #expect(a.key != c.key)
        #expect(AcceptKey.isValidKey(a.key))
    }

    @Test("Host carries the port only when it is not the scheme's default", arguments: [
        ("ws://example.com/", "example.com", 80, "/"),
        ("ws://example.com:80", "example.com", 80, "/"),
        ("ws://example.com:8080/a/b?c=d", "example.com:8080", 8080, "/a/b?c=d"),
        ("wss://example.com", "example.com", 443, "/"),
        ("wss://example.com:443/x", "example.com", 443, "/x"),
        ("WSS://example.com:80?q", "example.com:80", 80, "/?q"),
        ("ws://[::1]:9000/", "[::1]:9000", 9000, "/"),
        ("ws://[::1]/", "[::1]", 80, "/"),
        ("ws://127.0.0.1:1/", "127.0.0.1:1", 1, "/"),
    ])
    func urls(url: String, host: String, port: Int, resource: String) throws {
        let o = try ClientHandshake.Options(url: url)
        #expect(o.hostHeader == host)
        #expect(o.effectivePort == port)
        #expect(o.resource == resource)
    }

    @Test("Invalid URLs", arguments: ["http://x/", "ws://", "ws://h:0/", "ws://h:65536/", "ws://h:x/", "ws://h/#f",
                                      "ws://u@h/", "ws://[::1/", "ws://[::1]x/", "ws:///path", "ws://h:/",
                                      "ws://h:+80/", "ws://h:-0/", "ws://[::1]:+1/"])
    func invalidURLs(url: String) {
        #expect(throws: HandshakeError.self) { try ClientHandshake.Options(url: url) }
    }

    @Test("Options that cannot be written are refused before anything is sent")
    func invalidOptions() {
        let bad: [ClientHandshake.Options] = [
            .init(host: "h", subprotocols: ["a b"]),
            .init(host: "h", subprotocols: ["chat", "chat"]),
            .init(host: "h", subprotocols: [""]),
            .init(host: "h", resource: "chat"),
            .init(host: "h", resource: "/a b"),
            .init(host: "h", headers: ["Upgrade": "h2c"]),
            .init(host: "h", headers: ["sec-websocket-key": "x"]),
            .init(host: "h", headers: ["X": "a\r\nInjected: 1"]),
            .init(host: "h", origin: "http://a\r\n"),
            .init(host: ""),
        ]
        for o in bad {
            #expect(throws: HandshakeError.self) { try ClientHandshake(options: o, now: .zero, entropy: SeededGenerator(seed: 1)) }
        }
    }

    @Test("A port out of range or a host with an authority delimiter is refused, not written into Host")
    func invalidHostOrPort() {
        for port in [0, -1, 65536, Int.max] {
            #expect(throws: HandshakeError.invalidArgument("invalid port \(port)")) {
                try ClientHandshake(options: .init(host: "h", port: port), now: .zero, entropy: SeededGenerator(seed: 1))
            }
        }
        // The last three pass the delimiter check but make a Host field no server accepts
        // (`UpgradeRequest.validate`): found by FuzzClientHandshake (`wss://[>D1]/`).
        for host in ["[::1]", "::1]", "user@h", "h/x", "h?x", "h#x", ">D1", "a\"b", "h<x"] {
            #expect(throws: HandshakeError.invalidArgument("invalid host")) {
                try ClientHandshake(options: .init(host: host), now: .zero, entropy: SeededGenerator(seed: 1))
            }
        }
        for host in ["fe80::1%eth0", "::1", "a_b-c.d~e", "127.0.0.1", "xn--bcher-kva.example"] {
            #expect((try? ClientHandshake(options: .init(host: host), now: .zero, entropy: SeededGenerator(seed: 1))) != nil)
        }
        for (port, host) in [(1, "h:1"), (65535, "h:65535")] {
            let hs = try? ClientHandshake(options: .init(host: "h", port: port), now: .zero, entropy: SeededGenerator(seed: 1))
            #expect(hs?.request.headers.first(name: "Host") == host)
        }
    }

    @Test("A valid 101 connects at every split, with the subprotocol and the bytes after the head")
    func connects() throws {
        try Self.connectsAtEverySplit(after: [])
    }

    /// `prefix`, then the valid 101 and a frame: connects at every split of the whole, with
    /// the subprotocol, the frame's bytes left over and no deadline left.
    static func connectsAtEverySplit(after prefix: [UInt8]) throws {
        let input = prefix + Self.response.bytes + [0x81, 0x02, 0x68, 0x69]
        for chunks in Splits.all(input) {
            var hs = try Self.make()
            var result: ClientHandshake.Step = .needMoreData
            var extra: [UInt8] = []
            for chunk in chunks {
                if case .connected = result { extra += chunk; continue }
                result = hs.receive(chunk, now: .zero)
            }
            guard case .connected(let connection, let leftover, let response) = result else {
                Issue.record("not connected: \(failure(result).map { "\($0)" } ?? "need more")"); continue
            }
            #expect(leftover + extra == [0x81, 0x02, 0x68, 0x69])
            #expect(response.status == 101)
            #expect(connection.subprotocol == "chat")
            #expect(connection.role == .client)
            #expect(hs.nextDeadline == nil)
        }
    }

    @Test("Interim (1xx) responses before the 101 are skipped at every split (RFC 9110 §15.2); a fifth fails")
    func interimResponses() throws {
        let interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n".bytes
        try Self.connectsAtEverySplit(after: interim)
        var hs = try Self.make()
        let five = Array(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 5).joined().bytes
        #expect(failure(hs.receive(five + Self.response.bytes, now: .zero)) == .malformedHead("more than 4 interim (1xx) responses"))
    }

    /// Replaces a line of the valid response.
    static func response(replacing old: String, with new: String) -> [UInt8] {
        let r = response.replacing(old, with: new)
        return r.bytes
    }

    @Test("Response validation: each fault fails the connection with its error", arguments: [
        ("Upgrade: websocket\r\n", "", HandshakeError.invalidUpgradeHeader),
        ("Upgrade: websocket\r\n", "Upgrade: h2c\r\n", .invalidUpgradeHeader),
        ("Upgrade: websocket\r\n", "Upgrade: websocket, h2c\r\n", .invalidUpgradeHeader),
        ("Upgrade: websocket\r\n", "Upgrade: WebSocket\r\n", nil),
        ("Connection: Upgrade\r\n", "", .invalidConnectionHeader),
        ("Connection: Upgrade\r\n", "Connection: close\r\n", .invalidConnectionHeader),
        ("Connection: Upgrade\r\n", "Connection: keep-alive, upgrade\r\n", nil),
        ("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo",
         .invalidAccept(expected: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", received: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo")),
        ("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "",
         .invalidAccept(expected: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", received: nil)),
        // A second value after the right one (found by Scripts/mutate: exactly one value passes).
        ("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Accept: x\r\n",
         .invalidAccept(expected: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", received: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")),
        ("Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Protocol: mqtt\r\n", .unexpectedSubprotocol("mqtt")),
        ("Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Protocol: chat, superchat\r\n", .unexpectedSubprotocol("chat, superchat")),
        ("Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Protocol: Chat\r\n", .unexpectedSubprotocol("Chat")),
        ("Sec-WebSocket-Protocol: chat\r\n", "", nil),
        ("Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Protocol: superchat\r\n", nil),
        ("Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Extensions: permessage-deflate\r\n",
         .unexpectedExtension("permessage-deflate was not offered")),
        ("Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Extensions: ;\r\n", .invalidExtensionHeader),
        ("HTTP/1.1 101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\nX", .malformedHead("LF without CR")),
    ] as [(String, String, HandshakeError?)])
    func responseFaults(old: String, new: String, error: HandshakeError?) throws {
        var hs = try Self.make()
        let step = hs.receive(Self.response(replacing: old, with: new), now: .zero)
        if let error {
            #expect(failure(step) == error)
        } else {
            guard case .connected = step else { Issue.record("expected success, got \(String(describing: failure(step)))"); return }
        }
    }

    /// Found by Scripts/mutate: only 101 opens the connection (RFC 6455 §4.1, response item 1),
    /// even when every other field of a valid upgrade response is there.
    @Test("A 200 with every upgrade field is a refusal, not a connection")
    func twoHundredIsARefusal() throws {
        var hs = try Self.make()
        let text = String(decoding: Self.response(replacing: "HTTP/1.1 101 Switching Protocols", with: "HTTP/1.1 200 OK"),
                          as: UTF8.self).replacing("Upgrade: websocket\r\n", with: "Upgrade: websocket\r\nContent-Length: 0\r\n")
        let step = hs.receive(text.bytes, now: .zero)
        guard case .refused(let status, let reason, let headers, let body)? = failure(step) else {
            Issue.record("expected a refusal, got \(step)")
            return
        }
        #expect(status == 200)
        #expect(reason == "OK")
        #expect(headers.first(name: "Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(body.isEmpty)
    }

    @Test("A refusal keeps status, reason, headers and the start of the body, even when the body arrives later")
    func refusal() throws {
        let head = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ws\"\r\nContent-Length: 11\r\n\r\n".bytes
        let body = "who are you".bytes
        for chunks in Splits.all(head + body) {
            var hs = try Self.make()
            var step: ClientHandshake.Step = .needMoreData
            for chunk in chunks where isNeedMoreData(step) { step = hs.receive(chunk, now: .zero) }
            #expect(failure(step) == .refused(status: 401, reason: "Unauthorized",
                                               headers: ["WWW-Authenticate": "Basic realm=\"ws\"", "Content-Length": "11"],
                                               bodyPrefix: body))
        }
    }

    @Test("A redirect exposes its Location")
    func redirect() throws {
        var hs = try Self.make()
        let step = hs.receive("HTTP/1.1 302 Found\r\nLocation: ws://other.example/chat\r\nContent-Length: 0\r\n\r\n".bytes, now: .zero)
        let error = try #require(failure(step))
        #expect(error.location == "ws://other.example/chat")
        #expect(HandshakeError.refused(status: 200, reason: "", headers: ["Location": "x"], bodyPrefix: []).location == nil)
    }

    @Test("A refusal's body is capped, and end of stream ends a body without Content-Length")
    func refusalBodyLimits() throws {
        var o = Self.options
        o.maxBodyPrefix = 4
        var hs = try Self.make(o)
        let step = hs.receive("HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\n0123456789".bytes, now: .zero)
        #expect(failure(step) == .refused(status: 500, reason: "Oops", headers: ["Content-Length": "10"], bodyPrefix: "0123".bytes))

        var hs2 = try Self.make()
        #expect(isNeedMoreData(hs2.receive("HTTP/1.0 403 Forbidden\r\n\r\nno".bytes, now: .zero)))
        #expect(failure(hs2.receiveEndOfStream(now: .zero)) == .refused(status: 403, reason: "Forbidden", headers: [:], bodyPrefix: "no".bytes))

        var hs3 = try Self.make()
        let chunked = hs3.receive("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello".bytes, now: .zero)
        #expect(failure(chunked) == .refused(status: 404, reason: "Not Found", headers: ["Transfer-Encoding": "chunked"],
                                             bodyPrefix: "5\r\nhello".bytes))
    }

    @Test("The handshake times out after 10 s by default, driven by the injected clock")
    func timeout() throws {
        var hs = try ClientHandshake(options: Self.options, now: .seconds(100), entropy: ScriptedRNG.rfcNonce)
        #expect(hs.nextDeadline == .seconds(110))
        #expect(isNeedMoreData(hs.receive("HTTP/1.1 101".bytes, now: .seconds(105))))
        #expect(hs.handleTimeout(now: .seconds(109)) == nil)
        #expect(hs.handleTimeout(now: .seconds(110)).flatMap(failure) == .timedOut)
        #expect(hs.nextDeadline == nil)
        #expect(hs.handleTimeout(now: .seconds(120)) == nil)
    }

    @Test("Random corruption of a response never traps and gives the same outcome for any split (seeded)")
    func garbage() throws {
        var rng = SeededGenerator(seed: 4242)
        let base = Self.response.bytes + [0x81, 0x00]
        func outcome(_ chunks: [[UInt8]]) throws -> String {
            var hs = try Self.make()
            for chunk in chunks {
                switch hs.receive(chunk, now: .zero) {
                case .needMoreData: continue
                case .connected(let c, _, let r): return "connected \(c.subprotocol ?? "-") \(r)"
                case .failed(let e): return "failed \(e)"
                }
            }
            switch hs.receiveEndOfStream(now: .zero) {
            case .failed(let e): return "eof \(e)"
            case .needMoreData, .connected: return "unexpected"
            }
        }
        for seed in 0..<300 {
            var input = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let whole = try outcome([input])
            #expect(whole != "unexpected", "seed \(seed)")
            #expect(try outcome(Splits.random(input, using: &rng)) == whole, "seed \(seed)")
        }
    }

    @Test("End of stream before the head fails the handshake")
    func endOfStream() throws {
        var hs = try Self.make()
        _ = hs.receive("HTTP/1.1 101 Switching".bytes, now: .zero)
        #expect(failure(hs.receiveEndOfStream(now: .zero)) == .endOfStream)
    }

    @Test("A response that breaks the syntax or a limit is reported as the response's fault")
    func responseFaultsAreWordedForTheClient() throws {
        var hs = try Self.make()
        let bad = failure(hs.receive("SSH-2.0-OpenSSH_9.2\r\n".bytes, now: .zero))
        #expect(bad == .malformedHead("invalid HTTP version"))
        #expect(bad?.clientReasonText == "Malformed response: invalid HTTP version")
        #expect(HandshakeError.headTooLarge(limit: 16384).clientReasonText == "Response head over 16384 bytes")
        #expect(HandshakeError.tooManyHeaders(limit: 100).clientReasonText == "More than 100 header fields in the response")
        // The server's wording stays as it is (it answers a request); the rest is shared.
        #expect(HandshakeError.malformedHead("x").reasonText == "Malformed request: x")
        // A subprotocol is quoted, so that an empty one still shows.
        #expect(HandshakeError.unexpectedSubprotocol("").clientReasonText == "Unexpected subprotocol ''")
        #expect(HandshakeError.invalidAccept(expected: "a", received: nil).clientReasonText == "Invalid Sec-WebSocket-Accept")
    }
}
