// SPDX-License-Identifier: Apache-2.0

/// The head of an HTTP/1.1 request: request line and header fields (RFC 9112 §3, §5).
public struct HTTPRequestHead: Hashable, Sendable {
    /// The method token, case-sensitive (`GET`).
    public var method: String
    /// The request target as sent (origin form `/path?query` for a WebSocket upgrade).
    public var target: String
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields, in order.
    public var headers: HTTPHeaders

    /// A request head with each part as given (default HTTP/1.1, no header fields).
    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:]) {
        self.method = method; self.target = target; self.version = version; self.headers = headers
    }

    /// The path part of the target (before `?`), e.g. `/chat` for `/chat?room=1`.
    public var path: String {
        if let q = target.firstIndex(of: "?") { return String(target[..<q]) }
        return target
    }

    /// The query part of the target (after `?`, without it), or `nil` when there is none.
    public var query: String? {
        if let q = target.firstIndex(of: "?") { return String(target[target.index(after: q)...]) }
        return nil
    }

    /// The request serialised: request line, fields, blank line (RFC 9112 §3). Fields that
    /// cannot be written safely are skipped (see ``HTTPHeaders/isValidForWriting``).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        HTTPSyntax.append("\(method) \(target) \(version)\r\n", to: &out)
        headers.write(into: &out)
        out.append(0x0D); out.append(0x0A)
        return out
    }
}
