// SPDX-License-Identifier: Apache-2.0

/// The server side of the opening handshake over HTTP/1.1 (RFC 6455 §4.2).
///
/// Feed it the bytes a client sends. Once the head is complete it returns one of:
/// - ``Step/upgradeRequest(_:)``: a valid WebSocket request; decide with ``accept(_:subprotocol:extensions:headers:configuration:now:date:entropy:)``
///   (→ the 101 response bytes and a ready ``Connection``) or ``reject(status:reason:headers:body:date:)``;
/// - ``Step/notAnUpgrade(_:)``: plain HTTP (e.g. `GET /` for a page, with the `Host` field
///   RFC 9112 §3.2 requires); answer it yourself, for
///   example with ``HTTPResponseHead/bytes(body:)``;
/// - ``Step/invalid(_:response:)``: a bad upgrade; write the response and close.
///
/// ```swift
/// var hs = ServerHandshake(now: clock.now)
/// switch hs.receive(bytes, now: clock.now) {
/// case .needMoreData: break
/// case .upgradeRequest(let request):
///     let (response, connection, leftover) = try hs.accept(request, subprotocol: request.subprotocols.first, now: clock.now)
///     write(response); var conn = connection; outputs = conn.receive(leftover, now: clock.now)
/// case .notAnUpgrade(let head): write(HTTPResponseHead(status: 200).bytes(body: page))
/// case .invalid(_, let response): write(response); close()
/// }
/// ```
///
/// The core has no clock, so the responses it writes carry no `Date` field unless the driver
/// passes one: `date:` on ``receive(_:now:date:)``, ``handleTimeout(now:date:)``, `accept` and
/// `reject` (an ``HTTPDate`` made from its wall clock). "An origin server with a clock MUST
/// generate a Date header field in all 2xx, 3xx, and 4xx responses" (RFC 9110 §6.6.1); with a
/// date, every response written here carries one, the 101 and 5xx included (the RFC allows it
/// there, and nginx and Python websockets send it), unless the application's headers have one.
public struct ServerHandshake: Sendable {
    /// Limits and the timeout for reading the request head.
    public struct Options: Sendable {
        /// Head size and field count limits.
        public var limits: HTTPHeadParser.Limits = .init()
        /// How long the whole request head may take to arrive (→ 408). Default 10 s, as
        /// Python websockets' `open_timeout`; it bounds slow-loris clients.
        public var timeout: Duration = .seconds(10)

        /// Options with the given `limits` (default 16 KiB head, 100 fields, 8 KiB request
        /// line) and head `timeout` (default 10 s).
        public init(limits: HTTPHeadParser.Limits = .init(), timeout: Duration = .seconds(10)) {
            self.limits = limits; self.timeout = timeout
        }
    }

    /// The result of an input.
    public enum Step: Sendable {
        /// The head is incomplete; read more.
        case needMoreData
        /// A valid upgrade request awaiting the application's decision.
        case upgradeRequest(UpgradeRequest)
        /// A well-formed HTTP request that is not a WebSocket upgrade.
        case notAnUpgrade(HTTPRequestHead)
        /// A bad request, a timeout or end of stream: write `response` (empty when there is
        /// nothing to say, e.g. after end of stream) and close the transport.
        case invalid(HandshakeError, response: [UInt8])
    }

    private enum State: Sendable {
        case readingHead(deadline: Instant)
        case awaitingDecision
        case finished
    }

    /// The options in force.
    public let options: Options
    private var parser: HTTPHeadParser
    private var state: State
    /// The bytes received after the request head (first frames sent early, or a pipelined
    /// request after a plain HTTP one). ``accept(_:subprotocol:extensions:headers:configuration:now:date:entropy:)``
    /// hands them over.
    public private(set) var leftover: [UInt8] = []

    /// Starts waiting for a request head; the timeout runs from `now`.
    public init(options: Options = .init(), now: Instant) {
        self.options = options
        parser = HTTPHeadParser(kind: .request, limits: options.limits)
        state = .readingHead(deadline: now + options.timeout)
    }

    /// When ``handleTimeout(now:date:)`` must be called: the head deadline, while reading it.
    public var nextDeadline: Instant? {
        switch state {
        case .readingHead(let deadline): return deadline
        case .awaitingDecision, .finished: return nil
        }
    }

    /// Feeds bytes read from the transport. After a decision step, further bytes are kept in
    /// ``leftover`` and `.needMoreData` is returned; this buffer has no limit, so a driver that
    /// decides asynchronously should stop reading until it has accepted or rejected.
    ///
    /// `date` is the wall-clock time for the `Date` field of the response to a bad request
    /// (RFC 9110 §6.6.1); `nil`, the default, for a server without a clock: no `Date`.
    public mutating func receive(_ bytes: some Sequence<UInt8>, now: Instant, date: HTTPDate? = nil) -> Step {
        switch state {
        case .awaitingDecision, .finished:
            leftover.append(contentsOf: bytes)
            return .needMoreData
        case .readingHead(let deadline):
            if now >= deadline { return fail(.timedOut, date: date) }
            let parsed: (head: HTTPHeadParser.Head, leftover: [UInt8])?
            do throws(HandshakeError) {
                parsed = try parser.parse(bytes)
            } catch {
                return fail(error, date: date)
            }
            guard let parsed else { return .needMoreData }
            guard case .request(let head) = parsed.head else { preconditionFailure("unreachable: request parser") }
            leftover = parsed.leftover
            state = .awaitingDecision
            guard UpgradeRequest.isUpgradeAttempt(head) else {
                // A plain request is the application's, once it is valid HTTP (RFC 9112 §3.2).
                guard UpgradeRequest.hasAcceptableHost(head) else { return fail(.invalidHost, date: date) }
                return .notAnUpgrade(head)
            }
            do throws(HandshakeError) {
                return .upgradeRequest(try UpgradeRequest.validate(head))
            } catch {
                return fail(error, date: date)
            }
        }
    }

    /// The transport ended. While reading the head, the handshake fails with nothing to write.
    public mutating func receiveEndOfStream(now: Instant) -> Step {
        switch state {
        case .readingHead:
            state = .finished
            return .invalid(.endOfStream, response: [])
        case .awaitingDecision, .finished:
            return .needMoreData
        }
    }

    /// Fires the head deadline: returns `.invalid(.timedOut, response:)` with a 408 response if
    /// it passed, `nil` otherwise. `date` is for the response's `Date` field, as in
    /// ``receive(_:now:date:)``.
    public mutating func handleTimeout(now: Instant, date: HTTPDate? = nil) -> Step? {
        guard case .readingHead(let deadline) = state, now >= deadline else { return nil }
        return fail(.timedOut, date: date)
    }

    private mutating func fail(_ error: HandshakeError, date: HTTPDate?) -> Step {
        state = .finished
        return .invalid(error, response: Self.errorResponse(for: error, date: date))
    }

    /// The response a server writes for a failed request: the error's status, a plain-text
    /// reason, and for 426 `Upgrade: websocket` ("The server MUST send an Upgrade header field
    /// in a 426 response", RFC 9110 §15.5.22) with `upgrade` among the `Connection` options
    /// ("When Upgrade is sent, the sender MUST also send a Connection header field ... that
    /// contains an 'upgrade' connection option", RFC 9110 §7.8) and `Sec-WebSocket-Version: 13`
    /// (RFC 6455 §4.2.2 item 4), as WSPosixIO's `HTTPResponse.upgradeRequired` does; with a
    /// `date`, a `Date` field (RFC 9110 §6.6.1).
    public static func errorResponse(for error: HandshakeError, date: HTTPDate? = nil) -> [UInt8] {
        var headers: HTTPHeaders = [:]
        if case .unsupportedVersion = error {
            headers.add(name: "Upgrade", value: "websocket")
            headers.add(name: "Connection", value: "Upgrade, close")
            headers.add(name: "Sec-WebSocket-Version", value: "13")
        }
        return rejection(status: error.httpStatus ?? 400, reason: nil, headers: headers,
                         body: Array((error.reasonText + "\n").utf8), contentType: true, date: date)
    }

    /// Accepts a request: builds the 101 response and the connection, and hands over the bytes
    /// already read after the head.
    ///
    /// - Parameters:
    ///   - request: the request from ``Step/upgradeRequest(_:)``.
    ///   - subprotocol: one of `request.subprotocols`, or `nil` for none (RFC 6455 §4.2.2 item 5.4).
    ///   - extensions: negotiators for the extensions this server supports; they answer the
    ///     client's offers in the client's order (RFC 6455 §9.1).
    ///   - headers: extra response headers (e.g. `Set-Cookie`).
    ///   - configuration: the connection's settings.
    ///   - now: the current time (starts the connection's timers).
    ///   - date: the wall-clock time for the response's `Date` field, unless `headers` has one
    ///     (RFC 9110 §6.6.1 allows it on a 1xx); `nil`, the default, for none.
    ///   - entropy: the connection's generator (a server does not mask, so it is rarely used).
    /// - Returns: the response to write, the open connection, and bytes to feed it first.
    /// - Throws: ``HandshakeError/invalidArgument(_:)`` for a subprotocol not offered or a
    ///   header that cannot be written or that the handshake owns (`Upgrade`, `Connection`,
    ///   `Sec-WebSocket-*`), and when no request head was received yet or the handshake already
    ///   ended (accepted, rejected or failed: a second response would follow the first); nothing
    ///   changes then.
    public mutating func accept(_ request: UpgradeRequest, subprotocol: String? = nil,
                                extensions: [any ExtensionNegotiator] = [], headers: HTTPHeaders = [:],
                                configuration: Connection.Configuration = .init(), now: Instant, date: HTTPDate? = nil,
                                entropy: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator())
        throws(HandshakeError) -> (response: [UInt8], connection: Connection, leftover: [UInt8]) {
        switch state {
        case .awaitingDecision: break
        case .readingHead: throw .invalidArgument("no request head was received yet")
        case .finished: throw .invalidArgument("the handshake already ended (accepted, rejected or failed)")
        }
        let (head, negotiated) = try Self.acceptResponse(for: request, subprotocol: subprotocol,
                                                         extensions: extensions, headers: headers, date: date)
        let connection = Connection(role: .server, configuration: configuration, extensions: negotiated,
                                    subprotocol: subprotocol, now: now, entropy: entropy)
        let rest = leftover
        leftover = []
        state = .finished
        return (head.bytes, connection, rest)
    }

    /// The 101 response head for `request` and the negotiated extensions, for servers that
    /// write the response with their own HTTP stack (RFC 6455 §4.2.2 item 5); with a `date`,
    /// a `Date` field unless `headers` has one (RFC 9110 §6.6.1).
    public static func acceptResponse(for request: UpgradeRequest, subprotocol: String?,
                                      extensions: [any ExtensionNegotiator], headers: HTTPHeaders,
                                      date: HTTPDate? = nil)
        throws(HandshakeError) -> (head: HTTPResponseHead, extensions: [any MessageExtension]) {
        guard let key = request.key else { throw .invalidArgument("request has no Sec-WebSocket-Key (use ExtendedConnect)") }
        try checkChoices(request: request, subprotocol: subprotocol, headers: headers)
        let (responses, negotiated) = ExtensionNegotiation.accept(offers: request.extensions, negotiators: extensions)
        var fields: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade",
                                   "Sec-WebSocket-Accept": AcceptKey.accept(forKey: key)]
        if let subprotocol { fields.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        if !responses.isEmpty { fields.add(name: "Sec-WebSocket-Extensions", value: ExtensionOffer.headerValue(responses)) }
        fields.add(contentsOf: headers)
        addDate(date, to: &fields)
        return (HTTPResponseHead(status: 101, headers: fields), negotiated)
    }

    /// Checks the application's choices against the request (shared with RFC 8441).
    static func checkChoices(request: UpgradeRequest, subprotocol: String?, headers: HTTPHeaders) throws(HandshakeError) {
        // "the server selects one or none of the acceptable protocols and echoes that value"
        // (RFC 6455 §4.2.2 item 5.4).
        if let subprotocol, !request.subprotocols.contains(subprotocol) {
            throw .invalidArgument("subprotocol \(subprotocol) was not offered")
        }
        if let bad = headers.firstInvalidField { throw .invalidArgument("header \(bad.name) cannot be written") }
        for reserved in ["Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
                         "Sec-WebSocket-Extensions", "Content-Length", "Transfer-Encoding"]
        where headers.contains(name: reserved) {
            throw .invalidArgument("header \(reserved) is set by the handshake")
        }
    }

    /// Rejects the request: the bytes of a response with any status (e.g. 401 with
    /// `WWW-Authenticate`, 403 for a bad `Origin`, 3xx with `Location`), headers and body.
    /// Adds `Content-Length` and `Connection: close` when absent, and with a `date` a `Date`
    /// field when absent (RFC 9110 §6.6.1); fields that cannot be written safely are skipped.
    /// Write the bytes, then close the transport. A request may be refused before its head is
    /// complete (a server at its cap or shutting down).
    /// - Throws: ``HandshakeError/invalidArgument(_:)`` when the handshake already ended
    ///   (accepted, rejected or failed: a second response would follow the first), or for an
    ///   interim (1xx) status, which cannot end an exchange (RFC 9110 §15.2); nothing changes then.
    public mutating func reject(status: Int, reason: String? = nil, headers: HTTPHeaders = [:], body: [UInt8] = [],
                                date: HTTPDate? = nil) throws(HandshakeError) -> [UInt8] {
        if case .finished = state { throw .invalidArgument("the handshake already ended (accepted, rejected or failed)") }
        guard !(100..<200).contains(status) else { throw .invalidArgument("status \(status) is interim: it cannot refuse a request") }
        state = .finished
        return Self.rejection(status: status, reason: reason, headers: headers, body: body, contentType: false, date: date)
    }

    static func rejection(status: Int, reason: String?, headers: HTTPHeaders, body: [UInt8], contentType: Bool,
                          date: HTTPDate?) -> [UInt8] {
        var fields = headers
        if contentType && !body.isEmpty { fields.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        addDate(date, to: &fields)
        if !fields.contains(name: "Connection") { fields.add(name: "Connection", value: "close") }
        return HTTPResponseHead(status: status, reason: reason, headers: fields).bytes(body: body)
    }

    /// Adds `Date: <date>` unless there is no date or `fields` has one already (a response
    /// carries exactly one).
    static func addDate(_ date: HTTPDate?, to fields: inout HTTPHeaders) {
        guard let date, !fields.contains(name: "Date") else { return }
        fields.add(name: "Date", value: date.imfFixdate)
    }
}
