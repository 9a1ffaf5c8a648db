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

    /// The loop's clock after a wait (`MonotonicClock.coarse(notBefore:)`): never earlier than
    /// the reading before it, never ahead of the precise clock, at most a tick behind it.
    @Test func theCoarseClockNeverRunsBackwardsNorAhead() {
        let later = MonotonicClock.now().adding(nanoseconds: 1_000_000_000)
        #expect(MonotonicClock.coarse(notBefore: later) == later)
        for _ in 0..<1000 {
            let before = MonotonicClock.now()
            let coarse = MonotonicClock.coarse(notBefore: .zero)
            let after = MonotonicClock.now()
            #expect(coarse <= after)
            // A tick is 1–10 ms (HZ 1000 to 100); 50 ms leaves room for a descheduled thread.
            #expect(coarse.nanoseconds + 50_000_000 >= before.nanoseconds)
        }
    }

    /// The loop's spare wakeups record (`EventLoop.withSpareWakeups`, a send's or a park's on
    /// the loop thread): empty at every use whatever the use before left in it, and a use
    /// nested in another (an event handler run by its wakeups, sending) gets a record of its
    /// own, leaving the outer one as it was.
    @Test func theSpareWakeupsRecordIsEmptyAtEachUseAndNotSharedWhenNested() async throws {
        let group = EventLoopGroup(threadCount: 1)
        let loop = try group.loops[0]
        let seen = await withCheckedContinuation { (done: CheckedContinuation<[Bool], Never>) in
            loop.execute {
                var seen: [Bool] = []
                loop.withSpareWakeups(onLoop: true) { w in
                    seen.append(w.isEmpty)
                    w.needsLoop = true
                    w.bufferedDelta = 7
                    loop.withSpareWakeups(onLoop: true) { inner in
                        seen.append(inner.isEmpty)
                        inner.bufferedDelta = 1
                    }
                    seen.append(w.needsLoop && w.bufferedDelta == 7)
                }
                loop.withSpareWakeups(onLoop: true) { w in
                    seen.append(w.isEmpty)
                    w.opened = true
                }
                loop.withSpareWakeups(onLoop: true) { w in seen.append(w.isEmpty) }
                done.resume(returning: seen)
            }
        }
        #expect(seen == [true, true, true, true, true])
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

    final class TimerTarget: LoopHandler {
        var timerSlot = 0
        let id: Int
        init(_ id: Int) { self.id = id }
        func handleReadiness(_ event: PollEvent) {}
        func handleTimer() {}
    }

    @Test func timerHeapPopsInDeadlineOrder() {
        var heap = TimerHeap()
        var state: UInt64 = 42
        var deadlines: [UInt64] = []
        for i in 0..<200 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let d = state >> 40
            deadlines.append(d)
            heap.schedule(Instant(nanoseconds: d), TimerTarget(i))
        }
        #expect(heap.isConsistent())
        var popped: [UInt64] = []
        while let target = heap.popDue(now: Instant(nanoseconds: .max)) {
            popped.append(deadlines[(target as! TimerTarget).id])
            #expect(target.timerSlot == 0)
        }
        #expect(popped == deadlines.sorted())
        #expect(heap.popDue(now: .zero) == nil)
    }

    /// One timer per handler: an earlier deadline moves it, a later one leaves it, a cancel
    /// removes it (and the heap's reference). Random operations against a plain model, the heap
    /// order and every slot checked after each.
    @Test func timerHeapMovesAndCancelsInPlace() {
        var heap = TimerHeap()
        let targets = (0..<40).map { TimerTarget($0) }
        var model: [Int: UInt64] = [:]  // target → deadline
        var state: UInt64 = 7
        func next(_ n: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % n
        }
        for _ in 0..<5_000 {
            let t = Int(next(40))
            switch next(4) {
            case 0, 1:
                let d = 1 + next(1_000)
                heap.schedule(Instant(nanoseconds: d), targets[t])
                if model[t].map({ d < $0 }) ?? true { model[t] = d }
            case 2:
                heap.cancel(targets[t])
                model[t] = nil
            default:
                // Pop everything due by a random time, in deadline order.
                let now = next(1_000)
                var last: UInt64 = 0
                while let target = heap.popDue(now: Instant(nanoseconds: now)) {
                    let id = (target as! TimerTarget).id
                    let d = model.removeValue(forKey: id)
                    #expect(d != nil && d! <= now && d! >= last)
                    last = d ?? last
                }
                #expect(model.values.allSatisfy { $0 > now })
            }
            #expect(heap.isConsistent())
            #expect(heap.count == model.count)
            #expect(targets.allSatisfy { heap.deadline(of: $0)?.nanoseconds == model[$0.id] })
        }
        // A cancelled handler is no longer referenced by the heap.
        weak var gone: TimerTarget?
        do {
            let t = TimerTarget(99)
            gone = t
            heap.schedule(Instant(nanoseconds: 5), t)
            heap.cancel(t)
        }
        #expect(gone == nil)
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

    /// A NUL inside a host is refused, not cut off where a C string would end: no address
    /// from the text before it, no lookup of that text, no server bound to it.
    @Test func aHostWithANulByteIsRefused() async throws {
        for text in ["127.0.0.1\u{0}", "127.0.0.1\u{0}.evil.example", "::1\u{0}x", "[::1\u{0}]"] {
            #expect(SocketAddress(numericHost: text, port: 80) == nil)
            #expect(IPAddressPrefix(text) == nil)
        }
        guard case .failure(let failure) = Sys.resolve(host: "localhost\u{0}.evil.example", port: 80) else {
            Issue.record("a name with a NUL was resolved")
            return
        }
        #expect(failure.message == "the name holds a NUL byte")
        await #expect(throws: WebSocketError.hostNotFound(host: "127.0.0.1\u{0}x", message: "the name holds a NUL byte")) {
            try await WebSocketServer.bind(host: "127.0.0.1\u{0}x", port: 0) { _ in }
        }
    }

    /// A group of no thread (or fewer) is refused with a typed error at its first use, as a
    /// refused loop descriptor is, instead of stopping the process when it is created; a server
    /// or client on it fails to start.
    @Test func aGroupOfNoThreadThrowsAtFirstUse() async throws {
        for count in [0, -3] {
            let group = EventLoopGroup(threadCount: count)
            let refusal = SystemError(errno: Sys.invalidArgument, operation: "EventLoopGroup(threadCount: \(count))")
            #expect(throws: refusal) { try group.next() }
            #expect(throws: refusal) { try group.loops }
        }
        let expected = WebSocketError.unsupportedSocketOperation(
            "\(SystemError(errno: Sys.invalidArgument, operation: "EventLoopGroup(threadCount: 0)"))")
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.group = EventLoopGroup(threadCount: 0)
        await #expect(throws: expected) {
            try await WebSocketServer.bind(port: 0, configuration: serverConfiguration) { _ in }
        }
        let server = try await Echo.server()
        var clientConfiguration = WebSocket.ClientConfiguration()
        clientConfiguration.group = EventLoopGroup(threadCount: 0)
        await #expect(throws: expected) {
            try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: clientConfiguration)
        }
        await server.shutdown(timeout: .seconds(1))
    }
}
