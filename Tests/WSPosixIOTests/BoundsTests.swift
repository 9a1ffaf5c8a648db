// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// Memory bounded by bytes and every wait on the peer bounded in time, over loopback, with
/// peers that misbehave: one that never reads, one that floods pings, one that trickles a frame.
@Suite("Bounds and timeouts against misbehaving peers", .timeLimit(.minutes(1)))
struct BoundsTests {
    /// Opens a WebSocket with a bare TCP peer (which then sends whatever a test scripts).
    static func rawUpgrade(_ address: SocketAddress) async throws -> RawTCP {
        let raw = try await RawTCP.connect(address)
        try raw.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let head = try await raw.read(until: { $0.count >= 4 && $0.suffix(4) == [13, 10, 13, 10] }, timeout: .seconds(20))
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
        return raw
    }

    /// A client frame masked with `key`, by default the zero key (RFC 6455 §5.3: the payload
    /// is unchanged), with the shortest length form.
    static func masked(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, key: [UInt8] = [0, 0, 0, 0]) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        switch payload.count {
        case 0..<126: frame.append(0x80 | UInt8(payload.count))
        case 126...0xFFFF: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [0x80 | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        return frame + key + payload.enumerated().map { $1 ^ key[$0 % 4] }
    }

    /// Polls `value` (and `progress`) every 20 ms until both stayed the same for 25 polls after
    /// `progress` reached `minimum` (or 20 s passed); returns the largest value seen.
    static func settle(_ value: () -> Int, progress: () -> Int = { 1 }, minimum: Int = 1) async throws -> Int {
        var last = (value(), progress()), highest = last.0, same = 0
        let deadline = ContinuousClock.now + .seconds(20)
        while (same < 25 || last.1 < minimum) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            let now = (value(), progress())
            highest = max(highest, now.0)
            same = now == last ? same + 1 : 0
            last = now
        }
        return highest
    }

    /// Writes `frame` again and again without reading, until the kernel has taken nothing for
    /// 500 ms while `holding()` says the server holds what makes it stop reading (so a server
    /// that is merely slow to get to the bytes, as under ThreadSanitizer, is waited for): then
    /// `stopped` is true. Otherwise it ends after `count` frames or a minute, `stopped` false.
    /// Returns the frames written whole.
    static func writeUntilBlocked(_ raw: RawTCP, frame: [UInt8], count: Int,
                                  holding: () -> Bool) async throws -> (frames: Int, stopped: Bool) {
        var frames = 0
        var pending: ArraySlice<UInt8> = frame[...]
        var blockedSince: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(60)
        while frames < count && ContinuousClock.now < deadline {
            let n = try pending.withUnsafeBytes { try Sys.write(raw.descriptor, $0) } ?? 0
            if n > 0 {
                pending = pending.dropFirst(n)
                if pending.isEmpty { frames += 1; pending = frame[...] }
                blockedSince = nil
                continue
            }
            if let since = blockedSince {
                if ContinuousClock.now - since > .milliseconds(500) && holding() { return (frames, true) }
            } else {
                blockedSince = .now
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return (frames, false)
    }

    /// The 16 MiB echo nobody reads: an echo server on the async API (as `ws serve`'s
    /// /echo) and a peer that sends 16 MiB messages and never reads the echoes. The echo's send
    /// suspends, events queue up; over the inbound budget the server stops reading, so the
    /// peer's writes stall and the server's buffered bytes stay bounded (inbound budget + one
    /// message queued, one being assembled, high-water mark + one message out): far below the
    /// twelve messages offered. Before, the backlog was bounded by event count (64 × 16 MiB).
    @Test func sixteenMiBEchoesNobodyReadsStayBounded() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.flowControl.sendTimeout = nil
        let server = try await Echo.server(configuration: configuration)
        let raw = try await Self.rawUpgrade(server.localAddress)
        let size = 16 << 20
        var frame: [UInt8] = [0x82, 0x80 | 127]
        for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: size >> shift)) }
        frame += [0, 0, 0, 0]  // zero masking key: the payload goes as it is
        frame += Echo.bytes(count: size, seed: 3)
        let flow = FlowControl()
        let written = try await Self.writeUntilBlocked(raw, frame: frame, count: 12) {
            server.bufferedBytes > flow.inboundBudget  // over its budget: it stops reading
        }
        let highest = try await Self.settle { server.bufferedBytes }
        #expect(written.stopped, "the server read \(written.frames) messages: it never stopped reading")
        let bound = flow.inboundBudget + flow.highWaterMark + 3 * size + ServerContext.accountingGranule
        #expect(highest <= bound, "the server buffered \(highest) bytes")
        #expect(highest > flow.inboundBudget, "the counter saw the backlog")  // it counts what it holds
        await server.shutdown(timeout: .seconds(1))
        // The events queued for the echo task count until it has taken them: after the
        // shutdown (which waits for the connections, not for the application's tasks) the
        // total falls to zero once the task has drained its closed connection.
        let deadline = ContinuousClock.now + .seconds(20)
        while server.bufferedBytes != 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.bufferedBytes == 0)
    }

    /// A peer floods pings and never reads the pongs: once the pongs queued (beyond what the
    /// kernel's socket buffers took) are over the high-water mark, the server stops reading, so
    /// the flood stalls in the kernel instead of growing our memory. Every ping of a read is
    /// answered (no per-read cap), so the pongs queued grow with the pings read however the
    /// kernel coalesces the writes into reads (with the default cap of 16, a slow server that
    /// reads many bursts at once answers few of them and could read any amount first).
    @Test func aPingFloodWithPongsUnreadStopsReading() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.connection.maxAutoPongsPerReceive = .max
        let server = try await Echo.server(configuration: configuration)
        let raw = try await Self.rawUpgrade(server.localAddress)
        let burst = Array(repeating: Self.masked(0x9, Array(repeating: 0x70, count: 125)), count: 64).flatMap { $0 }
        let flow = FlowControl()
        let limit = 96 << 20  // far more pongs than the socket buffers and the high-water mark hold
        // Done once the server holds pongs up to its mark (it stopped reading on purpose, not
        // because it is slow to get to the pings).
        let written = try await Self.writeUntilBlocked(raw, frame: burst, count: limit / burst.count) {
            server.bufferedBytes + ServerContext.accountingGranule > flow.highWaterMark
        }
        #expect(written.stopped, "the server read \(written.frames * burst.count) bytes of pings without stopping")
        let buffered = try await Self.settle { server.bufferedBytes }
        #expect(buffered > flow.highWaterMark / 2, "pongs queued: \(buffered) bytes")
        #expect(buffered <= flow.highWaterMark + Channel.writeBudget + ServerContext.accountingGranule,
                "pongs queued: \(buffered) bytes")
        await server.shutdown(timeout: .seconds(1))
    }

    /// A frame trickled in and then stalled fails the connection with 1008 "message timeout"
    /// once no byte came for ``Connection/Configuration/messageTimeout``.
    @Test func aTrickledFrameIsFailedWith1008() async throws {
        var configuration = WebSocketServer.Configuration()
        // Long enough that this test's own pauses between bytes, however the whole suite running
        // delays it, do not reach it (2 s did not always suffice; the bytes must be progress).
        configuration.connection.messageTimeout = .seconds(6)
        let closed = Lock<CloseInfo?>(nil), closedSeen = Signal()
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            for await event in ws {
                if case .closed(let info) = event {
                    closed.withLock { $0 = info }
                    closedSeen.fire()
                }
            }
        }
        let raw = try await Self.rawUpgrade(server.localAddress)
        let frame = Self.masked(0x1, Array("a message that never ends".utf8))
        for byte in frame.prefix(4) {
            try raw.write(bytes: [byte])
            try await Task.sleep(for: .milliseconds(20))  // progress: each byte moves the deadline
        }
        let (bytes, sawEOF) = try await raw.readToEnd(timeout: .seconds(20))
        #expect(bytes == [0x88, 17, 0x03, 0xF0] + Array("message timeout".utf8))
        #expect(sawEOF)
        // The handler task sees `.closed` on its own schedule, not before our EOF: wait for it.
        #expect(await closedSeen.wait())
        #expect(closed.withLock { $0 }?.error == .timeout(.message))
        #expect(closed.withLock { $0 }?.code == .policyViolation)
        await server.shutdown(timeout: .seconds(1))
    }

    /// A `send` to a peer that never reads fails with a typed timeout once the queued bytes made
    /// no progress for ``FlowControl/sendTimeout``, and the connection is dropped.
    @Test func aSendToAPeerThatNeverReadsTimesOut() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.flowControl.sendTimeout = .milliseconds(300)
        let failure = Lock<WebSocketError?>(nil)
        let done = Signal()
        let server = try await WebSocketServer.bind(port: 0, configuration: configuration) { ws in
            let chunk = [UInt8](repeating: 1, count: 1 << 20)
            do throws(WebSocketError) {
                for _ in 0..<1000 { try await ws.send(.binary(chunk)) }
            } catch {
                failure.withLock { $0 = error }
            }
            done.fire()
        }
        let raw = try await Self.rawUpgrade(server.localAddress)
        let finished = await done.wait(timeout: .seconds(20))
        #expect(finished)
        #expect(failure.withLock { $0 } == .timeout(.send))
        _ = raw
        await server.shutdown(timeout: .seconds(1))
    }

    /// WSPosixIO's defaults bound every wait: keepalive 20 s / 20 s, message timeout 30 s, send
    /// timeout 30 s; the idle timeout stays off.
    @Test func socketDefaultsBoundEveryWait() {
        for connection in [WebSocketServer.Configuration().connection, WebSocket.ClientConfiguration().connection] {
            #expect(connection.keepalive == .init(interval: .seconds(20), timeout: .seconds(20)))
            #expect(connection.messageTimeout == .seconds(30))
            #expect(connection.idleTimeout == nil)
        }
        #expect(FlowControl().sendTimeout == .seconds(30))
        #expect(FlowControl().inboundBudget == 4 << 20)
    }
}
