// SPDX-License-Identifier: Apache-2.0
import NIOCore
import WSProtocol

/// What the application writes to a WebSocket channel (``WebSocketChannelHandler``'s `OutboundIn`).
public enum WebSocketCommand: Sendable {
    /// Sends a whole message.
    case send(Message)
    /// Sends `payload` as one message of `kind`. On a server, a payload of 16 KiB or more is
    /// written as it is after its frame header, with no copy (the core's
    /// `sendHeader(for:kind:extensions:now:into:)`, unless an extension or fragmentation needs
    /// the whole encoding); otherwise it is framed straight from the buffer's bytes.
    case sendBuffer(ByteBuffer, kind: Message.Kind)
    /// Sends a ping (at most 125 bytes).
    case ping([UInt8])
    /// Sends an unsolicited pong (at most 125 bytes).
    case pong([UInt8])
    /// Starts the close handshake.
    indirect case close(code: CloseCode, reason: String)
}

/// The user inbound event fired when the opening handshake succeeded.
public struct WebSocketOpened: Sendable {
    /// The client's request (servers).
    public var request: UpgradeRequest?
    /// The server's 101 response (clients).
    public var response: HTTPResponseHead?
    /// The negotiated subprotocol.
    public var subprotocol: String?
}

/// Errors the handler reports (through `errorCaught`, or by failing a write's promise).
public enum WebSocketNIOError: Error, Hashable, Sendable {
    /// The opening handshake failed (the channel is closed).
    case handshakeFailed(HandshakeError)
    /// A command was written before the handshake completed or after the connection closed.
    case notOpen
}

/// A plain HTTP answer (for requests that are not upgrades, or a rejection's content).
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }
    public init(status: Int, text: String) {
        self.init(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }
}

extension HTTPAnswer {
    /// The bytes of this answer to a plain request, after which the connection closes: with
    /// `Date: date` unless the headers have a `Date` field (RFC 9110 §6.6.1), `Connection:
    /// close` unless they have a `Connection` field (as the core's rejections), and to a HEAD
    /// request the head alone, with the body's `Content-Length` ("The server SHOULD send the
    /// same header fields in response to a HEAD request as it would have sent if the request
    /// method had been GET", and no content, RFC 9110 §9.3.2).
    func bytes(headOnly: Bool, date: HTTPDate?) -> [UInt8] {
        var fields = headers
        if let date, !fields.contains(name: "Date") { fields.add(name: "Date", value: date.imfFixdate) }
        if !fields.contains(name: "Connection") { fields.add(name: "Connection", value: "close") }
        guard headOnly else { return HTTPResponseHead(status: status, headers: fields).bytes(body: body) }
        let bodiless = (100..<200).contains(status) || status == 204 || status == 304
        if !bodiless && !fields.contains(name: "Content-Length") && !fields.contains(name: "Transfer-Encoding") {
            fields.add(name: "Content-Length", value: String(body.count))
        }
        return HTTPResponseHead(status: status, headers: fields).bytes
    }
}

/// How the server decides an upgrade request.
public enum UpgradeDecision: Sendable {
    /// Accept, with this subprotocol (one the client offered) and extra response headers.
    case accept(subprotocol: String?, headers: HTTPHeaders)
    /// Refuse with this status, headers and body (e.g. 403 for a bad `Origin`).
    case reject(status: Int, headers: HTTPHeaders, body: [UInt8])
}

/// What a server channel needs to answer requests.
public struct ServerSettings: Sendable {
    /// Limits and timeout of the request head.
    public var handshake: ServerHandshake.Options
    /// The settings of every accepted connection.
    public var configuration: Connection.Configuration
    /// Extensions the server supports.
    public var extensions: [any ExtensionNegotiator]
    /// Decides each upgrade request (default: accept, no subprotocol).
    public var decide: @Sendable (UpgradeRequest) -> UpgradeDecision
    /// Answers plain HTTP requests (default: 404); the connection closes after the answer
    /// (sent with `Connection: close`, and to a HEAD request without its body).
    public var respond: @Sendable (HTTPRequestHead) -> HTTPAnswer
    /// The date of every response the server writes (the 101, rejections, plain answers, the
    /// core's 4xx and 5xx), read when it is written: "An origin server with a clock MUST
    /// generate a Date header field in all 2xx, 3xx, and 4xx responses" (RFC 9110 §6.6.1), and
    /// may in the others. Default: ``WallClock/httpDate()``; `nil` from it for no `Date` (a
    /// server without a clock). A `Date` among the application's headers is kept instead.
    public var date: @Sendable () -> HTTPDate?

    public init(handshake: ServerHandshake.Options = .init(), configuration: Connection.Configuration = .init(),
                extensions: [any ExtensionNegotiator] = [],
                decide: @escaping @Sendable (UpgradeRequest) -> UpgradeDecision = { _ in .accept(subprotocol: nil, headers: [:]) },
                respond: @escaping @Sendable (HTTPRequestHead) -> HTTPAnswer = { _ in HTTPAnswer(status: 404, text: "Not found\n") },
                date: @escaping @Sendable () -> HTTPDate? = WallClock.httpDate) {
        self.handshake = handshake; self.configuration = configuration; self.extensions = extensions
        self.decide = decide; self.respond = respond; self.date = date
    }
}
