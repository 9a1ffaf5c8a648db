// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Per-connection footprint", .timeLimit(.minutes(1)))
struct FootprintTests {
    /// The inline state of a connection stays small (goal: ≤ 5 KiB resident per idle connection,
    /// including the kernel-independent heap objects: channel, state, core, small buffers).
    @Test func channelStateIsSmall() {
        let state = MemoryLayout<ChannelState>.size
        let event = MemoryLayout<WebSocketEvent>.size
        // 392 today: the client and server handshake machines and the setup are boxed (the
        // server's inline made it 696), so the open phase does not carry their size, nor the
        // close information (138 bytes) before the end.
        #expect(state <= 400, "ChannelState is \(state) bytes")
        #expect(event <= 32, "WebSocketEvent is \(event) bytes")
    }

    /// An open, idle server connection keeps nothing of its handshake that it does not need:
    /// no outbound array (the 101 response's is given back once written), no client-side facts
    /// box (clients have one), no upgrade request after `discardRequest()`.
    @Test func anIdleServerConnectionKeepsNoHandshakeLeftovers() async throws {
        struct Seen: Sendable, Equatable {
            var outboundCapacity: Int
            var clientFacts: Bool
            var request: Bool
        }
        let seen = Lock<Seen?>(nil)
        let ready = Signal()
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { _ in .accept() }) { ws in
            ws.discardRequest()
            seen.withLock {
                $0 = ws.channel.state.withLock { Seen(outboundCapacity: $0.outbound.bytes.capacity,
                                                      clientFacts: $0.hasClientFacts, request: $0.request != nil) }
            }
            ready.fire()
            for await _ in ws {}
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        #expect(await ready.wait(timeout: .seconds(10)))
        #expect(seen.withLock { $0 } == Seen(outboundCapacity: 0, clientFacts: false, request: false))
        #expect(ws.channel.state.withLock { $0.hasClientFacts })
        #expect(ws.response?.status == 101)
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
    /// A connection that closed is freed at once, with all it owns: nothing of the loop keeps
    /// it, its timer least of all (set for the keepalive ping 20 s ahead). The timers cancelled
    /// lazily before held every closed connection until its last deadline: a server taking
    /// connections at a high rate held all of the last ten or twenty seconds' worth.
    @Test func aClosedConnectionIsFreedAtOnce() async throws {
        struct Held {
            weak var channel: Channel?
            var loop: EventLoop?
        }
        let held = Lock(Held())
        let closed = Signal()
        let server = try await WebSocketServer.bind(port: 0, onEvent: { ws, event in
            if case .closed = event {
                held.withLock { $0 = Held(channel: ws.channel, loop: ws.channel.loop) }
                closed.fire()
            }
        })
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        try ws.close()
        #expect(await closed.wait(timeout: .seconds(10)))
        let loop = try #require(held.withLock { $0.loop })
        // Rounds through the server connection's loop: the batch that closed it ends, and
        // what it held is let go (a few rounds at most; the keepalive timer was 20 s away).
        var freed = false
        for _ in 0..<50 where !freed {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in loop.execute { c.resume() } }
            freed = held.withLock { $0.channel == nil }
        }
        #expect(freed, "the closed server connection is still referenced")
        await server.shutdown(timeout: .seconds(1))
    }
}
