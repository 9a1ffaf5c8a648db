// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol

/// Pub/sub over one Redis channel, driven by an ``EventLoop``: what one process publishes
/// reaches every process subscribed to the channel, this one included.
///
/// Two connections (Redis does not publish on a subscribed connection): a publisher and a
/// subscriber, each a ``RedisSession`` on a non-blocking socket of the loop. While both are
/// ready, ``publish(_:)`` sends to Redis and the message comes back through the subscription
/// (so every process, this one included, delivers it exactly once, and nothing is published
/// twice). While either is down, ``publish(_:)`` hands the message straight to `onMessage`:
/// local delivery goes on, other processes miss it. Each connection reconnects on its own with
/// ``Backoff``; `onStateChange` is called once per change of the pair's state (up, or down
/// with the first reason), never per retry.
///
/// Bounded: replies are parsed within ``RESPParser/Limits``; when more than
/// ``outboundBudget`` bytes wait to be written to Redis, a published message is delivered
/// locally instead (as when Redis is down). So is a message too large for the subscribers'
/// limits (``largestPayload``): published, it would come back over them and fail the
/// subscriber of every process.
public final class RedisPubSub: Sendable {
    /// A change of the pair's state.
    public enum StateChange: Hashable, Sendable {
        /// Both connections are ready: messages go through Redis.
        case connected
        /// A connection failed (or never came up): messages stay local until both are back.
        case disconnected(reason: String)
    }

    /// Bytes allowed to wait for the publisher's socket before messages are delivered locally.
    public static let outboundBudget = 8 << 20

    /// The Redis server both connections use.
    public let url: RedisURL
    /// The channel published to and subscribed to: the UTF-8 bytes of the name given to
    /// ``init(url:channel:group:backoff:session:onMessage:onStateChange:)``.
    public let channel: [UInt8]
    let loop: EventLoop
    private let core: Core

    /// A publisher and subscriber pair for `channel` on the server at `url`, on one loop of
    /// `group`. Nothing connects until ``start()``.
    ///
    /// - Parameters:
    ///   - url: the server (its database number is `SELECT`ed; Redis channels are global anyway).
    ///   - channel: the channel to publish to and subscribe to.
    ///   - group: the event loops; the two Redis connections run on one of them.
    ///   - backoff: the delays between reconnect attempts.
    ///   - session: ping interval, reply timeout, limits (user and password come from `url`).
    ///   - onMessage: each message, on the loop thread (it must not block).
    ///   - onStateChange: each change of state, on the loop thread.
    /// - Throws: ``WebSocketError`` when the group's loops cannot be made (out of descriptors).
    public init(url: RedisURL, channel: String, group: EventLoopGroup = .shared, backoff: Backoff = .init(),
                session: RedisSession.Configuration = .init(),
                onMessage: @escaping @Sendable ([UInt8]) -> Void,
                onStateChange: @escaping @Sendable (StateChange) -> Void) throws(WebSocketError) {
        self.url = url
        self.channel = Array(channel.utf8)
        do {
            self.loop = try group.next()
        } catch {
            throw WebSocketError(error)
        }
        var configuration = session
        configuration.username = url.username
        configuration.password = url.password
        configuration.database = url.database
        core = Core(loop: loop, url: url, channel: Array(channel.utf8), backoff: backoff, configuration: configuration,
                    onMessage: onMessage, onStateChange: onStateChange)
    }

    /// The largest payload published through Redis: one whose `message` push fits the
    /// subscribers' ``RESPParser/Limits`` (`maxBulkLength`, `maxValueLength`) of `session`.
    /// Larger ones are delivered locally. With the default limits, 16 MiB.
    public var largestPayload: Int { core.largestPayload }

    /// Whether messages currently go through Redis.
    public var isConnected: Bool { core.connected.load(ordering: .acquiring) }

    /// Starts connecting (both connections); returns at once. Failures are reported through
    /// `onStateChange` and retried.
    public func start() {
        loop.execute { [core] in core.start() }
    }

    /// Publishes `payload` to the channel, or hands it to `onMessage` when Redis is not
    /// available (see the type's overview). Any thread.
    public func publish(_ payload: [UInt8]) {
        loop.execute { [core] in core.publish(payload) }
    }

    /// Closes both connections and stops reconnecting.
    public func stop() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            loop.execute { [core] in
                core.stop()
                c.resume()
            }
        }
    }

    /// The loop-confined state of the pair.
    final class Core: @unchecked Sendable {
        let loop: EventLoop
        let url: RedisURL
        let channel: [UInt8]
        let onMessage: @Sendable ([UInt8]) -> Void
        let onStateChange: @Sendable (StateChange) -> Void
        let connected = Atomic<Bool>(false)
        /// See ``RedisPubSub/largestPayload``.
        let largestPayload: Int
        var publisher: RedisLink!
        var subscriber: RedisLink!
        /// What was last reported (`nil`: nothing yet).
        var reported: Bool?
        var stopped = false

        init(loop: EventLoop, url: RedisURL, channel: [UInt8], backoff: Backoff, configuration: RedisSession.Configuration,
             onMessage: @escaping @Sendable ([UInt8]) -> Void, onStateChange: @escaping @Sendable (StateChange) -> Void) {
            self.loop = loop; self.url = url; self.channel = channel
            self.onMessage = onMessage; self.onStateChange = onStateChange
            largestPayload = Self.largestPayload(channel: channel, limits: configuration.limits)
            publisher = RedisLink(core: self, role: .publisher, backoff: backoff, configuration: configuration)
            subscriber = RedisLink(core: self, role: .subscriber(channel: channel), backoff: backoff, configuration: configuration)
        }

        func start() {
            publisher.connect()
            subscriber.connect()
        }

        func stop() {
            stopped = true
            publisher.close()
            subscriber.close()
            connected.store(false, ordering: .releasing)
        }

        /// The largest payload whose push `*3 $7 message $c channel $n payload` fits `limits`.
        static func largestPayload(channel: [UInt8], limits: RESPParser.Limits) -> Int {
            // The push without the payload's digits and bytes: "*3\r\n$7\r\nmessage\r\n" (17),
            // "$c\r\nchannel\r\n", "$" and two CRLFs; the payload's length has at most 19 digits.
            let around = 17 + String(channel.count).utf8.count + 3 + channel.count + 2 + 1 + 2 + 2 + 19
            return max(min(limits.maxBulkLength, limits.maxValueLength < around ? 0 : limits.maxValueLength - around), 0)
        }

        func publish(_ payload: [UInt8]) {
            if connected.load(ordering: .relaxed), payload.count <= largestPayload,
               publisher.pendingBytes < RedisPubSub.outboundBudget,
               publisher.publish(payload, to: channel) {
                return
            }
            onMessage(payload)
        }

        /// A link became ready or failed: report the pair's change, if any.
        func linkChanged(reason: String?) {
            let up = publisher.isReady && subscriber.isReady && !stopped
            connected.store(up, ordering: .releasing)
            if stopped { return }
            if up && reported != true {
                reported = true
                onStateChange(.connected)
            } else if !up, let reason, reported != false {
                reported = false
                onStateChange(.disconnected(reason: reason))
            }
        }
    }
}

/// One connection to Redis on a loop: connects, runs its ``RedisSession``, writes what it asks
/// for, and reconnects after a failure with backoff. Loop thread only.
final class RedisLink: LoopHandler {
    /// The pair; `nil` once its ``RedisPubSub`` is gone (the link then closes itself).
    weak var core: RedisPubSub.Core?
    let loop: EventLoop
    let url: RedisURL
    let role: RedisSession.Role
    let backoff: Backoff
    let configuration: RedisSession.Configuration
    var timerSlot = 0

    private enum Phase {
        case idle
        case connecting(deadline: Instant)
        case open
        case waiting(until: Instant)
    }
    private var phase = Phase.idle
    private var socket: FileDescriptor?
    private var session: RedisSession
    private var outbound: [UInt8] = []
    private var outboundStart = 0
    private var attempt = 0
    private var generator = SystemRandomNumberGenerator()
    private var writeInterest = false
    /// How long a TCP connect to Redis may take.
    static let connectTimeout: Duration = .seconds(5)

    init(core: RedisPubSub.Core, role: RedisSession.Role, backoff: Backoff, configuration: RedisSession.Configuration) {
        self.core = core; self.loop = core.loop; self.url = core.url; self.role = role; self.backoff = backoff; self.configuration = configuration
        session = RedisSession(role: role, configuration: configuration)
    }

    var isReady: Bool { session.isReady }
    var pendingBytes: Int { outbound.count - outboundStart }

    func connect() {
        guard let core, !core.stopped else { return }
        session = RedisSession(role: role, configuration: configuration)
        outbound = []
        outboundStart = 0
        let now = loop.refreshNow()
        guard let address = SocketAddress(numericHost: url.host, port: url.port) ?? Self.resolve(url) else {
            fail("cannot resolve \(url.host)", now: now)
            return
        }
        do throws(SystemError) {
            let fd = try Sys.socket(family: address.family)
            socket = FileDescriptor(fd)
            try loop.register(self, fd: fd, read: false, write: true)
            writeInterest = true
            phase = .connecting(deadline: now + Self.connectTimeout)
            if try Sys.connect(fd, address) { connected(now: now) }
        } catch {
            fail("\(WebSocketError(error))", now: now)
            return
        }
        reschedule()
    }

    /// Numeric hosts need no lookup; a name is resolved on the loop thread (blocking, rarely:
    /// once per connect attempt), which is why `ws` suggests numeric addresses.
    private static func resolve(_ url: RedisURL) -> SocketAddress? {
        if case .success(let addresses) = Sys.resolve(host: url.host, port: url.port) { return addresses.first }
        return nil
    }

    func publish(_ payload: [UInt8], to channel: [UInt8]) -> Bool {
        guard case .open = phase, let outputs = session.publish(payload, to: channel, now: loop.now) else { return false }
        perform(outputs)
        return true
    }

    func close() {
        if let fd = socket?.raw { loop.deregister(fd: fd) }
        loop.cancelTimer(self)  // (no reconnect after a close; the loop lets go of the link)
        socket = nil
        phase = .idle
        session = RedisSession(role: role, configuration: configuration)
    }

    private func connected(now: Instant) {
        guard let fd = socket?.raw else { return }
        try? Sys.setNoDelay(fd)
        phase = .open
        loop.setInterest(fd: fd, read: true, write: false)
        writeInterest = false
        perform(session.start(now: now))
    }

    private func perform(_ outputs: [RedisSession.Output]) {
        for output in outputs {
            switch output {
            case .write(let bytes):
                outbound += bytes
            case .ready:
                attempt = 0
                core?.linkChanged(reason: nil)
            case .message(_, let payload):
                core?.onMessage(payload)
            case .failed(let error):
                fail("\(error)", now: loop.now)
                return
            }
        }
        flush()
    }

    private func flush() {
        guard case .open = phase, let fd = socket?.raw else { return }
        while outboundStart < outbound.count {
            let result = outbound[outboundStart...].withUnsafeBytes { raw -> Result<Int?, SystemError> in
                do throws(SystemError) { return .success(try Sys.write(fd, raw)) } catch { return .failure(error) }
            }
            guard case .success(let written) = result else {
                if case .failure(let error) = result { fail("\(WebSocketError(error))", now: loop.now) }
                return
            }
            guard let written else { break }
            outboundStart += written
        }
        if outboundStart == outbound.count {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 64 << 10)
            outboundStart = 0
        } else if outboundStart > outbound.count / 2 {
            outbound.removeFirst(outboundStart)
            outboundStart = 0
        }
        let wantWrite = outboundStart < outbound.count
        if wantWrite != writeInterest {
            writeInterest = wantWrite
            loop.setInterest(fd: fd, read: true, write: wantWrite)
        }
    }

    /// Closes the socket, reports, and schedules the next attempt.
    private func fail(_ reason: String, now: Instant) {
        if let fd = socket?.raw { loop.deregister(fd: fd) }
        socket = nil
        session = RedisSession(role: role, configuration: configuration)
        outbound = []
        outboundStart = 0
        let which = role == .publisher ? "publisher" : "subscriber"
        core?.linkChanged(reason: "\(which) connection to \(url): \(reason)")
        guard let core, !core.stopped else { phase = .idle; return }
        let delay = backoff.delay(attempt: attempt, using: &generator)
        attempt += 1
        phase = .waiting(until: now + delay)
        reschedule()
    }

    private func reschedule() {
        let deadline: Instant?
        switch phase {
        case .idle: deadline = nil
        case .connecting(let d): deadline = d
        case .waiting(let d): deadline = d
        case .open: deadline = session.nextDeadline
        }
        if let deadline { loop.schedule(self, at: deadline) }
    }

    func handleReadiness(_ event: PollEvent) {
        guard core != nil else { close(); return }
        guard let fd = socket?.raw else { return }
        let now = loop.now
        if case .connecting = phase {
            guard event.writable || event.hangup else { return }
            let code = Sys.pendingError(fd)
            if code != 0 {
                fail("\(WebSocketError(SystemError(errno: code, operation: "connect")))", now: now)
            } else {
                connected(now: now)
                reschedule()
            }
            return
        }
        if event.writable { flush() }
        if event.readable || event.hangup {
            let buffer = loop.readBuffer
            for _ in 0..<4 {
                guard socket != nil else { return }
                let n: Int?
                do throws(SystemError) { n = try Sys.read(fd, into: buffer) } catch {
                    fail("\(WebSocketError(error))", now: now)
                    return
                }
                guard let n else { break }
                if n == 0 {
                    perform(session.receiveEndOfStream(now: now))
                    return
                }
                perform(session.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: now))
                if n < buffer.count { break }
            }
        }
        if socket != nil { reschedule() }
    }

    func handleTimer() {
        guard core != nil else { close(); return }
        let now = loop.refreshNow()
        switch phase {
        case .idle:
            return
        case .connecting(let deadline):
            if now >= deadline { fail("connect timed out", now: now); return }
        case .waiting(let until):
            if now >= until { connect(); return }
        case .open:
            perform(session.handleTimeout(now: now))
        }
        reschedule()
    }
}
