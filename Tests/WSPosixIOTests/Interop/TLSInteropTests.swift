// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO
import WSProtocol
import WSTestSupport
import WSTLS

/// TLS with a stack nobody here wrote: Python websockets over Python's `ssl`, both ways, TLS 1.2
/// and 1.3, messages up to 16 MiB, close codes; and the clean refusals of a plain peer.
@Suite("Interop: TLS with Python websockets", .serialized, .timeLimit(.minutes(2)))
struct TLSInteropTests {
    static let versions: [TLSVersion] = [.v1_2, .v1_3]

    static func shortName(_ version: TLSVersion) -> String { version == .v1_2 ? "1.2" : "1.3" }

    static func client(version: TLSVersion? = nil) throws -> WebSocket.ClientConfiguration {
        var configuration = WebSocket.ClientConfiguration()
        configuration.tls = TLSClientConfiguration(trustRoots: .only([.file(try TestCertificates.path("ca.pem"))]))
        configuration.tls.maximumVersion = version
        configuration.group = Peers.loops
        return configuration
    }

    static func serverTLS() throws -> TLSServerConfiguration {
        TLSServerConfiguration(certificateChain: .file(try TestCertificates.path("server.pem")),
                               privateKey: .file(try TestCertificates.path("server.key")))
    }

    @Test("Our client, Python websockets server over ssl: 16 MiB both ways, close 4001",
          .enabled(if: Peers.available(Peers.python)), arguments: versions)
    func ourClient(version: TLSVersion) async throws {
        let (peer, port) = try await Peers.startServer("websockets_server.py", [
            "--tls-cert", try TestCertificates.path("server.pem"), "--tls-key", try TestCertificates.path("server.key"),
            "--tls-version", Self.shortName(version)])
        defer { peer.stop() }
        let ws = try await WebSocket.connect(to: "wss://localhost:\(port)/tls", configuration: Self.client())
        #expect(ws.tls?.version == version.rawValue)
        let messages: [Message] = [.text("héllo over TLS ✓"), .binary(Pattern.bytes(16 << 20))]
        var events = ws.makeAsyncIterator()
        for message in messages {
            try await ws.send(message)
            #expect(await Echo.nextData(&events)?.message == message)
        }
        try ws.close(code: CloseCode(4001), reason: "bye")
        let rest = await Echo.drain(&events)
        guard case .closed(let info)? = rest.last else { Issue.record("\(rest)"); return }
        #expect(info.isClean)
        #expect(info.code == CloseCode(4001))
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.tls == version.rawValue)
        #expect(report.received == messages.map(PeerReport.Received.init))
        #expect(report.close_code == 4001)
        #expect(report.close_reason == "bye")
    }

    @Test("Python websockets client over ssl, our server: 16 MiB both ways, close 4002",
          .enabled(if: Peers.available(Peers.python)), arguments: versions)
    func ourServer(version: TLSVersion) async throws {
        let server = try await CommandServer.start(tls: Self.serverTLS())
        let script = """
        [{"send":"text","data":"héllo over TLS ✓"},{"expect":1},
         {"send":"binary","pattern":16777216},{"expect":1},
         {"close":4002,"reason":"done"}]
        """
        let peer = try Peers.startPython("websockets_client.py", [
            "wss://localhost:\(server.port)/echo", script, "--cafile", try TestCertificates.path("ca.pem"),
            "--tls-version", Self.shortName(version)])
        defer { peer.stop() }
        let report = try PeerReport.decode(try await peer.nextLine(timeout: .seconds(60)))
        let logs = try await server.waitForLogs(1)
        await server.stop()
        #expect(report.error == nil)
        #expect(report.tls == version.rawValue)
        let messages: [Message] = [.text("héllo over TLS ✓"), .binary(Pattern.bytes(16 << 20))]
        #expect(report.received == messages.map(PeerReport.Received.init))
        #expect(report.close_code == 4002)
        #expect(logs.first?.received == messages)
        #expect(logs.first?.close?.code == CloseCode(4002))
        #expect(logs.first?.close?.reason == "done")
        #expect(logs.first?.close?.isClean == true)
    }

    @Test("Python's ssl refuses our server's expired certificate, and our server ends the connection",
          .enabled(if: Peers.available(Peers.python)))
    func pythonRefusesAnExpiredCertificate() async throws {
        let server = try await CommandServer.start(tls: TLSServerConfiguration(
            certificateChain: .file(try TestCertificates.path("expired.pem")),
            privateKey: .file(try TestCertificates.path("expired.key"))))
        let peer = try Peers.startPython("websockets_client.py", [
            "wss://localhost:\(server.port)/echo", "[]", "--cafile", try TestCertificates.path("ca.pem")])
        defer { peer.stop() }
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.error?.hasPrefix(
            "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired") == true,
            "\(report.error ?? "no error")")
        await server.stop()
        #expect(server.server.connectionCount == 0)
    }

    @Test("A plain ws:// client on our TLS port: a clean error on both sides, no hang",
          .enabled(if: Peers.available(Peers.python)))
    func plainClientOnATLSPort() async throws {
        let server = try await CommandServer.start(tls: Self.serverTLS())
        let peer = try Peers.startPython("websockets_client.py", ["ws://127.0.0.1:\(server.port)/echo", "[]"])
        defer { peer.stop() }
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.error?.hasPrefix("InvalidMessage: did not receive a valid HTTP response") == true,
                "\(report.error ?? "no error")")
        await server.stop()
        #expect(server.server.connectionCount == 0)
        #expect(server.finished.isEmpty)  // never upgraded
    }

    /// websockets closes the connection at the ClientHello (not an HTTP request); our
    /// server's answer, a 400, gives "wrong version number" (see TLSLoopbackTests).
    @Test("Our wss:// client on a plain Python server: unexpected eof, no hang",
          .enabled(if: Peers.available(Peers.python)))
    func tlsClientOnAPlainPort() async throws {
        let (peer, port) = try await Peers.startServer("websockets_server.py")
        defer { peer.stop() }
        await #expect(throws: WebSocketError.tls(.handshakeFailed(reason: "unexpected eof while reading"))) {
            _ = try await WebSocket.connect(to: "wss://127.0.0.1:\(port)/", configuration: Self.client())
        }
    }
}
