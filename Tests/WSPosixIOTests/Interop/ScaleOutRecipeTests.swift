// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import WSPosixIO
import WSProtocol

/// Examples/ScaleOut/run.sh with the real engines: Redis, two `ws serve` instances, and HAProxy
/// (PROXY protocol v2, health checks on /healthz) or nginx (HTTP upgrade, forwarding headers).
struct ScaleOutRecipe {
    let script: Subprocess
    let front: Int
    let runDirectory: URL
    let ws1: Int32, ws2: Int32

    static var haproxy: String? { FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : nil }
    static var nginx: String? { FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") ? "/usr/sbin/nginx" : nil }

    static func start(_ balancer: String) async throws -> ScaleOutRecipe {
        let ws = try Peers.require(Peers.wsBinary, "the ws binary")
        _ = try Peers.require(RedisServer.binary, "redis-server")
        _ = try Peers.require(balancer == "haproxy" ? haproxy : nginx, balancer)
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("ws-scaleout-\(UUID().uuidString)")
        let ports = try (0..<4).map { _ in try RedisServer.freePort() }
        let script = Peers.packageRoot.appendingPathComponent("Examples/ScaleOut/run.sh").path
        let process = try Subprocess(["/usr/bin/env", "FRONT_PORT=\(ports[0])", "WS1_PORT=\(ports[1])", "WS2_PORT=\(ports[2])",
                                      "REDIS_PORT=\(ports[3])", "DRAIN_SECONDS=120", "WS=\(ws)", "RUN_DIR=\(run.path)",
                                      "/bin/bash", script, balancer])
        do {
            _ = try await process.line(where: { $0.hasPrefix("ready: ") })
            let pids = try await process.line(where: { $0.hasPrefix("pids: ") })
            func pid(_ name: String) -> Int32? {
                pids.split(separator: " ").first { $0.hasPrefix("\(name)=") }.flatMap { Int32($0.dropFirst(name.count + 1)) }
            }
            guard let ws1 = pid("ws1"), let ws2 = pid("ws2") else { throw Subprocess.Failure(description: "pids: \(pids)") }
            return ScaleOutRecipe(script: process, front: ports[0], runDirectory: run, ws1: ws1, ws2: ws2)
        } catch {
            process.stop()
            throw error
        }
    }

    func stop() {
        script.stop()
        try? FileManager.default.removeItem(at: runDirectory)
    }

    func log(_ name: String) -> String {
        (try? String(contentsOf: runDirectory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// Waits (bounded, polling the file) until `name`.log contains `text`.
    func waitForLog(_ name: String, containing text: String, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !log(name).contains(text) {
            guard ContinuousClock.now < deadline else {
                throw Subprocess.Failure(description: "\(name).log has no '\(text)': \(log(name).suffix(1500))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func connect() async throws -> WebSocket {
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = Peers.loops
        return try await WebSocket.connect(host: "127.0.0.1", port: front, resource: "/chat", configuration: configuration)
    }

    /// Which instance logged the opening of the client whose local address is `client`
    /// ("ws1" or "ws2"), with the line: it must name the client, not the balancer.
    func instance(of client: SocketAddress) async throws -> String {
        let marker = "ws: open \(client) via 127.0.0.1:"
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            for name in ["ws1", "ws2"] where log(name).contains(marker) { return name }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Subprocess.Failure(description: "no instance logged '\(marker)': ws1: \(log("ws1")) ws2: \(log("ws2"))")
    }
}

@Suite("Interop: the scale-out recipe (Redis, HAProxy, nginx)", .serialized, .timeLimit(.minutes(1)))
struct ScaleOutRecipeTests {
    static func nextText(_ iterator: inout WebSocket.AsyncIterator) async -> String? {
        if case .text(let t)? = await Echo.nextData(&iterator) { return t }
        return nil
    }

    /// The scenario for either balancer: two clients on different instances hear each other;
    /// each instance logs its client's own address; stopping one instance sends its client
    /// 1001 while the balancer routes a new client to the other, which keeps serving.
    func scenario(_ balancer: String, downLine: String?) async throws {
        let recipe = try await ScaleOutRecipe.start(balancer)
        defer { recipe.stop() }
        let a = try await recipe.connect()
        let b = try await recipe.connect()
        var aEvents = a.makeAsyncIterator(), bEvents = b.makeAsyncIterator()
        let aHome = try await recipe.instance(of: try #require(a.localAddress))
        let bHome = try await recipe.instance(of: try #require(b.localAddress))
        #expect(aHome != bHome, "both clients landed on \(aHome)")

        try await a.send(.text("hello from A"))
        #expect(await Self.nextText(&aEvents) == "hello from A")
        #expect(await Self.nextText(&bEvents) == "hello from A")
        try await b.send(.text("hello from B"))
        #expect(await Self.nextText(&aEvents) == "hello from B")
        #expect(await Self.nextText(&bEvents) == "hello from B")

        // Stop A's instance gracefully.
        kill(aHome == "ws1" ? recipe.ws1 : recipe.ws2, SIGTERM)
        try await recipe.waitForLog(aHome, containing: "draining: /healthz answers 503")
        if let downLine { try await recipe.waitForLog("balancer", containing: downLine.replacingOccurrences(of: "NAME", with: aHome)) }
        // A new client lands on the other instance, and chats with B.
        let c = try await recipe.connect()
        var cEvents = c.makeAsyncIterator()
        #expect(try await recipe.instance(of: try #require(c.localAddress)) == bHome)
        try await c.send(.text("C joins"))
        #expect(await Self.nextText(&cEvents) == "C joins")
        #expect(await Self.nextText(&bEvents) == "C joins")
        // A, still a member while its instance drains, hears C join; then a second SIGTERM
        // ends the draining (long, so that no delay of this test under load outlasts it) and
        // A's instance says goodbye with 1001, with nothing more before it.
        #expect(await Self.nextText(&aEvents) == "C joins")
        kill(aHome == "ws1" ? recipe.ws1 : recipe.ws2, SIGTERM)
        try await recipe.waitForLog(aHome, containing: "draining ended early")
        var heard: [WebSocketEvent] = []
        var closeCode: CloseCode? = nil
        while let event = await Echo.nextData(&aEvents) {
            if case .closed(let info) = event {
                closeCode = info.code
                break
            }
            heard.append(event)
        }
        #expect(closeCode == .goingAway)
        #expect(heard == [])
        // The other instance keeps serving.
        try await b.send(.text("B still here"))
        #expect(await Self.nextText(&bEvents) == "B still here")
        #expect(await Self.nextText(&cEvents) == "B still here")
        try b.close(); try c.close()
    }

    @Test("HAProxy (TCP, send-proxy-v2, health checks): clients on two instances, real addresses, draining",
          .enabled(if: Peers.available(ScaleOutRecipe.haproxy) && Peers.available(Peers.wsBinary)))
    func haproxy() async throws {
        try await scenario("haproxy", downLine: "Server ws_instances/NAME is DOWN")
    }

    @Test("nginx (HTTP upgrade, X-Forwarded-For / Forwarded): clients on two instances, real addresses, draining",
          .enabled(if: Peers.available(ScaleOutRecipe.nginx) && Peers.available(Peers.wsBinary)))
    func nginx() async throws {
        try await scenario("nginx", downLine: nil)
    }
}
