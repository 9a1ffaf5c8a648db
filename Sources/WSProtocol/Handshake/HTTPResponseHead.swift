// SPDX-License-Identifier: Apache-2.0

/// The head of an HTTP/1.1 response: status line and header fields (RFC 9112 §4, §5).
public struct HTTPResponseHead: Hashable, Sendable {
    /// The protocol version.
    public var version: HTTPVersion
    /// The three-digit status code.
    public var status: Int
    /// The reason phrase (informational only; RFC 9112 §4).
    public var reason: String
    /// The header fields, in order.
    public var headers: HTTPHeaders

    /// Creates a response head; `reason` defaults to the standard phrase for `status`.
    public init(status: Int, reason: String? = nil, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:]) {
        self.version = version; self.status = status
        self.reason = reason ?? HTTPResponseHead.standardReason(for: status)
        self.headers = headers
    }

    /// The response head serialised: status line, fields, blank line. Fields that cannot be
    /// written safely are skipped; a reason with CR or LF is replaced by the standard phrase.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        let safeReason = reason.utf8.allSatisfy(HTTPSyntax.isFieldValueByte)
            ? reason : HTTPResponseHead.standardReason(for: status)
        let code = (100...999).contains(status) ? status : 500
        HTTPSyntax.append("\(version) \(code) \(safeReason)\r\n", to: &out)
        headers.write(into: &out)
        out.append(0x0D); out.append(0x0A)
        return out
    }

    /// The bytes of a complete HTTP/1.1 response: this head and `body`. Adds
    /// `Content-Length` when the head has neither it nor `Transfer-Encoding` (RFC 9112 §6.3),
    /// except for 1xx, 204 and 304, which have no body.
    ///
    /// Use it to answer plain HTTP requests (``ServerHandshake/Step/notAnUpgrade(_:)``) or to
    /// build any response of your own.
    public func bytes(body: [UInt8]) -> [UInt8] {
        var head = self
        let bodiless = (100..<200).contains(status) || status == 204 || status == 304
        if !bodiless && !headers.contains(name: "Content-Length") && !headers.contains(name: "Transfer-Encoding") {
            head.headers.add(name: "Content-Length", value: String(body.count))
        }
        var out = head.bytes
        if !bodiless { out.append(contentsOf: body) }
        return out
    }

    /// The standard reason phrase for common status codes (RFC 9110 §15), else an empty string.
    public static func standardReason(for status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return ""
        }
    }
}
