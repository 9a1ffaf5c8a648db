// SPDX-License-Identifier: Apache-2.0
import WSProtocol

extension WebSocket {
    /// A proxy a client tunnels through: HTTP `CONNECT` (RFC 9110 §9.3.6), SOCKS5 (RFC 1928,
    /// with RFC 1929 user/password) or SOCKS4a.
    ///
    /// The client opens TCP to the proxy instead of the target, asks the proxy for a tunnel to
    /// the target, and then runs TLS (for `wss://`) and the opening handshake inside it. The
    /// `Host` header and TLS name stay the target's.
    ///
    /// Credentials never appear in ``description``, `debugDescription` or a `dump`.
    public struct Proxy: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        /// How to ask the proxy for a tunnel.
        public enum Kind: String, Hashable, Sendable {
            /// The kind whose raw value is `rawValue` (`"http"`, `"socks5"`, `"socks5h"`,
            /// `"socks4a"`), or `nil`. (Written out, as the synthesized one has no comment.)
            public init?(rawValue: String) {
                switch rawValue {
                case "http": self = .http
                case "socks5": self = .socks5
                case "socks5h": self = .socks5h
                case "socks4a": self = .socks4a
                default: return nil
                }
            }
            /// HTTP `CONNECT host:port` (RFC 9110 §9.3.6), `Proxy-Authorization: Basic` with credentials.
            case http
            /// SOCKS5 (RFC 1928), the target's host name resolved by this client first.
            case socks5
            /// SOCKS5 with the host name sent to the proxy, which resolves it.
            case socks5h
            /// SOCKS4a: the host name sent to the proxy; IPv4 targets only for literal addresses.
            case socks4a
        }

        /// A user name and password (Basic for HTTP, RFC 1929 for SOCKS5, the user id for SOCKS4a).
        public struct Credentials: Hashable, Sendable, CustomStringConvertible {
            /// The user name (the SOCKS4a user id), sent as given.
            public var user: String
            /// The password (not sent for SOCKS4a, which has none).
            public var password: String
            /// Credentials `user` and `password`, stored as given.
            public init(user: String, password: String) { self.user = user; self.password = password }
            /// Never the values: `<credentials>`.
            public var description: String { "<credentials>" }
        }

        /// The tunnel protocol the proxy speaks.
        public var kind: Kind
        /// The proxy's host name or numeric address (no brackets).
        public var host: String
        /// The proxy's TCP port.
        public var port: Int
        /// Credentials to present, if any.
        public var credentials: Credentials?
        /// How long the proxy may take to answer the tunnel request once TCP is up (→
        /// ``WebSocketError/proxyConnectionTimeout``). Default 10 s.
        public var timeout: Duration = .seconds(10)
        /// The most bytes of the proxy's reply head (HTTP) read before giving up (→
        /// ``WebSocketError/proxyProtocolError(_:)``). Default 8 KiB.
        public var maxReplySize: Int = 8 * 1024

        /// A proxy of `kind` at `host`:`port`, with `credentials` (default none), a 10 s
        /// reply timeout and an 8 KiB reply limit.
        public init(kind: Kind, host: String, port: Int, credentials: Credentials? = nil) {
            self.kind = kind; self.host = host; self.port = port; self.credentials = credentials
        }

        /// Parses a proxy URL as curl does: `[scheme://][user[:password]@]host[:port][/]`.
        ///
        /// Schemes: `http` (the default when there is none), `socks5`, `socks5h`, `socks4a`
        /// (and `socks` for `socks5`). The port defaults to 1080, as curl's does. The user name
        /// and password are percent-decoded (`%40` for `@`, `%3A` for `:`). An IPv6 proxy
        /// address goes in brackets.
        /// - Throws: ``WebSocketError/invalidArgument(_:)`` naming the problem (never the credentials).
        public init(url: String) throws(WebSocketError) {
            var rest = Substring(url.trimmingASCIIWhitespace())
            var kind = Kind.http
            if let schemeEnd = rest.firstRange(of: "://") {
                let scheme = rest[..<schemeEnd.lowerBound].lowercased()
                switch scheme {
                case "http": kind = .http
                case "socks5", "socks": kind = .socks5
                case "socks5h": kind = .socks5h
                case "socks4a": kind = .socks4a
                case "https": throw .invalidArgument("proxy: https:// proxies (TLS to the proxy) are not supported")
                default: throw .invalidArgument("proxy: unsupported scheme '\(scheme)'")
                }
                rest = rest[schemeEnd.upperBound...]
            }
            // Drop a path ("http://proxy:3128/" is common in environment variables).
            if let slash = rest.firstIndex(of: "/") {
                guard rest[slash...].allSatisfy({ $0 == "/" }) else {
                    throw .invalidArgument("proxy: a proxy URL has no path")
                }
                rest = rest[..<slash]
            }
            var credentials: Credentials?
            if let at = rest.lastIndex(of: "@") {
                let info = rest[..<at]
                rest = rest[rest.index(after: at)...]
                let user: Substring, password: Substring
                if let colon = info.firstIndex(of: ":") {
                    user = info[..<colon]; password = info[info.index(after: colon)...]
                } else {
                    user = info; password = ""
                }
                guard let u = Self.percentDecode(user), let p = Self.percentDecode(password) else {
                    throw .invalidArgument("proxy: invalid percent-encoding in the credentials")
                }
                credentials = Credentials(user: u, password: p)
            }
            var host: Substring, portText: Substring?
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw .invalidArgument("proxy: unterminated IPv6 address") }
                host = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if after.isEmpty { portText = nil } else if after.hasPrefix(":") { portText = after.dropFirst() } else {
                    throw .invalidArgument("proxy: junk after the IPv6 address")
                }
            } else if let colon = rest.firstIndex(of: ":") {
                host = rest[..<colon]; portText = rest[rest.index(after: colon)...]
            } else {
                host = rest; portText = nil
            }
            guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "@") }) else {
                throw .invalidArgument("proxy: missing or invalid host")
            }
            var port = 1080
            if let portText {
                guard portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),  // no sign (RFC 3986 §3.2.3)
                      let p = Int(portText), (1...65535).contains(p), portText.count <= 5 else {
                    throw .invalidArgument("proxy: invalid port '\(portText)'")
                }
                port = p
            }
            self.init(kind: kind, host: String(host), port: port, credentials: credentials)
        }

        /// The proxy as a URL without credentials (`http://proxy.example:3128`; `<credentials>@`
        /// marks that some are set).
        public var description: String {
            let h = host.contains(":") ? "[\(host)]" : host
            return "\(kind.rawValue)://\(credentials == nil ? "" : "<credentials>@")\(h):\(port)"
        }

        /// ``description`` wrapped as `Proxy(…)`; never the credentials.
        public var debugDescription: String { "Proxy(\(description))" }

        /// The fields for `dump` and debuggers, with the credentials shown as `<credentials>`
        /// (or `none`), never their values.
        public var customMirror: Mirror {
            Mirror(self, children: ["kind": kind, "host": host, "port": port,
                                    "credentials": credentials == nil ? "none" : "<credentials>",
                                    "timeout": timeout, "maxReplySize": maxReplySize])
        }

        /// `%XX` escapes decoded (UTF-8); `nil` for a malformed escape or invalid UTF-8.
        static func percentDecode(_ text: Substring) -> String? {
            var bytes: [UInt8] = []
            var iterator = Array(text.utf8).makeIterator()
            while let b = iterator.next() {
                if b != UInt8(ascii: "%") { bytes.append(b); continue }
                guard let h = iterator.next().flatMap(Self.hexValue), let l = iterator.next().flatMap(Self.hexValue) else {
                    return nil
                }
                bytes.append(h << 4 | l)
            }
            return String(validating: bytes, as: UTF8.self)
        }

        private static func hexValue(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
            default: return nil
            }
        }

        /// The stage that opens the tunnel to `host:port` (a host name or numeric address, no
        /// brackets). `resolved` is the target's address for ``Kind/socks5`` (resolved by the
        /// client). Checks what the proxy protocol cannot carry.
        func stage(host: String, port: Int, resolved: SocketAddress?) throws(WebSocketError) -> any StreamStage {
            guard host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !host.isEmpty else {
                throw .invalidArgument("proxy: the target host '\(host)' cannot be sent to a proxy")
            }
            guard let port16 = UInt16(exactly: port), port16 > 0 else { throw .invalidArgument("invalid port \(port)") }
            switch kind {
            case .http:
                if let credentials, credentials.user.contains(":") {
                    throw .invalidArgument("proxy: a Basic user name cannot contain ':' (RFC 7617)")
                }
                return HTTPConnectStage(host: host, port: port16, credentials: credentials, timeout: timeout,
                                        maxReplySize: maxReplySize)
            case .socks5, .socks5h:
                if let credentials {
                    guard (1...255).contains(credentials.user.utf8.count), credentials.password.utf8.count <= 255 else {
                        throw .invalidArgument("proxy: SOCKS5 user name and password are 1-255 and 0-255 bytes (RFC 1929)")
                    }
                }
                let target: SOCKS5Stage.Target
                if let address = resolved ?? SocketAddress(numericHost: host, port: port16) {
                    target = .address(address.family == .ipv4 ? 1 : 4, address.bytes)
                } else {
                    guard host.utf8.count <= 255 else { throw .invalidArgument("proxy: a SOCKS5 host name is at most 255 bytes") }
                    target = .name(host)
                }
                return SOCKS5Stage(target: target, port: port16, credentials: credentials, timeout: timeout)
            case .socks4a:
                if let address = SocketAddress(numericHost: host, port: port16) {
                    guard address.family == .ipv4 else {
                        throw .unsupportedSocketOperation("a SOCKS4a proxy cannot reach an IPv6 address (\(host))")
                    }
                    return SOCKS4aStage(target: .address(address.bytes), port: port16, user: credentials?.user ?? "",
                                        timeout: timeout)
                }
                return SOCKS4aStage(target: .name(host), port: port16, user: credentials?.user ?? "", timeout: timeout)
            }
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let s = Substring(self).drop { $0 == " " || $0 == "\t" }
        var end = s.endIndex
        while end > s.startIndex, s[s.index(before: end)] == " " || s[s.index(before: end)] == "\t" { end = s.index(before: end) }
        return String(s[..<end])
    }
}
