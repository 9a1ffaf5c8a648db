// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Opens a tunnel through an HTTP proxy with `CONNECT host:port` (RFC 9110 §9.3.6).
///
/// Writes the request (with `Proxy-Authorization: Basic`, RFC 7617, when credentials are set),
/// then reads the reply head with the strict ``HTTPHeadParser`` within ``maxReplySize`` bytes:
/// a 2xx opens the tunnel (the bytes after the head are the target's), 407 (and 401, which
/// some proxies send for wrong credentials) is ``WebSocketError/proxyAuthenticationRequired``,
/// any other status
/// ``WebSocketError/proxyRefused(_:)``. Interim 1xx heads are skipped (at most 4).
struct HTTPConnectStage: StreamStage {
    private let request: [UInt8]
    private var parser: HTTPHeadParser
    private let limits: HTTPHeadParser.Limits
    private var interim = 0
    /// How many bytes of the current head have been checked against `HTTP/` (a reply that is
    /// not HTTP, e.g. a SOCKS server's, fails at its first byte instead of at the timeout).
    private var versionPrefixChecked = 0
    private static let versionPrefix = Array("HTTP/".utf8)
    private var finished = false
    /// How long the proxy may take to reply, from ``start(now:)`` on.
    private let timeout: Duration
    private(set) var nextDeadline: Instant?

    init(host: String, port: UInt16, credentials: WebSocket.Proxy.Credentials?, timeout: Duration, maxReplySize: Int) {
        let authority = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        var head = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n"
        if let credentials {
            head += "Proxy-Authorization: Basic \(Base64.encode(Array("\(credentials.user):\(credentials.password)".utf8)))\r\n"
        }
        head += "\r\n"
        request = Array(head.utf8)
        limits = HTTPHeadParser.Limits(maxHeadSize: maxReplySize, maxHeaderCount: 100)
        parser = HTTPHeadParser(kind: .response, limits: limits)
        self.timeout = timeout
    }

    mutating func start(now: Instant) -> [UInt8] {
        nextDeadline = now + timeout
        return request
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep {
        guard !finished else { return .needMoreData(write: []) }
        var input = Array(bytes)
        while true {
            for b in input.prefix(Self.versionPrefix.count - versionPrefixChecked) {
                guard b == Self.versionPrefix[versionPrefixChecked] else {
                    return fail(.proxyProtocolError("the proxy's reply is not HTTP (byte \(b) where 'HTTP/' should begin)"))
                }
                versionPrefixChecked += 1
            }
            let parsed: (head: HTTPHeadParser.Head, leftover: [UInt8])?
            do {
                parsed = try parser.parse(input)
            } catch {
                return fail(.proxyProtocolError(Self.describe(error)))
            }
            guard let parsed else { return .needMoreData(write: []) }
            guard case .response(let head) = parsed.head else { return fail(.proxyProtocolError("not a response")) }
            switch head.status {
            case 100..<200 where head.status != 101:
                interim += 1
                guard interim <= 4 else { return fail(.proxyProtocolError("more than 4 interim (1xx) replies")) }
                parser = HTTPHeadParser(kind: .response, limits: limits)
                versionPrefixChecked = 0
                input = parsed.leftover
            case 200..<300:
                finished = true
                nextDeadline = nil
                return .done(write: [], leftover: parsed.leftover, facts: StreamStageFacts())
            case 401, 407:
                // A CONNECT is addressed to the proxy itself, so a 401 is its challenge too
                // (tinyproxy 1.11 answers wrong credentials with 401).
                return fail(.proxyAuthenticationRequired)
            default:
                let reason = head.reason.isEmpty ? "" : " \(head.reason)"
                return fail(.proxyRefused("HTTP \(head.status)\(reason)"))
            }
        }
    }

    private static func describe(_ error: HandshakeError) -> String {
        switch error {
        case .headTooLarge(let limit): return "the HTTP proxy's reply head is over \(limit) bytes"
        case .tooManyHeaders(let limit): return "the HTTP proxy's reply has over \(limit) header fields"
        case .malformedHead(let why): return "the HTTP proxy's reply is not valid HTTP: \(why)"
        default: return "the HTTP proxy's reply is not valid HTTP: \(error)"
        }
    }

    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep {
        fail(.proxyConnectionClosed)
    }

    mutating func handleTimeout(now: Instant) -> StreamStageStep {
        guard let deadline = nextDeadline, now >= deadline else { return .needMoreData(write: []) }
        return fail(.proxyConnectionTimeout)
    }

    private mutating func fail(_ error: WebSocketError) -> StreamStageStep {
        finished = true
        nextDeadline = nil
        return .failed(error)
    }
}
