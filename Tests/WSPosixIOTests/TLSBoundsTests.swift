// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTLS

/// The inbound and outbound bounds over TLS, against a peer that plays its TLS by hand.
@Suite("Bounds over TLS against misbehaving peers", .timeLimit(.minutes(1)))
struct TLSBoundsTests {
    /// Encrypts `burst` again and again (in records of 16 KiB, as Python's `ssl` writes) and
    /// writes it without reading, until the kernel has taken nothing for 500 ms (`stopped`), or
    /// `count` bursts or 30 s went by. Returns the bursts written whole and the largest value
    /// `watch` gave between writes.
    static func floodUntilBlocked(_ raw: RawTCP, _ engine: TLSEngine, burst: [UInt8], count: Int,
                                  watch: () -> Int) async throws -> (bursts: Int, stopped: Bool, highest: Int) {
        var highest = 0
        var bursts = 0
        var pending: ArraySlice<UInt8> = []
        var blockedSince: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(30)
        while bursts < count && ContinuousClock.now < deadline {
            highest = max(highest, watch())
            if pending.isEmpty {
                var wire: [UInt8] = []
                for start in stride(from: 0, to: burst.count, by: 16384) {
                    try burst[start..<min(start + 16384, burst.count)].withUnsafeBytes { try engine.send($0, into: &wire) }
                }
                pending = wire[...]
            }
            let n = try pending.withUnsafeBytes { try Sys.write(raw.descriptor, $0) } ?? 0
            if n > 0 {
                pending = pending.dropFirst(n)
                if pending.isEmpty { bursts += 1 }
                blockedSince = nil
                continue
            }
            if let since = blockedSince {
                if ContinuousClock.now - since > .milliseconds(500) { return (bursts, true, highest) }
            } else {
                blockedSince = .now
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return (bursts, false, highest)
    }

    /// How the server's handler takes its events.
    enum Consumer: CaseIterable {
        /// Takes none: they wait against the event cap and the budget.
        case none
        /// `for await event in ws` (copies).
        case iterating
        /// `next(message:)`, as `ws serve`'s /echo (borrowed bytes, parked on the loop).
        case inPlace
    }

    /// A peer floods 125-byte pings over TLS and reads nothing: the server stops reading once
    /// its pongs, unread, are over the high-water mark (or 64 events wait for a handler that
    /// takes none), so what it holds, during the flood and after, stays within the mark and
    /// two reads. (The events' own array was not counted here: see
    /// `EventQueueTests.aQueueThatNeverRunsEmptyHoldsOnlyItsEvents`.)
    @Test(arguments: Consumer.allCases)
    func aPingFloodOverTLSStopsReading(consumer: Consumer) async throws {
        let release = Signal()
        let server = try await WebSocketServer.bind(port: 0, configuration: TLSLoopbackTests.serverConfiguration()) { ws in
            switch consumer {
            case .none:
                _ = await release.wait()
                _ = ws
            case .iterating:
                for await _ in ws {}
            case .inPlace:
                var events = ws.makeAsyncIterator()
                while await events.next(message: { kind, bytes in try? ws.enqueue(kind, bytes: bytes) }) != nil {}
            }
        }
        let raw = try await RawTCP.connect(server.localAddress, receiveBuffer: 4096)
        let (engine, head) = try await TLSLoopbackTests.upgradeByHand(raw)
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101 "))
        let burst = Array(repeating: BoundsTests.masked(0x9, Array(repeating: 0x70, count: 125)), count: 512).flatMap { $0 }
        let written = try await Self.floodUntilBlocked(raw, engine, burst: burst, count: (256 << 20) / burst.count) { server.bufferedBytes }
        let highest = max(written.highest, try await BoundsTests.settle { server.bufferedBytes })
        let flow = FlowControl()
        #expect(written.stopped, "the server read \(written.bursts * burst.count) bytes of pings without stopping")
        #expect(highest <= flow.highWaterMark + 2 * EventLoop.readBufferSize + ServerContext.accountingGranule,
                "the server held \(highest) bytes after \(written.bursts * burst.count) bytes of pings")
        release.fire()
        await server.shutdown(timeout: .seconds(1))
    }
}
