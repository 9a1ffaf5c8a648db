// SPDX-License-Identifier: Apache-2.0

/// A valid WebSocket opening request, as the server application sees it before it accepts or
/// rejects (RFC 6455 §4.2.1; RFC 8441 §4 for HTTP/2).
///
/// Build one with ``validate(_:)`` (HTTP/1.1, or a head parsed by another HTTP stack) or
/// ``ExtendedConnect/validate(_:)`` (HTTP/2 extended CONNECT); ``ServerHandshake`` does the
/// former for you.
public struct UpgradeRequest: Hashable, Sendable {
    /// How the client asked for the WebSocket.
    public enum Mode: Hashable, Sendable {
        /// An HTTP/1.1 `GET` with `Upgrade: websocket` (RFC 6455 §4.1).
        case http1Upgrade
        /// An HTTP/2 extended CONNECT with `:protocol websocket` (RFC 8441 §4).
        case extendedConnect
    }

    /// How the client asked.
    public let mode: Mode
    /// The method (`GET`, or `CONNECT` for RFC 8441).
    public let method: String
    /// The request target (`:path` for RFC 8441), e.g. `/chat?room=1`.
    public let target: String
    /// The header fields (without pseudo-headers), in order.
    public let headers: HTTPHeaders
    /// The `Host` header (`:authority` for RFC 8441).
    public let host: String
    /// The `Sec-WebSocket-Key` (HTTP/1.1 only; `nil` for RFC 8441, which has no key, §5).
    public let key: String?
    /// The subprotocols the client offers, in its order of preference (RFC 6455 §4.1 item 10).
    public let subprotocols: [String]
    /// The extensions the client offers, in order (RFC 6455 §9.1).
    public let extensions: [ExtensionOffer]

    /// The resource name of the target (RFC 6455 §3): the target itself in origin form, or its
    /// path and query in absolute form (`GET http://host/chat HTTP/1.1`, §4.1 item 3).
    public var resource: String { Self.resource(of: target) ?? target }
    /// The path part of the resource name, e.g. `/chat`.
    public var path: String { HTTPRequestHead(method: method, target: resource).path }
    /// The query part of the resource name (after `?`), or `nil`.
    public var query: String? { HTTPRequestHead(method: method, target: resource).query }

    /// The resource name of an origin-form (`/path?query`) or absolute-form
    /// (`http(s)://` or `ws(s)://` authority, then the path) target, or `nil` for any other form.
    static func resource(of target: String) -> String? {
        if target.hasPrefix("/") { return target }
        for scheme in ["http://", "https://", "ws://", "wss://"] {
            guard target.count > scheme.count,
                  HTTPSyntax.equalsIgnoringCase(String(target.prefix(scheme.count)), scheme) else { continue }
            let rest = target.dropFirst(scheme.count)
            guard let start = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            guard start != rest.startIndex else { return nil }  // no authority
            let tail = String(rest[start...])
            return tail.hasPrefix("?") ? "/" + tail : tail
        }
        return nil
    }
    /// The `Origin` header, sent by browsers (RFC 6455 §4.1 item 8, §10.2); check it to refuse
    /// cross-origin pages (reject with 403).
    public var origin: String? { headers.first(name: "Origin") }

    init(mode: Mode, method: String, target: String, headers: HTTPHeaders, host: String, key: String?)
        throws(HandshakeError) {
        self.mode = mode; self.method = method; self.target = target; self.headers = headers
        self.host = host; self.key = key
        let protocols = headers.tokens("Sec-WebSocket-Protocol")
        // Each element "MUST be a ... token" (RFC 6455 §4.1 item 10, §4.3).
        guard protocols.allSatisfy(HTTPSyntax.isToken) else { throw .invalidSubprotocolHeader }
        subprotocols = protocols
        // Malformed extension data → fail (RFC 6455 §9.1).
        extensions = try ExtensionOffer.parse(headers["Sec-WebSocket-Extensions"])
    }

    /// Whether a plain request's `Host` fields are acceptable (RFC 9112 §3.2: "A server MUST
    /// respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that lacks
    /// a Host header field and to any request message that contains more than one Host header
    /// field line or a Host header field with an invalid field value").
    static func hasAcceptableHost(_ head: HTTPRequestHead) -> Bool {
        let hosts = head.headers["Host"]
        if hosts.isEmpty { return head.version < .http1_1 }
        return hosts.count == 1 && HTTPSyntax.isValidHost(hosts[0])
    }

    /// Whether a request asks for a WebSocket at all: it has `Upgrade: websocket`, or a
    /// `Sec-WebSocket-Key` or `Sec-WebSocket-Version` header. A request that doesn't is plain
    /// HTTP (e.g. `GET /` for a page) and is not an error.
    public static func isUpgradeAttempt(_ head: HTTPRequestHead) -> Bool {
        head.headers.containsToken("websocket", in: "Upgrade")
            || head.headers.contains(name: "Sec-WebSocket-Key")
            || head.headers.contains(name: "Sec-WebSocket-Version")
    }

    /// The subprotocols offered in a request's `Sec-WebSocket-Protocol` headers, in order
    /// (Tufao's `supportedProtocols(headers)`). Elements that are not tokens are skipped.
    public static func supportedProtocols(_ headers: HTTPHeaders) -> [String] {
        headers.tokens("Sec-WebSocket-Protocol").filter(HTTPSyntax.isToken)
    }

    /// Validates an HTTP/1.1 opening request (RFC 6455 §4.2.1), parsed by ``HTTPHeadParser``
    /// or by another HTTP stack.
    ///
    /// Checks, in order: method `GET`, version at least HTTP/1.1, no body (`Transfer-Encoding`,
    /// or a `Content-Length` other than 0), exactly one valid `Host`, `Upgrade`
    /// containing `websocket`, `Connection` containing `upgrade` (ASCII case-insensitive tokens),
    /// `Sec-WebSocket-Version: 13`, a `Sec-WebSocket-Key` that decodes to 16 bytes, then the
    /// syntax of `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions`.
    /// - Throws: the first fault found; its ``HandshakeError/httpStatus`` is the status to answer.
    public static func validate(_ head: HTTPRequestHead) throws(HandshakeError) -> UpgradeRequest {
        // "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1"
        // (RFC 6455 §4.1 item 2).
        guard head.method == "GET" else { throw .methodNotGet(head.method) }
        guard head.version >= .http1_1 else { throw .httpVersionTooOld(head.version) }
        // The opening handshake is a GET without content (RFC 6455 §4.1); bytes after the head
        // are frames. A body announced by Content-Length or Transfer-Encoding would be read as
        // frames here and as a body by any intermediary that parses HTTP (RFC 9110 §9.3.1:
        // content in a GET "has no generally defined semantics"), so it is refused (as Python
        // websockets does). `Content-Length: 0` announces none.
        guard !head.headers.contains(name: "Transfer-Encoding"),
              head.headers["Content-Length"].allSatisfy({ $0 == "0" }) else {
            throw .malformedHead("an upgrade request cannot have a body")
        }
        // The Request-URI is the resource name, or an absolute URI carrying it (§4.1 item 3).
        guard resource(of: head.target) != nil else { throw .malformedHead("invalid request target for an upgrade") }
        // "The request MUST contain a |Host| header field" (RFC 6455 §4.1 item 4), one, with a
        // valid value (RFC 9112 §3.2).
        let hosts = head.headers["Host"]
        guard hosts.count == 1, let host = hosts.first, !host.isEmpty, HTTPSyntax.isValidHost(host) else {
            throw .invalidHost
        }
        // |Upgrade| "including the value websocket" (RFC 6455 §4.2.1 item 3).
        guard head.headers.containsToken("websocket", in: "Upgrade") else { throw .missingUpgradeHeader }
        // |Connection| "that includes the token Upgrade" (RFC 6455 §4.2.1 item 4).
        guard head.headers.containsToken("Upgrade", in: "Connection") else { throw .missingConnectionUpgrade }
        // "|Sec-WebSocket-Version| ... MUST be 13"; otherwise answer 426 (RFC 6455 §4.2.2 item 4).
        let versions = head.headers["Sec-WebSocket-Version"]
        guard versions == ["13"] else { throw .unsupportedVersion(versions.first) }
        // "when decoded, is 16 bytes in length" (RFC 6455 §4.2.1 item 5).
        let keys = head.headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = keys.first, AcceptKey.isValidKey(key) else { throw .invalidKey }
        return try UpgradeRequest(mode: .http1Upgrade, method: head.method, target: head.target,
                                  headers: head.headers, host: host, key: key)
    }

    /// Validates a request given as parts (for HTTP stacks that hand them out separately).
    public static func validate(method: String, target: String, version: HTTPVersion = .http1_1,
                                headers: HTTPHeaders) throws(HandshakeError) -> UpgradeRequest {
        try validate(HTTPRequestHead(method: method, target: target, version: version, headers: headers))
    }
}
