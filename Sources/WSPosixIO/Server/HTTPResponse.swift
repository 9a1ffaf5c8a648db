// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// A complete HTTP response a server writes: to reject an upgrade, or to answer a plain HTTP
/// request. The connection closes after it.
public struct HTTPResponse: Hashable, Sendable {
    /// The status code, e.g. 401, 403, 302, 200.
    public var status: Int
    /// The reason phrase; `nil` for the standard one.
    public var reason: String?
    /// The header fields (`Content-Length` and `Connection: close` are added when absent).
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

    /// The bytes on the wire.
    public var bytes: [UInt8] {
        var fields = headers
        if !fields.contains(name: "Connection") { fields.add(name: "Connection", value: "close") }
        return HTTPResponseHead(status: status, reason: reason, headers: fields).bytes(body: body)
    }

    /// The bytes answering a HEAD request: the same head (with the body's `Content-Length`),
    /// no body (RFC 9110 §9.3.2).
    var headBytes: [UInt8] {
        var fields = headers
        if !fields.contains(name: "Connection") { fields.add(name: "Connection", value: "close") }
        if !fields.contains(name: "Content-Length") && !fields.contains(name: "Transfer-Encoding") {
            fields.add(name: "Content-Length", value: String(body.count))
        }
        return HTTPResponseHead(status: status, reason: reason, headers: fields).bytes
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
