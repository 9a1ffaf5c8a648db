// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import WSPosixIO
import WSProtocol

/// `ws serve` as one of several instances: `/healthz`, draining on SIGTERM, `/chat` over Redis.
@Suite("Interop: ws serve scale-out (healthz, draining, Redis)", .serialized, .timeLimit(.minutes(1)))
struct ScaleOutToolTests {
    /// Starts `ws serve --port 0 ARGUMENTS` and returns it with its port.
    static func serve(_ arguments: [String]) async throws -> (Subprocess, Int) {
        try await InteropToolTests.startServe(arguments)
    }

    /// `GET path` over a fresh connection: the status line and the body.
    static func get(_ path: String, port: Int) async throws -> (status: String, body: String) {
        let tcp = try await RawTCP.connect(SocketAddress(numericHost: "127.0.0.1", port: UInt16(port))!)
        try tcp.write("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let (bytes, _) = try await tcp.readToEnd(timeout: .seconds(10))
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        return (parts.first?.components(separatedBy: "\r\n").first ?? "", parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func connect(_ port: Int, _ path: String) async throws -> WebSocket {
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = Peers.loops
        return try await WebSocket.connect(host: "127.0.0.1", port: port, resource: path, configuration: configuration)
    }

    static func nextText(_ iterator: inout WebSocket.AsyncIterator) async -> String? {
        if case .text(let t)? = await Echo.nextData(&iterator) { return t }
        return nil
    }

    @Test("/healthz says ok, then draining after SIGTERM while open connections keep working; a second SIGTERM ends it with 1001",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func healthAndDraining() async throws {
        // Draining outlasts the checks below however the whole suite running delays this test
        // (a 2 s drain did not always suffice); a second SIGTERM ends it.
        let (serve, port) = try await Self.serve(["--drain", "120"])
        defer { serve.stop() }
        #expect(try await Self.get("/healthz", port: port) == ("HTTP/1.1 200 OK", "ok\n"))
        let ws = try await Self.connect(port, "/echo")
        var events = ws.makeAsyncIterator()
        serve.sendSignal(SIGTERM)
        try await serve.waitForError(containing: "draining: /healthz answers 503 for 120 s (another signal ends it)")
        #expect(try await Self.get("/healthz", port: port) == ("HTTP/1.1 503 Service Unavailable", "draining\n"))
        do {
            _ = try await Self.connect(port, "/echo")
            Issue.record("a new connection was accepted while draining")
        } catch {
            #expect((error as? WebSocketError)?.status == 503)
        }
        try await ws.send(.text("still here"))
        #expect(await Self.nextText(&events) == "still here")
        serve.sendSignal(SIGTERM)
        try await serve.waitForError(containing: "ws: signal 15, draining ended early")
        guard case .closed(let info)? = await Echo.nextData(&events) else { Issue.record("no close"); return }
        #expect(info.code == .goingAway)
        #expect(await serve.waitForExit() == 0)
    }

    @Test("--redis: members on two instances hear each other exactly once; local-only while Redis is down",
          .enabled(if: Peers.available(Peers.wsBinary) && Peers.available(RedisServer.binary)))
    func chatAcrossInstances() async throws {
        let redis = try await RedisServer.start()
        defer { redis.process.stop() }
        let url = "redis://127.0.0.1:\(redis.port)"
        let (one, port1) = try await Self.serve(["--redis", url])
        defer { one.stop() }
        let (two, port2) = try await Self.serve(["--redis", url + "/0"])
        defer { two.stop() }
        try await one.waitForError(containing: "ws: redis: connected to redis://127.0.0.1:\(redis.port)")
        try await two.waitForError(containing: "ws: redis: connected to redis://127.0.0.1:\(redis.port)/0")
        let a = try await Self.connect(port1, "/chat"), b = try await Self.connect(port2, "/chat")
        var aEvents = a.makeAsyncIterator(), bEvents = b.makeAsyncIterator()
        try await one.waitForError(containing: "ws: open"); try await two.waitForError(containing: "ws: open")
        try await a.send(.text("hello from A"))
        #expect(await Self.nextText(&aEvents) == "hello from A")
        #expect(await Self.nextText(&bEvents) == "hello from A")
        try await b.send(.binary([1, 2, 3]))
        #expect(await Echo.nextData(&aEvents) == .binary([1, 2, 3]))
        #expect(await Echo.nextData(&bEvents) == .binary([1, 2, 3]))
        try await b.send(.text("then B"))
        // Exactly once: the next message each hears is B's text, not a second copy.
        #expect(await Self.nextText(&aEvents) == "then B")
        #expect(await Self.nextText(&bEvents) == "then B")

        redis.process.sendSignal(SIGKILL)
        try await one.waitForError(containing: "ws: redis: unavailable")
        try await two.waitForError(containing: "ws: redis: unavailable")
        try await a.send(.text("A alone"))
        #expect(await Self.nextText(&aEvents) == "A alone")
        try await b.send(.text("B alone"))
        #expect(await Self.nextText(&bEvents) == "B alone")
        #expect(one.errorOutput.components(separatedBy: "ws: redis: unavailable").count == 2)  // one line
        try a.close()
        try b.close()
        serve(one, two)
    }

    @Test("ws connect --reconnect: after the server goes away (1001), it connects again once one listens",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func connectReconnects() async throws {
        var (server, port) = try await Self.serve([])
        defer { server.stop() }
        let client = try InteropToolTests.startTool(["connect", "--reconnect", "ws://127.0.0.1:\(port)/echo"])
        defer { client.stop() }
        try await server.waitForError(containing: "ws: open")
        client.sendInput("one\n")
        #expect(try await client.nextLine() == "one")
        server.sendSignal(SIGTERM)
        #expect(await server.waitForExit() == 0)
        try await client.waitForError(containing: "ws: connection lost (closed 1001")
        try await client.waitForError(containing: "reconnecting in")
        let restarted = try InteropToolTests.startTool(["serve", "--host", "127.0.0.1", "--port", "\(port)"])
        server = restarted
        _ = try await restarted.nextLine()
        try await client.waitForError(containing: "ws: reconnected")
        client.sendInput("two\n")
        #expect(try await client.nextLine() == "two")
        client.closeInput()
        #expect(await client.waitForExit() == 0)
    }

    private func serve(_ instances: Subprocess...) {
        for instance in instances { instance.sendSignal(SIGTERM) }
    }
}
