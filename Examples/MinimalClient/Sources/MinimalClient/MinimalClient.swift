// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import WSProtocol

/// A blocking WebSocket client on plain POSIX sockets, with no event loop: the worked example of
/// the driver guide (WritingADriver.md). Each call blocks until it is done, and every wait ends at
/// the core's `nextDeadline` (handshake, keepalive and close timeouts) or at the socket's send
/// timeout. Tested on Linux.
///
/// Step 4, serialise calls: the value is not copyable, so one owner feeds one `Connection`.
public struct MinimalClient: ~Copyable {
    /// Why a call failed.
    public enum Failure: Error, Equatable {
        /// The host name did not resolve (the resolver's message).
        case hostNotFound(String)
        /// A system call failed with this `errno` (`EAGAIN` from `send`: the send timeout ran out).
        case system(operation: String, errno: Int32)
        /// The opening handshake failed: refused (with the status), timed out, invalid response.
        case handshake(HandshakeError)
        /// The connection refused the command (e.g. a send after the close handshake started).
        case usage(UsageError)
    }

    /// The defaults: the core's limits, plus a keepalive ping after 20 s of silence answered
    /// within 10 s, so that ``nextEvent()`` never waits without an end.
    public static var defaultConfiguration: Connection.Configuration {
        var configuration = Connection.Configuration()
        configuration.keepalive = .init(interval: .seconds(20), timeout: .seconds(10))
        return configuration
    }

    private let fd: Int32
    private var connection: Connection
    private var events: [Event] = []  // delivered by the core, not yet returned by nextEvent()
    private var unread: [UInt8]  // read past the 101 head: the connection's first input
    private var socketOpen = true

    /// Connects to a `ws://` URL and runs the opening handshake.
    /// - Parameters:
    ///   - sendTimeout: bounds `connect(2)` and every blocking write (`SO_SNDTIMEO`).
    /// - Throws: ``Failure``; the socket is closed then.
    public init(url: String, configuration: Connection.Configuration = MinimalClient.defaultConfiguration,
                handshakeTimeout: Duration = .seconds(10), sendTimeout: Int = 10) throws(Failure) {
        var options: ClientHandshake.Options
        do { options = try ClientHandshake.Options(url: url) } catch { throw .handshake(error) }
        options.configuration = configuration
        options.timeout = handshakeTimeout
        let fd = try connectTCP(host: options.host, port: options.effectivePort, sendTimeout: sendTimeout)
        var step = ClientHandshake.Step.needMoreData
        do throws(Failure) {
            // The handshake: write the request, then feed the response until the machine decides.
            var handshake: ClientHandshake
            do { handshake = try ClientHandshake(options: options, now: now(), entropy: ChaChaRandomNumberGenerator()) }
            catch { throw .handshake(error) }
            try writeAll(fd, handshake.requestBytes)
            while case .needMoreData = step {
                switch try waitForBytes(fd, until: handshake.nextDeadline) {  // the handshake's one timer
                case .bytes(let bytes): step = handshake.receive(bytes, now: now())
                case .endOfStream: step = handshake.receiveEndOfStream(now: now())
                case .timer: step = handshake.handleTimeout(now: now()) ?? .needMoreData
                }
            }
        } catch {
            closeSocket(fd)
            throw error
        }
        guard case .connected(let connection, let leftover, _) = step else {
            closeSocket(fd)
            guard case .failed(let error) = step else { preconditionFailure("unreachable: the loop ends on a decision") }
            throw .handshake(error)
        }
        self.fd = fd
        self.connection = connection
        self.unread = leftover
    }

    deinit {
        if socketOpen { closeSocket(fd) }
    }

    /// Sends a message.
    public mutating func send(_ message: Message) throws(Failure) {
        try command { connection, now throws(UsageError) in try connection.send(message, now: now) }
    }

    /// Sends a ping; its pong arrives as ``WSProtocol/Event/pong(_:)`` from ``nextEvent()``.
    public mutating func ping(_ payload: [UInt8] = []) throws(Failure) {
        try command { connection, now throws(UsageError) in try connection.ping(payload, now: now) }
    }

    /// Starts the close handshake; keep calling ``nextEvent()`` until `.closed` (messages the
    /// server sent meanwhile come first).
    public mutating func close(code: CloseCode = .normalClosure, reason: String = "") throws(Failure) {
        try command { connection, now throws(UsageError) in try connection.close(code: code, reason: reason, now: now) }
    }

    /// Blocks until the next event (message, ping, pong, close received, closed); `nil` once
    /// `.closed` was returned.
    public mutating func nextEvent() throws(Failure) -> Event? {
        if !unread.isEmpty {  // bytes read past the 101 head belong to the connection: fed first
            defer { unread = [] }
            try perform(connection.receive(unread, now: now()))
        }
        while events.isEmpty {
            if connection.isClosed { return nil }
            // Step 3: one timer, armed at the core's next deadline after every call.
            let happened = try waitForBytes(fd, until: connection.nextDeadline)
            // Step 1: feed it what happened, with the time from the monotonic clock.
            switch happened {
            case .bytes(let bytes): try perform(connection.receive(bytes, now: now()))
            case .endOfStream: try perform(connection.receiveEndOfStream(now: now()))
            case .timer: try perform(connection.handleTimeout(now: now()))
            }
        }
        return events.removeFirst()
    }

    /// Step 1, the application's commands: one call into the core, its outputs performed at once.
    private mutating func command(_ body: (inout Connection, Instant) throws(UsageError) -> [Connection.Output]) throws(Failure) {
        let outputs: [Connection.Output]
        do { outputs = try body(&connection, now()) } catch { throw .usage(error) }
        try perform(outputs)
    }

    /// Step 2: performs the outputs in order, right after the call that returned them.
    private mutating func perform(_ outputs: [Connection.Output]) throws(Failure) {
        for output in outputs {
            switch output {
            case .write(let bytes): try writeAll(fd, bytes)  // blocking: the kernel's buffer is ours
            case .deliver(let event): events.append(event)
            case .shutdownWrite: _ = shutdown(fd, Int32(SHUT_WR))
            case .closeTransport:
                closeSocket(fd)
                socketOpen = false
            }
        }
    }
}

/// What ended a wait.
private enum Happened { case bytes([UInt8]), endOfStream, timer }

/// The monotonic clock, as the core's `Instant`: the only clock this driver reads.
private func now() -> Instant {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Instant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
}

/// Blocks in `poll(2)` until the socket is readable or `deadline` passes, then reads once.
private func waitForBytes(_ fd: Int32, until deadline: Instant?) throws(MinimalClient.Failure) -> Happened {
    var timeout: Int32 = -1  // no deadline: wait for bytes
    if let deadline {
        let current = now().nanoseconds
        guard deadline.nanoseconds > current else { return .timer }
        // Rounded up, so the timer never fires early (early would be harmless, just wasted).
        timeout = Int32(clamping: (deadline.nanoseconds - current + 999_999) / 1_000_000)
    }
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = poll(&entry, 1, timeout)
    if ready == 0 || (ready < 0 && errno == EINTR) { return .timer }
    if ready < 0 { throw .system(operation: "poll", errno: errno) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count > 0 { return .bytes(Array(buffer[..<count])) }
    if count == 0 || errno == ECONNRESET { return .endOfStream }
    throw .system(operation: "read", errno: errno)
}

/// Writes every byte, blocking; `SO_SNDTIMEO` bounds each wait for room.
private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(MinimalClient.Failure) {
    var sent = 0
    while sent < bytes.count {
        let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
        if count < 0 && errno == EINTR { continue }
        if count < 0 { throw .system(operation: "send", errno: errno) }
        sent += count
    }
}

/// Resolves `host` and connects a blocking TCP socket to the first address that answers.
private func connectTCP(host: String, port: Int, sendTimeout: Int) throws(MinimalClient.Failure) -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let first = list else { throw .hostNotFound(String(cString: gai_strerror(status))) }
    defer { freeaddrinfo(list) }
    var lastError: Int32 = 0
    for info in sequence(first: first, next: { $0.pointee.ai_next }) {
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        if fd < 0 { lastError = errno; continue }
        var limit = timeval(tv_sec: sendTimeout, tv_usec: 0)  // bounds connect(2) and every write
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
        lastError = errno
        closeSocket(fd)
    }
    throw .system(operation: "connect", errno: lastError)
}

private func closeSocket(_ fd: Int32) { _ = close(fd) }
