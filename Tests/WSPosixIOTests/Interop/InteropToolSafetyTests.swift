// SPDX-License-Identifier: Apache-2.0
import Testing
import WSPosixIO
import WSProtocol

/// The `ws` tool against hostile peers (our own client and server, in this process): what a peer
/// sends reaches the operator's terminal escaped, and a bad answer is an exit 1 with one line on
/// standard error, never a trap.
@Suite("Interop: the ws tool against hostile peers", .serialized, .timeLimit(.minutes(1)))
struct InteropToolSafetyTests {
    /// Text a peer could use to clear the screen, retitle the window, recolour and fake lines.
    static let hostile = "\u{1B}]0;pwned\u{07}\u{1B}[2J red\u{1B}[31m\nline 2\r\u{9B}1m \\ \u{202E}end"
    static let hostileEscaped = #"\x1B]0;pwned\x07\x1B[2J red\x1B[31m\nline 2\r\u{009B}1m \\ \u{202E}end"#
    static let reason = "\u{1B}[Hbye\n"
    static let reasonEscaped = #"\x1B[Hbye\n"#

    /// A server that sends `answer` (when given) to every client, then closes with `code` and `reason`.
    static func answeringServer(_ answer: Message?, code: CloseCode = .normalClosure,
                                reason: String = "") async throws -> WebSocketServer {
        var configuration = WebSocketServer.Configuration()
        configuration.group = Peers.loops
        return try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            do {
                if let answer { try await ws.send(answer) }
                try ws.close(code: code, reason: reason)
            } catch {
                Issue.record("the answering server failed: \(error)")
            }
            for await _ in ws {}
        }
    }

    @Test("ws serve /report prints a message and a close reason escaped, on one line each",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func serveEscapesPeerText() async throws {
        let (serve, port) = try await InteropToolTests.startServe()
        defer { serve.stop() }
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = Peers.loops
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/report", configuration: configuration)
        try await ws.send(.text(Self.hostile))
        #expect(try await serve.nextLine() == Self.hostileEscaped)
        try await ws.send(.text("next"))
        #expect(try await serve.nextLine() == "next")  // the hostile text made exactly one line
        try ws.close(code: CloseCode(rawValue: 4000), reason: Self.reason)
        for await _ in ws {}
        try await serve.waitForError(containing: "closed 4000 \"\(Self.reasonEscaped)\"")
        #expect(!serve.errorOutput.contains("\u{1B}"))
        #expect(serve.errorOutput.split(separator: "\n").allSatisfy { !$0.hasPrefix("bye") })
    }

    @Test("ws connect prints received text and the peer's close reason escaped",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func connectEscapesPeerText() async throws {
        let server = try await Self.answeringServer(.text(Self.hostile), code: CloseCode(rawValue: 4003), reason: Self.reason)
        let tool = try InteropToolTests.startTool(["connect", "ws://127.0.0.1:\(server.port)/"])
        defer { tool.stop() }
        #expect(try await tool.nextLine() == Self.hostileEscaped)
        #expect(await tool.waitForExit() == 0)
        #expect(tool.remainingOutput == "")
        #expect(tool.errorOutput == "ws: closed by peer: 4003 \(Self.reasonEscaped)\n")
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("ws autobahn-client: a bad case count is exit 1 with one line, never a trap", arguments: [
        (Message.text("-3"), #"ws: /getCaseCount sent "-3", not a case count (a whole number 0-100000)"#),
        (.text("99999999999999999999"),
         #"ws: /getCaseCount sent "99999999999999999999", not a case count (a whole number 0-100000)"#),
        (.text("100001"), #"ws: /getCaseCount sent "100001", not a case count (a whole number 0-100000)"#),
        (.text("7\u{1B}[31m"), #"ws: /getCaseCount sent "7\x1B[31m", not a case count (a whole number 0-100000)"#),
        (.text(String(repeating: "9", count: 50)),
         #"ws: /getCaseCount sent "9999999999999999999999999999999999999999...", not a case count (a whole number 0-100000)"#),
        (.binary([0x33]), "ws: /getCaseCount sent no number"),
    ] as [(Message, String)])
    func autobahnClientRejectsBadCounts(answer: Message, line: String) async throws {
        try #require(Peers.available(Peers.wsBinary))
        let server = try await Self.answeringServer(answer)
        let tool = try InteropToolTests.startTool(["autobahn-client", "--url", "ws://127.0.0.1:\(server.port)"])
        defer { tool.stop() }
        #expect(await tool.waitForExit() == 1)
        #expect(tool.errorOutput == line + "\n")
        #expect(tool.remainingOutput == "")
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("ws autobahn-client: bad arguments are exit 2 with the usage line", arguments: [
        (["--url", "http://127.0.0.1:9001"], "--url 'http://127.0.0.1:9001' is not a ws:// or wss:// URL without query or fragment"),
        (["--url", "ws://127.0.0.1:9001/?case=1"],
         "--url 'ws://127.0.0.1:9001/?case=1' is not a ws:// or wss:// URL without query or fragment"),
        (["--url", "ws://127.0.0.1:9001", "--agent", ""], "--agent must be 1-100 characters"),
    ] as [([String], String)])
    func autobahnClientUsage(arguments: [String], message: String) async throws {
        try #require(Peers.available(Peers.wsBinary))
        let tool = try InteropToolTests.startTool(["autobahn-client"] + arguments)
        defer { tool.stop() }
        #expect(await tool.waitForExit() == 2)
        #expect(tool.errorOutput == "ws: autobahn-client: \(message) (try 'ws --help')\n")
    }

    /// `ws serve` logs each connection's opening and end on standard error from its event loop;
    /// written in place, a standard error nobody reads (here a pipe to `sleep`: 64 KiB fill it)
    /// stopped the loop at the write that found the pipe full, and every connection on it: the
    /// next handshake timed out. Its lines now go out on a thread of their own.
    @Test("ws serve keeps serving while nobody reads its standard error",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func serveWithAnUnreadStandardError() async throws {
        let binary = try Peers.require(Peers.wsBinary, "the ws binary (swift build --build-tests builds it)")
        let serve = try Subprocess(["/bin/bash", "-c",
                                    #"exec "$0" serve --host 127.0.0.1 --port 0 --threads 1 2> >(exec sleep 120)"#, binary])
        defer { serve.stop() }
        let first = try await serve.nextLine()
        let prefix = "listening on ws://127.0.0.1:"
        guard first.hasPrefix(prefix), let port = Int(first.dropFirst(prefix.count)) else {
            Issue.record("unexpected first line: \(first)")
            return
        }
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = Peers.loops
        configuration.handshakeTimeout = .seconds(5)
        // Each connection logs two lines, the second with its 120-byte close reason: some 190
        // bytes, so 600 connections write about 110 KiB, past what the pipe holds.
        let reason = String(repeating: "r", count: 120)
        for i in 0..<600 {
            let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/echo", configuration: configuration)
            try ws.close(code: CloseCode(rawValue: 4000), reason: reason)
            for await _ in ws {}
            guard ws.closeInfo?.code == CloseCode(rawValue: 4000) else {
                Issue.record("connection \(i): \(String(describing: ws.closeInfo))")
                return
            }
        }
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/echo", configuration: configuration)
        try await ws.send(.text("still serving"))
        var events = ws.makeAsyncIterator()
        #expect(await events.next() == .text("still serving"))
        try ws.close()
    }
}
