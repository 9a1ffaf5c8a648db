// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// Keeps a server-side connection until the test releases it, without reading its events.
final class Parking: Sendable {
    let sockets = Lock<[WebSocket]>([])
    func park(_ ws: WebSocket) async {
        sockets.withLock { $0.append(ws) }
        while sockets.withLock({ !$0.isEmpty }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
    var first: WebSocket? { sockets.withLock { $0.first } }
    func release() { sockets.withLock { $0.removeAll() } }
    func waitForOne() async -> WebSocket? {
        for _ in 0..<1000 {
            if let ws = first { return ws }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }
}

@Suite("RFC 6455 §7 Closing the connection, over loopback", .timeLimit(.minutes(1)))
struct CloseTests {
    @Test func clientInitiatedCloseIsSeenByBothEnds() async throws {
        let serverSide = Lock<CloseInfo?>(nil), serverClosed = Signal()
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await e in ws {
                if case .closed(let info) = e {
                    serverSide.withLock { $0 = info }
                    serverClosed.fire()
                }
            }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try ws.close(code: CloseCode(4001), reason: "done")
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        #expect(events.count == 1)
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == CloseCode(4001))   // the server echoes the code (RFC 6455 §5.5.1)
        #expect(info.closeReason == .handshakeCompleted(peer: CloseFrame(code: CloseCode(4001), reason: ""), initiatedLocally: true))
        #expect(await serverClosed.wait())  // the server's task sees `.closed` on its own schedule
        let seen = serverSide.withLock { $0 }
        #expect(seen?.code == CloseCode(4001))
        #expect(seen?.reason == "done")
        #expect(seen?.isClean == true)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func serverInitiatedCloseReachesTheClient() async throws {
        let server = try await WebSocketServer.bind(port: 0) { ws in
            try? await ws.send(.text("last words"))
            try? ws.close(code: CloseCode(4000), reason: "bye")
            for await _ in ws {}
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        #expect(events.first == .text("last words"))
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == CloseCode(4000))
        #expect(info.reason == "bye")
        #expect(info.isClean)
        #expect(events.count == 2)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func abruptDisconnectIsReportedAs1006() async throws {
        let serverSide = Lock<CloseInfo?>(nil), serverClosed = Signal()
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await e in ws {
                if case .closed(let info) = e {
                    serverSide.withLock { $0 = info }
                    serverClosed.fire()
                }
            }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        ws.disconnect()
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        guard case .closed(let local)? = events.last else { Issue.record("\(events)"); return }
        #expect(local.code == .abnormalClosure)
        #expect(await serverClosed.wait())  // the server's task sees `.closed` on its own schedule
        let seen = serverSide.withLock { $0 }
        #expect(seen?.code == .abnormalClosure)
        #expect(seen?.closeReason == .abnormal)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func serverVanishingIsReportedAs1006() async throws {
        let server = try await WebSocketServer.bind(port: 0) { ws in ws.disconnect() }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .abnormalClosure)
        #expect(info.error == .remoteHostClosed)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func unansweredCloseTimesOut() async throws {
        // The server's application never reads, and its reading pauses after one event, so
        // our close frame is never read nor answered.
        let parking = Parking()
        var config = WebSocketServer.Configuration()
        config.flowControl = FlowControl(maxBufferedEvents: 1)
        let server = try await WebSocketServer.bind(port: 0, configuration: config) { ws in await parking.park(ws) }
        var client = WebSocket.ClientConfiguration()
        client.connection.closeTimeout = .milliseconds(300)
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: client)
        try await ws.send(.text("fills the server's event buffer"))
        let parked = try #require(await parking.waitForOne())
        for _ in 0..<2000 where !parked.isReadingPaused { try await Task.sleep(for: .milliseconds(1)) }
        #expect(parked.isReadingPaused)
        let start = MonotonicClock.now()
        try ws.close()
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        let elapsed = MonotonicClock.now().nanoseconds - start.nanoseconds
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .abnormalClosure)
        #expect(info.error == .timeout(.closeHandshake))
        #expect(elapsed >= 250_000_000 && elapsed < 30_000_000_000)  // upper bound: sanity only (shared CPUs)
        parking.release()
        await server.shutdown(timeout: .milliseconds(200))
    }

    @Test func keepaliveWithoutPongFailsWith1011() async throws {
        let parking = Parking()
        var config = WebSocketServer.Configuration()
        config.flowControl = FlowControl(maxBufferedEvents: 1)
        let server = try await WebSocketServer.bind(port: 0, configuration: config) { ws in await parking.park(ws) }
        var client = WebSocket.ClientConfiguration()
        client.connection.keepalive = .init(interval: .milliseconds(200), timeout: .milliseconds(300))
        client.connection.closeTimeout = .milliseconds(300)
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: client)
        // (On a loaded machine the keepalive may already have failed; the outcome is the same.)
        try? await ws.send(.text("fills the server's event buffer"))
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .internalError)
        #expect(info.error == .timeout(.keepalive))
        parking.release()
        await server.shutdown(timeout: .milliseconds(200))
    }

    /// A keepalive interval shorter than the handshake timeout counts from the open: the
    /// connect's (or handshake's) timer, still set when the connection opened, held the first
    /// ping back until it fired (here 40 s after the start instead of 0.1 s after the open).
    @Test func clientKeepaliveShorterThanTheHandshakeTimeoutStartsAtTheOpen() async throws {
        let pinged = Signal()
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await event in ws { if case .ping = event { pinged.fire() } }
        }
        // (The timer still set at the open is the connect deadline's, the earliest of the two.)
        var client = WebSocket.ClientConfiguration(connectTimeout: .seconds(40), handshakeTimeout: .seconds(40))
        client.connection.keepalive = .init(interval: .milliseconds(100), timeout: .seconds(5))
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: client)
        #expect(await pinged.wait(timeout: .seconds(20)))
        try ws.close()
        var it = ws.makeAsyncIterator()
        _ = await Echo.drain(&it)
        await server.shutdown(timeout: .milliseconds(200))
    }

    /// The same on the server: its first keepalive ping comes one interval after the open, not
    /// when the handshake timeout would have expired.
    @Test func serverKeepaliveShorterThanTheHandshakeTimeoutStartsAtTheOpen() async throws {
        var config = WebSocketServer.Configuration()
        config.handshakeTimeout = .seconds(40)
        config.connection.keepalive = .init(interval: .milliseconds(100), timeout: .seconds(5))
        let server = try await WebSocketServer.bind(port: 0, configuration: config) { ws in for await _ in ws {} }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let headEnd: [UInt8] = [13, 10, 13, 10]
        func afterHead(_ bytes: [UInt8]) -> [UInt8]? {
            guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == headEnd }) else { return nil }
            return Array(bytes[(end + 4)...])
        }
        let received = try await raw.read(until: { (afterHead($0)?.count ?? 0) >= 6 }, timeout: .seconds(20))
        #expect(String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
        // The first keepalive ping: unmasked, 4 bytes, the counter 1.
        #expect(afterHead(received) == [0x89, 0x04, 0, 0, 0, 1])
        await server.shutdown(timeout: .milliseconds(200))
    }

    /// With a pong timeout longer than the interval, the next ping comes one interval after the
    /// pong, not at the pong deadline: the timer set for that deadline was kept once the pong
    /// came (the connection back between messages), so pings came every `timeout`.
    @Test func keepalivePingsFollowTheIntervalAfterEachPong() async throws {
        let pings = Countdown(5)
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await event in ws { if case .ping = event { pings.arrive() } }
        }
        var client = WebSocket.ClientConfiguration()
        client.connection.keepalive = .init(interval: .milliseconds(50), timeout: .seconds(30))
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: client)
        // Five pings well within one pong timeout (one per 30 s before).
        #expect(await pings.wait(timeout: .seconds(20)))
        try ws.close()
        var it = ws.makeAsyncIterator()
        _ = await Echo.drain(&it)
        await server.shutdown(timeout: .milliseconds(200))
    }

    @Test func gracefulShutdownSends1001() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try await ws.send(.text("x"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("x"))
        async let done: Void = server.shutdown(timeout: .seconds(5))
        let events = await Echo.drain(&it)
        await done
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .goingAway)
        #expect(info.reason == "server shutdown")
        #expect(info.isClean)
        #expect(server.connectionCount == 0)
        // The listener is closed: new connections are refused.
        await #expect(throws: WebSocketError.connectionRefused) {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        }
    }

    @Test func messagesSentBeforeCloseArriveBeforeIt() async throws {
        let received = Lock<[WebSocketEvent]>([])
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for await e in ws { received.withLock { $0.append(e) } }
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        for i in 0..<200 { try await ws.send(.text("m\(i)")) }
        try ws.close()
        var it = ws.makeAsyncIterator()
        _ = await Echo.drain(&it)
        for _ in 0..<1000 where received.withLock({ $0.count < 201 }) { try await Task.sleep(for: .milliseconds(2)) }
        let all = received.withLock { $0 }
        #expect(all.count == 201)
        #expect(Array(all.prefix(200)) == (0..<200).map { .text("m\($0)") })
        if case .closed(let info)? = all.last { #expect(info.code == .normalClosure) } else { Issue.record("no close") }
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func dataBeforeAVanishedPeerIsDeliveredThen1006() async throws {
        let server = try await WebSocketServer.bind(port: 0) { ws in
            for i in 0..<10 { try? await ws.send(.text("n\(i)")) }
            // Everything is written to the kernel before the peer vanishes (bounded wait).
            for _ in 0..<2500 where ws.bufferedAmount > 0 { try? await Task.sleep(for: .milliseconds(2)) }
            ws.disconnect()
        }
        var config = WebSocket.ClientConfiguration()
        config.flowControl = FlowControl(maxBufferedEvents: 2)
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        // The server is gone while our reading is paused (2 events held, the rest in the kernel).
        for _ in 0..<2500 where server.connectionCount > 0 || !ws.isReadingPaused {
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(server.connectionCount == 0)
        #expect(ws.isReadingPaused)
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        let expected: [WebSocketEvent] = (0..<10).map { (i: Int) -> WebSocketEvent in .text("n\(i)") }
        #expect(Array(events.prefix(10)) == expected)
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .abnormalClosure)
        #expect(events.count == 11)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func droppingTheHandleClosesWith1001() async throws {
        // The server's handler returns at once: its handle is released, the connection goes away.
        let server = try await WebSocketServer.bind(port: 0) { _ in }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        let events = await Echo.drain(&it)
        guard case .closed(let info)? = events.last else { Issue.record("\(events)"); return }
        #expect(info.code == .goingAway)
        #expect(info.isClean)
        await server.shutdown(timeout: .seconds(1))
    }
}
