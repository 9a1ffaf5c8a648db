// SPDX-License-Identifier: Apache-2.0

/// Why an opening handshake failed (RFC 6455 §4).
///
/// The same type serves both roles. On the server, ``httpStatus`` is the status of the response
/// that ``ServerHandshake`` writes for it; on the client, every case fails the connection
/// (RFC 6455 §4.1: "the client MUST _Fail the WebSocket Connection_").
public enum HandshakeError: Error, Hashable, Sendable {
    // MARK: HTTP head syntax and limits (both roles)

    /// The head grew past ``HTTPHeadParser/Limits/maxHeadSize`` before its end (server: 431).
    case headTooLarge(limit: Int)
    /// The request line is longer than ``HTTPHeadParser/Limits/maxRequestLineLength`` (414).
    case requestLineTooLong(limit: Int)
    /// More header fields than ``HTTPHeadParser/Limits/maxHeaderCount`` (server: 431).
    case tooManyHeaders(limit: Int)
    /// The head is not valid HTTP/1.1 (bare LF, obs-fold, bad token...); the text says what (400).
    case malformedHead(String)
    /// The handshake did not complete before its deadline (server: 408; RFC 6455 §4.1 lets
    /// either side give up).
    case timedOut
    /// The transport ended before the head was complete.
    case endOfStream

    // MARK: Request validation (server, RFC 6455 §4.2.1; RFC 8441 §4)

    /// The method of an upgrade request is not GET (RFC 6455 §4.1 item 2) (400).
    case methodNotGet(String)
    /// The request's HTTP version is below 1.1 (RFC 6455 §4.1 item 2) (400).
    case httpVersionTooOld(HTTPVersion)
    /// No `Host` header, more than one, or one with an invalid value (RFC 6455 §4.1 item 4,
    /// RFC 9112 §3.2) (400). Also for a plain HTTP/1.1 request (one that is not an upgrade).
    case invalidHost
    /// No `Upgrade` header containing the token `websocket` (RFC 6455 §4.2.1 item 3) (400).
    case missingUpgradeHeader
    /// No `Connection` header containing the token `upgrade` (RFC 6455 §4.2.1 item 4) (400).
    case missingConnectionUpgrade
    /// `Sec-WebSocket-Key` missing, repeated, or not Base64 of 16 bytes (RFC 6455 §4.2.1 item 5) (400).
    case invalidKey
    /// `Sec-WebSocket-Version` missing or not 13 (RFC 6455 §4.2.2 item 4) (426 with
    /// `Sec-WebSocket-Version: 13`). The value received, if any.
    case unsupportedVersion(String?)
    /// A `Sec-WebSocket-Protocol` element is not a token (RFC 6455 §4.1 item 10) (400).
    case invalidSubprotocolHeader
    /// `Sec-WebSocket-Extensions` does not follow the grammar of RFC 6455 §9.1 (400 on the
    /// server; the client fails the connection).
    case invalidExtensionHeader
    /// An RFC 8441 extended CONNECT request or response is invalid; the text says what (400).
    case invalidExtendedConnect(String)

    // MARK: Response validation (client, RFC 6455 §4.1)

    /// The server answered with a status other than 101 (200 for RFC 8441). Keeps what the
    /// server said: the status, reason, headers and the start of the body (at most
    /// ``ClientHandshake/Options/maxBodyPrefix`` bytes). See ``location`` for redirects.
    case refused(status: Int, reason: String, headers: HTTPHeaders, bodyPrefix: [UInt8])
    /// The 101 response lacks `Upgrade: websocket` (RFC 6455 §4.1, response item 2).
    case invalidUpgradeHeader
    /// The 101 response lacks `Connection: upgrade` (RFC 6455 §4.1, response item 3).
    case invalidConnectionHeader
    /// `Sec-WebSocket-Accept` is missing or wrong (RFC 6455 §4.1, response item 4).
    case invalidAccept(expected: String, received: String?)
    /// The server chose a subprotocol the client did not offer, or sent several (RFC 6455 §4.1,
    /// response item 6).
    case unexpectedSubprotocol(String)
    /// The server accepted an extension the client did not offer, twice, or with parameters the
    /// offer does not allow (RFC 6455 §4.1 response item 5, RFC 7692 §7). The text says what.
    case unexpectedExtension(String)

    // MARK: Caller errors (thrown before anything is sent)

    /// A URL the client cannot connect to: scheme not `ws`/`wss`, no host, bad port.
    case invalidURL(String)
    /// An option or an argument that cannot be written into a handshake: a subprotocol that is
    /// not a token, a header with CR/LF, a subprotocol to accept that was not offered...
    case invalidArgument(String)

    /// The status a server answers with for this error, or `nil` when the error only arises on
    /// the client.
    public var httpStatus: Int? {
        switch self {
        case .headTooLarge, .tooManyHeaders: return 431
        case .requestLineTooLong: return 414
        case .timedOut: return 408
        case .unsupportedVersion: return 426
        case .malformedHead, .methodNotGet, .httpVersionTooOld, .invalidHost, .missingUpgradeHeader,
             .missingConnectionUpgrade, .invalidKey, .invalidSubprotocolHeader, .invalidExtensionHeader,
             .invalidExtendedConnect:
            return 400
        case .endOfStream, .refused, .invalidUpgradeHeader, .invalidConnectionHeader, .invalidAccept,
             .unexpectedSubprotocol, .unexpectedExtension, .invalidURL, .invalidArgument:
            return nil
        }
    }

    /// For a refused handshake with a 3xx status, the `Location` the server redirects to.
    public var location: String? {
        switch self {
        case .refused(let status, _, let headers, _) where (300..<400).contains(status):
            return headers.first(name: "Location")
        default:
            return nil
        }
    }

    /// A short reason as a client reports it: the head that broke a limit or the syntax is the
    /// server's response, not a request (``reasonText`` words those for the server's answer).
    public var clientReasonText: String {
        switch self {
        case .headTooLarge(let limit): return "Response head over \(limit) bytes"
        case .tooManyHeaders(let limit): return "More than \(limit) header fields in the response"
        case .malformedHead(let why): return "Malformed response: \(why)"
        default: return reasonText
        }
    }

    /// A short reason for the response body a server writes.
    public var reasonText: String {
        switch self {
        case .headTooLarge: return "Request header fields too large"
        case .requestLineTooLong: return "Request line too long"
        case .tooManyHeaders: return "Too many header fields"
        case .malformedHead(let why): return "Malformed request: \(why)"
        case .timedOut: return "Handshake timed out"
        case .endOfStream: return "Connection closed during the handshake"
        case .methodNotGet: return "WebSocket upgrade requires GET"
        case .httpVersionTooOld: return "WebSocket upgrade requires HTTP/1.1 or later"
        case .invalidHost: return "Missing, repeated or invalid Host header"
        case .missingUpgradeHeader: return "Missing Upgrade: websocket"
        case .missingConnectionUpgrade: return "Missing Connection: upgrade"
        case .invalidKey: return "Invalid Sec-WebSocket-Key"
        case .unsupportedVersion: return "Unsupported Sec-WebSocket-Version"
        case .invalidSubprotocolHeader: return "Invalid Sec-WebSocket-Protocol"
        case .invalidExtensionHeader: return "Invalid Sec-WebSocket-Extensions"
        case .invalidExtendedConnect(let why): return "Invalid extended CONNECT: \(why)"
        case .refused(let status, let reason, _, _): return "Refused: \(status) \(reason)"
        case .invalidUpgradeHeader: return "Invalid Upgrade header in response"
        case .invalidConnectionHeader: return "Invalid Connection header in response"
        case .invalidAccept: return "Invalid Sec-WebSocket-Accept"
        case .unexpectedSubprotocol(let p): return "Unexpected subprotocol '\(p)'"  // quoted: it may be empty
        case .unexpectedExtension(let why): return "Unexpected extension: \(why)"
        case .invalidURL(let why): return "Invalid URL: \(why)"
        case .invalidArgument(let why): return "Invalid argument: \(why)"
        }
    }
}
