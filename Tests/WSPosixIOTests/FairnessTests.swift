// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// A raw client that upgrades and then writes binary frames as fast as the server takes them,
/// from a detached task, until told to stop (or a cap).
final class Flooder: Sendable {
    let stopFlag = Atomic<Bool>(false)
    let written = Atomic<Int>(0)
    let finished = Atomic<Bool>(false)

    /// 64 masked binary frames of 1 KiB each (mask key zero: the payload is sent as is).
    static let chunk: [UInt8] = {
        var frame: [UInt8] = [0x82, 0x80 | 126, 0x04, 0x00, 0, 0, 0, 0]
        frame += [UInt8](repeating: 0x5A, count: 1024)
        return Array([[UInt8]](repeating: frame, count: 64).joined())
    }()

    func start(port: Int, cap: Duration) async throws {
        let raw = try await RawTCP.connect(SocketAddress(numericHost: "127.0.0.1", port: UInt16(port))!)
        try raw.write("GET /flood HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        Task.detached { [self] in
            let deadline = MonotonicClock.now() + cap
            var offset = 0  // within the chunk: a partial write continues where it stopped
            while !stopFlag.load(ordering: .relaxed) && MonotonicClock.now() < deadline {
                let n: Int
                do { n = try raw.writeSome(Array(Self.chunk[offset...])) } catch { break }
                if n == 0 { try? await Task.sleep(for: .milliseconds(1)) }
                offset = (offset + n) % Self.chunk.count
                written.add(n, ordering: .relaxed)
            }
            finished.store(true, ordering: .releasing)
            withExtendedLifetime(raw) {}
        }
    }
}

/// A task that counts while it runs, and the flag that stops it.
final class TickerState: Sendable {
    let stop = Atomic<Bool>(false)
    let ticks = Atomic<Int>(0)
}

@Suite("Fairness on a loop thread", .timeLimit(.minutes(1)))
struct FairnessTests {
    /// One connection floods the server with frames faster than it can parse them; another on
    /// the same loop must still get its pings answered while the flood is going on. Without a
    /// per-readiness budget the loop keeps reading the flood and the pongs wait until it ends.
    @Test func aFloodingPeerDoesNotStarveAnotherConnectionOnItsLoop() async throws {
        let group = EventLoopGroup(threadCount: 1)  // both server connections on one loop
        var config = WebSocketServer.Configuration()
        config.group = group
        let flooded = Atomic<Int>(0)
        let underWay = Signal()  // the server has processed 2 MiB of the flood
        let server = try await WebSocketServer.bind(port: 0, configuration: config, onEvent: { ws, event in
            guard case .binary(let b) = event else { return }
            if flooded.add(b.count, ordering: .relaxed).newValue >= 2 << 20 { underWay.fire() }
        })
        let flooder = Flooder()
        try await flooder.start(port: server.port, cap: .seconds(30))
        #expect(await underWay.wait(timeout: .seconds(30)))
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/b")
        var it = ws.makeAsyncIterator()
        var pongs = 0
        let floodedBefore = flooded.load(ordering: .relaxed)
        for i in 0..<10 {
            try ws.ping([UInt8(i)])
            guard case .pong(let p)? = await it.next() else { break }
            #expect(p == [UInt8(i)])
            pongs += 1
        }
        let floodedAfter = flooded.load(ordering: .relaxed)
        let stillFlooding = !flooder.finished.load(ordering: .acquiring)
        flooder.stopFlag.store(true, ordering: .relaxed)
        #expect(pongs == 10)
        #expect(stillFlooding, "the round trips had to wait for the flood to end")
        #expect(floodedAfter > floodedBefore, "the flooding connection made progress meanwhile")
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    /// A connection handler working through a backlog never suspends on its own; it must still
    /// let other tasks on its loop run now and then (every ``Channel/eventsBetweenYields``).
    ///
    /// The backlog is built and checked, not assumed: the handler starts consuming only after
    /// the client has sent every message and had the pong to a ping sent after them (so the
    /// server has read them all), and it records how many events were waiting.
    @Test func aConsumerWorkingThroughABacklogLetsOthersOnItsLoopRun() async throws {
        let total = 3000
        let shared = TickerState()
        let backlogSent = Signal(), done = Signal()
        let result = Lock<(waiting: Int, seen: Int, longestRunWithoutTick: Int)?>(nil)
        var config = WebSocketServer.Configuration()
        config.flowControl = FlowControl(maxBufferedEvents: 100_000)  // let the backlog build up
        let server = try await WebSocketServer.bind(port: 0, configuration: config) { ws in
            let ticker = Task(executorPreference: ws.eventLoop) {
                while !shared.stop.load(ordering: .relaxed) {
                    shared.ticks.add(1, ordering: .relaxed)
                    await Task.yield()
                }
            }
            _ = await backlogSent.wait(timeout: .seconds(30))
            let waiting = ws.bufferedEventCount
            var seen = 0, run = 0, longest = 0
            var lastTick = shared.ticks.load(ordering: .relaxed)
            for await event in ws {
                guard case .binary = event else { continue }
                seen += 1
                let t = shared.ticks.load(ordering: .relaxed)
                if t == lastTick { run += 1; longest = max(longest, run) } else { run = 0; lastTick = t }
                if seen == total { break }
            }
            shared.stop.store(true, ordering: .relaxed)
            _ = await ticker.value
            result.withLock { $0 = (waiting, seen, longest) }
            done.fire()
            for await _ in ws {}
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        for i in 0..<total { try await ws.send(.binary([UInt8(truncatingIfNeeded: i), 1, 2, 3])) }
        try ws.ping([7])
        #expect(await it.next() == .pong([7]))
        backlogSent.fire()
        #expect(await done.wait(timeout: .seconds(30)))
        let r = try #require(result.withLock { $0 })
        #expect(r.waiting == total + 1, "events waiting when the handler started: \(r.waiting)")  // and the ping
        #expect(r.seen == total)
        #expect(r.longestRunWithoutTick <= 2 * Channel.eventsBetweenYields,
                "the consumer kept its loop for \(r.longestRunWithoutTick) events in a row")
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
