// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("RFC 7239 Forwarded, X-Forwarded-For, X-Forwarded-Proto")
struct ForwardedHeadersTests {
    static func address(_ text: String, _ port: UInt16 = 0) -> ForwardedNode { .address(SocketAddress(numericHost: text, port: port)!) }

    @Test func rfc7239Examples() throws {
        // RFC 7239 §4 and §7.1 examples.
        #expect(try ForwardedHeaders.parseForwarded(#"for="_gazonk""#) == [.init(forNode: .obfuscated("_gazonk"))])
        #expect(try ForwardedHeaders.parseForwarded(#"For="[2001:db8:cafe::17]:4711""#)
                == [.init(forNode: Self.address("2001:db8:cafe::17", 4711))])
        #expect(try ForwardedHeaders.parseForwarded("for=192.0.2.60;proto=http;by=203.0.113.43")
                == [.init(forNode: Self.address("192.0.2.60"), by: Self.address("203.0.113.43"), proto: "http")])
        #expect(try ForwardedHeaders.parseForwarded("for=192.0.2.43, for=198.51.100.17")
                == [.init(forNode: Self.address("192.0.2.43")), .init(forNode: Self.address("198.51.100.17"))])
        #expect(try ForwardedHeaders.parseForwarded(#"for=unknown;host="example.com:8080" , for="192.0.2.43:_port";Proto=HTTPS"#)
                == [.init(forNode: .unknown, host: "example.com:8080"), .init(forNode: Self.address("192.0.2.43"), proto: "https")])
    }

    @Test("Malformed Forwarded values", arguments: [
        "for=192.0.2.43:4711",           // a port needs quotes (':' is not a token character)
        "for=[2001:db8::1]",             // so does IPv6
        "for=\"192.0.2.43\";for=1.2.3.4", // a parameter twice in one element
        "for=",
        "=1.2.3.4",
        "for=\"unterminated",
        "for=1.2.3.4 proto=http",
        "for=example.com",
        "for=\"[::1]:99999\"",
        "proto=\"1http\"",
    ])
    func malformedForwarded(value: String) {
        #expect(throws: ForwardedHeaderError.self) { try ForwardedHeaders.parseForwarded(value) }
    }

    @Test func xForwardedForAndProto() throws {
        #expect(try ForwardedHeaders.parseForwardedFor("203.0.113.195, 2001:db8:85a3::8a2e:370:7334,150.172.238.178")
                == [Self.address("203.0.113.195"), Self.address("2001:db8:85a3::8a2e:370:7334"), Self.address("150.172.238.178")])
        #expect(try ForwardedHeaders.parseForwardedFor("[::1]:8080, 10.0.0.1:443, unknown")
                == [Self.address("::1", 8080), Self.address("10.0.0.1", 443), .unknown])
        #expect(throws: ForwardedHeaderError.invalidNode) { try ForwardedHeaders.parseForwardedFor("10.0.0.1, example.com") }
        #expect(throws: ForwardedHeaderError.invalidNode) { try ForwardedHeaders.parseForwardedFor("1.2.3.4:") }
        #expect(try ForwardedHeaders.parseForwardedProto("HTTPS, http") == ["https", "http"])
        #expect(throws: ForwardedHeaderError.invalidProto) { try ForwardedHeaders.parseForwardedProto("ht tp") }
    }

    @Test func headersCombineFieldLinesAndIgnoreMalformedOnes() {
        var headers: HTTPHeaders = ["X-Forwarded-For": "198.51.100.1", "x-forwarded-for": "10.0.0.2", "X-Forwarded-Proto": "https",
                                    "Forwarded": "for=bad:"]
        var parsed = ForwardedHeaders(headers: headers)
        #expect(parsed.forwardedFor == [Self.address("198.51.100.1"), Self.address("10.0.0.2")])
        #expect(parsed.forwarded == nil)
        #expect(parsed.proto == "https")
        headers = [:]
        parsed = ForwardedHeaders(headers: headers)
        #expect(parsed.isEmpty)
        #expect(parsed.client(trusting: IPAddressPrefix.loopback) == nil)
    }

    @Test func clientSkipsTrustedHopsFromTheRight() {
        let trusted = [IPAddressPrefix("10.0.0.0/8")!]
        let chain = ForwardedHeaders(forwardedFor: [Self.address("198.51.100.1"), Self.address("203.0.113.9"), Self.address("10.0.0.2")])
        #expect(chain.client(trusting: trusted) == SocketAddress(numericHost: "203.0.113.9", port: 0))
        // Every hop trusted: the farthest one is the client.
        let local = ForwardedHeaders(forwardedFor: [Self.address("10.0.0.7"), Self.address("10.0.0.2")])
        #expect(local.client(trusting: trusted) == SocketAddress(numericHost: "10.0.0.7", port: 0))
        // An unknown hop before an untrusted address stops the walk.
        let hidden = ForwardedHeaders(forwardedFor: [Self.address("198.51.100.1"), .unknown, Self.address("10.0.0.2")])
        #expect(hidden.client(trusting: trusted) == nil)
        // Forwarded wins over X-Forwarded-For, and keeps the port.
        let both = ForwardedHeaders(forwarded: [.init(forNode: Self.address("192.0.2.5", 4711), proto: "http")],
                                    forwardedFor: [Self.address("198.51.100.1")])
        #expect(both.client(trusting: trusted) == SocketAddress(numericHost: "192.0.2.5", port: 4711))
        #expect(both.proto == "http")
    }
}

@Suite("Forwarding headers over loopback", .timeLimit(.minutes(1)))
struct ForwardedPeerTests {
    /// A server that reports each connection's peer, direct peer and parsed headers.
    static func server(trusting trusted: [IPAddressPrefix]) async throws -> (WebSocketServer, AsyncStream<(SocketAddress?, SocketAddress?, ForwardedHeaders?)>) {
        let (stream, continuation) = AsyncStream<(SocketAddress?, SocketAddress?, ForwardedHeaders?)>.makeStream()
        var configuration = WebSocketServer.Configuration()
        configuration.trustedForwarders = trusted
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            continuation.yield((ws.peer, ws.directPeer, ws.forwarded))
            for await _ in ws {}
        }
        return (server, stream)
    }

    @Test func trustedProxyHeadersSetThePeer() async throws {
        let (server, reports) = try await Self.server(trusting: IPAddressPrefix.loopback)
        var iterator = reports.makeAsyncIterator()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/",
                                             headers: ["Forwarded": #"for="198.51.100.7:40123";proto=https"#,
                                                       "X-Forwarded-For": "203.0.113.1"])
        let (peer, direct, forwarded) = try #require(await iterator.next())
        #expect(peer == SocketAddress(numericHost: "198.51.100.7", port: 40123))
        #expect(direct?.host == "127.0.0.1")
        #expect(direct == ws.localAddress)
        #expect(forwarded?.proto == "https")
        #expect(forwarded?.forwardedFor == [.address(SocketAddress(numericHost: "203.0.113.1", port: 0)!)])
        try ws.close()
        await server.shutdown()
    }

    @Test func untrustedPeerKeepsItsAddress() async throws {
        let (server, reports) = try await Self.server(trusting: [IPAddressPrefix("10.0.0.0/8")!])
        var iterator = reports.makeAsyncIterator()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/",
                                             headers: ["X-Forwarded-For": "203.0.113.1"])
        let (peer, direct, forwarded) = try #require(await iterator.next())
        #expect(peer == direct)
        #expect(peer == ws.localAddress)
        #expect(forwarded?.forwardedFor == [.address(SocketAddress(numericHost: "203.0.113.1", port: 0)!)])
        try ws.close()
        await server.shutdown()
    }
}
