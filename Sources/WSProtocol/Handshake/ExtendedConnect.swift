// SPDX-License-Identifier: Apache-2.0

/// WebSocket over HTTP/2 by extended CONNECT (RFC 8441), the second handshake mode.
///
/// The HTTP/2 framing (HEADERS, SETTINGS_ENABLE_CONNECT_PROTOCOL, the stream) belongs to the
/// HTTP/2 stack; this type validates and builds the header lists (pseudo-headers first, as
/// HTTP/2 carries them, names in lowercase) and yields the same ``Connection`` as HTTP/1.1.
/// There is no key and no accept value (RFC 8441 §5); the connection runs on the stream's DATA.
public enum ExtendedConnect {
    /// Validates a request header list (RFC 8441 §4, §5): `:method` = `CONNECT`, `:protocol`
    /// = `websocket`, non-empty `:scheme`, `:path` and `:authority` (`host[:port]`, as a
    /// `Host` header, no userinfo, and a `host` field only if it is the same: RFC 9113 §8.3.1),
    /// each exactly once and before
    /// any regular field, no other pseudo-header, lowercase names, values without NUL, CR, LF or
    /// whitespace at either end (RFC 9113 §8.2.1), a `:path` of visible ASCII, no
    /// connection-specific fields (`Connection`, `Upgrade`, ..., and a `te` other than
    /// `trailers`, RFC 9113 §8.2.2), and `sec-websocket-version: 13`.
    /// - Throws: ``HandshakeError/invalidExtendedConnect(_:)`` (400),
    ///   ``HandshakeError/unsupportedVersion(_:)`` (426), or a subprotocol / extension header error.
    public static func validate(_ fields: HTTPHeaders) throws(HandshakeError) -> UpgradeRequest {
        var pseudo: [String: String] = [:]
        var regular = HTTPHeaders()
        for field in fields {
            guard !field.name.isEmpty, field.name == HTTPSyntax.lowercased(field.name) else {
                throw .invalidExtendedConnect("uppercase field name \(field.name)")
            }
            // No NUL, CR or LF, no whitespace at either end (RFC 9113 §8.2.1).
            guard HTTPSyntax.isFieldValue(field.value) else { throw .invalidExtendedConnect("invalid value of \(field.name)") }
            if field.name.hasPrefix(":") {
                guard regular.isEmpty else { throw .invalidExtendedConnect("pseudo-header after regular field") }
                guard [":method", ":protocol", ":scheme", ":path", ":authority"].contains(field.name) else {
                    throw .invalidExtendedConnect("unknown pseudo-header \(field.name)")
                }
                guard pseudo[field.name] == nil else { throw .invalidExtendedConnect("repeated \(field.name)") }
                pseudo[field.name] = field.value
            } else {
                guard HTTPSyntax.isToken(field.name) else { throw .invalidExtendedConnect("invalid field name") }
                guard !["connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding"].contains(field.name) else {
                    throw .invalidExtendedConnect("connection-specific field \(field.name)")
                }
                // "TE ... MUST NOT contain any value other than \"trailers\"" (RFC 9113 §8.2.2).
                if field.name == "te", !HTTPSyntax.equalsIgnoringCase(field.value, "trailers") {
                    throw .invalidExtendedConnect("te other than trailers")
                }
                regular.add(name: field.name, value: field.value)
            }
        }
        guard pseudo[":method"] == "CONNECT" else { throw .invalidExtendedConnect(":method must be CONNECT") }
        // "The :protocol pseudo-header field MUST be included" with the token websocket (RFC 8441 §4, §5).
        guard pseudo[":protocol"] == "websocket" else { throw .invalidExtendedConnect(":protocol must be websocket") }
        // "The :scheme and :path pseudo-header fields MUST be included" (RFC 8441 §4).
        guard let scheme = pseudo[":scheme"], !scheme.isEmpty else { throw .invalidExtendedConnect("missing :scheme") }
        // Path and query (RFC 9113 §8.3.1): the characters an HTTP/1.1 request target may have.
        guard let path = pseudo[":path"], path.hasPrefix("/"), path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidExtendedConnect("missing or invalid :path")
        }
        guard let authority = pseudo[":authority"], !authority.isEmpty else { throw .invalidExtendedConnect("missing :authority") }
        // `host [ ":" port ]`, no userinfo (RFC 9113 §8.3.1): what an HTTP/1.1 Host must be.
        guard HTTPSyntax.isValidHost(authority) else { throw .invalidExtendedConnect("invalid :authority") }
        // "A server SHOULD treat a request as malformed if it contains a Host header field that
        // identifies an entity that differs from the entity in the ':authority' pseudo-header
        // field" (RFC 9113 §8.3.1).
        guard regular["host"].allSatisfy({ HTTPSyntax.equalsIgnoringCase($0, authority) }) else {
            throw .invalidExtendedConnect("host differs from :authority")
        }
        let versions = regular["sec-websocket-version"]
        guard versions == ["13"] else { throw .unsupportedVersion(versions.first) }
        return try UpgradeRequest(mode: .extendedConnect, method: "CONNECT", target: path, headers: regular,
                                  host: authority, key: nil)
    }

    /// Accepts a validated request: the response header list (`:status 200`, then
    /// `sec-websocket-protocol` and `sec-websocket-extensions` when negotiated, then `headers`)
    /// and the open connection (RFC 8441 §5).
    /// - Throws: ``HandshakeError/invalidArgument(_:)`` as ``ServerHandshake/accept(_:subprotocol:extensions:headers:configuration:now:date:entropy:)``,
    ///   and for a connection-specific header HTTP/2 forbids (`Keep-Alive`, `Proxy-Connection`, `TE`).
    public static func accept(_ request: UpgradeRequest, subprotocol: String? = nil,
                              extensions: [any ExtensionNegotiator] = [], headers: HTTPHeaders = [:],
                              configuration: Connection.Configuration = .init(), now: Instant,
                              entropy: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator())
        throws(HandshakeError) -> (headers: HTTPHeaders, connection: Connection) {
        guard request.mode == .extendedConnect else { throw .invalidArgument("not an extended CONNECT request") }
        try ServerHandshake.checkChoices(request: request, subprotocol: subprotocol, headers: headers)
        // Connection-specific fields make an HTTP/2 response malformed (RFC 9113 §8.2.2); TE
        // is for requests only. (Connection, Upgrade, Transfer-Encoding are refused above.)
        for name in ["Keep-Alive", "Proxy-Connection", "TE"] where headers.contains(name: name) {
            throw .invalidArgument("header \(name) cannot be sent over HTTP/2")
        }
        let (responses, negotiated) = ExtensionNegotiation.accept(offers: request.extensions, negotiators: extensions)
        var fields: HTTPHeaders = [":status": "200"]
        if let subprotocol { fields.add(name: "sec-websocket-protocol", value: subprotocol) }
        if !responses.isEmpty { fields.add(name: "sec-websocket-extensions", value: ExtensionOffer.headerValue(responses)) }
        for f in headers { fields.add(name: HTTPSyntax.lowercased(f.name), value: f.value) }
        let connection = Connection(role: .server, configuration: configuration, extensions: negotiated,
                                    subprotocol: subprotocol, now: now, entropy: entropy)
        return (fields, connection)
    }

    /// The request header list a client sends (RFC 8441 §4–5): `:method CONNECT`, `:protocol
    /// websocket`, `:scheme`, `:path`, `:authority`, `sec-websocket-version: 13`, then `origin`,
    /// `sec-websocket-protocol`, `sec-websocket-extensions` and the caller's headers (lowercased).
    public static func requestHeaders(authority: String, path: String = "/", scheme: String = "https",
                                      origin: String? = nil, subprotocols: [String] = [],
                                      extensions: [any ExtensionNegotiator] = [], headers: HTTPHeaders = [:]) -> HTTPHeaders {
        var fields: HTTPHeaders = [":method": "CONNECT", ":protocol": "websocket", ":scheme": scheme,
                                   ":path": path, ":authority": authority, "sec-websocket-version": "13"]
        if let origin { fields.add(name: "origin", value: origin) }
        if !subprotocols.isEmpty { fields.add(name: "sec-websocket-protocol", value: subprotocols.joined(separator: ", ")) }
        let offers = extensions.flatMap { $0.offers() }
        if !offers.isEmpty { fields.add(name: "sec-websocket-extensions", value: ExtensionOffer.headerValue(offers)) }
        for f in headers { fields.add(name: HTTPSyntax.lowercased(f.name), value: f.value) }
        return fields
    }

    /// Validates the server's response header list and opens the client connection
    /// (RFC 8441 §5: a 2xx status accepts; the subprotocol and extensions follow RFC 6455 §4.1).
    /// - Throws: ``HandshakeError/refused(status:reason:headers:bodyPrefix:)`` for another status,
    ///   ``HandshakeError/invalidExtendedConnect(_:)`` for a missing `:status`,
    ///   ``HandshakeError/unexpectedSubprotocol(_:)`` or ``HandshakeError/unexpectedExtension(_:)``.
    public static func connect(response fields: HTTPHeaders, subprotocols: [String] = [],
                               extensions: [any ExtensionNegotiator] = [],
                               configuration: Connection.Configuration = .init(), now: Instant,
                               entropy: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator())
        throws(HandshakeError) -> Connection {
        let statuses = fields[":status"]
        // `status-code = 3DIGIT` (RFC 9110 §15; RFC 9113 §8.3.2): no sign, which `Int(_:)` would take.
        guard statuses.count == 1, let text = statuses.first, text.utf8.count == 3,
              text.utf8.allSatisfy(HTTPSyntax.isDigit), let status = Int(text) else {
            throw .invalidExtendedConnect("missing or invalid :status")
        }
        var regular = HTTPHeaders()
        for f in fields where !f.name.hasPrefix(":") { regular.add(name: f.name, value: f.value) }
        guard (200..<300).contains(status) else {
            throw .refused(status: status, reason: HTTPResponseHead.standardReason(for: status), headers: regular, bodyPrefix: [])
        }
        let responses = try ExtensionOffer.parse(regular["sec-websocket-extensions"])
        let negotiated = try ExtensionNegotiation.confirm(responses: responses, negotiators: extensions)
        let protocols = regular["sec-websocket-protocol"]
        if !protocols.isEmpty {
            guard protocols.count == 1, let p = protocols.first, subprotocols.contains(p) else {
                throw .unexpectedSubprotocol(protocols.joined(separator: ", "))
            }
        }
        return Connection(role: .client, configuration: configuration, extensions: negotiated,
                          subprotocol: protocols.first, now: now, entropy: entropy)
    }
}
