// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// One node of a forwarding chain: the `for=` / `by=` value of a `Forwarded` element
/// (RFC 7239 §6) or one entry of `X-Forwarded-For`.
public enum ForwardedNode: Hashable, Sendable {
    /// An IPv4 or IPv6 address; the port is 0 when the header gives none (or an obfuscated one).
    case address(SocketAddress)
    /// `unknown`: the proxy did not know (RFC 7239 §6.2).
    case unknown
    /// An obfuscated identifier such as `_hidden` (RFC 7239 §6.3).
    case obfuscated(String)
}

/// Why a forwarding header could not be parsed.
public enum ForwardedHeaderError: Error, Hashable, Sendable {
    /// The `Forwarded` value does not follow RFC 7239 §4 (pairs of token `=` token or
    /// quoted-string, separated by `;` and `,`; each parameter at most once per element).
    case malformedForwarded
    /// A node (`for=`, `by=`, an `X-Forwarded-For` entry) is not an address, `unknown` or
    /// an obfuscated identifier (RFC 7239 §6).
    case invalidNode
    /// An `X-Forwarded-Proto` value is not a URI scheme.
    case invalidProto
}

/// The forwarding headers of a request, parsed: `Forwarded` (RFC 7239), `X-Forwarded-For` and
/// `X-Forwarded-Proto` (the de-facto forms nginx and others write).
///
/// These say who the client was when the request came through HTTP reverse proxies. Anyone can
/// send them, so they mean something only when the direct peer is a proxy you trust:
/// ``client(trusting:)`` walks the chain from the nearest hop and skips trusted proxies. A server
/// applies them to ``WebSocket/peer`` only when its direct peer is in
/// ``WebSocketServer/Configuration/trustedForwarders``.
public struct ForwardedHeaders: Hashable, Sendable {
    /// One `Forwarded` element: one hop's view (RFC 7239 §4).
    public struct Element: Hashable, Sendable {
        /// `for=`: the client side of the hop.
        public var forNode: ForwardedNode?
        /// `by=`: the proxy side of the hop.
        public var by: ForwardedNode?
        /// `host=`: the `Host` the client sent.
        public var host: String?
        /// `proto=`: the scheme the client used, lower-cased (`http`, `https`).
        public var proto: String?

        /// An element with the given parameters (each absent by default), stored as given.
        public init(forNode: ForwardedNode? = nil, by: ForwardedNode? = nil, host: String? = nil, proto: String? = nil) {
            self.forNode = forNode; self.by = by; self.host = host; self.proto = proto
        }
    }

    /// The `Forwarded` elements, nearest hop last; `nil` when absent or malformed.
    public var forwarded: [Element]?
    /// The `X-Forwarded-For` entries, nearest hop last; `nil` when absent or malformed.
    public var forwardedFor: [ForwardedNode]?
    /// The `X-Forwarded-Proto` values, lower-cased, nearest hop last; `nil` when absent or malformed.
    public var forwardedProto: [String]?

    /// Already parsed values (each absent by default), stored as given.
    public init(forwarded: [Element]? = nil, forwardedFor: [ForwardedNode]? = nil, forwardedProto: [String]? = nil) {
        self.forwarded = forwarded; self.forwardedFor = forwardedFor; self.forwardedProto = forwardedProto
    }

    /// Parses the three headers (every field line of each, in order, as one list).
    public init(headers: HTTPHeaders) {
        func joined(_ name: String) -> String? {
            let values = headers.filter { $0.name.lowercased() == name }.map(\.value)
            return values.isEmpty ? nil : values.joined(separator: ",")
        }
        self.init(forwarded: joined("forwarded").flatMap { try? Self.parseForwarded($0) },
                  forwardedFor: joined("x-forwarded-for").flatMap { try? Self.parseForwardedFor($0) },
                  forwardedProto: joined("x-forwarded-proto").flatMap { try? Self.parseForwardedProto($0) })
    }

    /// Whether none of the headers was present (or parsable).
    public var isEmpty: Bool { forwarded == nil && forwardedFor == nil && forwardedProto == nil }

    /// The original client: walking the chain from the nearest hop, the first address that is
    /// not a trusted proxy (or the farthest one, when every hop is trusted). `Forwarded` is
    /// used when present, else `X-Forwarded-For`. `nil` when there is no chain, or when the walk
    /// meets `unknown`, an obfuscated node or an element without `for=` first.
    public func client(trusting trusted: [IPAddressPrefix]) -> SocketAddress? {
        let chain: [ForwardedNode?]
        if let forwarded, !forwarded.isEmpty {
            chain = forwarded.map(\.forNode)
        } else if let forwardedFor, !forwardedFor.isEmpty {
            chain = forwardedFor
        } else {
            return nil
        }
        var farthest: SocketAddress? = nil
        for node in chain.reversed() {
            guard case .address(let address) = node else { return nil }
            if !trusted.containsAddress(address) { return address }
            farthest = address
        }
        return farthest
    }

    /// The scheme the client used: `proto=` of the last `Forwarded` element that has one, else
    /// the last `X-Forwarded-Proto` value.
    public var proto: String? {
        forwarded?.last(where: { $0.proto != nil })?.proto ?? forwardedProto?.last
    }

    // MARK: parsers

    /// Parses a `Forwarded` field value (RFC 7239 §4):
    /// `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`.
    public static func parseForwarded(_ value: String) throws(ForwardedHeaderError) -> [Element] {
        var scanner = Scanner(Array(value.utf8))
        var elements: [Element] = []
        while true {
            scanner.skipWhitespace()
            if scanner.atEnd { break }
            if scanner.take(0x2C) { continue }  // empty list element (RFC 9110 §5.6.1)
            var element = Element()
            var seen: Set<String> = []
            repeat {
                scanner.skipWhitespace()
                if scanner.peek == 0x3B || scanner.peek == 0x2C || scanner.atEnd { continue }  // empty pair
                let name = String(decoding: scanner.token(), as: UTF8.self).lowercased()
                guard !name.isEmpty, scanner.take(0x3D), seen.insert(name).inserted else { throw .malformedForwarded }
                let raw: [UInt8]
                if scanner.peek == 0x22 {
                    guard let quoted = scanner.quotedString() else { throw .malformedForwarded }
                    raw = quoted
                } else {
                    raw = scanner.token()
                    guard !raw.isEmpty else { throw .malformedForwarded }
                }
                let text = String(decoding: raw, as: UTF8.self)
                switch name {
                case "for": element.forNode = try node(text, allowPort: true)
                case "by": element.by = try node(text, allowPort: true)
                case "host": element.host = text
                case "proto":
                    guard isScheme(text) else { throw .malformedForwarded }
                    element.proto = text.lowercased()
                default: break  // extensions (RFC 7239 §5.5) are ignored
                }
                scanner.skipWhitespace()
            } while scanner.take(0x3B)
            elements.append(element)
            scanner.skipWhitespace()
            guard scanner.atEnd || scanner.take(0x2C) else { throw .malformedForwarded }
        }
        return elements
    }

    /// Parses an `X-Forwarded-For` value: comma-separated addresses (optionally with a port,
    /// IPv6 then in brackets), `unknown`, or obfuscated identifiers.
    public static func parseForwardedFor(_ value: String) throws(ForwardedHeaderError) -> [ForwardedNode] {
        var nodes: [ForwardedNode] = []
        for entry in listElements(value) {
            // A bare IPv6 address (no brackets) is common in this header.
            if !entry.hasPrefix("["), entry.filter({ $0 == ":" }).count > 1 {
                guard entry.utf8.allSatisfy(isAddressByte), let address = SocketAddress(numericHost: entry, port: 0),
                      address.family == .ipv6 else { throw .invalidNode }
                nodes.append(.address(address))
            } else {
                nodes.append(try node(entry, allowPort: true))
            }
        }
        return nodes
    }

    /// Parses an `X-Forwarded-Proto` value: comma-separated schemes, lower-cased.
    public static func parseForwardedProto(_ value: String) throws(ForwardedHeaderError) -> [String] {
        var schemes: [String] = []
        for entry in listElements(value) {
            guard isScheme(entry) else { throw .invalidProto }
            schemes.append(entry.lowercased())
        }
        return schemes
    }

    /// The non-empty elements of a comma-separated list, trimmed (RFC 9110 §5.6.1).
    private static func listElements(_ value: String) -> [String] {
        value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// A node (RFC 7239 §6): IPv4, `[IPv6]`, `unknown` or `_obfuscated`, then `:port`
    /// (or an obfuscated port) when `allowPort`.
    static func node(_ text: String, allowPort: Bool) throws(ForwardedHeaderError) -> ForwardedNode {
        if text.lowercased() == "unknown" { return .unknown }
        if text.hasPrefix("_") {
            guard text.count > 1, text.utf8.allSatisfy(isObfuscatedByte) else { throw .invalidNode }
            return .obfuscated(text)
        }
        var host = Substring(text), portText: Substring? = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw .invalidNode }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidNode }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { throw .invalidNode }
        } else if let colon = host.firstIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
            guard !host.contains(":") else { throw .invalidNode }
        }
        if portText != nil && !allowPort { throw .invalidNode }
        var port: UInt16 = 0
        if let portText {
            if portText.hasPrefix("_") {
                guard portText.count > 1, portText.utf8.allSatisfy(isObfuscatedByte) else { throw .invalidNode }
            } else {
                guard (1...5).contains(portText.count), portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                      let p = UInt16(portText) else { throw .invalidNode }
                port = p
            }
        }
        guard !host.isEmpty, host.utf8.allSatisfy(isAddressByte),
              let address = SocketAddress(numericHost: String(host), port: port) else { throw .invalidNode }
        return .address(address)
    }

    private static func isAddressByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b) || b == 0x3A || b == 0x2E
    }

    private static func isObfuscatedByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2E || b == 0x5F || b == 0x2D
    }

    /// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
    private static func isScheme(_ text: some StringProtocol) -> Bool {
        guard let first = text.utf8.first, (0x41...0x5A).contains(first) || (0x61...0x7A).contains(first) else { return false }
        return text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E }
    }

    /// A byte scanner for the `Forwarded` grammar.
    private struct Scanner {
        let bytes: [UInt8]
        var at = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { at >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[at] }
        mutating func take(_ b: UInt8) -> Bool {
            guard peek == b else { return false }
            at += 1
            return true
        }
        mutating func skipWhitespace() { while peek == 0x20 || peek == 0x09 { at += 1 } }
        /// `token = 1*tchar` (RFC 9110 §5.6.2); empty when none.
        mutating func token() -> [UInt8] {
            let start = at
            while let b = peek, Self.isTchar(b) { at += 1 }
            return Array(bytes[start..<at])
        }
        /// `quoted-string` (RFC 9110 §5.6.4), unescaped; `nil` when unterminated or invalid.
        mutating func quotedString() -> [UInt8]? {
            guard take(0x22) else { return nil }
            var out: [UInt8] = []
            while let b = peek {
                at += 1
                switch b {
                case 0x22: return out
                case 0x5C:
                    guard let next = peek, next == 0x09 || (0x20...0x7E).contains(next) || next >= 0x80 else { return nil }
                    at += 1
                    out.append(next)
                case 0x09, 0x20...0x7E, 0x80...0xFF: out.append(b)
                default: return nil
                }
            }
            return nil
        }
        static func isTchar(_ b: UInt8) -> Bool {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
            case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
            default: return false
            }
        }
    }
}

private extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension ForwardedHeaders {
    /// The client to report for a request that came from `direct` with `headers`: the chain's
    /// client (see ``client(trusting:)``) when `direct` is in `trusted`, else `nil` (keep `direct`).
    static func reportedClient(direct: SocketAddress?, headers: HTTPHeaders, trusted: [IPAddressPrefix]) -> SocketAddress? {
        guard !trusted.isEmpty, trusted.containsAddress(direct) else { return nil }
        return ForwardedHeaders(headers: headers).client(trusting: trusted)
    }
}
