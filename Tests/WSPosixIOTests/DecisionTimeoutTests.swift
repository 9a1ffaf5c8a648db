// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// A handler the test holds until it lets go, and the signals around it.
final class HeldHandler: Sendable {
    /// The handler was called.
    let entered = Signal()
    /// Lets the handler return.
    let release = Signal()
    /// Fires once the server has processed what the handler returned (see ``hold(on:)``).
    let applied = Signal()

    /// Waits for ``release``, then arranges for ``applied`` to fire after the server has
    /// processed the handler's result on `loop`.
    ///
    /// The server runs the handler in a task on the connection's loop and, as soon as it
    /// returns, hands the result to the loop with `loop.execute` in the same job. A task
    /// started here runs after that job ends, so the `execute` it queues comes after the
    /// server's in the loop's FIFO job queue: when ``applied`` fires, the result was handled.
    func hold(on loop: EventLoop) async {
        entered.fire()
        _ = await release.wait(timeout: .seconds(30))
        let applied = self.applied
        Task(executorPreference: loop) { loop.execute { applied.fire() } }
    }
}

@Suite("Server: the application's decision has a deadline", .timeLimit(.minutes(1)))
struct DecisionTimeoutTests {
    static let upgradeRequest = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// The server answers 503 at the deadline, then lingers (``responseLinger``) for the client to close.
    /// The late decision arrives while that socket is still open, and must change nothing: no
    /// 101 after the 503, no connection handed to the application.
    @Test func anUndecidedUpgradeGets503AndTheLateDecisionIsIgnored() async throws {
        let group = EventLoopGroup(threadCount: 1)
        let loop = try group.loops[0]
        let handler = HeldHandler()
        let opened = Atomic<Int>(0)
        var config = WebSocketServer.Configuration()
        config.group = group
        config.decisionTimeout = .milliseconds(200)
        // The answered socket lingers far longer than any scheduling delay of this test under
        // load (the default 2 s was not always enough with the whole suite running), and the
        // test ends it by closing its side.
        config.responseLinger = .seconds(60)
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onUpgrade: { _ in
            await handler.hold(on: loop)
            return .accept()
        }) { ws in
            opened.add(1, ordering: .relaxed)
            for await _ in ws {}
        }
        let raw = try await RawTCP.connect(server.localAddress)
        let start = MonotonicClock.now()
        try raw.write(Self.upgradeRequest)
        // The server half-closes after its answer: end of stream while its socket stays open.
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(MonotonicClock.now().nanoseconds - start.nanoseconds >= 150_000_000)
        #expect(eof)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(text.contains("\r\nRetry-After: 1\r\n"))
        #expect(text.hasSuffix("\r\n\r\nService Unavailable: no decision in time\n"))
        #expect(handler.entered.isFired)
        #expect(server.connectionCount == 1, "the answered connection lingers for the client's close")

        handler.release.fire()
        #expect(await handler.applied.wait(), "the late decision was never processed")
        // The decision met the still-open socket (it is still registered) and was ignored.
        #expect(server.connectionCount == 1)
        #expect(opened.load(ordering: .relaxed) == 0)
        raw.shutdownWrite()  // the server closes when it reads our end of stream
        for _ in 0..<1000 where server.connectionCount > 0 { await Task.yield(); try await Task.sleep(for: .milliseconds(2)) }
        #expect(server.connectionCount == 0)
        #expect(opened.load(ordering: .relaxed) == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    /// The same for a plain HTTP request: 503 at the deadline; the late response is never written.
    @Test func anUnansweredHTTPRequestGets503AndTheLateResponseIsIgnored() async throws {
        let group = EventLoopGroup(threadCount: 1)
        let loop = try group.loops[0]
        let handler = HeldHandler()
        var config = WebSocketServer.Configuration()
        config.group = group
        config.decisionTimeout = .milliseconds(200)
        // The answered socket lingers far longer than any scheduling delay of this test under
        // load (the default 2 s was not always enough with the whole suite running), and the
        // test ends it by closing its side.
        config.responseLinger = .seconds(60)
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onHTTPRequest: { _ in
            await handler.hold(on: loop)
            return HTTPResponse(status: 200, text: "too late")
        }) { _ in }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(eof)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(server.connectionCount == 1)
        handler.release.fire()
        #expect(await handler.applied.wait())
        #expect(server.connectionCount == 1)
        raw.shutdownWrite()
        await server.shutdown(timeout: .seconds(1))
    }

    /// The decision deadline ends with the decision: an accepted connection outlives it. Round
    /// trips keep going until four decision timeouts have passed on the clock, each one a check
    /// that the connection is still open.
    @Test func anAcceptedConnectionOutlivesTheDecisionTimeout() async throws {
        var config = WebSocketServer.Configuration()
        config.decisionTimeout = .milliseconds(100)
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onUpgrade: { _ in .accept() }) { ws in
            for await e in ws {
                guard case .text(let t) = e else { continue }
                do { try await ws.send(.text(t)) } catch { Issue.record("echo failed: \(error)") }
            }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let opened = MonotonicClock.now()
        var it = ws.makeAsyncIterator()
        var roundTrips = 0
        while MonotonicClock.now().nanoseconds - opened.nanoseconds < 400_000_000 && roundTrips < 100_000 {
            try await ws.send(.text("still here \(roundTrips)"))
            let answer = await it.next()
            #expect(answer == .text("still here \(roundTrips)"))
            guard answer == .text("still here \(roundTrips)") else { break }
            roundTrips += 1
        }
        #expect(MonotonicClock.now().nanoseconds - opened.nanoseconds >= 400_000_000)
        try ws.close()
        guard case .closed(let info)? = await it.next() else { Issue.record("no close"); return }
        #expect(info.code == .normalClosure && info.isClean)
        await server.shutdown(timeout: .seconds(1))
    }
}
