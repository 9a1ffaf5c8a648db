// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTestSupport
import WSTLS

/// wss:// over real sockets: our client against our server, certificates made at test time.
@Suite("TLS over loopback sockets", .timeLimit(.minutes(1)))
struct TLSLoopbackTests {
    static func serverTLS(_ name: String = "server") throws -> TLSServerConfiguration {
        TLSServerConfiguration(certificateChain: .file(try TestCertificates.path("\(name).pem")),
                               privateKey: .file(try TestCertificates.path("\(name).key")))
    }

    static func serverConfiguration(_ name: String = "server") throws -> WebSocketServer.Configuration {
        var configuration = WebSocketServer.Configuration()
        configuration.tls = try serverTLS(name)
        return configuration
    }

    /// Trusts only the test CA.
    static func clientConfiguration(maximumVersion: TLSVersion? = nil) throws -> WebSocket.ClientConfiguration {
        var configuration = WebSocket.ClientConfiguration()
        configuration.tls = TLSClientConfiguration(trustRoots: .only([.file(try TestCertificates.path("ca.pem"))]))
        configuration.tls.maximumVersion = maximumVersion
        return configuration
    }

    @Test("Echo over wss://", arguments: [TLSVersion.v1_2, .v1_3])
    func echo(version: TLSVersion) async throws {
        let server = try await Echo.server(configuration: Self.serverConfiguration())
        #expect(server.isSecure)
        let ws = try await WebSocket.connect(to: "wss://localhost:\(server.port)/echo",
                                             configuration: Self.clientConfiguration(maximumVersion: version))
        let session = try #require(ws.tls)
        #expect(session.version == version.rawValue)
        #expect(session.applicationProtocol == "http/1.1")
        #expect(session.peerCertificate?.subject == "CN=localhost")
        #expect(session.peerCertificate?.issuer == "CN=WSTLS Test CA")
        var it = ws.makeAsyncIterator()
        for size in [0, 125, 70_000, 1 << 20] {
            let bytes = Echo.bytes(count: size, seed: UInt64(size))
            try await ws.send(.binary(bytes))
            #expect(await Echo.nextData(&it) == .binary(bytes))
        }
        try await ws.send(.text("héllo"))
        #expect(await Echo.nextData(&it) == .text("héllo"))
        try ws.close(code: CloseCode(rawValue: 4000), reason: "done")
        let rest = await Echo.drain(&it)
        guard case .closed(let info)? = rest.last else { Issue.record("\(rest)"); return }
        #expect(info.code == CloseCode(rawValue: 4000))
        #expect(info.error == nil)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func theEncryptedOverloadsVerifyNamesAndAddresses() async throws {
        let server = try await Echo.server(configuration: Self.serverConfiguration())
        let config = try Self.clientConfiguration()
        for ws in [
            try await WebSocket.connectEncrypted(host: "localhost", port: server.port, resource: "/a", configuration: config),
            try await WebSocket.connectEncrypted(host: "127.0.0.1", port: server.port, configuration: config),
            try await WebSocket.connectEncrypted(address: server.localAddress, headers: ["X-Test": "1"], configuration: config),
        ] {
            try await ws.send(.text("x"))
            var it = ws.makeAsyncIterator()
            #expect(await Echo.nextData(&it) == .text("x"))
            try ws.close()
        }
        await server.shutdown(timeout: .seconds(1))
    }

    /// A refused certificate: the client's error names it, the server never sees the request
    /// (nothing was sent in clear or to an unverified peer), both sides are done.
    @Test("Refusals name the failure", arguments: [
        ("expired", "localhost", VerificationFailure.expired, Int32(10), "certificate has expired"),
        ("otherhost", "localhost", .hostNameMismatch, 62, "hostname mismatch"),
        ("unknownca", "localhost", .unknownIssuer, 20, "unable to get local issuer certificate"),
        ("server", "127.0.0.2", .hostNameMismatch, 64, "IP address mismatch"),
    ])
    func refused(name: String, host: String, failure: VerificationFailure, result: Int32, reason: String) async throws {
        let upgrades = Atomic<Int>(0)
        let server = try await Echo.server(host: "127.0.0.1", configuration: Self.serverConfiguration(name)) { _ in
            upgrades.add(1, ordering: .relaxed)
            return .accept()
        }
        let expected = WebSocketError.tls(.verificationFailed(
            VerificationError(failure: failure, result: result, reason: reason, depth: 0)))
        let target = host == "127.0.0.2" ? "127.0.0.1" : host
        await #expect(throws: expected) {
            if host == "127.0.0.2" {
                // Connected to 127.0.0.1 but verified as 127.0.0.2: an address the certificate lacks.
                var config = try Self.clientConfiguration()
                let context = try TLSContext(client: config.tls)
                config.transport = { _ in TLSTransport(context: context, serverName: host) }
                _ = try await WebSocket.connect(to: "wss://\(target):\(server.port)/", configuration: config)
            } else {
                _ = try await WebSocket.connect(to: "wss://\(host):\(server.port)/", configuration: Self.clientConfiguration())
            }
        }
        // Ignoring exactly that failure lets the same connection through, and reports it.
        if host != "127.0.0.2" {
            let ws = try await WebSocket.connect(to: "wss://\(host):\(server.port)/", ignoring: [failure],
                                                 configuration: Self.clientConfiguration())
            #expect(ws.tls?.ignoredFailures == [failure])
            try ws.close()
            // Ignoring every other failure does not.
            await #expect(throws: expected) {
                _ = try await WebSocket.connect(to: "wss://\(host):\(server.port)/",
                                                ignoring: Set(VerificationFailure.allCases).subtracting([failure]),
                                                configuration: Self.clientConfiguration())
            }
        }
        #expect(upgrades.load(ordering: .relaxed) == (host != "127.0.0.2" ? 1 : 0))
        await server.shutdown(timeout: .seconds(1))
        #expect(server.connectionCount == 0)
    }

    /// Certificate failures let through for one server do not follow a redirect to another
    /// origin: the expired certificate passes at the first server, and on its redirect to the
    /// same server (same origin), but is refused at a second server that has it too.
    @Test func ignoredFailuresDoNotCrossOrigins() async throws {
        let other = try await Echo.server(configuration: Self.serverConfiguration("expired"))
        let first = try await Echo.server(configuration: Self.serverConfiguration("expired")) { request in
            switch request.path {
            case "/same": return .reject(HTTPResponse(status: 302, headers: ["Location": "/echo"]))
            case "/other": return .reject(HTTPResponse(status: 302, headers: ["Location": "wss://localhost:\(other.port)/echo"]))
            default: return .accept()
            }
        }
        let ws = try await WebSocket.connect(to: "wss://localhost:\(first.port)/same", ignoring: [.expired],
                                             configuration: Self.clientConfiguration())
        #expect(ws.tls?.ignoredFailures == [.expired])
        try ws.close()
        var configured = try Self.clientConfiguration()
        configured.tls.ignoredFailures = [.expired]
        let expired = WebSocketError.tls(.verificationFailed(
            VerificationError(failure: .expired, result: 10, reason: "certificate has expired", depth: 0)))
        for configuration in [try Self.clientConfiguration(), configured] {
            await #expect(throws: expired) {
                _ = try await WebSocket.connect(to: "wss://localhost:\(first.port)/other",
                                                ignoring: configuration.tls.ignoredFailures.isEmpty ? [.expired] : [],
                                                configuration: configuration)
            }
        }
        await first.shutdown(timeout: .seconds(1))
        await other.shutdown(timeout: .seconds(1))
    }

    /// A server that refuses with a body running to the end of the stream and closes without
    /// close_notify: the refusal's head came authenticated, so the client reports that refusal
    /// (status, headers, the body it got), not the TLS stream's truncation.
    @Test func aRefusalEndedWithoutCloseNotifyKeepsItsStatus() async throws {
        let listener = try SilentListener()
        let attempt = Task {
            try await WebSocket.connect(to: "wss://localhost:\(listener.address.port)/", configuration: Self.clientConfiguration())
        }
        let raw = try #require(try await listener.accept(timeout: .seconds(5)))
        let engine = try TLSEngine(context: TLSContext(server: Self.serverTLS()))
        var plaintext: [UInt8] = []
        for _ in 0..<10 where !plaintext.contains(Array("\r\n\r\n".utf8)) {
            let wire = try await raw.read(until: { !$0.isEmpty }, timeout: .seconds(5))
            try wire.withUnsafeBytes { try engine.receive($0, into: &plaintext) }
            try raw.write(bytes: engine.takeOutput())
        }
        #expect(plaintext.starts(with: "GET / HTTP/1.1\r\n".utf8))
        var wire: [UInt8] = []
        try Array("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nnot you".utf8).withUnsafeBytes {
            try engine.send($0, into: &wire)
        }
        try raw.write(bytes: wire)
        raw.shutdownWrite()  // the end of the stream, without close_notify
        await #expect(throws: WebSocketError.handshakeFailed(.refused(status: 403, reason: "Forbidden", headers: ["Connection": "close"],
                                                                      bodyPrefix: Array("not you".utf8)))) {
            _ = try await attempt.value
        }
    }

    @Test func aTLSClientOnAPlainPortGetsAWrongVersionNumber() async throws {
        let server = try await Echo.server()
        await #expect(throws: WebSocketError.tls(.handshakeFailed(reason: "wrong version number"))) {
            _ = try await WebSocket.connect(to: "wss://127.0.0.1:\(server.port)/", configuration: Self.clientConfiguration())
        }
        await server.shutdown(timeout: .seconds(1))
        #expect(server.connectionCount == 0)
    }

    /// At the connection cap a TLS client gets a fatal alert it can read (exactly one alert
    /// record, then the end of the stream), not a 503 in the clear, which it would report as
    /// "wrong version number"; the connection already open is not disturbed.
    @Test func theConnectionCapRefusesATLSClientWithAnAlert() async throws {
        var configuration = try Self.serverConfiguration()
        configuration.maxConnections = 1
        let server = try await Echo.server(configuration: configuration)
        let first = try await WebSocket.connect(to: "wss://localhost:\(server.port)/echo", configuration: Self.clientConfiguration())
        let raw = try await RawTCP.connect(server.localAddress)
        let (bytes, sawEOF) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(bytes == [21, 3, 3, 0, 2, 2, 80])  // alert record: fatal, internal_error
        #expect(sawEOF)
        await #expect(throws: WebSocketError.tls(.handshakeFailed(reason: "tlsv1 alert internal error"))) {
            _ = try await WebSocket.connect(to: "wss://localhost:\(server.port)/echo", configuration: Self.clientConfiguration())
        }
        #expect(server.connectionCount == 1)
        try await first.send(.text("still here"))
        var it = first.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("still here"))
        try first.close()
        _ = await Echo.drain(&it)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func aPlainClientOnATLSPortGetsAnInvalidResponse() async throws {
        let server = try await Echo.server(configuration: Self.serverConfiguration())
        do {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/")
            Issue.record("a plain client was accepted on a TLS port")
        } catch {
            // The TLS server closes on the plaintext request: before any response byte that is
            // remoteHostClosed; a TLS alert first is not HTTP at its first byte (Docs/Tufao.md).
            switch error {
            case .remoteHostClosed, .handshakeFailed(.malformedHead("invalid HTTP version")): break
            default: Issue.record("\(error)"); return
            }
        }
        await server.shutdown(timeout: .seconds(1))
        #expect(server.connectionCount == 0)
    }

    @Test func reloadedCertificatesServeNewConnections() async throws {
        let server = try await Echo.server(configuration: Self.serverConfiguration("expired"))
        let url = "wss://localhost:\(server.port)/"
        let old = try await WebSocket.connect(to: url, ignoring: [.expired], configuration: Self.clientConfiguration())
        try server.reloadTLS(Self.serverTLS())
        let fresh = try await WebSocket.connect(to: url, configuration: Self.clientConfiguration())
        #expect(fresh.tls?.peerCertificate?.notAfter ?? 0 > old.tls?.peerCertificate?.notAfter ?? .max)
        // The open connection keeps working on the old certificate.
        try await old.send(.text("still here"))
        var it = old.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("still here"))
        #expect(throws: WebSocketError.tls(.invalidConfiguration("cannot read /nonexistent.pem: No such file or directory"))) {
            try server.reloadTLS(TLSServerConfiguration(certificateChain: .file("/nonexistent.pem"),
                                                        privateKey: .file("/nonexistent.key")))
        }
        try old.close()
        try fresh.close()
        await server.shutdown(timeout: .seconds(1))
    }

    /// A transport used before start() says so: a ClientHello it dropped would hang the
    /// handshake, and an end of stream before any TLS is no clean close_notify.
    @Test func aTLSTransportUsedBeforeStartIsAnInvalidArgument() throws {
        let notStarted = WebSocketError.invalidArgument("TLSTransport used before start()")
        var server = TLSTransport(context: try TLSContext(server: Self.serverTLS()))
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]
        var plaintext: [UInt8] = []
        #expect(throws: notStarted) { try hello.withUnsafeBytes { try server.unwrap($0, into: &plaintext) } }
        #expect(throws: notStarted) { try hello.withUnsafeBytes { try server.unwrap($0) { _ in } } }
        #expect(throws: notStarted) { try [1].withUnsafeBytes { try server.wrap($0, into: &plaintext) } }
        #expect(throws: notStarted) { try server.receiveEndOfStream() }
        #expect(plaintext.isEmpty)
        #expect(try server.start() == [])
        #expect(throws: WebSocketError.invalidArgument("TLSTransport.start() called twice")) { _ = try server.start() }
        // Started, it reads the ClientHello (a malformed one here) and says what is wrong with it.
        #expect(throws: WebSocketError.self) { try hello.withUnsafeBytes { try server.unwrap($0, into: &plaintext) } }
    }

    /// A server that accepts and never answers the ClientHello: the handshake timeout ends it.
    @Test func aSilentServerTimesOutTheTLSHandshake() async throws {
        let silent = try SilentListener()
        var config = try Self.clientConfiguration()
        config.handshakeTimeout = .milliseconds(500)
        await #expect(throws: WebSocketError.timeout(.handshake)) {
            _ = try await WebSocket.connect(to: "wss://127.0.0.1:\(silent.address.port)/", configuration: config)
        }
    }

    /// A client that starts a ClientHello and stalls: the server's handshake timeout closes the
    /// socket, and nothing is written in clear (its 408 would need a finished handshake).
    @Test func aStalledClientHelloTimesOutOnTheServer() async throws {
        var configuration = try Self.serverConfiguration()
        configuration.handshakeTimeout = .milliseconds(300)
        let server = try await Echo.server(configuration: configuration)
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write(bytes: [0x16, 0x03, 0x01])
        // The socket closes at the timeout (0.3 s), not after the 2 s linger a response gets:
        // no 408 could have been encrypted, so there is nothing to wait for.
        let (bytes, sawEOF) = try await raw.readToEnd(timeout: .milliseconds(1800))
        #expect(sawEOF)
        #expect(bytes.isEmpty)
        await server.shutdown(timeout: .seconds(1))
        #expect(server.connectionCount == 0)
    }

    @Test func anAbortedConnectionIsReportedAsTruncated() async throws {
        var configuration = try Self.serverConfiguration()
        configuration.group = .shared
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, configuration: configuration) { ws in
            for await event in ws where event == .text("drop") { ws.disconnect() }  // no close_notify
        }
        let ws = try await WebSocket.connect(to: "wss://localhost:\(server.port)/", configuration: Self.clientConfiguration())
        try await ws.send(.text("drop"))
        var it = ws.makeAsyncIterator()
        let rest = await Echo.drain(&it)
        guard case .closed(let info)? = rest.last else { Issue.record("\(rest)"); return }
        #expect(info.code == .abnormalClosure)
        #expect(info.error == .tls(.truncated))
        await server.shutdown(timeout: .seconds(1))
    }

    /// Both ends send close_notify on a clean close, over real sockets, and neither sees a
    /// truncated stream.
    @Test func aCleanCloseSendsCloseNotifyBothWays() async throws {
        let serverEnds = EndRecord(), clientEnds = EndRecord()
        let serverContext = try TLSContext(server: Self.serverTLS())
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.transport = { _ in RecordingTransport(inner: TLSTransport(context: serverContext), record: serverEnds) }
        let server = try await Echo.server(configuration: serverConfig)
        var config = try Self.clientConfiguration()
        let clientContext = try TLSContext(client: config.tls)
        config.transport = { context in
            RecordingTransport(inner: TLSTransport(context: clientContext, serverName: context.host), record: clientEnds)
        }
        let ws = try await WebSocket.connect(to: "wss://localhost:\(server.port)/", configuration: config)
        try await ws.send(.text("x"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("x"))
        try ws.close()
        _ = await Echo.drain(&it)
        // `.closed` comes with the server's close frame; the socket closes after it (and the
        // close_notify goes out then). Bounded wait.
        let deadline = ContinuousClock.now + .seconds(10)
        while ws.isConnected && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(!ws.isConnected)
        await server.shutdown(timeout: .seconds(1))
        #expect(clientEnds.sentCloseNotify.load(ordering: .relaxed) == true)
        #expect(serverEnds.sentCloseNotify.load(ordering: .relaxed) == true)
        #expect(serverEnds.truncated.load(ordering: .relaxed) + clientEnds.truncated.load(ordering: .relaxed) == 0)
    }

    /// Plays a TLS client by hand over `raw` (for tests that misbehave inside TLS): the TLS
    /// handshake, then the upgrade request; returns the engine and the plaintext read up to the
    /// end of the response head.
    static func upgradeByHand(_ raw: RawTCP) async throws -> (engine: TLSEngine, plaintext: [UInt8]) {
        let engine = try TLSEngine(context: TLSContext(client: Self.clientConfiguration().tls), serverName: "localhost")
        var plaintext: [UInt8] = []
        try engine.start()
        for _ in 0..<10 where engine.state == .handshaking {
            try raw.write(bytes: engine.takeOutput())
            let wire = try await raw.read(until: { !$0.isEmpty }, timeout: .seconds(5))
            try wire.withUnsafeBytes { try engine.receive($0, into: &plaintext) }
        }
        #expect(engine.state == .established)
        var request: [UInt8] = []
        try Array("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)
            .withUnsafeBytes { try engine.send($0, into: &request) }
        try raw.write(bytes: engine.takeOutput() + request)
        for _ in 0..<10 where !plaintext.contains(Array("\r\n\r\n".utf8)) {
            let wire = try await raw.read(until: { !$0.isEmpty }, timeout: .seconds(5))
            try wire.withUnsafeBytes { try engine.receive($0, into: &plaintext) }
        }
        return (engine, plaintext)
    }

    /// A client's close_notify ends its stream ("the sender will not send any more messages on
    /// this connection", RFC 8446 §6.1): the server ends the connection as at TCP's end of
    /// stream (1006: no close frame came), answers with its close_notify and closes the
    /// socket, instead of holding it until a FIN that a client keeping TCP open never sends.
    @Test func aCloseNotifyWithoutFINEndsTheConnection() async throws {
        let (ends, ended) = AsyncStream<CloseInfo>.makeStream()
        var configuration = try Self.serverConfiguration()
        configuration.group = .shared
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, configuration: configuration) { ws in
            for await event in ws { if case .closed(let info) = event { ended.yield(info) } }
        }
        let raw = try await RawTCP.connect(server.localAddress)
        let (engine, head) = try await Self.upgradeByHand(raw)
        var plaintext = head
        #expect(plaintext.starts(with: "HTTP/1.1 101 Switching Protocols\r\n".utf8))
        // close_notify, and TCP stays open both ways.
        engine.close()
        try raw.write(bytes: engine.takeOutput())
        let (rest, sawEOF) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(sawEOF)
        try rest.withUnsafeBytes { try engine.receive($0, into: &plaintext) }
        #expect(engine.receivedCloseNotify)
        await server.shutdown(timeout: .seconds(1))
        var it = ends.makeAsyncIterator()
        let info = await it.next()
        #expect(info?.code == .abnormalClosure)
        #expect(info?.error == .remoteHostClosed)
    }

    /// A message in a good record is delivered even when a bad record follows it in the same
    /// read (as over plain TCP, where a message before a protocol error is delivered): the
    /// connection then fails with the TLS error.
    @Test("A message before a bad record in one read is delivered", arguments: [false, true])
    func aMessageBeforeABadRecordInOneReadIsDelivered(messageHandler: Bool) async throws {
        let (seen, saw) = AsyncStream<WebSocketEvent>.makeStream()
        var configuration = try Self.serverConfiguration()
        configuration.group = .shared
        let server: WebSocketServer
        if messageHandler {
            server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, configuration: configuration, onMessage: { _, kind, bytes in
                saw.yield(kind == .text ? .text(String(decoding: bytes, as: UTF8.self)) : .binary(Array(bytes)))
            }, onEvent: { _, event in
                saw.yield(event)
                if case .closed = event { saw.finish() }
            })
        } else {
            server = try await WebSocketServer.bind(host: "127.0.0.1", port: 0, configuration: configuration) { ws in
                for await event in ws {
                    saw.yield(event)
                    if case .closed = event { saw.finish() }
                }
            }
        }
        let raw = try await RawTCP.connect(server.localAddress)
        let (engine, plaintext) = try await Self.upgradeByHand(raw)
        #expect(plaintext.starts(with: "HTTP/1.1 101 Switching Protocols\r\n".utf8))
        // A masked text frame "hi" (mask 0), then a record no key opens, in one write.
        var wire: [UInt8] = []
        try ([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69] as [UInt8]).withUnsafeBytes { try engine.send($0, into: &wire) }
        wire += [23, 3, 3, 0, 20] + [UInt8](repeating: 0, count: 20)
        try raw.write(bytes: wire)
        var events: [WebSocketEvent] = []
        for await event in seen { events.append(event) }
        await server.shutdown(timeout: .seconds(1))
        #expect(events.count == 2)
        #expect(events.first == .text("hi"))
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .abnormalClosure)
        #expect(info.error == .tls(.protocolError(reason: "decryption failed or bad record mac")))
    }

    /// wss:// on the default port: the Host header leaves out :443 (RFC 6455 §4.1 item 4, RFC
    /// 7230 §5.4). Binding port 443 needs root (as Scripts/test runs in CI).
    @Test(.enabled(if: getuid() == 0))
    func theHostHeaderOfWssOnPort443HasNoPort() async throws {
        let hosts = Lock<[String]>([])
        var configuration = try Self.serverConfiguration()
        configuration.group = .shared
        let server = try await WebSocketServer.bind(host: "127.0.0.1", port: 443, configuration: configuration,
                                                    onUpgrade: { request in
            hosts.withLock { $0.append(request.headers["Host"].joined(separator: ",")) }
            return .accept()
        }, onConnection: { ws in for await _ in ws {} })
        let a = try await WebSocket.connect(to: "wss://localhost/", configuration: Self.clientConfiguration())
        let b = try await WebSocket.connectEncrypted(host: "localhost", configuration: Self.clientConfiguration())
        try a.close()
        try b.close()
        await server.shutdown(timeout: .seconds(1))
        #expect(hosts.withLock { $0 } == ["localhost", "localhost"])
    }
}

/// What a transport saw of the end of its connection.
final class EndRecord: Sendable {
    let sentCloseNotify = Atomic<Bool>(false)
    let truncated = Atomic<Int>(0)
}

/// A transport that passes everything to `inner` and records whether close_notify went out
/// and whether an end of stream was truncated.
struct RecordingTransport: Transport {
    var inner: TLSTransport
    let record: EndRecord

    private func note() { if inner.sentCloseNotify { record.sentCloseNotify.store(true, ordering: .relaxed) } }

    mutating func start() throws(WebSocketError) -> [UInt8] { try inner.start() }
    mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        defer { note() }
        try inner.unwrap(wire, into: &plaintext)
    }
    mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        try inner.wrap(plaintext, into: &wire)
    }
    mutating func takeOutput() -> [UInt8] { inner.takeOutput() }
    mutating func close() -> [UInt8] {
        defer { note() }
        return inner.close()
    }
    mutating func receiveEndOfStream() throws(WebSocketError) {
        do {
            try inner.receiveEndOfStream()
        } catch {
            record.truncated.add(1, ordering: .relaxed)
            throw error
        }
    }
}
