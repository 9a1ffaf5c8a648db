// SPDX-License-Identifier: Apache-2.0
import WSProtocol

extension WebSocket {
    /// Which redirects of the opening handshake a client follows (``ClientConfiguration/redirects``).
    ///
    /// A refusal with status 301, 302, 303, 307 or 308 and a `Location` is followed with a new
    /// connection, up to ``maxRedirects`` times: a relative `Location` is resolved against the
    /// URL that answered (RFC 3986 §5.2), `http://` and `https://` become `ws://` and `wss://`.
    /// It is never followed from `wss://` to `ws://`
    /// (``WebSocketError/redirectNotFollowed(status:location:reason:)``). When the origin
    /// (scheme, host, port) changes, `Authorization` and `Cookie` headers are dropped from then
    /// on, and so are the certificate failures let through (`ignoring:`,
    /// `TLSClientConfiguration.ignoredFailures`): the next server is verified in full. Past the
    /// last hop, the refusal itself is thrown (``WebSocketError/status`` and
    /// ``WebSocketError/location`` say where it pointed). The hops share one allowance of time:
    /// all of them end within `connectTimeout` + `handshakeTimeout` of the connect's start
    /// (``ClientConfiguration``), else ``WebSocketError/timeout(_:)`` (`.handshake`, or
    /// `.connect` if a hop's TCP connect was under way), as python-websockets' `open_timeout`.
    public struct RedirectPolicy: Hashable, Sendable {
        /// The most redirects followed for one connect; 0 follows none. Default 10, as
        /// python-websockets (`WEBSOCKETS_MAX_REDIRECTS`).
        public var maxRedirects: Int

        /// A policy that follows up to `maxRedirects` redirects per connect (default 10).
        public init(maxRedirects: Int = 10) { self.maxRedirects = maxRedirects }

        /// Follow no redirect: a 3xx is thrown as the refusal it is.
        public static let none = RedirectPolicy(maxRedirects: 0)
    }
}

/// Where one connection attempt goes: a `ws://` or `wss://` URL taken apart.
struct ConnectTarget: Hashable, Sendable, CustomStringConvertible {
    var secure: Bool
    var host: String
    var port: Int
    /// Path and query, starting with `/`.
    var resource: String

    /// The statuses that redirect the opening handshake.
    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    /// The URL, e.g. `wss://example.com:8443/chat?x=1` (the port only when not the default).
    var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort = secure ? 443 : 80
        return "\(secure ? "wss" : "ws")://\(h)\(port == defaultPort ? "" : ":\(port)")\(resource)"
    }

    /// Whether `other` has the same origin (scheme, host case-insensitively, port).
    func sameOrigin(_ other: ConnectTarget) -> Bool {
        secure == other.secure && host.lowercased() == other.host.lowercased() && port == other.port
    }

    /// The target a `Location` points to, resolved against this one (RFC 3986 §5.2); `nil` when
    /// it is not a `ws`, `wss`, `http` or `https` URL or reference.
    func resolving(_ location: String) -> ConnectTarget? {
        var reference = Substring(location)
        if let hash = reference.firstIndex(of: "#") { reference = reference[..<hash] }
        guard !reference.isEmpty, reference.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if let colon = reference.firstIndex(of: ":"),
           reference[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }),
           reference[..<colon].first?.isLetter == true {
            let scheme = reference[..<colon].lowercased()
            let rest = reference[reference.index(after: colon)...]
            guard rest.hasPrefix("//") else { return nil }
            switch scheme {
            case "ws", "http": return Self.parse(secure: false, rest.dropFirst(2))
            case "wss", "https": return Self.parse(secure: true, rest.dropFirst(2))
            default: return nil
            }
        }
        if reference.hasPrefix("//") { return Self.parse(secure: secure, reference.dropFirst(2)) }
        var next = self
        if reference.hasPrefix("/") {
            next.resource = Self.removeDotSegments(reference)
        } else if reference.hasPrefix("?") {
            let path = resource.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
            next.resource = String(path) + reference
        } else {
            let path = resource.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let directory = path[...(path.lastIndex(of: "/") ?? path.startIndex)]
            next.resource = Self.removeDotSegments(directory + reference)
        }
        return next
    }

    /// `authority[/path][?query]` after `//`.
    private static func parse(secure: Bool, _ text: Substring) -> ConnectTarget? {
        let url = (secure ? "wss://" : "ws://") + text
        guard let target = try? ConnectTarget(url: url) else { return nil }
        return target
    }

    init(secure: Bool, host: String, port: Int, resource: String) {
        self.secure = secure; self.host = host; self.port = port; self.resource = resource
    }

    /// Parses a `ws://` or `wss://` URL (RFC 6455 §3).
    init(url: String) throws(WebSocketError) {
        let options: ClientHandshake.Options
        do {
            options = try ClientHandshake.Options(url: url)
        } catch {
            throw .invalidArgument(error.reasonText)
        }
        self.init(secure: options.secure, host: options.host, port: options.effectivePort, resource: options.resource)
    }

    /// RFC 3986 §5.2.4, on the path (the query is kept as it is).
    static func removeDotSegments(_ reference: Substring) -> String {
        let parts = reference.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var output: [Substring] = []
        let segments = parts[0].split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case ".":
                if last { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            default:
                output.append(segment)
            }
        }
        let path = "/" + output.joined(separator: "/")
        return parts.count == 2 ? path + "?" + parts[1] : path
    }
}
