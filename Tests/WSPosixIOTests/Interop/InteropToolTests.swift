// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO
import WSProtocol

/// The `ws` executable (built with the tests) against Python peers: `ws connect` as a client
/// of the Python servers, `ws serve` as a server for the Python clients, and
/// `ws autobahn-client` against a stand-in fuzzing server.
@Suite("Interop: the ws tool", .serialized, .timeLimit(.minutes(1)))
struct InteropToolTests {
    static let servers = PythonServerInteropTests.servers
    static let clients = PythonClientInteropTests.clients

    static func startTool(_ arguments: [String]) throws -> Subprocess {
        let binary = try Peers.require(Peers.wsBinary, "the ws binary (swift build --build-tests builds it)")
        return try Subprocess([binary] + arguments)
    }

    /// Starts `ws serve --port 0` and returns it with the port from its first line.
    /// (`scheme` "wss" with `--tls-cert`/`--tls-key` in `extra`.)
    static func startServe(_ extra: [String] = [], scheme: String = "ws") async throws -> (Subprocess, Int) {
        let serve = try startTool(["serve", "--host", "127.0.0.1", "--port", "0"] + extra)
        do {
            let first = try await serve.nextLine()
            let prefix = "listening on \(scheme)://127.0.0.1:"
            guard first.hasPrefix(prefix), let port = Int(first.dropFirst(prefix.count)) else {
                throw Subprocess.Failure(description: "unexpected first line: \(first)")
            }
            return (serve, port)
        } catch {
            serve.stop()
            throw error
        }
    }

    // MARK: ws connect

    @Test("ws connect: lines out, messages in, close 1000 at end of input",
          .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func connect(server: String) async throws {
        let (peer, port) = try await Peers.startServer(server, ["--subprotocol", "chat"])
        defer { peer.stop() }
        let tool = try Self.startTool(["connect", "ws://127.0.0.1:\(port)/tool?x=1", "--subprotocol", "foo",
                                       "--subprotocol", "chat", "-H", "X-Interop: ws tool",
                                       "--origin", "http://origin.test"])
        defer { tool.stop() }
        let longText = String(repeating: "Grüße, 世界! ", count: 20_000)
        // One line at a time, each answer awaited: a close at end of input must not race the
        // server's answers (a peer stops sending once it has our close, RFC 6455 §5.5.1).
        let exchanges: [(String, String)] = [
            ("héllo wörld ✓ 世界 🎉", "héllo wörld ✓ 世界 🎉"),
            ("!fragments binary 01|0203|ff", "[binary 4 bytes] 01 02 03 ff"),
            ("!fragments text a|€|c", "a€c"),
            ("!ping yo", "pong yo"),
            ("!pattern text 3 é", "ééé"),
            ("!pattern binary 70000", "[binary 70000 bytes] " + Hex.string(Pattern.bytes(70000))),
            (longText, longText),
        ]
        for (line, answer) in exchanges {
            tool.sendInput(line + "\n")
            let got = try await tool.nextLine()
            #expect(got == answer, "answer to \(line.prefix(40))")
        }
        tool.closeInput()
        #expect(await tool.waitForExit() == 0)
        #expect(tool.errorOutput == "ws: subprotocol chat\n")
        #expect(tool.remainingOutput == "")
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.path == "/tool?x=1")
        #expect(report.subprotocol == "chat")
        #expect(report.headers?["origin"] == "http://origin.test")
        #expect(report.headers?["x-interop"] == "ws tool")
        #expect(report.received == exchanges.map { PeerReport.Received.text($0.0) })
        #expect(report.close_code == 1000)
    }

    @Test("echo hi | ws connect ws serve/echo: the echo arrives before the close handshake ends",
          .enabled(if: Peers.available(Peers.wsBinary)), arguments: [[], ["--no-deflate"]])
    func connectPipedInputToServe(flags: [String]) async throws {
        // All input at once: "hi" and our close frame reach the server back to back (often in
        // one read); its echo must still come before its close reply (answers before the close).
        let (serve, port) = try await Self.startServe(flags)
        defer { serve.stop() }
        for round in 0..<5 {
            let tool = try Self.startTool(["connect", "ws://127.0.0.1:\(port)/echo"] + flags)
            defer { tool.stop() }
            tool.sendInput("hi\nthere\n")
            tool.closeInput()
            #expect(await tool.waitForExit() == 0, "round \(round)")
            #expect(tool.remainingOutput == "hi\nthere\n", "round \(round)")
            #expect(tool.errorOutput == "", "round \(round)")
        }
    }

    @Test("ws connect: the server closes with 4002 \"srv\"", .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func connectServerCloses(server: String) async throws {
        let (peer, port) = try await Peers.startServer(server)
        defer { peer.stop() }
        let tool = try Self.startTool(["connect", "ws://127.0.0.1:\(port)/"])
        defer { tool.stop() }
        tool.sendInput("first\n")
        #expect(try await tool.nextLine() == "first")
        tool.sendInput("!close 4002 srv\n")
        #expect(await tool.waitForExit() == 0)
        #expect(tool.errorOutput == "ws: closed by peer: 4002 srv\n")
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.close_code == 4002)
    }

    @Test("ws connect: a refused handshake prints the status and reason", .enabled(if: Peers.available(Peers.python)))
    func connectRefused() async throws {
        let (peer, port) = try await Peers.startServer("websockets_server.py", ["--reject-status", "403"])
        defer { peer.stop() }
        let tool = try Self.startTool(["connect", "ws://127.0.0.1:\(port)/"])
        defer { tool.stop() }
        tool.closeInput()
        #expect(await tool.waitForExit() == 1)
        #expect(tool.errorOutput == "ws: handshake failed: 403 Forbidden\n")
    }

    @Test("ws connect: nobody listening, and usage errors", .enabled(if: Peers.available(Peers.wsBinary)))
    func connectFailures() async throws {
        let refused = try Self.startTool(["connect", "ws://127.0.0.1:1/"])
        defer { refused.stop() }
        #expect(await refused.waitForExit() == 1)
        #expect(refused.errorOutput == "ws: connection refused\n")

        let usage = try Self.startTool(["connect"])
        defer { usage.stop() }
        #expect(await usage.waitForExit() == 2)
        #expect(usage.errorOutput == "ws: connect: missing URL (try 'ws --help')\n")
    }

    @Test("ws --help and usage errors", .enabled(if: Peers.available(Peers.wsBinary)),
          arguments: [
            (["--help"], 0, ""), (["serve", "--help"], 0, ""),
            (["serve", "--port", "70000"], 2, "ws: --port: '70000' is not a port number (0-65535) (try 'ws --help')\n"),
            (["serve", "--bogus"], 2, "ws: serve: unknown option '--bogus' (try 'ws --help')\n"),
            (["connect", "ws://x/", "-H", "novalue"], 2, "ws: connect: header 'novalue' is not 'Name: value' (try 'ws --help')\n"),
            (["autobahn-client"], 2, "ws: autobahn-client: missing --url (try 'ws --help')\n"),
            (["frobnicate"], 2, "ws: unknown command 'frobnicate' (try 'ws --help')\n"),
          ] as [([String], Int32, String)])
    func usage(arguments: [String], status: Int32, error: String) async throws {
        let tool = try Self.startTool(arguments)
        defer { tool.stop() }
        #expect(await tool.waitForExit() == status)
        #expect(tool.errorOutput == error)
        if status == 0 {
            #expect(tool.remainingOutput.hasPrefix("ws — a WebSocket client, server and test tool (RFC 6455)\n"))
            #expect(tool.remainingOutput.contains("ws autobahn-client --url ws://HOST:PORT --agent NAME"))
        }
    }

    // MARK: ws serve

    @Test("ws serve /echo: Python clients get every message back exactly",
          .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func serveEcho(client: String) async throws {
        let (serve, port) = try await Self.startServe()
        defer { serve.stop() }
        let script = """
        [{"send":"text","data":"héllo wörld ✓ 世界 🎉"},{"expect":1},
         {"send":"binary","pattern":1048576},{"expect":1},
         {"fragments":"text","parts":["frag","ment","ed €"]},{"expect":1},
         {"fragments":"binary","parts":["01","0203"]},{"expect":1},
         {"ping":"are you there?"},
         {"close":4001,"reason":"bye"}]
        """
        let report = try await PythonClientInteropTests.run(client, script, port: port, path: "/echo")
        #expect(report.received == [.text("héllo wörld ✓ 世界 🎉"), .binary(Pattern.bytes(1 << 20)),
                                    .text("fragmented €"), .binary([1, 2, 3])])
        #expect(report.pongs == ["are you there?"])
        #expect(report.close_code == 4001)
    }

    @Test("ws serve /chat: a message reaches every peer", .enabled(if: Peers.available(Peers.python)))
    func serveChat() async throws {
        let (serve, port) = try await Self.startServe()
        defer { serve.stop() }
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = Peers.loops
        let listener = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/chat", configuration: configuration)
        try await serve.waitForError(containing: " /chat")
        let report = try await PythonClientInteropTests.run(
            "websockets_client.py", #"[{"send":"text","data":"hi all ✓"},{"expect":1},{"close":1000}]"#,
            port: port, path: "/chat")
        #expect(report.received == [.text("hi all ✓")])
        var events = listener.makeAsyncIterator()
        #expect(await events.next() == .text("hi all ✓"))
        try listener.close()
        while await events.next() != nil {}
    }

    @Test("ws serve: unknown WebSocket path is refused with 404", .enabled(if: Peers.available(Peers.python)))
    func serveUnknownPath() async throws {
        let (serve, port) = try await Self.startServe()
        defer { serve.stop() }
        let peer = try Peers.startPython("websockets_client.py", ["ws://127.0.0.1:\(port)/nope", "[]"])
        defer { peer.stop() }
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.error == "status 404")
    }

    @Test("ws serve: SIGTERM and SIGINT close every peer with 1001, then exit 0",
          .enabled(if: Peers.available(Peers.python)), arguments: [SIGTERM, SIGINT])
    func serveShutsDownGracefully(signal: Int32) async throws {
        let (serve, port) = try await Self.startServe()
        defer { serve.stop() }
        let peers = try Self.clients.map { client in
            try Peers.startPython(client, ["ws://127.0.0.1:\(port)/echo", #"[{"wait_close":true}]"#])
        }
        defer { peers.forEach { $0.stop() } }
        try await serve.waitForError(containing: "ws: open", count: peers.count)
        serve.sendSignal(signal)
        for peer in peers {
            let report = try PeerReport.decode(try await peer.nextLine())
            #expect(report.close_code == 1001, "\(report.peer ?? "?")")
        }
        #expect(await serve.waitForExit() == 0)
    }

    // MARK: ws autobahn-client

    /// What the stand-in fuzzers run (Resources/fuzzing_cases.py): sections 1, 5, 9 (echo), the
    /// strict cases of sections 2-7 (a message and a violation or close in one write), and
    /// sections 12 and 13 (permessage-deflate under every parameter set).
    static let fuzzCaseCount = 69

    /// Every verdict must be OK: NON-STRICT, UNIMPLEMENTED and FAILED all fail the run.
    static func expectAllOK(_ results: [String: String], _ role: String) {
        #expect(results.count == fuzzCaseCount, "\(role)")
        #expect(results.keys.filter { $0.hasPrefix("12.") }.count == 24, "\(role)")
        #expect(results.keys.filter { $0.hasPrefix("13.") }.count == 24, "\(role)")
        let notOK = results.filter { $0.value != "OK" }.sorted { $0.key < $1.key }
        #expect(notOK.isEmpty, "\(role): \(notOK.map { "\($0.key): \($0.value)" })")
    }

    @Test("ws autobahn-client: every case of a stand-in fuzzing server is OK (sections 12 and 13 compressed)",
          .enabled(if: Peers.available(Peers.python)))
    func autobahnClient() async throws {
        let (fuzzer, port) = try await Peers.startServer("fake_fuzzingserver.py")
        defer { fuzzer.stop() }
        let tool = try Self.startTool(["autobahn-client", "--url", "ws://127.0.0.1:\(port)", "--agent", "swift ws"])
        defer { tool.stop() }
        #expect(await tool.waitForExit(timeout: .seconds(60)) == 0)
        let lines = tool.remainingOutput.split(separator: "\n")
        #expect(lines.first == "\(Self.fuzzCaseCount) cases")
        #expect(lines.filter { $0.hasPrefix("case ") }.count == Self.fuzzCaseCount)
        #expect(lines.last == "reports updated for agent swift ws")
        struct FuzzerReport: Decodable { var agent: String; var agents: [String]; var results: [String: String] }
        let report = try JSONDecoder().decode(FuzzerReport.self, from: Data(try await fuzzer.nextLine().utf8))
        #expect(report.agent == "swift ws" && report.agents == ["swift ws"])
        Self.expectAllOK(report.results, "client role")
    }

    @Test("A stand-in fuzzing client: every case is OK against ws serve /echo (async API)",
          .enabled(if: Peers.available(Peers.python) && Peers.available(Peers.wsBinary)))
    func fuzzingClientAgainstServe() async throws {
        let (serve, port) = try await Self.startServe()
        defer { serve.stop() }
        let fuzzer = try Peers.startPython("fake_fuzzingclient.py", [String(port), "/echo"])
        defer { fuzzer.stop() }
        struct Report: Decodable { var results: [String: String] }
        let report = try JSONDecoder().decode(Report.self, from: Data(try await fuzzer.nextLine(timeout: .seconds(60)).utf8))
        Self.expectAllOK(report.results, "ws serve")
    }

    @Test("A stand-in fuzzing client: every case is OK against an event-handler server with compression on",
          .enabled(if: Peers.available(Peers.python)))
    func fuzzingClientAgainstEventHandler() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.compression = .default
        configuration.group = Peers.loops
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration, onEvent: { ws, event in
            switch event {
            case .text(let t): try? ws.enqueue(.text(t))
            case .binary(let b): try? ws.enqueue(.binary(b))
            default: break
            }
        })
        let fuzzer = try Peers.startPython("fake_fuzzingclient.py", [String(server.port), "/"])
        defer { fuzzer.stop() }
        struct Report: Decodable { var results: [String: String] }
        let report = try JSONDecoder().decode(Report.self, from: Data(try await fuzzer.nextLine(timeout: .seconds(60)).utf8))
        Self.expectAllOK(report.results, "onEvent server")
        await server.shutdown(timeout: .seconds(1))
    }
}
