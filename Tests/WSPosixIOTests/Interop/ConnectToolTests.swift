// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
@testable import WSPosixIO
@_spi(Testing) import WSProtocol

/// `ws connect`'s proxy, verbose, redirect, binary and ping options, against servers in this
/// process (and tinyproxy for the proxy).
@Suite("Interop: ws connect options", .serialized, .timeLimit(.minutes(1)))
struct ConnectToolTests {
    static func tool(_ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess {
        let binary = try Peers.require(Peers.wsBinary, "the ws binary (swift build --build-tests builds it)")
        // No proxy from the test runner's own environment unless a test sets one.
        var env = ["http_proxy": "", "HTTP_PROXY": "", "https_proxy": "", "HTTPS_PROXY": "", "all_proxy": "",
                   "ALL_PROXY": "", "no_proxy": "", "NO_PROXY": ""]
        env.merge(environment) { _, new in new }
        return try Subprocess([binary] + arguments, environment: env)
    }

    /// Sends `line`, expects it back, closes; returns the exit status.
    static func echoOnce(_ tool: Subprocess, _ line: String = "hello ✓", expect: String? = nil) async throws -> Int32? {
        tool.sendInput(line + "\n")
        #expect(try await tool.nextLine() == (expect ?? line))
        tool.closeInput()
        return await tool.waitForExit()
    }

    // MARK: --proxy and the environment

    @Test("--proxy and http_proxy / no_proxy tunnel through tinyproxy", .enabled(if: Peers.available(Peers.wsBinary)))
    func proxy() async throws {
        let echo = try await Echo.server()
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        let (proxy, port) = try await ProxyInteropTests.startTinyproxy(connectPorts: [echo.port])
        defer { proxy.stop() }
        let url = "ws://127.0.0.1:\(echo.port)/"

        let explicit = try Self.tool(["connect", "--proxy", "http://127.0.0.1:\(port)", url])
        defer { explicit.stop() }
        #expect(try await Self.echoOnce(explicit) == 0)

        let fromEnvironment = try Self.tool(["connect", url], environment: ["http_proxy": "127.0.0.1:\(port)"])
        defer { fromEnvironment.stop() }
        #expect(try await Self.echoOnce(fromEnvironment) == 0)

        // The proxy is really used: one that is not there fails, unless no_proxy exempts the host.
        let closed = try ProxyInteropTests.freePort()
        let dead = try Self.tool(["connect", url], environment: ["http_proxy": "http://127.0.0.1:\(closed)"])
        defer { dead.stop() }
        #expect(await dead.waitForExit() == 1)
        #expect(dead.errorOutput == "ws: the proxy refused the connection (nothing listening at its address)\n")
        let exempt = try Self.tool(["connect", url], environment: ["http_proxy": "http://127.0.0.1:\(closed)",
                                                                   "no_proxy": "localhost,127.0.0.1"])
        defer { exempt.stop() }
        #expect(try await Self.echoOnce(exempt) == 0)
        let none = try Self.tool(["connect", "--proxy", "", url], environment: ["http_proxy": "http://127.0.0.1:\(closed)"])
        defer { none.stop() }
        #expect(try await Self.echoOnce(none) == 0)

        let refused = try Self.tool(["connect", "--proxy", "http://127.0.0.1:\(port)", "ws://127.0.0.1:\(closed)/"])
        defer { refused.stop() }
        #expect(await refused.waitForExit() == 1)
        #expect(refused.errorOutput == "ws: the proxy refused the tunnel: HTTP 403 Access violation\n")
    }

    @Test("--proxy with a bad URL is a usage error; a failing proxy's credentials are not printed", .enabled(if: Peers.available(Peers.wsBinary)))
    func proxyUsage() async throws {
        let bad = try Self.tool(["connect", "--proxy", "ftp://alice:s3cret@h", "ws://127.0.0.1:9/"])
        defer { bad.stop() }
        #expect(await bad.waitForExit() == 2)
        #expect(bad.errorOutput == "ws: --proxy: proxy: unsupported scheme 'ftp' (try 'ws --help')\n")
        let closed = try ProxyInteropTests.freePort()
        let auth = try Self.tool(["connect", "-v", "--proxy", "socks5h://alice:s3cret@127.0.0.1:\(closed)", "ws://127.0.0.1:9/"])
        defer { auth.stop() }
        auth.closeInput()
        #expect(await auth.waitForExit() == 1)
        #expect(auth.errorOutput == "ws: the proxy refused the connection (nothing listening at its address)\n")
    }

    // MARK: -v

    @Test("-v prints the request and response heads on standard error", .enabled(if: Peers.available(Peers.wsBinary)))
    func verbose() async throws {
        let echo = try await Echo.server(onUpgrade: { request in
            request.path == "/no" ? .reject(HTTPResponse(status: 403, text: "no")) : .accept(headers: ["X-Server": "test"])
        })
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        let tool = try Self.tool(["connect", "-v", "--no-deflate", "ws://127.0.0.1:\(echo.port)/path?q=1"])
        defer { tool.stop() }
        #expect(try await Self.echoOnce(tool) == 0)
        let lines = tool.errorOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "> GET /path?q=1 HTTP/1.1")
        for expected in ["> Host: 127.0.0.1:\(echo.port)", "> Upgrade: websocket", "> Connection: Upgrade",
                         "> Sec-WebSocket-Version: 13", "< HTTP/1.1 101 Switching Protocols", "< Upgrade: websocket",
                         "< X-Server: test"] {
            #expect(lines.contains(expected), "\(expected)")
        }
        let key = try #require(lines.first { $0.hasPrefix("> Sec-WebSocket-Key: ") }?.dropFirst(21))
        #expect(lines.contains("< Sec-WebSocket-Accept: \(AcceptKey.accept(forKey: String(key)))"))

        let refused = try Self.tool(["connect", "-v", "ws://127.0.0.1:\(echo.port)/no"])
        defer { refused.stop() }
        #expect(await refused.waitForExit() == 1)
        let refusedLines = refused.errorOutput.split(separator: "\n").map(String.init)
        // A refusal shows the request that was refused, then the answer.
        #expect(refusedLines.first == "> GET /no HTTP/1.1")
        let answer = try #require(refusedLines.firstIndex(of: "< HTTP/1.1 403 Forbidden"))
        #expect(refusedLines[..<answer].allSatisfy { $0.hasPrefix("> ") })
        #expect(refusedLines[answer...].dropLast().allSatisfy { $0.hasPrefix("< ") })
        #expect(refusedLines.last == "ws: handshake failed: 403 Forbidden")
    }

    // MARK: --max-redirects

    @Test("--max-redirects N follows at most N redirects", .enabled(if: Peers.available(Peers.wsBinary)))
    func maxRedirects() async throws {
        let echo = try await Echo.server(onUpgrade: { request in
            switch request.path {
            case "/a": return .reject(HTTPResponse(status: 302, headers: ["Location": "/b"]))
            case "/b": return .reject(HTTPResponse(status: 307, headers: ["Location": "/c"]))
            default: return .accept()
            }
        })
        defer { Task { await echo.shutdown(timeout: .seconds(1)) } }
        let one = try Self.tool(["connect", "--max-redirects", "1", "ws://127.0.0.1:\(echo.port)/a"])
        defer { one.stop() }
        #expect(await one.waitForExit() == 1)
        #expect(one.errorOutput == "ws: handshake failed: 307 Temporary Redirect (Location: /c)\n")
        // -v shows each hop: request, then response.
        let traced = try Self.tool(["connect", "-v", "--max-redirects", "1", "ws://127.0.0.1:\(echo.port)/a"])
        defer { traced.stop() }
        #expect(await traced.waitForExit() == 1)
        let hops = traced.errorOutput.split(separator: "\n").filter { $0.hasPrefix("> GET") || $0.hasPrefix("< HTTP") || $0.hasPrefix("< Location") }
        #expect(hops == ["> GET /a HTTP/1.1", "< HTTP/1.1 302 Found", "< Location: /b",
                         "> GET /b HTTP/1.1", "< HTTP/1.1 307 Temporary Redirect", "< Location: /c"])
        let two = try Self.tool(["connect", "--max-redirects", "2", "ws://127.0.0.1:\(echo.port)/a"])
        defer { two.stop() }
        #expect(try await Self.echoOnce(two) == 0)
        let bad = try Self.tool(["connect", "--max-redirects", "-1", "ws://127.0.0.1:9/"])
        defer { bad.stop() }
        #expect(await bad.waitForExit() == 2)
        #expect(bad.errorOutput == "ws: --max-redirects: '-1' is not a number from 0 to 100 (try 'ws --help')\n")
    }

    // MARK: --binary

    @Test("--binary sends each line as a binary message", .enabled(if: Peers.available(Peers.wsBinary)))
    func binary() async throws {
        let kinds = Lock<[String]>([])
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await event in ws {
                switch event {
                case .binary(let bytes): kinds.withLock { $0.append("binary") }; try? await ws.send(.binary(bytes))
                case .text(let text): kinds.withLock { $0.append("text") }; try? await ws.send(.text(text))
                default: break
                }
            }
        }
        defer { Task { await server.shutdown(timeout: .seconds(1)) } }
        let tool = try Self.tool(["connect", "--binary", "ws://127.0.0.1:\(server.port)/"])
        defer { tool.stop() }
        #expect(try await Self.echoOnce(tool, "abc é", expect: "[binary 6 bytes] 61 62 63 20 c3 a9") == 0)
        #expect(kinds.withLock { $0 } == ["binary"])
    }

    // MARK: --ping-interval

    @Test("--ping-interval sends keepalive pings after that much silence", .enabled(if: Peers.available(Peers.wsBinary)))
    func pingInterval() async throws {
        let (pings, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await event in ws { if case .ping(let payload) = event { continuation.yield(payload) } }
        }
        defer { Task { await server.shutdown(timeout: .seconds(1)) } }
        let tool = try Self.tool(["connect", "--ping-interval", "0.2", "ws://127.0.0.1:\(server.port)/"])
        defer { tool.stop() }
        var received: [[UInt8]] = []
        for await payload in pings {
            received.append(payload)
            if received.count == 2 { break }
        }
        #expect(received == [[0, 0, 0, 1], [0, 0, 0, 2]])
        tool.closeInput()
        #expect(await tool.waitForExit() == 0)
        let bad = try Self.tool(["connect", "--ping-interval", "0", "ws://127.0.0.1:9/"])
        defer { bad.stop() }
        #expect(await bad.waitForExit() == 2)
        #expect(bad.errorOutput == "ws: --ping-interval: '0' is not a number of seconds from 0.01 to 86400 (try 'ws --help')\n")
    }

    // MARK: standard output

    /// Received messages are printed as they are formed, in pieces: formed whole (hex,
    /// escaped, a newline appended, an array to write), a 16 MiB binary message took `ws
    /// connect` to 218 MiB resident. Now the message, one piece and the process's own ~15 MiB.
    @Test("A large message is printed without copies of itself", .enabled(if: Peers.available(Peers.wsBinary)))
    func largeMessagesArePrintedInPieces() async throws {
        let size = 16 << 20
        let text = String(repeating: "é\t\u{1B}\\", count: 40_000)  // 160,000 scalars, escaped in pieces
        let printed = Signal()
        let server = try await WebSocketServer.bind(port: 0) { ws in
            try? await ws.send(.text(text))
            try? await ws.send(.binary([UInt8](repeating: 0xAB, count: size)))
            _ = await printed.wait(timeout: .seconds(30))  // the tool stays up to be measured
            try? ws.close(code: .normalClosure)
            for await _ in ws {}
        }
        defer { Task { await server.shutdown(timeout: .seconds(1)) } }
        // Standard output to a file (the shell execs the tool: the process measured is ws).
        let binary = try Peers.require(Peers.wsBinary, "the ws binary (swift build --build-tests builds it)")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ws-large-\(getpid())-\(server.port).out").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tool = try Subprocess(["/bin/sh", "-c", #"exec "$0" connect --proxy '' "$1" > "$2""#, binary,
                                   "ws://127.0.0.1:\(server.port)/", path])
        defer { tool.stop() }
        let expected = Data((String(repeating: #"é\t\x1B\\"#, count: 40_000) + "\n"
            + "[binary \(size) bytes]" + String(repeating: " ab", count: size) + "\n").utf8)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline,
              ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) < expected.count {
            try await Task.sleep(for: .milliseconds(20))
        }
        // The peak of this process image (VmHWM starts again at exec; `ru_maxrss` would count
        // the test runner's pages the child had before it).
        let status = try String(contentsOfFile: "/proc/\(tool.pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let peak = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
        printed.fire()
        #expect(await tool.waitForExit(timeout: .seconds(30)) == 0)  // closed by peer: 1000
        #expect(FileManager.default.contents(atPath: path) == expected)
        // (Under a sanitizer its runtime's own memory is in the peak: Scripts/test-sanitizers
        // sets these variables, and the bound holds for the tool as built for use.)
        let environment = ProcessInfo.processInfo.environment
        if environment["TSAN_OPTIONS"] == nil && environment["ASAN_OPTIONS"] == nil {
            #expect(peak < 2 * size + (24 << 20), "ws connect held \(peak >> 20) MiB")
        }
    }

    /// `ws connect URL | head -1`: once the reader of standard output is gone, the tool closes
    /// (1001), says so and exits 1, instead of running on as long as the server talks.
    @Test("A closed standard output ends the connection", .enabled(if: Peers.available(Peers.wsBinary)))
    func closedOutput() async throws {
        let closing = Lock<CloseInfo?>(nil)
        let closed = Signal()
        let server = try await WebSocketServer.bind(port: 0) { ws in
            let ticks = Task { while (try? await ws.send(.text("tick"))) != nil { try? await Task.sleep(for: .milliseconds(5)) } }
            for await event in ws {
                if case .closed(let info) = event {
                    closing.withLock { $0 = info }
                    closed.fire()
                }
            }
            ticks.cancel()
        }
        defer { Task { await server.shutdown(timeout: .seconds(1)) } }
        let binary = try Peers.require(Peers.wsBinary, "the ws binary (swift build --build-tests builds it)")
        let script = #"{ "$0" connect --proxy '' "$1"; echo "ws exited $?" >&2; } | head -n 1"#
        let shell = try Subprocess(["/bin/sh", "-c", script, binary, "ws://127.0.0.1:\(server.port)/"])
        defer { shell.stop() }
        #expect(try await shell.nextLine() == "tick")
        #expect(await shell.waitForExit() == 0)  // head's status
        #expect(shell.errorOutput == "ws: standard output closed\nws exited 1\n")
        #expect(await closed.wait())
        let info = closing.withLock { $0 }
        #expect(info?.code == .goingAway)
    }
}
