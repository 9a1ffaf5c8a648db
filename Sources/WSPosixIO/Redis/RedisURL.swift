// SPDX-License-Identifier: Apache-2.0

/// Where a Redis server is: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (IANA's `redis` scheme;
/// the port defaults to 6379, an IPv6 host goes in brackets).
public struct RedisURL: Hashable, Sendable, CustomStringConvertible {
    /// The host name or IP address (an IPv6 address without its brackets).
    public var host: String
    /// The TCP port; 6379 when the URL has none.
    public var port: UInt16
    /// The database number (`SELECT`); `nil` when the URL has none.
    public var database: Int?
    /// The user for `AUTH` (Redis 6 ACLs); `nil` when the URL has none (or an empty one).
    public var username: String?
    /// The password for `AUTH`; `nil` when the URL has no user info.
    public var password: String?

    /// A URL that cannot be used.
    public struct ParseError: Error, Hashable, Sendable {
        /// What is wrong, in one line, e.g. `port '0' is not 1-65535`.
        public var message: String
    }

    /// A URL with each part as given (default port 6379, no database, no credentials).
    public init(host: String, port: UInt16 = 6379, database: Int? = nil, username: String? = nil, password: String? = nil) {
        self.host = host; self.port = port; self.database = database; self.username = username; self.password = password
    }

    /// Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`. User info without a colon is a
    /// password alone; the text is used as written (no percent-decoding).
    /// - Throws: ``ParseError`` when the scheme is not `redis://`, the host is missing or
    ///   holds a space, `/` or `@`, an IPv6 `[` is not closed, the port is not 1–65535, or the
    ///   database is not a non-negative decimal number.
    public init(_ text: String) throws(ParseError) {
        guard text.hasPrefix("redis://") else { throw ParseError(message: "'\(text)' does not start with redis://") }
        var rest = Substring(text.dropFirst("redis://".count))
        var database: Int? = nil
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard path.allSatisfy(\.isASCII), let n = Int(path), n >= 0, path.first != "+" else {
                    throw ParseError(message: "database '\(path)' is not a number")
                }
                database = n
            }
        }
        var username: String? = nil, password: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user)
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
        }
        var host = rest, portText: Substring? = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw ParseError(message: "unclosed '[' in the host") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(message: "unexpected text after the host") }
                portText = after.dropFirst()
            }
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) else {
            throw ParseError(message: "missing or invalid host in '\(text)'")
        }
        var port: UInt16 = 6379
        if let portText {
            guard let p = UInt16(portText), p > 0, portText.allSatisfy(\.isASCII), portText.first != "+" else {
                throw ParseError(message: "port '\(portText)' is not 1-65535")
            }
            port = p
        }
        self.init(host: String(host), port: port, database: database, username: username, password: password)
    }

    /// The URL without the password.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "redis://\(h):\(port)" + (database.map { "/\($0)" } ?? "")
    }
}
