// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("RFC 8441 §4–5 WebSocket over HTTP/2 extended CONNECT")
struct ExtendedConnectTests {
    static let valid: HTTPHeaders = [":method": "CONNECT", ":protocol": "websocket", ":scheme": "https",
                                     ":path": "/chat?x=1", ":authority": "server.example.com",
                                     "sec-websocket-protocol": "chat, superchat", "sec-websocket-version": "13",
                                     "origin": "http://www.example.com"]

    @Test("The client's request header list (RFC 8441 §5.1 example)")
    func requestHeaders() {
        let h = ExtendedConnect.requestHeaders(authority: "server.example.com", path: "/chat?x=1",
                                               origin: "http://www.example.com", subprotocols: ["chat", "superchat"])
        #expect(Array(h) == Array(Self.valid.prefix(5)) + [Self.valid[6], Self.valid[7], Self.valid[5]])
        #expect(throws: Never.self) { try ExtendedConnect.validate(h) }
    }

    @Test("An :authority with a port or an IP literal is valid", arguments: [
        "server.example.com:8443", "127.0.0.1", "[::1]:443", "[fe80::1%25eth0]",
    ])
    func validAuthorities(authority: String) throws {
        #expect(try ExtendedConnect.validate(Self.with(":authority", authority)).host == authority)
    }

    @Test func aHostFieldEqualToTheAuthorityIsAccepted() throws {
        #expect(try ExtendedConnect.validate(Self.with("host", "Server.Example.com")).host == "server.example.com")
    }

    @Test func teTrailersIsTheOneTEAllowed() throws {
        #expect(try ExtendedConnect.validate(Self.with("te", "trailers")).headers["te"] == ["trailers"])
    }

    @Test("A valid request is exposed like an HTTP/1.1 one, without a key")
    func valid() throws {
        let r = try ExtendedConnect.validate(Self.valid)
        #expect(r.mode == .extendedConnect)
        #expect(r.method == "CONNECT")
        #expect(r.path == "/chat")
        #expect(r.query == "x=1")
        #expect(r.host == "server.example.com")
        #expect(r.key == nil)
        #expect(r.origin == "http://www.example.com")
        #expect(r.subprotocols == ["chat", "superchat"])
        #expect(!r.headers.contains(name: ":method"))
    }

    /// The valid list with `name` removed, replaced or added.
    static func with(_ name: String, _ value: String?) -> HTTPHeaders {
        var h = HTTPHeaders()
        var replaced = false
        for f in valid {
            if f.name == name { if let value, !replaced { h.add(name: name, value: value); replaced = true } }
            else { h.add(name: f.name, value: f.value) }
        }
        if !replaced, let value { h.add(name: name, value: value) }
        return h
    }

    @Test("Invalid requests", arguments: [
        (with(":method", "GET"), HandshakeError.invalidExtendedConnect(":method must be CONNECT")),
        (with(":method", nil), .invalidExtendedConnect(":method must be CONNECT")),
        (with(":protocol", nil), .invalidExtendedConnect(":protocol must be websocket")),
        (with(":protocol", "WebSocket"), .invalidExtendedConnect(":protocol must be websocket")),
        (with(":scheme", nil), .invalidExtendedConnect("missing :scheme")),
        (with(":path", nil), .invalidExtendedConnect("missing or invalid :path")),
        (with(":path", "chat"), .invalidExtendedConnect("missing or invalid :path")),
        (with(":authority", nil), .invalidExtendedConnect("missing :authority")),
        (with(":authority", "user@server.example.com"), .invalidExtendedConnect("invalid :authority")),
        (with(":authority", "server.example.com/chat"), .invalidExtendedConnect("invalid :authority")),
        (with(":authority", "server example.com"), .invalidExtendedConnect("invalid :authority")),
        (with(":authority", "server.example.com:44x"), .invalidExtendedConnect("invalid :authority")),
        (with(":authority", "[::1"), .invalidExtendedConnect("invalid :authority")),
        (with(":authority", ":443"), .invalidExtendedConnect("invalid :authority")),
        (with(":path", "/chat room"), .invalidExtendedConnect("missing or invalid :path")),
        (with(":path", "/chät"), .invalidExtendedConnect("missing or invalid :path")),
        (with(":path", "/chat\r\nx: y"), .invalidExtendedConnect("invalid value of :path")),
        (with("origin", "http://www.example.com\r\nx: y"), .invalidExtendedConnect("invalid value of origin")),
        (with("origin", "http://www.example.com\0"), .invalidExtendedConnect("invalid value of origin")),
        (with("origin", " http://www.example.com"), .invalidExtendedConnect("invalid value of origin")),
        (with(":authority", "server.example.com\n"), .invalidExtendedConnect("invalid value of :authority")),
        (with("te", "gzip"), .invalidExtendedConnect("te other than trailers")),
        (with("host", "other.example.com"), .invalidExtendedConnect("host differs from :authority")),
        (with("host", "server.example.com:443"), .invalidExtendedConnect("host differs from :authority")),
        (with("sec-websocket-version", nil), .unsupportedVersion(nil)),
        (with("sec-websocket-version", "8"), .unsupportedVersion("8")),
        (with(":status", "200"), .invalidExtendedConnect("pseudo-header after regular field")),
        (with("connection", "upgrade"), .invalidExtendedConnect("connection-specific field connection")),
        (with("upgrade", "websocket"), .invalidExtendedConnect("connection-specific field upgrade")),
        (with("Origin", "x"), .invalidExtendedConnect("uppercase field name Origin")),
        (with("sec-websocket-protocol", "a b"), .invalidSubprotocolHeader),
        (with("sec-websocket-extensions", "x;"), .invalidExtensionHeader),
        ([":method": "CONNECT", ":method": "CONNECT"] as HTTPHeaders, .invalidExtendedConnect("repeated :method")),
        ([":method": "CONNECT", ":foo": "x"] as HTTPHeaders, .invalidExtendedConnect("unknown pseudo-header :foo")),
    ])
    func invalid(headers: HTTPHeaders, error: HandshakeError) {
        #expect(throws: error) { try ExtendedConnect.validate(headers) }
    }

    @Test("Accept gives :status 200 and a connection; the client validates it and connects")
    func acceptAndConnect() throws {
        let deflate = PerMessageDeflateNegotiator.recording()
        let request = try ExtendedConnect.validate(ExtendedConnect.requestHeaders(
            authority: "a", subprotocols: ["chat"], extensions: [deflate]))
        let (headers, server) = try ExtendedConnect.accept(request, subprotocol: "chat", extensions: [deflate],
                                                           headers: ["X-Server": "1"], now: .zero)
        #expect(Array(headers) == Array([":status": "200", "sec-websocket-protocol": "chat",
                                         "sec-websocket-extensions": "permessage-deflate", "x-server": "1"] as HTTPHeaders))
        #expect(!headers.contains(name: "sec-websocket-accept"))
        #expect(server.role == .server)
        #expect(server.extensions.map(\.name) == ["permessage-deflate"])
        var client = try ExtendedConnect.connect(response: headers, subprotocols: ["chat"], extensions: [deflate],
                                                 now: .zero, entropy: FixedKeyGenerator())
        #expect(client.subprotocol == "chat")
        #expect(client.role == .client)
        // The same Connection type runs over the stream's DATA.
        var serverConnection = server
        let out = try serverConnection.send(.binary([7]), now: .zero)
        guard case .write(let bytes)? = out.first else { Issue.record("no write"); return }
        #expect(client.receive(bytes, now: .zero) == [.deliver(.message(.binary([7])))])
    }

    @Test("Accept refuses headers HTTP/2 forbids in a response (RFC 9113 §8.2.2)", arguments: [
        ("keep-alive", HandshakeError.invalidArgument("header Keep-Alive cannot be sent over HTTP/2")),
        ("Proxy-Connection", .invalidArgument("header Proxy-Connection cannot be sent over HTTP/2")),
        ("te", .invalidArgument("header TE cannot be sent over HTTP/2")),
        ("Connection", .invalidArgument("header Connection is set by the handshake")),
    ])
    func acceptRefusesConnectionSpecificHeaders(name: String, error: HandshakeError) throws {
        let request = try ExtendedConnect.validate(Self.valid)
        #expect(throws: error) { try ExtendedConnect.accept(request, headers: [name: "x"], now: .zero) }
    }

    @Test("The client refuses a non-2xx status, an unoffered subprotocol, or a missing :status")
    func clientFailures() {
        #expect(throws: HandshakeError.refused(status: 403, reason: "Forbidden", headers: ["x": "y"], bodyPrefix: [])) {
            try ExtendedConnect.connect(response: [":status": "403", "x": "y"], now: .zero)
        }
        #expect(throws: HandshakeError.unexpectedSubprotocol("mqtt")) {
            try ExtendedConnect.connect(response: [":status": "200", "sec-websocket-protocol": "mqtt"], subprotocols: ["chat"], now: .zero)
        }
        #expect(throws: HandshakeError.invalidExtendedConnect("missing or invalid :status")) {
            try ExtendedConnect.connect(response: ["sec-websocket-protocol": "chat"], now: .zero)
        }
    }

    @Test("A :status that is not three digits is invalid, not a refusal with a made-up status", arguments: [
        "+20", "-99", "-01", "+00", " 20", "2 0", "20", "2000", "２００",
    ])
    func statusIsThreeDigits(status: String) {
        #expect(throws: HandshakeError.invalidExtendedConnect("missing or invalid :status")) {
            try ExtendedConnect.connect(response: [":status": status], now: .zero)
        }
    }

    @Test("An HTTP/1.1 request cannot be accepted as extended CONNECT, nor the reverse")
    func modesDoNotMix() throws {
        let r = try ExtendedConnect.validate(Self.valid)
        #expect(throws: HandshakeError.self) { try ServerHandshake.acceptResponse(for: r, subprotocol: nil, extensions: [], headers: [:]) }
        let h1 = try UpgradeRequest.validate(method: "GET", target: "/", headers: [
            "Host": "a", "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"])
        #expect(throws: HandshakeError.invalidArgument("not an extended CONNECT request")) {
            try ExtendedConnect.accept(h1, now: .zero)
        }
    }
}
