// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// ``WebSocketGroup``: one message to many connections, never waiting on a member that does not
/// read (issue: one `/chat` member that never read froze the whole room).
@Suite("WebSocketGroup: broadcast without head-of-line blocking", .serialized, .timeLimit(.minutes(1)))
struct BroadcastTests {
    /// What the server saw: the slow member's largest unwritten byte count after a broadcast,
    /// and the broadcasts' totals.
    final class Observations: Sendable {
        struct State {
            var slow: WebSocket? = nil
            var maxSlowBuffered = 0
            var total = WebSocketGroup.Delivery()
        }
        let state = Lock(State())
        let slowJoined = Signal()
        let slowLeft = Signal()
        /// Fires once the broadcasts have queued this many messages in all.
        let queuedTarget: Int
        let queuedReached = Signal()
        init(queuedTarget: Int = .max) { self.queuedTarget = queuedTarget }
    }

    /// A server whose `/chat` members (and the one `/slow` member) share `group`; every message
    /// from a member is broadcast to all of them.
    static func chatServer(_ group: WebSocketGroup, _ seen: Observations,
                           configuration: WebSocketServer.Configuration = .init()) async throws -> WebSocketServer {
        try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            group.add(ws)
            if ws.request?.path == "/slow" {
                seen.state.withLock { $0.slow = ws }
                seen.slowJoined.fire()
            }
            for await event in ws {
                guard let message = event.message else { continue }
                let delivery = group.broadcast(message)
                seen.state.withLock { s in
                    s.total.queued += delivery.queued; s.total.skipped += delivery.skipped
                    s.total.closed += delivery.closed; s.total.gone += delivery.gone
                    if let slow = s.slow { s.maxSlowBuffered = max(s.maxSlowBuffered, slow.bufferedAmount) }
                }
                if seen.state.withLock({ $0.total.queued }) >= seen.queuedTarget { seen.queuedReached.fire() }
            }
            group.remove(ws)
            if ws.request?.path == "/slow" { seen.slowLeft.fire() }
        }
    }

    /// With ``WebSocketGroup/SlowMemberPolicy/close``, a member over the limit that is already
    /// closing is counted as gone (and removed), not as closed with 1008: no 1008 was sent.
    @Test func aSlowMemberAlreadyClosingIsGoneNotClosed() async throws {
        let group = WebSocketGroup(policy: .close, maxBufferedBytes: 0)
        let seen = Observations()
        let server = try await Self.chatServer(group, seen)
        let raw = try await Self.slowMember(server)
        #expect(await seen.slowJoined.wait())
        let slow = try #require(seen.state.withLock { $0.slow })
        // More than the socket buffers take from a peer that never reads: bytes stay unwritten.
        try slow.enqueue(.binary([UInt8](repeating: 1, count: 4 << 20)))
        try slow.close()
        #expect(slow.bufferedAmount > 0)
        #expect(group.broadcast(.text("hi")) == WebSocketGroup.Delivery(gone: 1))
        #expect(group.count == 0)
        withExtendedLifetime(raw) {}
        await server.shutdown(timeout: .seconds(1))
    }

    /// A member that completes the handshake and then never reads (4 KiB receive buffer).
    static func slowMember(_ server: WebSocketServer) async throws -> RawTCP {
        let raw = try await RawTCP.connect(server.localAddress, receiveBuffer: 4096)
        try raw.write("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let head = try await raw.read(until: { $0.firstRange(of: Array("\r\n\r\n".utf8)) != nil }, timeout: .seconds(10))
        #expect(head.starts(with: Array("HTTP/1.1 101 ".utf8)))
        return raw
    }

    /// A and B take turns: each message is heard by both before the next one is sent. A sends
    /// 64 KiB binary messages (shared without a copy), B 1 KiB texts (one frame encoded once).
    /// Stops after `rounds`, or `after` rounds once `until` holds (at most 400 rounds, 26 MiB).
    /// Returns the number of rounds.
    @discardableResult
    static func talk(_ a: WebSocket, _ b: WebSocket, rounds: Int = 400, until: () -> Bool = { false },
                     after: Int = 0) async throws -> Int {
        var aEvents = a.makeAsyncIterator(), bEvents = b.makeAsyncIterator()
        var stopAt = rounds
        for round in 0..<rounds where round < stopAt {
            if stopAt == rounds && until() { stopAt = round + after }
            let binary = Echo.bytes(count: 64 << 10, seed: UInt64(round))
            try await a.send(.binary(binary))
            #expect(await Echo.nextData(&aEvents) == .binary(binary), "round \(round)")
            #expect(await Echo.nextData(&bEvents) == .binary(binary), "round \(round)")
            let text = "B \(round) " + String(repeating: "b", count: 1024)
            try await b.send(.text(text))
            #expect(await Echo.nextData(&aEvents) == .text(text), "round \(round)")
            #expect(await Echo.nextData(&bEvents) == .text(text), "round \(round)")
        }
        return min(stopAt, rounds)
    }

    @Test func aMemberThatNeverReadsMissesMessagesWhileTheOthersKeepTalking() async throws {
        let limit = 256 << 10
        let group = WebSocketGroup(policy: .skip, maxBufferedBytes: limit)
        let seen = Observations()
        let server = try await Self.chatServer(group, seen)
        let slow = try await Self.slowMember(server)
        #expect(await seen.slowJoined.wait())
        let a = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/chat")
        let b = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/chat")
        // Until the slow member's buffer (after the kernel's) passes the limit, then 20 more rounds.
        let rounds = try await Self.talk(a, b, until: { seen.state.withLock { $0.total.skipped > 0 } }, after: 20)
        #expect(rounds < 400)
        let state = seen.state.withLock { $0 }
        #expect(state.total.skipped > 0)
        #expect(state.total.closed == 0 && state.total.gone == 0)
        // Bounded: never more than the limit plus one message (a 64 KiB payload and its header).
        #expect(state.maxSlowBuffered > 0)
        #expect(state.maxSlowBuffered <= limit + (64 << 10) + 10)
        #expect(group.count == 3)
        try a.close()
        try b.close()
        _ = slow
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func theClosePolicyClosesASlowMemberWith1008AfterWhatWasQueued() async throws {
        let limit = 128 << 10
        let group = WebSocketGroup(policy: .close, maxBufferedBytes: limit)
        let seen = Observations()
        var configuration = WebSocketServer.Configuration()
        configuration.connection.closeTimeout = .milliseconds(500)
        let server = try await Self.chatServer(group, seen, configuration: configuration)
        let slow = try await Self.slowMember(server)
        #expect(await seen.slowJoined.wait())
        let a = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/chat")
        let b = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/chat")
        let rounds = try await Self.talk(a, b, until: { seen.state.withLock { $0.total.closed > 0 } }, after: 5)
        #expect(rounds < 400)
        #expect(seen.state.withLock { $0.total.closed } == 1)
        #expect(group.count == 2)  // removed at once
        // The slow peer now reads: what was queued, then our close frame 1008 "too slow", then EOF.
        let (bytes, eof) = try await slow.readToEnd(timeout: .seconds(20))
        #expect(eof)
        let closeFrame: [UInt8] = [0x88, 10, 0x03, 0xF0] + Array("too slow".utf8)
        #expect(Array(bytes.suffix(closeFrame.count)) == closeFrame)
        #expect(await seen.slowLeft.wait())
        #expect(group.count == 2)
        try a.close()
        try b.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func aBroadcastReachesEveryMemberWithTheSameBytes() async throws {
        let group = WebSocketGroup()
        let seen = Observations(queuedTarget: 12)  // 3 rounds × 2 messages × 2 members
        var configuration = WebSocketServer.Configuration()
        configuration.compression = .default
        let server = try await Self.chatServer(group, seen, configuration: configuration)
        // One member negotiates permessage-deflate (it encodes for itself), one does not (it
        // shares the frame encoded once): both get the same messages.
        var deflating = WebSocket.ClientConfiguration()
        deflating.compression = .default
        let a = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/chat", configuration: deflating)
        let b = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/chat")
        #expect(!a.extensions.isEmpty && b.extensions.isEmpty)
        try await Self.talk(a, b, rounds: 3)
        #expect(await seen.queuedReached.wait())
        #expect(seen.state.withLock { $0.total } == WebSocketGroup.Delivery(queued: 12))
        try a.close()
        try b.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
