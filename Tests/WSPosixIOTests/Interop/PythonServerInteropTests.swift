// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO
import WSProtocol

/// Our client (`WebSocket.connect`) against servers nobody here wrote: Python websockets 17.4
/// and wsproto 1.3.2 (Resources/websockets_server.py, wsproto_server.py).
@Suite("Interop: our client, Python servers", .serialized, .timeLimit(.minutes(1)))
struct PythonServerInteropTests {
    static let servers = ["websockets_server.py", "wsproto_server.py"]

    /// Connects our client to a fresh server peer; the caller stops the peer.
    static func connect(_ script: String, path: String = "/", serverArguments: [String] = [],
                        configuration: WebSocket.ClientConfiguration = .init()) async throws -> (Subprocess, WebSocket) {
        let (peer, port) = try await Peers.startServer(script, serverArguments)
        var configuration = configuration
        configuration.group = Peers.loops
        do {
            let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)\(path)", configuration: configuration)
            return (peer, ws)
        } catch {
            peer.stop()
            throw error
        }
    }

    @Test("Text and binary up to 1 MiB, echoed exactly; close 4001 \"bye\" reaches the server",
          .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func echoAndClose(server: String) async throws {
        let (peer, ws) = try await Self.connect(server, path: "/echo?x=1")
        defer { peer.stop() }
        let messages: [Message] = [
            .text("héllo wörld ✓ 世界 🎉"), .text(""), .binary([]), .binary([0x00, 0xff, 0x01]),
            .text(String(repeating: "Grüße, 世界! ", count: 60_000)),  // about 1 MiB of UTF-8
            .binary(Pattern.bytes(1 << 20)),
        ]
        var events = ws.makeAsyncIterator()
        for message in messages {
            try await ws.send(message)
            let echo = try #require(await events.next())
            #expect(echo.message == message, "echo of \(message.kind)")
        }
        try ws.close(code: CloseCode(4001), reason: "bye")
        var last: WebSocketEvent?
        while let event = await events.next() { last = event }
        guard case .closed(let info) = try #require(last) else {
            Issue.record("last event is not .closed: \(String(describing: last))"); return
        }
        #expect(info.isClean)
        #expect(info.code == CloseCode(4001))  // both peers echo the code they received

        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.path == "/echo?x=1")
        #expect(report.received == messages.map(PeerReport.Received.init))
        #expect(report.close_code == 4001)
        #expect(report.close_reason == "bye")
    }

    @Test("Fragmented messages from the server are reassembled",
          .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func fragmentsFromServer(server: String) async throws {
        let (peer, ws) = try await Self.connect(server)
        defer { peer.stop() }
        var events = ws.makeAsyncIterator()
        try await ws.send(.text("!fragments text frag|ment|ed €"))
        #expect(await events.next() == .text("fragmented €"))
        try await ws.send(.text("!fragments binary 01|0203||ff"))
        #expect(await events.next() == .binary([1, 2, 3, 0xff]))
        try ws.close()
        while let event = await events.next() {
            if case .closed(let info) = event { #expect(info.code == .normalClosure && info.isClean) }
        }
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.close_code == 1000)
    }

    @Test("Fragments are delivered as sent when deliversFragments is on",
          .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func fragmentEvents(server: String) async throws {
        var configuration = WebSocket.ClientConfiguration()
        configuration.connection.deliversFragments = true
        let (peer, ws) = try await Self.connect(server, configuration: configuration)
        defer { peer.stop() }
        var events = ws.makeAsyncIterator()
        try await ws.send(.text("!fragments text a|€|c"))
        var pieces: [Fragment] = []
        while pieces.last?.isFinal != true, let event = await events.next() {
            guard case .fragment(let fragment) = event else {
                Issue.record("unexpected \(event)"); break
            }
            pieces.append(fragment)
        }
        // websockets ends a fragmented message with an empty final continuation frame;
        // wsproto sets FIN on the last piece.
        var expected = [Fragment(kind: .text, bytes: Array("a".utf8), isFirst: true, isFinal: false),
                        Fragment(kind: .text, bytes: Array("€".utf8), isFirst: false, isFinal: false),
                        Fragment(kind: .text, bytes: Array("c".utf8), isFirst: false, isFinal: true)]
        if server == "websockets_server.py" {
            expected[2].isFinal = false
            expected.append(Fragment(kind: .text, bytes: [], isFirst: false, isFinal: true))
        }
        #expect(pieces == expected)
        try ws.close()
        while await events.next() != nil {}
    }

    @Test("Our fragmented messages (fragmentSize 1000, UTF-8 split mid-character) are reassembled by the server",
          .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func fragmentsToServer(server: String) async throws {
        var configuration = WebSocket.ClientConfiguration()
        configuration.connection.fragmentSize = 1000
        let (peer, ws) = try await Self.connect(server, configuration: configuration)
        defer { peer.stop() }
        let messages: [Message] = [.text(String(repeating: "€", count: 1000)), .binary(Pattern.bytes(4500))]
        var events = ws.makeAsyncIterator()
        for message in messages {
            try await ws.send(message)
            #expect(await events.next()?.message == message)
        }
        try ws.close()
        while await events.next() != nil {}
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.received == messages.map(PeerReport.Received.init))
    }

    @Test("Ping/pong both ways", .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func pingPong(server: String) async throws {
        let (peer, ws) = try await Self.connect(server)
        defer { peer.stop() }
        var events = ws.makeAsyncIterator()
        // Empty, ordinary and the longest allowed payload (125 bytes, RFC 6455 §5.5).
        for payload in [[], Array("are you there?".utf8), Pattern.bytes(125)] {
            try ws.ping(payload)
            #expect(await events.next() == .pong(payload))
        }
        // The server pings us; we answer automatically, and it reports the pong it got.
        try await ws.send(.text("!ping yo"))
        #expect(await events.next() == .ping(Array("yo".utf8)))
        #expect(await events.next() == .text("pong yo"))
        try ws.close()
        while await events.next() != nil {}
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.pongs == ["yo"])
    }

    @Test("The server closes with 4002 \"srv\"", .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func serverCloses(server: String) async throws {
        let (peer, ws) = try await Self.connect(server)
        defer { peer.stop() }
        try await ws.send(.text("!close 4002 srv"))
        var events: [WebSocketEvent] = []
        for await event in ws { events.append(event) }
        guard case .closed(let info) = try #require(events.last) else {
            Issue.record("no .closed: \(events)"); return
        }
        #expect(events.count == 1)
        #expect(info.code == CloseCode(4002))
        #expect(info.reason == "srv")
        #expect(info.isClean)
        if case .handshakeCompleted(_, let initiatedLocally) = info.closeReason { #expect(!initiatedLocally) }
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.close_code == 4002)  // we echo the code (RFC 6455 §5.5.1)
    }

    @Test("Subprotocol, Origin and extra headers reach the server",
          .enabled(if: Peers.available(Peers.python)), arguments: servers)
    func negotiation(server: String) async throws {
        var configuration = WebSocket.ClientConfiguration(subprotocols: ["foo", "chat"], origin: "http://origin.test")
        configuration.headers.add(name: "X-Interop", value: "swift")
        let (peer, ws) = try await Self.connect(server, path: "/negotiate", serverArguments: ["--subprotocol", "chat"],
                                                configuration: configuration)
        defer { peer.stop() }
        #expect(ws.subprotocol == "chat")
        try ws.close()
        for await _ in ws {}
        let report = try PeerReport.decode(try await peer.nextLine())
        #expect(report.subprotocol == "chat")
        #expect(report.headers?["origin"] == "http://origin.test")
        #expect(report.headers?["x-interop"] == "swift")
    }

    @Test("A refused handshake reports the status", .enabled(if: Peers.available(Peers.python)))
    func refusedHandshake() async throws {
        let (peer, port) = try await Peers.startServer("websockets_server.py", ["--reject-status", "403"])
        defer { peer.stop() }
        do {
            var configuration = WebSocket.ClientConfiguration()
            configuration.group = Peers.loops
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/", configuration: configuration)
            Issue.record("connect succeeded")
        } catch {
            #expect(error.status == 403)
            #expect(String(decoding: error.bodyPrefix ?? [], as: UTF8.self) == "rejected by test\n")
        }
    }
}

extension PeerReport.Received {
    /// The summary a peer gives for `message`.
    init(_ message: Message) {
        switch message {
        case .text(let text): self = .text(text)
        case .binary(let bytes): self = .binary(bytes)
        }
    }
}
