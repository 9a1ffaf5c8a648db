// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// The PROXY protocol on a real server: the header before the upgrade request, over loopback.
@Suite("PROXY protocol over loopback", .timeLimit(.minutes(1)))
struct ProxyProtocolServerTests {
    static let upgrade = "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// A server with the PROXY protocol on, reporting each connection's peer and direct peer.
    static func server(trusted: [IPAddressPrefix] = IPAddressPrefix.loopback, handshakeTimeout: Duration = .seconds(10))
        async throws -> (WebSocketServer, AsyncStream<(SocketAddress?, SocketAddress?)>) {
        let (stream, continuation) = AsyncStream<(SocketAddress?, SocketAddress?)>.makeStream()
        var configuration = WebSocketServer.Configuration(handshakeTimeout: handshakeTimeout)
        configuration.proxyProtocol = ProxyProtocolSettings(trustedSources: trusted)
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            continuation.yield((ws.peer, ws.directPeer))
            for await _ in ws {}
        }
        return (server, stream)
    }

    static func send(_ bytes: [UInt8], to server: WebSocketServer) async throws -> RawTCP {
        let tcp = try await RawTCP.connect(SocketAddress(numericHost: "127.0.0.1", port: UInt16(server.port))!)
        var offset = 0
        while offset < bytes.count { offset += try tcp.writeSome(Array(bytes[offset...])) }
        return tcp
    }

    /// Reads the response head's first line (the server keeps an accepted connection open).
    static func statusLine(_ tcp: RawTCP) async throws -> String {
        tcp.shutdownWrite()  // the server then closes after the 101 (end of stream from us)
        let (bytes, _) = try await tcp.readToEnd(timeout: .seconds(10))
        return String(decoding: bytes.prefix { $0 != 0x0D }, as: UTF8.self)
    }

    @Test("v1 and v2 headers from a trusted proxy set the peer", arguments: [
        ProxyHeader(version: .v1, command: .proxy, source: SocketAddress(numericHost: "203.0.113.7", port: 51000),
                    destination: SocketAddress(numericHost: "192.0.2.1", port: 443)),
        ProxyHeader(version: .v2, command: .proxy, source: SocketAddress(numericHost: "2001:db8::7", port: 4711),
                    destination: SocketAddress(numericHost: "2001:db8::1", port: 443)),
    ])
    func trustedHeader(header: ProxyHeader) async throws {
        let (server, reports) = try await Self.server()
        var iterator = reports.makeAsyncIterator()
        let tcp = try await Self.send(header.bytes + Array(Self.upgrade.utf8), to: server)
        let (peer, direct) = try #require(await iterator.next())
        #expect(peer == header.source)
        #expect(direct?.host == "127.0.0.1")
        #expect(try await Self.statusLine(tcp) == "HTTP/1.1 101 Switching Protocols")
        await server.shutdown()
    }

    @Test func localHeaderKeepsTheSocketPeerAndServesHTTP() async throws {
        let (server, reports) = try await Self.server()
        var iterator = reports.makeAsyncIterator()
        let local = ProxyHeader(version: .v2, command: .local)
        let tcp = try await Self.send(local.bytes + Array(Self.upgrade.utf8), to: server)
        let (peer, direct) = try #require(await iterator.next())
        #expect(peer == direct)
        #expect(try await Self.statusLine(tcp) == "HTTP/1.1 101 Switching Protocols")
        await server.shutdown()
    }

    @Test("No header, a malformed one, or one from an untrusted peer: closed without an answer", arguments: [
        ("trusted, none", IPAddressPrefix.loopback, Array(upgrade.utf8)),
        ("trusted, malformed", IPAddressPrefix.loopback, Array("PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n".utf8) + Array(upgrade.utf8)),
        ("trusted, bad v2 version", IPAddressPrefix.loopback, ProxyHeader.v2Signature + [0x11, 0x11, 0, 0]),
        ("untrusted, v1", [IPAddressPrefix("10.0.0.0/8")!], Array("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".utf8) + Array(upgrade.utf8)),
        ("untrusted, v2", [IPAddressPrefix("10.0.0.0/8")!], ProxyHeader(version: .v2, command: .local).bytes + Array(upgrade.utf8)),
    ] as [(String, [IPAddressPrefix], [UInt8])])
    func refused(what: String, trusted: [IPAddressPrefix], bytes: [UInt8]) async throws {
        let (server, _) = try await Self.server(trusted: trusted)
        let tcp = try await Self.send(bytes, to: server)
        let (answer, sawEOF) = try await tcp.readToEnd(timeout: .seconds(10))
        #expect(answer == [], "\(what)")
        #expect(sawEOF, "\(what)")
        await server.shutdown()
    }

    @Test func untrustedPeerWithoutHeaderIsServedAsUsual() async throws {
        let (server, reports) = try await Self.server(trusted: [IPAddressPrefix("10.0.0.0/8")!])
        var iterator = reports.makeAsyncIterator()
        let tcp = try await Self.send(Array(Self.upgrade.utf8), to: server)
        let (peer, direct) = try #require(await iterator.next())
        #expect(peer == direct)
        #expect(peer?.host == "127.0.0.1")
        #expect(try await Self.statusLine(tcp) == "HTTP/1.1 101 Switching Protocols")
        await server.shutdown()
    }

    @Test func aHeaderThatNeverEndsTimesOutWithTheHandshake() async throws {
        let (server, _) = try await Self.server(handshakeTimeout: .milliseconds(300))
        let started = MonotonicClock.now()
        let tcp = try await Self.send(Array("PROXY TCP4 1.2.3.4".utf8), to: server)
        let (answer, sawEOF) = try await tcp.readToEnd(timeout: .seconds(10))
        #expect(answer == [])
        #expect(sawEOF)
        #expect(MonotonicClock.now() >= started + .milliseconds(300))
        await server.shutdown()
    }
}
