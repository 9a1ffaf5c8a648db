// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// A `redis-server` on a free loopback port, for one test.
struct RedisServer {
    let process: Subprocess
    let port: Int

    static var binary: String? {
        let path = Peers.environment["WS_REDIS_SERVER"] ?? "/usr/bin/redis-server"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Starts Redis (no persistence) on `port` (a free one when 0) and waits until it is ready.
    static func start(port: Int = 0, password: String? = nil) async throws -> RedisServer {
        let binary = try Peers.require(binary, "redis-server (Debian package redis-server)")
        let chosen = port == 0 ? try freePort() : port
        var arguments = [binary, "--port", "\(chosen)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                         "--loglevel", "notice"]
        if let password { arguments += ["--requirepass", password] }
        let process = try Subprocess(arguments)
        do {
            _ = try await process.line(where: { $0.contains("Ready to accept connections") })
        } catch {
            process.stop()
            throw error
        }
        return RedisServer(process: process, port: chosen)
    }

    /// A port nobody listens on now (bound and released; the test starts its server right after).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw Subprocess.Failure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    var url: RedisURL { RedisURL(host: "127.0.0.1", port: UInt16(port)) }
}

/// What a ``RedisPubSub`` reported, in order.
final class PubSubRecorder: Sendable {
    enum Entry: Hashable, Sendable {
        case message(String)
        case state(RedisPubSub.StateChange)
    }
    private let entries = Lock<[Entry]>([])

    func record(_ entry: Entry) { entries.withLock { $0.append(entry) } }
    var all: [Entry] { entries.withLock { $0 } }
    var messages: [String] { all.compactMap { if case .message(let m) = $0 { m } else { nil } } }
    var states: [RedisPubSub.StateChange] { all.compactMap { if case .state(let s) = $0 { s } else { nil } } }

    /// Waits (bounded, polling) until `predicate` holds.
    func wait(_ what: String, timeout: Duration = .seconds(10), until predicate: (PubSubRecorder) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !predicate(self) {
            guard ContinuousClock.now < deadline else { throw Subprocess.Failure(description: "no \(what) in \(timeout): \(all)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func pubsub(_ url: RedisURL, channel: String = "test", limits: RESPParser.Limits = .init()) throws -> RedisPubSub {
        try RedisPubSub(url: url, channel: channel, group: Peers.loops,
                    backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200)),
                    session: RedisSession.Configuration(limits: limits),
                    onMessage: { [self] in record(.message(String(decoding: $0, as: UTF8.self))) },
                    onStateChange: { [self] in record(.state($0)) })
    }
}

@Suite("Interop: Redis pub/sub (redis-server)", .serialized, .timeLimit(.minutes(1)))
struct RedisInteropTests {
    /// Two pub/sub pairs on the same channel, both connected.
    static func connectedPair(_ url: RedisURL) async throws -> (PubSubRecorder, RedisPubSub, PubSubRecorder, RedisPubSub) {
        let (a, b) = (PubSubRecorder(), PubSubRecorder())
        let (pa, pb) = (try a.pubsub(url), try b.pubsub(url))
        pa.start(); pb.start()
        try await a.wait("connected") { $0.states == [.connected] }
        try await b.wait("connected") { $0.states == [.connected] }
        return (a, pa, b, pb)
    }

    @Test("Every subscriber, the publisher included, gets each message exactly once",
          .enabled(if: Peers.available(RedisServer.binary)))
    func fanOutExactlyOnce() async throws {
        let redis = try await RedisServer.start()
        defer { redis.process.stop() }
        let (a, pa, b, pb) = try await Self.connectedPair(redis.url)
        #expect(pa.isConnected)
        for i in 0..<50 { pa.publish(Array("a\(i)".utf8)) }
        pb.publish(Array("from b".utf8))
        let expected = (0..<50).map { "a\($0)" } + ["from b"]
        try await a.wait("all messages") { $0.messages.count >= expected.count }
        try await b.wait("all messages") { $0.messages.count >= expected.count }
        // A last round trip: anything duplicated would have arrived before it.
        pa.publish(Array("end".utf8))
        try await a.wait("end") { $0.messages.last == "end" }
        try await b.wait("end") { $0.messages.last == "end" }
        // Each exactly once, in the one order Redis gave them (one publisher's in its order).
        #expect(a.messages == b.messages)
        #expect(a.messages.sorted() == (expected + ["end"]).sorted())
        #expect(a.messages.filter { $0.hasPrefix("a") } == (0..<50).map { "a\($0)" })
        #expect(a.messages.last == "end")
        await pa.stop(); await pb.stop()
        #expect(a.states == [.connected])
    }

    @Test("Redis down: local delivery goes on, one line per state change, reconnect with backoff",
          .enabled(if: Peers.available(RedisServer.binary)))
    func outageAndReconnect() async throws {
        var redis = try await RedisServer.start()
        defer { redis.process.stop() }
        let (a, pa, b, pb) = try await Self.connectedPair(redis.url)
        redis.process.sendSignal(SIGKILL)
        _ = await redis.process.waitForExit()
        try await a.wait("disconnected") { $0.states.count == 2 }
        guard case .disconnected(let reason) = a.states[1] else { Issue.record("\(a.states)"); return }
        #expect(reason.contains("connection to redis://127.0.0.1:\(redis.port)"), "\(reason)")
        #expect(!pa.isConnected)
        pa.publish(Array("local".utf8))
        try await a.wait("local delivery") { $0.messages == ["local"] }
        // Retries go on (several backoff periods) without another line.
        try await Task.sleep(for: .milliseconds(500))
        #expect(a.states.count == 2)
        redis = try await RedisServer.start(port: redis.port)
        try await a.wait("reconnected") { $0.states.count == 3 }
        try await b.wait("reconnected") { $0.states.count == 3 }
        #expect(a.states.last == .connected)
        pa.publish(Array("shared again".utf8))
        try await b.wait("message through Redis") { $0.messages == ["shared again"] }
        try await a.wait("own message back") { $0.messages == ["local", "shared again"] }
        await pa.stop(); await pb.stop()
    }

    @Test("A wrong password is reported once, with the server's reason",
          .enabled(if: Peers.available(RedisServer.binary)))
    func wrongPassword() async throws {
        let redis = try await RedisServer.start(password: "right")
        defer { redis.process.stop() }
        let a = PubSubRecorder()
        var url = redis.url
        url.password = "wrong"
        let pa = try a.pubsub(url)
        pa.start()
        try await a.wait("failure") { !$0.states.isEmpty }
        try await Task.sleep(for: .milliseconds(300))
        #expect(a.states.count == 1)
        guard case .disconnected(let reason)? = a.states.first else { Issue.record("\(a.states)"); return }
        #expect(reason.contains("authentication failed"), "\(reason)")
        await pa.stop()
        url.password = "right"
        let b = PubSubRecorder()
        let pb = try b.pubsub(url)
        pb.start()
        try await b.wait("connected") { $0.states == [.connected] }
        await pb.stop()
    }

    @Test("A message too large to come back through the subscription stays local; nothing fails",
          .enabled(if: Peers.available(RedisServer.binary)))
    func oversizedMessageStaysLocal() async throws {
        let redis = try await RedisServer.start()
        defer { redis.process.stop() }
        let limits = RESPParser.Limits(maxBulkLength: 100)
        let (a, b) = (PubSubRecorder(), PubSubRecorder())
        let (pa, pb) = (try a.pubsub(redis.url, limits: limits), try b.pubsub(redis.url, limits: limits))
        pa.start(); pb.start()
        try await a.wait("connected") { $0.states == [.connected] }
        try await b.wait("connected") { $0.states == [.connected] }
        #expect(pa.largestPayload == 100)
        let largest = String(repeating: "x", count: 100)
        let over = String(repeating: "y", count: 101)
        pa.publish(Array(largest.utf8))
        pa.publish(Array(over.utf8))  // published, it would fail both subscribers (bulkTooLong(101))
        pa.publish(Array("after".utf8))
        try await b.wait("messages through Redis") { $0.messages == [largest, "after"] }
        try await a.wait("all messages") { $0.messages.count == 3 }
        // The local one at once (before or after the first came back), the others in order.
        #expect(a.messages.filter { $0 != over } == [largest, "after"])
        #expect(a.messages.contains(over))
        #expect(a.states == [.connected])
        #expect(b.states == [.connected])
        await pa.stop(); await pb.stop()
        // A value's limit counts too: the push around the payload (channel "test").
        let tight = RESPParser.Limits(maxBulkLength: 100, maxValueLength: 100)
        let pc = try PubSubRecorder().pubsub(redis.url, limits: tight)
        #expect(pc.largestPayload == 100 - 17 - 1 - 3 - 4 - 2 - 1 - 2 - 2 - 19)
    }
}
