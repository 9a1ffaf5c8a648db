// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// Why a Redis connection was given up.
public enum RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server refused `AUTH` (the server's message).
    case authenticationFailed(String)
    /// The server answered a command with an error (the server's message).
    case serverError(String)
    /// A reply that does not fit the command it answers.
    case unexpectedReply
    /// The server's bytes are not RESP2 within the limits.
    case protocolError(RESPError)
    /// No reply within ``RedisSession/Configuration/replyTimeout``.
    case timeout
    /// The server closed the connection.
    case closed

    /// One line for logs, e.g. `authentication failed: WRONGPASS …`.
    public var description: String {
        switch self {
        case .authenticationFailed(let m): return "authentication failed: \(m)"
        case .serverError(let m): return "server error: \(m)"
        case .unexpectedReply: return "unexpected reply"
        case .protocolError(let e): return "protocol error: \(e)"
        case .timeout: return "no reply in time"
        case .closed: return "connection closed by the server"
        }
    }
}

/// One Redis connection used for pub/sub, as a sans-I/O machine: bytes in, bytes to write and
/// what happened out, time injected.
///
/// A ``Role/publisher`` authenticates (`AUTH`), selects its database (`SELECT`), checks the
/// link with `PING`, and is then ready to `PUBLISH`. A ``Role/subscriber(channel:)`` does the
/// same and then `SUBSCRIBE`s; it is ready at the server's confirmation and reports every
/// message published to the channel. Both send `PING` when idle for
/// ``Configuration/pingInterval`` and fail when a reply is overdue by ``Configuration/replyTimeout``.
///
/// ```
/// start ─▶ AUTH? SELECT? PING|SUBSCRIBE ─▶ (replies) ─▶ ready ─▶ PUBLISH… / message…
///                           any error, timeout, close ─▶ failed (terminal)
/// ```
public struct RedisSession: Sendable {
    /// What this connection is for.
    public enum Role: Hashable, Sendable {
        /// Sends `PUBLISH` commands (``publish(_:to:now:)``); ready after the `PING` reply.
        case publisher
        /// `SUBSCRIBE`s to `channel` and reports its messages; ready at the server's
        /// subscription confirmation.
        case subscriber(channel: [UInt8])
    }

    /// Authentication, database, timers and reply limits of a session.
    public struct Configuration: Hashable, Sendable {
        /// `AUTH` with this user (Redis 6 ACLs) and password; no `AUTH` when the password is `nil`.
        public var username: String?
        /// The `AUTH` password; `nil` (default) sends no `AUTH`.
        public var password: String?
        /// `SELECT` this database first (pub/sub channels are global in Redis: the number does not
        /// separate them). `nil` or 0: no `SELECT`.
        public var database: Int?
        /// Idle time after which a `PING` checks the link. Default 5 s.
        public var pingInterval: Duration
        /// How long a reply may take. Default 5 s.
        public var replyTimeout: Duration
        /// Bounds on the server's replies.
        public var limits: RESPParser.Limits

        /// A configuration with each field as given. Defaults: no `AUTH`, no `SELECT`, a
        /// `PING` after 5 s idle, 5 s for a reply, and the default RESP limits.
        public init(username: String? = nil, password: String? = nil, database: Int? = nil,
                    pingInterval: Duration = .seconds(5), replyTimeout: Duration = .seconds(5),
                    limits: RESPParser.Limits = .init()) {
            self.username = username; self.password = password; self.database = database
            self.pingInterval = pingInterval; self.replyTimeout = replyTimeout; self.limits = limits
        }
    }

    /// What the driver must do or know after an input.
    public enum Output: Hashable, Sendable {
        /// Write these bytes.
        case write([UInt8])
        /// The connection is ready (publisher: may publish; subscriber: subscribed).
        case ready
        /// A message published to the subscribed channel.
        case message(channel: [UInt8], payload: [UInt8])
        /// The connection failed; close it (nothing follows).
        case failed(RedisError)
    }

    /// What a reply in flight answers.
    private enum Pending: Hashable {
        case auth, select, ping, subscribe, publish
    }

    /// Publisher or subscriber, fixed at creation.
    public let role: Role
    /// The settings the session was created with.
    public let configuration: Configuration
    private var parser: RESPParser
    /// Replies awaited, oldest first, with when each command was sent.
    private var pending: [(Pending, Instant)] = []
    private var pendingHead = 0
    private var lastActivity: Instant = .zero
    /// Whether the session is ready: ``Output/ready`` was returned and it has not failed
    /// since (a failure sets it back to `false`).
    public private(set) var isReady = false
    /// Whether the session has failed (``Output/failed(_:)`` was returned); terminal.
    public private(set) var isFailed = false
    private var started = false

    /// A session that has not started: call ``start(now:)`` once the connection is up.
    public init(role: Role, configuration: Configuration = .init()) {
        self.role = role
        self.configuration = configuration
        self.parser = RESPParser(limits: configuration.limits)
    }

    /// Replies still awaited.
    public var pendingReplies: Int { pending.count - pendingHead }

    /// The connection is up: the first commands to write.
    public mutating func start(now: Instant) -> [Output] {
        guard !started, !isFailed else { return [] }
        started = true
        lastActivity = now
        var bytes: [UInt8] = []
        if let password = configuration.password {
            bytes += configuration.username.map { RESPCommand.encode("AUTH", $0, password) } ?? RESPCommand.encode("AUTH", password)
            expect(.auth, now)
        }
        if let db = configuration.database, db != 0 {
            bytes += RESPCommand.encode("SELECT", String(db))
            expect(.select, now)
        }
        switch role {
        case .publisher:
            bytes += RESPCommand.encode("PING")
            expect(.ping, now)
        case .subscriber(let channel):
            bytes += RESPCommand.encode([Array("SUBSCRIBE".utf8), channel])
            expect(.subscribe, now)
        }
        return [.write(bytes)]
    }

    /// Publishes `payload` to `channel` (publisher, once ready).
    /// - Returns: the bytes to write, or `nil` when not ready (the caller delivers another way).
    public mutating func publish(_ payload: [UInt8], to channel: [UInt8], now: Instant) -> [Output]? {
        guard isReady, !isFailed, role == .publisher else { return nil }
        expect(.publish, now)
        return [.write(RESPCommand.encode([Array("PUBLISH".utf8), channel, payload]))]
    }

    /// Bytes read from the connection.
    public mutating func receive(_ bytes: some Collection<UInt8>, now: Instant) -> [Output] {
        guard !isFailed else { return [] }
        lastActivity = now
        parser.append(bytes)
        var out: [Output] = []
        while true {
            let value: RESPValue?
            do throws(RESPError) { value = try parser.next() } catch { return out + fail(.protocolError(error)) }
            guard let value else { break }
            if let failure = handle(value, into: &out) { return out + fail(failure) }
        }
        return out
    }

    /// The server closed the connection.
    public mutating func receiveEndOfStream(now: Instant) -> [Output] {
        guard !isFailed else { return [] }
        return fail(.closed)
    }

    /// When ``handleTimeout(now:)`` is due: a reply's deadline, or the next keepalive `PING`.
    public var nextDeadline: Instant? {
        guard started, !isFailed else { return nil }
        if pendingHead < pending.count { return pending[pendingHead].1 + configuration.replyTimeout }
        return lastActivity + configuration.pingInterval
    }

    /// Fails an overdue reply, or sends a keepalive `PING` when idle.
    public mutating func handleTimeout(now: Instant) -> [Output] {
        guard started, !isFailed, let deadline = nextDeadline, now >= deadline else { return [] }
        if pendingHead < pending.count { return fail(.timeout) }
        lastActivity = now
        expect(.ping, now)
        return [.write(RESPCommand.encode("PING"))]
    }

    // MARK: replies

    private mutating func expect(_ what: Pending, _ now: Instant) {
        pending.append((what, now))
    }

    private mutating func fail(_ error: RedisError) -> [Output] {
        isFailed = true
        isReady = false
        pending = []
        pendingHead = 0
        return [.failed(error)]
    }

    /// Handles one value; returns the failure it causes, if any.
    private mutating func handle(_ value: RESPValue, into out: inout [Output]) -> RedisError? {
        // A subscribed connection receives pushes (message, subscribe, pong) as arrays.
        if case .subscriber(let channel) = role, case .array(let items?) = value,
           let kind = items.first?.bytes.map({ String(decoding: $0, as: UTF8.self).lowercased() }) {
            switch kind {
            case "message":
                guard isReady, items.count == 3, let from = items[1].bytes, let payload = items[2].bytes else { return .unexpectedReply }
                out.append(.message(channel: from, payload: payload))
                return nil
            case "subscribe":
                guard take(.subscribe), items.count == 3, items[1].bytes == channel else { return .unexpectedReply }
                isReady = true
                out.append(.ready)
                return nil
            case "pong":
                return take(.ping) ? nil : .unexpectedReply
            default:
                return .unexpectedReply
            }
        }
        guard pendingHead < pending.count else { return .unexpectedReply }
        let what = pending[pendingHead].0
        if case .error(let message) = value {
            return what == .auth ? .authenticationFailed(message) : .serverError(message)
        }
        switch (what, value) {
        case (.auth, .simpleString), (.select, .simpleString):
            _ = take(what)
        case (.ping, .simpleString("PONG")):
            _ = take(.ping)
            if role == .publisher && !isReady {
                isReady = true
                out.append(.ready)
            }
        case (.publish, .integer):
            _ = take(.publish)
        default:
            return .unexpectedReply
        }
        return nil
    }

    /// Consumes the oldest awaited reply if it is `what`.
    private mutating func take(_ what: Pending) -> Bool {
        guard pendingHead < pending.count, pending[pendingHead].0 == what else { return false }
        pendingHead += 1
        if pendingHead == pending.count || pendingHead > 64 {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        return true
    }
}
