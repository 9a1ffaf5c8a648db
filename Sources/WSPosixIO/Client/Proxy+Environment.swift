// SPDX-License-Identifier: Apache-2.0

extension WebSocket {
    /// Where a client's proxy comes from (``ClientConfiguration/proxy``).
    public enum ProxySetting: Hashable, Sendable {
        /// Connect to the target directly (the default).
        case none
        /// The proxy curl would pick from the process environment (see
        /// ``Proxy/fromEnvironment(secure:host:environment:)``); direct when none applies.
        case environment
        /// This proxy for every target.
        case proxy(Proxy)
    }
}

extension WebSocket.Proxy {
    /// The environment variables ``fromEnvironment(secure:host:environment:)`` reads.
    public static let environmentNames = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                          "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD"]

    /// The proxy for a connection to `host`, chosen from environment variables as curl does.
    ///
    /// - `ws://` uses `http_proxy`, `wss://` uses `https_proxy`; either falls back to
    ///   `all_proxy`. The lower-case name wins over the upper-case one; `HTTP_PROXY` is ignored
    ///   when `REQUEST_METHOD` is set (a CGI program, where a request's `Proxy:` header would
    ///   land in `HTTP_PROXY`: "httpoxy"). Empty values count as unset.
    /// - `no_proxy` (or `NO_PROXY`) lists hosts reached directly, separated by commas: `*` for
    ///   every host; a name matches itself and its subdomains (`example.com` and
    ///   `.example.com` both match `example.com` and `a.example.com`, case-insensitively); an
    ///   IP address matches that address, `10.0.0.0/8` or `fd00::/8` a range.
    ///
    /// - Parameters:
    ///   - secure: `wss://` (true) or `ws://`.
    ///   - host: the target's host name or numeric address (brackets allowed).
    ///   - environment: the variables (``environmentNames``); the process's when `nil`.
    /// - Returns: the proxy, or `nil` to connect directly.
    /// - Throws: ``WebSocketError/invalidArgument(_:)`` when the chosen variable is not a proxy URL.
    public static func fromEnvironment(secure: Bool, host: String,
                                       environment: [String: String]? = nil) throws(WebSocketError) -> Self? {
        let env = (environment ?? Sys.environment(environmentNames)).filter { !$0.value.isEmpty }
        let cgi = env["REQUEST_METHOD"] != nil
        let chosen = secure
            ? (env["https_proxy"] ?? env["HTTPS_PROXY"])
            : (env["http_proxy"] ?? (cgi ? nil : env["HTTP_PROXY"]))
        guard let url = chosen ?? env["all_proxy"] ?? env["ALL_PROXY"] else { return nil }
        if let noProxy = env["no_proxy"] ?? env["NO_PROXY"], bypasses(host: host, noProxy: noProxy) { return nil }
        return try Self(url: url)
    }

    /// Whether `noProxy` (the value of `no_proxy`) sends `host` directly; see
    /// ``fromEnvironment(secure:host:environment:)``.
    public static func bypasses(host: String, noProxy: String) -> Bool {
        var target = Substring(host)
        if target.hasPrefix("["), target.hasSuffix("]") { target = target.dropFirst().dropLast() }
        if target.hasSuffix(".") { target = target.dropLast() }
        let name = target.lowercased()
        let address = SocketAddress(numericHost: name, port: 0)
        for raw in noProxy.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) {
            var entry = Substring(raw.lowercased())
            if entry == "*" { return true }
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                entry = entry[entry.index(after: entry.startIndex)..<close]
            }
            if let address {
                if matches(address, entry) { return true }
                continue
            }
            while entry.hasPrefix(".") { entry = entry.dropFirst() }
            if entry.hasSuffix(".") { entry = entry.dropLast() }
            guard !entry.isEmpty else { continue }
            if name == entry || name.hasSuffix("." + entry) { return true }
        }
        return false
    }

    /// An address against an entry that is an address or a CIDR range.
    private static func matches(_ address: SocketAddress, _ entry: Substring) -> Bool {
        var text = entry, bits: Int?
        if let slash = entry.firstIndex(of: "/") {
            text = entry[..<slash]
            guard let n = Int(entry[entry.index(after: slash)...]) else { return false }
            bits = n
        }
        guard let network = SocketAddress(numericHost: String(text), port: 0), network.family == address.family else {
            return false
        }
        let prefix = bits ?? network.bytes.count * 8
        guard (0...network.bytes.count * 8).contains(prefix) else { return false }
        for i in 0..<network.bytes.count {
            let remaining = prefix - i * 8
            if remaining <= 0 { break }
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if network.bytes[i] & mask != address.bytes[i] & mask { return false }
        }
        return true
    }
}
