// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// Which web pages may open WebSocket connections to a server: a check of the `Origin` header
/// (RFC 6455 §4.2.2 item 4, §10.2; RFC 6454), answered with `403 Forbidden` and a plain-text
/// body saying why.
///
/// Browsers send the page's origin with every WebSocket request; a server that does not check
/// it can be used by any page its users happen to open. Clients that are not browsers usually
/// send no `Origin`; ``allowsMissingOrigin`` decides about them.
///
/// ```swift
/// var configuration = WebSocketServer.Configuration()
/// configuration.originPolicy = OriginPolicy(allowed: ["https://example.com", "https://*.example.com"])
/// ```
public struct OriginPolicy: Hashable, Sendable {
    /// The origins allowed, each one of:
    /// - an exact origin, `scheme://host[:port]` (`https://example.com`; the default port may
    ///   be left out or written: `https://example.com:443` is the same origin);
    /// - a wildcard for subdomains, `scheme://*.domain[:port]` (`https://*.example.com` matches
    ///   `https://a.example.com` and `https://a.b.example.com`, not `https://example.com`);
    /// - `*`: any origin (including `null`).
    /// Scheme and host compare case-insensitively.
    public var allowed: [String]
    /// Whether a request without an `Origin` header is accepted (command-line tools, servers).
    /// Default `true`.
    public var allowsMissingOrigin: Bool
    /// Host names for which a page's own origin is allowed: an `Origin` equal to
    /// `http://` or `https://` plus the request's `Host` header, when the `Host` header's host
    /// is one of these (case-insensitive). Meant for a server that serves its own page (as
    /// `ws serve` does); listing the names defeats DNS rebinding, where a foreign name points
    /// at this server. Empty by default.
    public var sameOriginHosts: [String]

    /// A policy allowing the `allowed` origins (default none), requests without `Origin`
    /// unless `allowsMissingOrigin` is `false`, and the same-origin pages of `sameOriginHosts`
    /// (default none). Entries are stored as given; one that does not parse matches nothing.
    public init(allowed: [String] = [], allowsMissingOrigin: Bool = true, sameOriginHosts: [String] = []) {
        self.allowed = allowed; self.allowsMissingOrigin = allowsMissingOrigin; self.sameOriginHosts = sameOriginHosts
    }

    /// Every origin, and requests without one.
    public static let any = OriginPolicy(allowed: ["*"])

    /// Whether a request with this `Origin` (`nil`: none) and `Host` header passes.
    public func allows(origin: String?, host: String? = nil) -> Bool {
        guard let origin else { return allowsMissingOrigin }
        if allowed.contains("*") { return true }
        guard let parsed = Parsed(origin) else { return false }
        for entry in allowed {
            if let pattern = Parsed(entry), pattern.matches(parsed) { return true }
        }
        if let host, let name = Self.hostName(ofHostHeader: host),
           sameOriginHosts.contains(where: { Self.bare($0).lowercased() == name }) {
            // The page's own origin: the host and port the browser used (http or https).
            for scheme in ["http", "https"] {
                if let own = Parsed("\(scheme)://\(host)"), own.matches(parsed) { return true }
            }
        }
        return false
    }

    /// The 403 response for a request this policy refuses, or `nil` when it passes.
    public func refusal(for request: UpgradeRequest) -> HTTPResponse? {
        let origin = request.origin
        guard !allows(origin: origin, host: request.headers.first(name: "Host")) else { return nil }
        guard let origin else {
            return HTTPResponse(status: 403, text: "Forbidden: this server does not accept requests without an Origin header.\n")
        }
        let shown = String(origin.unicodeScalars.prefix(200).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
        return HTTPResponse(status: 403, text: "Forbidden: the origin \(shown) is not allowed to open WebSocket connections here.\n")
    }

    private static func bare(_ host: String) -> Substring {
        var h = Substring(host)
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        return h
    }

    /// `example.com` from `example.com:8080`, `::1` from `[::1]:8080`.
    private static func hostName(ofHostHeader value: String) -> String? {
        guard let parsed = Parsed("http://" + value) else { return nil }
        return parsed.host.hasPrefix("*.") ? nil : String(bare(parsed.host))
    }

    /// An origin or pattern taken apart: scheme, host (lower-cased; `*.` prefix for a
    /// wildcard), port (the scheme's default when absent).
    private struct Parsed: Hashable {
        var scheme: String
        var host: String
        var port: Int

        init?(_ text: String) {
            let lower = text.lowercased()
            guard let separator = lower.firstRange(of: "://") else { return nil }
            scheme = String(lower[..<separator.lowerBound])
            var authority = lower[separator.upperBound...]
            if authority.hasSuffix("/") { authority = authority.dropLast() }
            guard !scheme.isEmpty, !authority.isEmpty, !authority.contains("/"), !authority.contains("@") else { return nil }
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = String(authority[...close])
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                host = String(authority)
            }
            guard !host.isEmpty else { return nil }
            if let portText {
                guard let p = Int(portText), (0...65535).contains(p) else { return nil }
                port = p
            } else {
                switch scheme {
                case "http", "ws": port = 80
                case "https", "wss": port = 443
                default: port = -1
                }
            }
        }

        /// This (as a pattern) against an origin.
        func matches(_ origin: Parsed) -> Bool {
            guard scheme == origin.scheme, port == origin.port else { return false }
            if host.hasPrefix("*.") {
                let suffix = host.dropFirst(1)  // ".example.com"
                return origin.host.count > suffix.count && origin.host.hasSuffix(suffix)
            }
            return host == origin.host
        }
    }
}
