// SPDX-License-Identifier: Apache-2.0

extension ClientHandshake {
    /// What the client asks for: where, with which subprotocols and extensions, and limits.
    public struct Options: Sendable {
        /// The host name or IP address (an IPv6 address without brackets is bracketed in `Host`).
        public var host: String
        /// The port, or `nil` for the scheme's default (80, or 443 when ``secure``).
        public var port: Int?
        /// Whether the connection uses TLS (`wss`); only affects the default port here.
        public var secure: Bool
        /// The resource name: path and query, e.g. `/chat?room=1` (RFC 6455 §3).
        public var resource: String
        /// The `Origin` header to send, if any (RFC 6455 §4.1 item 8; browsers always send one).
        public var origin: String?
        /// Subprotocols to offer, in order of preference (RFC 6455 §4.1 item 10).
        public var subprotocols: [String]
        /// Negotiators of the extensions to offer (RFC 6455 §9.1).
        public var extensions: [any ExtensionNegotiator]
        /// Extra request headers (e.g. `Authorization`, `Cookie`).
        public var headers: HTTPHeaders
        /// Limits on the response head.
        public var limits: HTTPHeadParser.Limits
        /// How long the whole response head may take (→ ``HandshakeError/timedOut``). Default 10 s.
        public var timeout: Duration
        /// How many bytes of a refusal's body to keep in ``HandshakeError/refused(status:reason:headers:bodyPrefix:)``. Default 4 KiB.
        public var maxBodyPrefix: Int
        /// The settings of the connection the handshake creates.
        public var configuration: Connection.Configuration

        /// Options for `host` with each field as given. Defaults: the scheme's port, no TLS,
        /// resource `/`, no `Origin`, no subprotocols or extensions, no extra headers, the
        /// default head limits, a 10 s response timeout, a 4 KiB refusal body prefix, and the
        /// default `Connection.Configuration`. Nothing is checked here; the request is built
        /// from these values as they are.
        public init(host: String, port: Int? = nil, secure: Bool = false, resource: String = "/",
                    origin: String? = nil, subprotocols: [String] = [], extensions: [any ExtensionNegotiator] = [],
                    headers: HTTPHeaders = [:], limits: HTTPHeadParser.Limits = .init(),
                    timeout: Duration = .seconds(10), maxBodyPrefix: Int = 4096,
                    configuration: Connection.Configuration = .init()) {
            self.host = host; self.port = port; self.secure = secure; self.resource = resource
            self.origin = origin; self.subprotocols = subprotocols; self.extensions = extensions
            self.headers = headers; self.limits = limits; self.timeout = timeout
            self.maxBodyPrefix = maxBodyPrefix; self.configuration = configuration
        }

        /// Options for a `ws://` or `wss://` URL (RFC 6455 §3): scheme, host (IPv6 in
        /// brackets), optional port, path and query. Fragments and user info are refused.
        /// - Throws: ``HandshakeError/invalidURL(_:)``.
        public init(url: String, origin: String? = nil, subprotocols: [String] = [],
                    extensions: [any ExtensionNegotiator] = [], headers: HTTPHeaders = [:]) throws(HandshakeError) {
            var rest = Substring(url)
            let secure: Bool
            if let r = Self.dropPrefix(rest, "ws://") { secure = false; rest = r }
            else if let r = Self.dropPrefix(rest, "wss://") { secure = true; rest = r }
            else { throw .invalidURL("scheme must be ws or wss") }
            // "Fragment identifiers are meaningless ... and MUST NOT be used" (RFC 6455 §3).
            guard !rest.contains("#") else { throw .invalidURL("fragment not allowed") }
            let slash = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            let authority = rest[..<slash]
            var resource = String(rest[slash...])
            if resource.isEmpty { resource = "/" } else if resource.hasPrefix("?") { resource = "/" + resource }
            guard !authority.contains("@") else { throw .invalidURL("user info not allowed") }
            var host: Substring, portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw .invalidURL("unterminated IPv6 address") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if after.isEmpty { portText = nil }
                else if after.hasPrefix(":") { portText = after.dropFirst() }
                else { throw .invalidURL("junk after IPv6 address") }
            } else if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]; portText = authority[authority.index(after: colon)...]
            } else {
                host = authority; portText = nil
            }
            guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidURL("missing or invalid host") }
            var port: Int? = nil
            if let portText {
                // `port = *DIGIT` (RFC 3986 §3.2.3): no sign, which `Int(_:)` would take.
                guard !portText.isEmpty, portText.count <= 5, portText.utf8.allSatisfy(HTTPSyntax.isDigit),
                      let p = Int(portText), (1...65535).contains(p) else {
                    throw .invalidURL("invalid port")
                }
                port = p
            }
            self.init(host: String(host), port: port, secure: secure, resource: resource, origin: origin,
                      subprotocols: subprotocols, extensions: extensions, headers: headers)
        }

        private static func dropPrefix(_ s: Substring, _ prefix: String) -> Substring? {
            let p = Substring(prefix)
            guard s.count >= p.count else { return nil }
            let head = s.prefix(p.count)
            return HTTPSyntax.equalsIgnoringCase(String(head), prefix) ? s.dropFirst(p.count) : nil
        }

        /// The port actually used: ``port``, or 80 / 443.
        public var effectivePort: Int { port ?? (secure ? 443 : 80) }

        /// The `Host` header value: the host (bracketed if IPv6), with `:port` only when it is
        /// not the scheme's default (RFC 6455 §4.1 item 4, RFC 9110 §7.2).
        public var hostHeader: String {
            let h = host.contains(":") ? "[" + host + "]" : host
            if let port, port != (secure ? 443 : 80) { return h + ":" + String(port) }
            return h
        }
    }
}
