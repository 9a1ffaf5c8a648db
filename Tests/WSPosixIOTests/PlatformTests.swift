// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Platform layer: syscalls, descriptors, addresses, timers, loop", .timeLimit(.minutes(1)))
struct PlatformTests {
    @Test("Numeric addresses parse and print", arguments: [
        ("127.0.0.1", SocketAddress.Family.ipv4, "127.0.0.1:8080"),
        ("::1", .ipv6, "[::1]:8080"),
        ("[::1]", .ipv6, "[::1]:8080"),
        ("fe80::1:2", .ipv6, "[fe80::1:2]:8080"),
    ])
    func addresses(text: String, family: SocketAddress.Family, description: String) throws {
        let address = try #require(SocketAddress(numericHost: text, port: 8080))
        #expect(address.family == family)
        #expect(address.description == description)
        #expect(address.bytes.count == (family == .ipv4 ? 4 : 16))
    }

    @Test func hostNamesAreNotNumeric() {
        #expect(SocketAddress(numericHost: "localhost", port: 1) == nil)
        #expect(SocketAddress(numericHost: "256.0.0.1", port: 1) == nil)
    }

    @Test func descriptorIsClosedWhenItsOwnerGoes() async throws {
        let address: SocketAddress
        do {
            let owner = FileDescriptor(try Sys.socket(family: .ipv4))
            try Sys.bind(owner.raw, SocketAddress(numericHost: "127.0.0.1", port: 0)!)
            try Sys.listen(owner.raw, backlog: 4)
            address = try #require(Sys.localAddress(owner.raw))
            // Listening: a connect succeeds.
            let probe = try await RawTCP.connect(address)
            _ = probe
        }
        // The owner's deinit closed the listening socket: connecting is now refused.
        await #expect(throws: WebSocketError.connectionRefused) {
            _ = try await WebSocket.connect(address: address)
        }
    }

    @Test func nonBlockingReadWithNothingToReadIsNilNotAnError() async throws {
        let server = try await WebSocketServer.bind(port: 0) { _ in }
        let owner = FileDescriptor(try Sys.socket(family: .ipv4))
        _ = try Sys.connect(owner.raw, server.localAddress)
        for _ in 0..<500 where Sys.peerAddress(owner.raw) == nil { try await Task.sleep(for: .milliseconds(2)) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = try buffer.withUnsafeMutableBytes { try Sys.read(owner.raw, into: $0) }
        #expect(n == nil)  // EAGAIN is "nothing yet", handled in one place
        await server.shutdown(timeout: .milliseconds(100))
    }

    @Test func errnoIsClassified() {
        let refused = SystemError(errno: 111, operation: "connect")  // ECONNREFUSED on Linux
        #expect(refused.kind == .connectionRefused)
        #expect(WebSocketError(refused) == .connectionRefused)
        #expect(WebSocketError(SystemError(errno: 24, operation: "accept")) == .outOfResources)  // EMFILE
    }

    @Test func timerHeapPopsInDeadlineOrder() {
        final class Target: LoopHandler {
            var scheduledDeadline: Instant?
            func handleReadiness(_ event: PollEvent) {}
            func handleTimer() {}
        }
        var heap = TimerHeap()
        var state: UInt64 = 42
        var deadlines: [UInt64] = []
        for _ in 0..<200 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let d = state >> 40
            deadlines.append(d)
            heap.push(Instant(nanoseconds: d), Target())
        }
        var popped: [UInt64] = []
        while let e = heap.popDue(now: Instant(nanoseconds: .max)) { popped.append(e.deadline.nanoseconds) }
        #expect(popped == deadlines.sorted())
        #expect(heap.popDue(now: .zero) == nil)
    }

    @Test func monotonicClockNeverGoesBack() {
        var last = MonotonicClock.now()
        for _ in 0..<10_000 {
            let now = MonotonicClock.now()
            #expect(now >= last)
            last = now
        }
    }

    @Test func executeRunsOnTheLoopThread() async throws {
        let loop = try EventLoopGroup.shared.next()
        #expect(!loop.inEventLoop)
        let ran = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            loop.execute { c.resume(returning: loop.inEventLoop) }
        }
        #expect(ran)
    }
}
