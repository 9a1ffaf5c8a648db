// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO
import WSProtocol
import WSTestSupport
import WSTLS

/// `ws serve --tls-cert/--tls-key` and `ws connect wss://` (certificates made at test time),
/// and headless Chromium loading the self-test page over https:// and passing it over wss://.
@Suite("Interop: the ws tool over TLS", .serialized, .timeLimit(.minutes(1)))
struct TLSToolTests {
    /// Starts `ws serve` over TLS with the given files; returns it with its port.
    static func startServeTLS(certificate: String, key: String) async throws -> (Subprocess, Int) {
        try await InteropToolTests.startServe(["--tls-cert", certificate, "--tls-key", key], scheme: "wss")
    }

    static func client() throws -> WebSocket.ClientConfiguration {
        var configuration = WebSocket.ClientConfiguration()
        configuration.tls = TLSClientConfiguration(trustRoots: .only([.file(try TestCertificates.path("ca.pem"))]))
        configuration.group = Peers.loops
        return configuration
    }

    @Test("ws serve over TLS: wss:// echo; SIGHUP reloads the certificate",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func serveAndReload() async throws {
        // Files that are replaced while the server runs: the expired certificate first.
        let dir = NSTemporaryDirectory() + "ws-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let certificate = dir + "/cert.pem", key = dir + "/key.pem"
        try FileManager.default.copyItem(atPath: try TestCertificates.path("expired.pem"), toPath: certificate)
        try FileManager.default.copyItem(atPath: try TestCertificates.path("expired.key"), toPath: key)
        let (serve, port) = try await Self.startServeTLS(certificate: certificate, key: key)
        defer { serve.stop() }
        let url = "wss://localhost:\(port)/echo"
        await #expect(throws: WebSocketError.tls(.verificationFailed(VerificationError(
            failure: .expired, result: 10, reason: "certificate has expired", depth: 0)))) {
            _ = try await WebSocket.connect(to: url, configuration: Self.client())
        }
        for name in ["pem", "key"] {
            try FileManager.default.removeItem(atPath: dir + "/\(name == "pem" ? "cert" : "key").pem")
        }
        try FileManager.default.copyItem(atPath: try TestCertificates.path("server.pem"), toPath: certificate)
        try FileManager.default.copyItem(atPath: try TestCertificates.path("server.key"), toPath: key)
        serve.sendSignal(SIGHUP)
        try await serve.waitForError(containing: "ws: SIGHUP, reloaded")
        let ws = try await WebSocket.connect(to: url, configuration: Self.client())
        let big = Echo.bytes(count: 3 << 20, seed: 5)
        try await ws.send(.binary(big))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .binary(big))
        try ws.close()
        _ = await Echo.drain(&it)
    }

    /// `--max-connections 1`: the second client gets 503 over ws:// and the fatal alert over
    /// wss:// (a 503 in the clear would be "wrong version number" to it); the first goes on.
    @Test("ws serve --max-connections: 503, or a TLS alert over wss://", .enabled(if: Peers.available(Peers.wsBinary)),
          arguments: [false, true])
    func connectionCap(tls: Bool) async throws {
        let files = tls ? ["--tls-cert", try TestCertificates.path("server.pem"), "--tls-key", try TestCertificates.path("server.key")] : []
        let (serve, port) = try await InteropToolTests.startServe(["--max-connections", "1"] + files, scheme: tls ? "wss" : "ws")
        defer { serve.stop() }
        let url = "\(tls ? "wss" : "ws")://localhost:\(port)/echo"
        var configuration = try Self.client()
        configuration.handshakeTimeout = .seconds(10)
        let first = try await WebSocket.connect(to: url, configuration: configuration)
        do {
            _ = try await WebSocket.connect(to: url, configuration: configuration)
            Issue.record("a second connection was accepted")
        } catch {
            if tls {
                #expect(error == .tls(.handshakeFailed(reason: "tlsv1 alert internal error")))
            } else {
                #expect(error.status == 503)
            }
            #expect(ReconnectPolicy().shouldRetry(after: error))
        }
        try await first.send(.text("still here"))
        var it = first.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("still here"))
        try first.close()
        _ = await Echo.drain(&it)
    }

    @Test("ws connect wss://: --cacert trusts, no root refuses with the reason, --insecure warns",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func connect() async throws {
        let (serve, port) = try await Self.startServeTLS(certificate: try TestCertificates.path("server.pem"),
                                                         key: try TestCertificates.path("server.key"))
        defer { serve.stop() }
        let url = "wss://localhost:\(port)/echo"

        let trusted = try InteropToolTests.startTool(["connect", "-v", url, "--cacert", try TestCertificates.path("ca.pem")])
        defer { trusted.stop() }
        trusted.sendInput("héllo over TLS\n")
        #expect(try await trusted.nextLine() == "héllo over TLS")
        trusted.closeInput()
        #expect(await trusted.waitForExit() == 0)
        // -v: the TLS session and the certificate (its fingerprint as openssl prints it) before the heads.
        let fingerprint = try Subprocess(["/usr/bin/openssl", "x509", "-noout", "-fingerprint", "-sha256",
                                          "-in", try TestCertificates.path("server.pem")])
        defer { fingerprint.stop() }
        let printed = try await fingerprint.nextLine()  // "sha256 Fingerprint=AB:CD:…"
        let sha256 = try #require(printed.split(separator: "=").last.map(String.init))
        let verbose = trusted.errorOutput.split(separator: "\n").map(String.init)
        #expect(Array(verbose.prefix(4)) == ["* TLS: TLSv1.3, TLS_AES_128_GCM_SHA256, ALPN http/1.1",
                                             "* certificate: subject CN=localhost; issuer CN=WSTLS Test CA",
                                             "* certificate SHA-256: \(sha256)",
                                             "> GET /echo HTTP/1.1"])
        #expect(verbose.contains("< HTTP/1.1 101 Switching Protocols"))

        let refused = try InteropToolTests.startTool(["connect", url])
        defer { refused.stop() }
        #expect(await refused.waitForExit() == 1)
        #expect(refused.errorOutput == "ws: TLS certificate verification failed: unable to get local issuer certificate\n")

        let insecure = try InteropToolTests.startTool(["connect", url, "--insecure"])
        defer { insecure.stop() }
        insecure.sendInput("anyway\n")
        #expect(try await insecure.nextLine() == "anyway")
        insecure.closeInput()
        #expect(await insecure.waitForExit() == 0)
        #expect(insecure.errorOutput.hasPrefix("ws: warning: --insecure: the server's certificate is not verified\n"))
    }

    /// Chromium trusts only the test server's key (`--ignore-certificate-errors-spki-list`),
    /// never every certificate: the page comes over https:// and its sockets use wss://.
    @Test("Chromium passes the self-test page over https:// and wss://",
          .enabled(if: Peers.available(Peers.chromium) && Peers.available(Peers.wsBinary)))
    func browserSelfTest() async throws {
        let (serve, port) = try await Self.startServeTLS(certificate: try TestCertificates.path("server.pem"),
                                                         key: try TestCertificates.path("server.key"))
        defer { serve.stop() }
        let spki = try TestCertificates.text("server.spki")
        let (browser, profile) = try InteropBrowserTests.startChromium(
            "https://127.0.0.1:\(port)/selftest", extra: ["--ignore-certificate-errors-spki-list=\(spki)"])
        defer {
            browser.stop()
            try? FileManager.default.removeItem(at: profile)
        }
        let verdict = try await serve.line(where: { $0.hasPrefix("SELFTEST") }, timeout: .seconds(45))
        #expect(verdict.hasPrefix("SELFTEST PASS"), "browser stderr: \(browser.errorOutput.suffix(1500))")
        #expect(serve.errorOutput.contains("closed 4001"))
    }
}
