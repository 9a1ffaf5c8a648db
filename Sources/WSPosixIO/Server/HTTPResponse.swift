// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// A complete HTTP response a server writes: to reject an upgrade, or to answer a plain HTTP
/// request. The connection closes after it.
public struct HTTPResponse: Hashable, Sendable {
    /// The status code, e.g. 401, 403, 302, 200.
    public var status: Int
    /// The reason phrase; `nil` for the standard one.
    public var reason: String?
    /// The header fields (`Content-Length` and `Connection: close` are added when absent, and
    /// so is `Date` when the server writes the response).
    public var headers: HTTPHeaders
    /// The body.
    public var body: [UInt8]

    /// A response with each part as given (default: the standard reason, no extra headers,
    /// an empty body).
    public init(status: Int, reason: String? = nil, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status; self.reason = reason; self.headers = headers; self.body = body
    }

    /// A response with a plain-text body.
    public init(status: Int, headers: HTTPHeaders = [:], text: String) {
        var fields = headers
        if !fields.contains(name: "Content-Type") { fields.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        self.init(status: status, headers: fields, body: Array(text.utf8))
    }

    /// The default answer to a request that is not a WebSocket upgrade (RFC 6455 §4.2.2: 426),
    /// with `Upgrade: websocket` (RFC 9110 §15.5.22) and `Connection: Upgrade, close` (the
    /// `upgrade` option goes with an `Upgrade` field, RFC 9110 §7.8; the connection then closes).
    public static let upgradeRequired = HTTPResponse(
        status: 426, headers: ["Upgrade": "websocket", "Connection": "Upgrade, close", "Sec-WebSocket-Version": "13"],
        text: "This service requires a WebSocket upgrade.\n")

    /// The answer when the server is at its connection cap.
    public static let serviceUnavailable = HTTPResponse(status: 503, text: "Too many connections.\n")

    /// The bytes on the wire, without a `Date` field unless ``headers`` has one (the server
    /// adds the current date when it writes the response).
    public var bytes: [UInt8] { bytes(date: nil) }

    /// The bytes on the wire, with `Date: <date>` unless ``headers`` has a `Date` already. The
    /// server writes every response it sends (any status) this way, with the wall clock's
    /// date: "An origin server with a clock MUST generate a Date header field in all 2xx,
    /// 3xx, and 4xx responses" (RFC 9110 §6.6.1), and may in 1xx and 5xx ones.
    func bytes(date: HTTPDate?) -> [UInt8] {
        HTTPResponseHead(status: status, reason: reason, headers: fields(date: date)).bytes(body: body)
    }

    /// The bytes answering a HEAD request: the same head (with the body's `Content-Length`),
    /// no body (RFC 9110 §9.3.2).
    func headBytes(date: HTTPDate?) -> [UInt8] {
        var fields = fields(date: date)
        if !fields.contains(name: "Content-Length") && !fields.contains(name: "Transfer-Encoding") {
            fields.add(name: "Content-Length", value: String(body.count))
        }
        return HTTPResponseHead(status: status, reason: reason, headers: fields).bytes
    }

    /// ``headers`` with `Date` (when given and absent) and `Connection: close` (when absent).
    private func fields(date: HTTPDate?) -> HTTPHeaders {
        var fields = headers
        if let date, !fields.contains(name: "Date") { fields.add(name: "Date", value: date.imfFixdate) }
        if !fields.contains(name: "Connection") { fields.add(name: "Connection", value: "close") }
        return fields
    }
}

/// The application's answer to an upgrade request.
public enum UpgradeDecision: Sendable {
    /// Accept: with a subprotocol (one the client offered), extensions to negotiate, and extra
    /// response headers (RFC 6455 §4.2.2).
    case accept(subprotocol: String? = nil, extensions: [any ExtensionNegotiator] = [], headers: HTTPHeaders = [:])
    /// Reject with any response: 401 with `WWW-Authenticate`, 403 for a bad `Origin`, 3xx with
    /// `Location`, ...
    case reject(HTTPResponse)
}
