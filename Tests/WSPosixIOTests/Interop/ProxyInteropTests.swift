// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTLS

/// Real proxies on loopback, started by the tests: tinyproxy (HTTP CONNECT with BasicAuth) and
/// microsocks (SOCKS5, with and without user/password). A scripted fake proxy
/// (`Resources/scripted_proxy.py`) only for the replies real proxies never send. Together they
/// produce each of Tufao's six proxy errors.
@Suite("Interop: real proxies (tinyproxy, microsocks)", .serialized, .timeLimit(.minutes(1)))
struct ProxyInteropTests {
    static let tinyproxyPath = "/usr/bin/tinyproxy"
    static let microsocksPath = "/usr/bin/microsocks"
    static var tinyproxy: String? { FileManager.default.isExecutableFile(atPath: tinyproxyPath) ? tinyproxyPath : nil }
    static var microsocks: String? { FileManager.default.isExecutableFile(atPath: microsocksPath) ? microsocksPath : nil }

    /// A port nobody listens on right now (bound, then closed).
    static func freePort() throws -> Int {
        let fd = try Sys.socket(family: .ipv4)
        let socket = FileDescriptor(fd)
        try Sys.bind(socket.raw, SocketAddress(numericHost: "127.0.0.1", port: 0)!)
        return Int(Sys.localAddress(socket.raw)!.port)
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port` (at most 30 s: a
    /// loaded machine starts processes slowly).
    static func waitUntilListening(_ port: Int) async throws {
        let address = SocketAddress(numericHost: "127.0.0.1", port: UInt16(port))!
        let deadline = MonotonicClock.now() + .seconds(30)
        while MonotonicClock.now() < deadline {
            let socket = FileDescriptor(try Sys.socket(family: .ipv4))
            var refused = false
            do {
                if try Sys.connect(socket.raw, address) { return }
            } catch {
                refused = true
            }
            // A loopback connect completes (or is refused) almost at once.
            for _ in 0..<100 where !refused {
                if Sys.peerAddress(socket.raw) != nil { return }
                if Sys.pendingError(socket.raw) != 0 { refused = true }
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Subprocess.Failure(description: "nothing listens on port \(port)")
    }

    /// Starts tinyproxy on a free port with a config in a temp dir: BasicAuth when `user` is
    /// set, `ConnectPort` lines for `connectPorts` (without any, tinyproxy allows every port).
    static func startTinyproxy(user: (String, String)? = nil, connectPorts: [Int] = []) async throws -> (Subprocess, Int) {
        let binary = try Peers.require(tinyproxy, "tinyproxy (Debian package tinyproxy)")
        let port = try freePort()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ws-tinyproxy-\(port)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var config = """
        Port \(port)
        Listen 127.0.0.1
        Timeout 30
        MaxClients 20
        Allow 127.0.0.1
        LogLevel Info

        """
        if let (name, password) = user { config += "BasicAuth \(name) \(password)\n" }
        for p in connectPorts { config += "ConnectPort \(p)\n" }
        let file = folder.appendingPathComponent("tinyproxy.conf")
        try config.write(to: file, atomically: true, encoding: .utf8)
        let process = try Subprocess([binary, "-d", "-c", file.path])
        do {
            try await waitUntilListening(port)
        } catch {
            process.stop()
            throw error
        }
        return (process, port)
    }

    /// Starts microsocks on a free port, with `-u user -P password` when `user` is set.
    static func startMicrosocks(user: (String, String)? = nil) async throws -> (Subprocess, Int) {
        let binary = try Peers.require(microsocks, "microsocks (Debian package microsocks)")
        let port = try freePort()
        var arguments = [binary, "-i", "127.0.0.1", "-p", String(port)]
        if let (name, password) = user { arguments += ["-u", name, "-P", password] }
        let process = try Subprocess(arguments)
        do {
            try await waitUntilListening(port)
        } catch {
            process.stop()
            throw error
        }
        return (process, port)
    }

    /// Starts the scripted fake proxy with a reply (bytes).
    static func startScripted(reply: [UInt8], then: String = "close") async throws -> (Subprocess, Int) {
        try await Peers.startServer("scripted_proxy.py", ["--reply", Hex.string(reply).replacingOccurrences(of: " ", with: ""),
                                                          "--then", then])
    }

    static func configuration(_ proxy: String, timeout: Duration = .seconds(10)) throws -> WebSocket.ClientConfiguration {
        var configuration = WebSocket.ClientConfiguration()
        var p = try WebSocket.Proxy(url: proxy)
        p.timeout = timeout
        configuration.proxy = .proxy(p)
        configuration.group = Peers.loops
        return configuration
    }

    /// One text message through `ws` and back from the echo server.
    static func roundTrip(_ ws: WebSocket) async throws {
        try await ws.send(.text("through the tunnel ✓"))
        var events = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&events) == .text("through the tunnel ✓"))
        try ws.close()
        _ = await Echo.drain(&events)
    }

    /// The echo server on 127.0.0.1 (and on ::1 with the same port when the system has IPv6),
    /// so that `localhost` reaches it whatever address a proxy resolves it to.
    static func echoServers() async throws -> [WebSocketServer] {
        let v4 = try await Echo.server()
        if let v6 = try? await Echo.server(host: "::1", port: v4.port) { return [v4, v6] }
        return [v4]
    }

    // MARK: HTTP CONNECT (tinyproxy)

    @Test("HTTP CONNECT through tinyproxy with BasicAuth (credentials percent-decoded)",
          .enabled(if: Peers.available(tinyproxy)))
    func tinyproxyTunnel() async throws {
        let echo = try await Echo.server()
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        // tinyproxy's BasicAuth takes letters, digits and "-._" only.
        let (proxy, port) = try await Self.startTinyproxy(user: ("alice", "s3cr.t-x"), connectPorts: [echo.port])
        defer { proxy.stop() }
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(echo.port)/echo",
                                             configuration: Self.configuration("http://al%69ce:s3cr%2Et-x@127.0.0.1:\(port)"))
        #expect(ws.peerPort == port)  // TCP went to the proxy
        try await Self.roundTrip(ws)
    }

    @Test("tinyproxy: no credentials (407) and wrong credentials (401) are proxyAuthenticationRequired",
          .enabled(if: Peers.available(tinyproxy)), arguments: ["", "alice:wrong@"])
    func tinyproxyWantsCredentials(userInfo: String) async throws {
        let echo = try await Echo.server()
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        let (proxy, port) = try await Self.startTinyproxy(user: ("alice", "right"))
        defer { proxy.stop() }
        await #expect(throws: WebSocketError.proxyAuthenticationRequired) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(echo.port)/",
                                            configuration: Self.configuration("http://\(userInfo)127.0.0.1:\(port)"))
        }
    }

    @Test("tinyproxy: a port outside ConnectPort is proxyRefused with the status",
          .enabled(if: Peers.available(tinyproxy)))
    func tinyproxyRefusesThePort() async throws {
        let echo = try await Echo.server()
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        let (proxy, port) = try await Self.startTinyproxy(connectPorts: [echo.port == 65535 ? 1 : echo.port + 1])
        defer { proxy.stop() }
        await #expect(throws: WebSocketError.proxyRefused("HTTP 403 Access violation")) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(echo.port)/",
                                            configuration: Self.configuration("http://127.0.0.1:\(port)"))
        }
    }

    // MARK: SOCKS5 (microsocks)

    @Test("SOCKS5 through microsocks, the host name resolved by the proxy (socks5h)",
          .enabled(if: Peers.available(microsocks)))
    func microsocksTunnel() async throws {
        let echoes = try await Self.echoServers()
        defer { for e in echoes { Task { await e.shutdown(timeout: .seconds(1)) } } }
        let (proxy, port) = try await Self.startMicrosocks()
        defer { proxy.stop() }
        let ws = try await WebSocket.connect(to: "ws://localhost:\(echoes[0].port)/",
                                             configuration: Self.configuration("socks5h://127.0.0.1:\(port)"))
        #expect(ws.peerPort == port)
        try await Self.roundTrip(ws)
        // socks5:// resolves here and sends the address.
        let local = try await WebSocket.connect(to: "ws://localhost:\(echoes[0].port)/",
                                                configuration: Self.configuration("socks5://127.0.0.1:\(port)"))
        try await Self.roundTrip(local)
    }

    @Test("SOCKS5 user/password (RFC 1929) through microsocks -u -P",
          .enabled(if: Peers.available(microsocks)))
    func microsocksWithPassword() async throws {
        let echo = try await Echo.server()
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        let (proxy, port) = try await Self.startMicrosocks(user: ("bob", "pa ss"))
        defer { proxy.stop() }
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(echo.port)/",
                                             configuration: Self.configuration("socks5h://bob:pa%20ss@127.0.0.1:\(port)"))
        try await Self.roundTrip(ws)
        // No credentials: no acceptable method (0xFF). Wrong ones: the check fails.
        for userInfo in ["", "bob:wrong@"] {
            await #expect(throws: WebSocketError.proxyAuthenticationRequired, "\(userInfo)") {
                _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(echo.port)/",
                                                configuration: Self.configuration("socks5h://\(userInfo)127.0.0.1:\(port)"))
            }
        }
    }

    @Test("microsocks: a target that refuses is proxyRefused with SOCKS5 reply 5",
          .enabled(if: Peers.available(microsocks)))
    func microsocksTargetRefuses() async throws {
        let (proxy, port) = try await Self.startMicrosocks()
        defer { proxy.stop() }
        let closed = try Self.freePort()
        await #expect(throws: WebSocketError.proxyRefused("SOCKS5 reply 5: connection refused")) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(closed)/",
                                            configuration: Self.configuration("socks5h://127.0.0.1:\(port)"))
        }
    }

    // MARK: the other proxy errors

    @Test("Nothing listening at the proxy's address: proxyConnectionRefused")
    func proxyConnectionRefused() async throws {
        let closed = try Self.freePort()
        for scheme in ["http", "socks5h"] {
            await #expect(throws: WebSocketError.proxyConnectionRefused) {
                _ = try await WebSocket.connect(to: "ws://127.0.0.1:9/",
                                                configuration: Self.configuration("\(scheme)://127.0.0.1:\(closed)"))
            }
        }
    }

    @Test("The proxy's host name does not resolve: proxyNotFound")
    func proxyNotFound() async throws {
        let configuration = try Self.configuration("http://no-such-proxy.invalid:3128")
        do {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:9/", configuration: configuration)
            Issue.record("connected through a proxy that does not exist")
        } catch {
            guard case .proxyNotFound(let host, _) = error else { Issue.record("\(error)"); return }
            #expect(host == "no-such-proxy.invalid")
        }
    }

    @Test("A proxy that accepts and never answers: proxyConnectionTimeout after Proxy.timeout")
    func proxyConnectionTimeout() async throws {
        let silent = try SilentListener()
        for scheme in ["http", "socks5h"] {
            await #expect(throws: WebSocketError.proxyConnectionTimeout) {
                _ = try await WebSocket.connect(to: "ws://127.0.0.1:9/", configuration: Self.configuration(
                    "\(scheme)://127.0.0.1:\(silent.address.port)", timeout: .milliseconds(300)))
            }
        }
    }

    @Test("A proxy that closes mid-reply: proxyConnectionClosed; the CONNECT it read, exactly",
          .enabled(if: Peers.available(Peers.python)))
    func proxyConnectionClosed() async throws {
        let (fake, port) = try await Self.startScripted(reply: Array("HTTP/1.1 200 Conn".utf8))
        defer { fake.stop() }
        await #expect(throws: WebSocketError.proxyConnectionClosed) {
            _ = try await WebSocket.connect(to: "ws://ws.example:8080/", configuration: Self.configuration("http://u:p@127.0.0.1:\(port)"))
        }
        let request = "CONNECT ws.example:8080 HTTP/1.1\r\nHost: ws.example:8080\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        #expect(try await fake.nextLine() == "GOT " + Hex.string(Array(request.utf8)).replacingOccurrences(of: " ", with: ""))
    }

    @Test("A reply that is not the proxy protocol: proxyProtocolError", .enabled(if: Peers.available(Peers.python)))
    func proxyProtocolError() async throws {
        // An HTTP answer to a SOCKS5 greeting.
        let (http, httpPort) = try await Self.startScripted(reply: Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8), then: "hang")
        defer { http.stop() }
        await #expect(throws: WebSocketError.proxyProtocolError("the proxy's reply is not SOCKS5 (version byte 72, expected 5)")) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:9/", configuration: Self.configuration("socks5h://127.0.0.1:\(httpPort)"))
        }
        #expect(try await http.nextLine() == "GOT 050100")
        // A SOCKS5 answer to a CONNECT request.
        let (socks, socksPort) = try await Self.startScripted(reply: [0x05, 0x00], then: "hang")
        defer { socks.stop() }
        await #expect(throws: WebSocketError.proxyProtocolError("the proxy's reply is not HTTP (byte 5 where 'HTTP/' should begin)")) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:9/", configuration: Self.configuration("http://127.0.0.1:\(socksPort)"))
        }
    }

    @Test("A SOCKS5 proxy that cannot carry the request: unsupportedSocketOperation", .enabled(if: Peers.available(Peers.python)))
    func socksAddressTypeNotSupported() async throws {
        let (fake, port) = try await Self.startScripted(reply: [0x05, 0x00, 0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0], then: "hang")
        defer { fake.stop() }
        await #expect(throws: WebSocketError.unsupportedSocketOperation("SOCKS5 reply 8: address type not supported")) {
            _ = try await WebSocket.connect(to: "ws://[::1]:9/", configuration: Self.configuration("socks5h://127.0.0.1:\(port)"))
        }
    }

    @Test("wss:// through tinyproxy and microsocks: TLS end to end inside the tunnel, the target's name verified",
          .enabled(if: Peers.available(tinyproxy) && Peers.available(microsocks)))
    func wssThroughAProxy() async throws {
        let echo = try await Echo.server(configuration: TLSLoopbackTests.serverConfiguration())
        let other = try await Echo.server(configuration: TLSLoopbackTests.serverConfiguration("otherhost"))
        defer { Task { await echo.shutdown(timeout: .seconds(1)); await other.shutdown(timeout: .seconds(1)) } }
        let (http, httpPort) = try await Self.startTinyproxy(connectPorts: [echo.port, other.port])
        defer { http.stop() }
        let (socks, socksPort) = try await Self.startMicrosocks()
        defer { socks.stop() }
        for proxy in ["http://127.0.0.1:\(httpPort)", "socks5h://127.0.0.1:\(socksPort)"] {
            var configuration = try TLSLoopbackTests.clientConfiguration()
            configuration.proxy = .proxy(try WebSocket.Proxy(url: proxy))
            configuration.group = Peers.loops
            let ws = try await WebSocket.connect(to: "wss://localhost:\(echo.port)/", configuration: configuration)
            #expect(ws.tls?.peerCertificate?.subject == "CN=localhost", "\(proxy)")
            try await Self.roundTrip(ws)
            // The certificate is checked against the target's name (a certificate for another
            // host fails), not the proxy's.
            do {
                _ = try await WebSocket.connect(to: "wss://localhost:\(other.port)/", configuration: configuration)
                Issue.record("connected to a name the certificate does not carry, through \(proxy)")
            } catch {
                guard case .tls(let failure) = error else { Issue.record("\(error)"); continue }
                #expect("\(failure)".contains("hostname mismatch"), "\(failure)")
            }
        }
    }
}
