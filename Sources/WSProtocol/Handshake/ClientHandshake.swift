// SPDX-License-Identifier: Apache-2.0

/// The client side of the opening handshake over HTTP/1.1 (RFC 6455 §4.1).
///
/// Create it with the options and a generator (the key comes from it, then the connection's
/// masking keys), write ``requestBytes``, and feed the response bytes to
/// ``receive(_:now:)`` until it returns `.connected` or `.failed`.
///
/// ```swift
/// var hs = try ClientHandshake(options: .init(url: "ws://127.0.0.1:8080/chat"), now: clock.now)
/// write(hs.requestBytes)
/// while true {
///     switch hs.receive(try read(), now: clock.now) {
///     case .needMoreData: continue
///     case .connected(var connection, let leftover, _): outputs = connection.receive(leftover, now: clock.now) ...
///     case .failed(let error): ...
///     }
/// }
/// ```
public struct ClientHandshake: Sendable {
    /// The result of an input.
    public enum Step: Sendable {
        /// The response head is incomplete (or a refusal's body is still arriving); read more.
        case needMoreData
        /// The server accepted: an open connection, the bytes that followed the 101 head (feed
        /// them to the connection first), and the response head.
        case connected(Connection, leftover: [UInt8], response: HTTPResponseHead)
        /// The handshake failed; close the transport (RFC 6455 §4.1: _Fail the WebSocket Connection_).
        case failed(HandshakeError)
    }

    private enum State: Sendable {
        case awaitingResponse
        /// A refusal whose body is being collected until `bodyTarget` bytes (or end of stream).
        case collectingBody(HTTPResponseHead, bodyTarget: Int, keep: Int)
        case finished
    }

    /// A refusal's head arrived and its body is being collected (until its length, or the end
    /// of the stream). A driver whose transport reports an unclean end (TLS without
    /// close_notify) still has the refusal's status and headers, authenticated, to report.
    package var isCollectingRefusalBody: Bool {
        if case .collectingBody = state { return true }
        return false
    }

    /// The options in force.
    public let options: Options
    /// The `Sec-WebSocket-Key` sent.
    public let key: String
    /// The request head sent.
    public let request: HTTPRequestHead
    /// The bytes of the request: write them first.
    public var requestBytes: [UInt8] { request.bytes }

    private var parser: HTTPHeadParser
    private var state: State = .awaitingResponse
    /// Interim (1xx other than 101) responses skipped so far.
    private var interimResponses = 0

    /// The most interim responses (`100 Continue`, `103 Early Hints`...) skipped before the
    /// final one; more fail the handshake.
    public static let maxInterimResponses = 4
    private var body: [UInt8] = []
    private let deadline: Instant
    private var entropy: any RandomNumberGenerator & Sendable

    /// Builds the request (RFC 6455 §4.1): `GET resource HTTP/1.1`, `Host`, `Upgrade: websocket`,
    /// `Connection: Upgrade`, `Sec-WebSocket-Key` from `entropy`, `Sec-WebSocket-Version: 13`,
    /// then `Origin`, `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` when set, then the
    /// caller's headers. The timeout runs from `now`.
    /// - Throws: ``HandshakeError/invalidArgument(_:)`` for a resource that is not an absolute
    ///   path, a subprotocol that is not a token or given twice, an invalid extension offer, a
    ///   header that cannot be written or that the handshake owns.
    public init(options: Options, now: Instant,
                entropy: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) throws(HandshakeError) {
        guard options.resource.hasPrefix("/"), options.resource.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
              !options.resource.contains("#") else {
            throw .invalidArgument("resource must be an absolute path without spaces or fragment")
        }
        if let port = options.port, !(1...65535).contains(port) { throw .invalidArgument("invalid port \(port)") }
        // The `Host` field written must be one a server accepts (RFC 9110 §7.2, as
        // `UpgradeRequest.validate` checks it): a name of RFC 3986's characters or an IP
        // literal, so no delimiter of the URL's authority (`@`, `/`, `?`, `#` would make it name
        // another host or resource; `Host` brackets an IPv6 address itself).
        guard !options.host.isEmpty, HTTPSyntax.isValidHost(options.hostHeader) else { throw .invalidArgument("invalid host") }
        // "elements that comprise this value MUST be non-empty strings ... and MUST all be unique
        // strings" (RFC 6455 §4.1 item 10).
        guard options.subprotocols.allSatisfy(HTTPSyntax.isToken),
              Set(options.subprotocols).count == options.subprotocols.count else {
            throw .invalidArgument("subprotocols must be unique tokens")
        }
        if let origin = options.origin, !HTTPSyntax.isFieldValue(origin) { throw .invalidArgument("invalid origin") }
        if let bad = options.headers.firstInvalidField { throw .invalidArgument("header \(bad.name) cannot be written") }
        for reserved in ["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                         "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"]
        where options.headers.contains(name: reserved) {
            throw .invalidArgument("header \(reserved) is set by the handshake")
        }
        let offers = options.extensions.flatMap { $0.offers() }
        guard offers.allSatisfy(\.isValid) else { throw .invalidArgument("invalid extension offer") }

        var generator = entropy
        // "a randomly selected 16-byte value that has been base64-encoded" (RFC 6455 §4.1 item 7).
        let key = AcceptKey.randomKey(using: &generator)
        var headers: HTTPHeaders = ["Host": options.hostHeader, "Upgrade": "websocket", "Connection": "Upgrade",
                                    "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"]
        if let origin = options.origin { headers.add(name: "Origin", value: origin) }
        if !options.subprotocols.isEmpty {
            headers.add(name: "Sec-WebSocket-Protocol", value: options.subprotocols.joined(separator: ", "))
        }
        if !offers.isEmpty { headers.add(name: "Sec-WebSocket-Extensions", value: ExtensionOffer.headerValue(offers)) }
        headers.add(contentsOf: options.headers)

        self.options = options
        self.key = key
        self.request = HTTPRequestHead(method: "GET", target: options.resource, version: .http1_1, headers: headers)
        self.entropy = generator
        self.parser = HTTPHeadParser(kind: .response, limits: options.limits)
        self.deadline = now + options.timeout
    }

    /// When ``handleTimeout(now:)`` must be called, while the handshake is in progress.
    public var nextDeadline: Instant? {
        switch state {
        case .awaitingResponse, .collectingBody: return deadline
        case .finished: return nil
        }
    }

    /// Feeds bytes read from the transport.
    ///
    /// After `.connected` or `.failed`, feed the connection (or nothing) instead: bytes given
    /// here then are ignored, and `.needMoreData` is returned.
    public mutating func receive(_ bytes: some Sequence<UInt8>, now: Instant) -> Step {
        switch state {
        case .finished:
            return .needMoreData
        case .collectingBody(let head, let target, _):
            body.append(contentsOf: bytes)
            if body.count >= target { return refuse(head) }
            return .needMoreData
        case .awaitingResponse:
            if now >= deadline { return finish(.failed(.timedOut)) }
            let parsed: (head: HTTPHeadParser.Head, leftover: [UInt8])?
            do throws(HandshakeError) {
                parsed = try parser.parse(bytes)
            } catch {
                return finish(.failed(error))
            }
            guard let parsed else { return .needMoreData }
            guard case .response(let head) = parsed.head else { preconditionFailure("unreachable: response parser") }
            if (100..<200).contains(head.status) && head.status != 101 {
                // "A client MUST be able to parse one or more 1xx responses received prior to a
                // final response, even if the client does not expect one" (RFC 9110 §15.2).
                interimResponses += 1
                guard interimResponses <= Self.maxInterimResponses else {
                    return finish(.failed(.malformedHead("more than \(Self.maxInterimResponses) interim (1xx) responses")))
                }
                parser = HTTPHeadParser(kind: .response, limits: options.limits)
                return receive(parsed.leftover, now: now)
            }
            guard head.status == 101 else { return startRefusal(head, leftover: parsed.leftover) }
            do throws(HandshakeError) {
                let extensions = try validate(head)
                let subprotocol = head.headers.first(name: "Sec-WebSocket-Protocol")
                let connection = Connection(role: .client, configuration: options.configuration,
                                            extensions: extensions, subprotocol: subprotocol, now: now,
                                            entropy: entropy)
                return finish(.connected(connection, leftover: parsed.leftover, response: head))
            } catch {
                return finish(.failed(error))
            }
        }
    }

    /// The transport ended: fails the handshake (with the body received so far, for a refusal).
    public mutating func receiveEndOfStream(now: Instant) -> Step {
        switch state {
        case .awaitingResponse: return finish(.failed(.endOfStream))
        case .collectingBody(let head, _, _): return refuse(head)
        case .finished: return .needMoreData
        }
    }

    /// Fires the handshake deadline: returns `.failed` if it passed (a refusal keeps the body
    /// received so far), `nil` otherwise.
    public mutating func handleTimeout(now: Instant) -> Step? {
        guard now >= deadline else { return nil }
        switch state {
        case .awaitingResponse: return finish(.failed(.timedOut))
        case .collectingBody(let head, _, _): return refuse(head)
        case .finished: return nil
        }
    }

    /// Checks a 101 response (RFC 6455 §4.1, "the client MUST validate the server's response").
    private func validate(_ head: HTTPResponseHead) throws(HandshakeError) -> [any MessageExtension] {
        // Item 2: |Upgrade| "ASCII case-insensitive match for the value websocket".
        let upgrade = head.headers.tokens("Upgrade")
        guard upgrade.count == 1, HTTPSyntax.equalsIgnoringCase(upgrade[0], "websocket") else {
            throw .invalidUpgradeHeader
        }
        // Item 3: |Connection| containing the token "Upgrade".
        guard head.headers.containsToken("Upgrade", in: "Connection") else { throw .invalidConnectionHeader }
        // Item 4: |Sec-WebSocket-Accept| must be base64(SHA-1(key + GUID)), exactly.
        let expected = AcceptKey.accept(forKey: key)
        let accepts = head.headers["Sec-WebSocket-Accept"]
        guard accepts == [expected] else { throw .invalidAccept(expected: expected, received: accepts.first) }
        // Item 5: extensions "not present in the client's handshake" → fail.
        let responses = try ExtensionOffer.parse(head.headers["Sec-WebSocket-Extensions"])
        let extensions = try ExtensionNegotiation.confirm(responses: responses, negotiators: options.extensions)
        // Item 6: a subprotocol "that was not present in the client's handshake" → fail.
        let protocols = head.headers["Sec-WebSocket-Protocol"]
        if !protocols.isEmpty {
            guard protocols.count == 1, let p = protocols.first, options.subprotocols.contains(p) else {
                throw .unexpectedSubprotocol(protocols.joined(separator: ", "))
            }
        }
        return extensions
    }

    /// Starts collecting the body of a non-101 response: up to `Content-Length` (capped at
    /// ``Options/maxBodyPrefix``), nothing for bodiless statuses, what already arrived for a
    /// chunked body, else until the cap or end of stream.
    private mutating func startRefusal(_ head: HTTPResponseHead, leftover: [UInt8]) -> Step {
        body = leftover
        let cap = max(0, options.maxBodyPrefix)
        let target: Int, keep: Int
        if head.status == 204 || head.status == 304 {
            target = 0; keep = 0
        } else if head.headers.contains(name: "Transfer-Encoding") {
            target = 0; keep = cap
        } else if let cl = head.headers.first(name: "Content-Length"), let n = Int(cl), n >= 0 {
            target = min(n, cap); keep = target
        } else {
            target = cap; keep = cap
        }
        state = .collectingBody(head, bodyTarget: target, keep: keep)
        if body.count >= target { return refuse(head) }
        return .needMoreData
    }

    private mutating func refuse(_ head: HTTPResponseHead) -> Step {
        var keep = max(0, options.maxBodyPrefix)
        if case .collectingBody(_, _, let k) = state { keep = k }
        let prefix = body.count > keep ? Array(body[..<keep]) : body
        body = []
        return finish(.failed(.refused(status: head.status, reason: head.reason, headers: head.headers, bodyPrefix: prefix)))
    }

    private mutating func finish(_ step: Step) -> Step {
        state = .finished
        return step
    }
}
