// SPDX-License-Identifier: Apache-2.0
public import WSProtocol
public import WSTLS

/// What went wrong with a WebSocket connection (Tufao's error list, where it applies).
public enum WebSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The URL is not a valid `ws://` or `wss://` URL, or an argument cannot be written into the
    /// handshake (a header with CR/LF, a subprotocol that is not a token).
    case invalidArgument(String)
    /// TLS failed (Tufao's `SSL_HANDSHAKE_FAILED`, made precise): the peer's certificate was
    /// refused (`TLSError.verificationFailed` with OpenSSL's verification result, such as
    /// "certificate has expired"), the handshake failed ("wrong version number" for a peer that
    /// does not speak TLS), or the stream was cut without close_notify.
    case tls(TLSError)
    /// The host name did not resolve.
    case hostNotFound(host: String, message: String)
    /// The peer refused the TCP connection (ECONNREFUSED).
    case connectionRefused
    /// The peer closed or reset the connection unexpectedly; also when a server closes or resets
    /// during the opening handshake before its response head is complete (a response that
    /// arrives and refuses or breaks RFC 6455 is ``handshakeFailed(_:)``).
    case remoteHostClosed
    /// The operation was not permitted (EACCES, EPERM).
    case accessDenied
    /// Out of descriptors, buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
    case outOfResources
    /// A timer ran out.
    case timeout(Timeout)
    /// A network failure: the network or host is unreachable, the address is in use.
    case networkError(SystemError)
    /// The operation is not supported here: the system lacks the address family or cannot use
    /// the address (EAFNOSUPPORT, EPROTONOSUPPORT, EOPNOTSUPP, EINVAL from `connect`, e.g. an
    /// IPv6 link-local address without a scope), or the proxy cannot carry it (a SOCKS5 reply
    /// 7 "command not supported" or 8 "address type not supported"; an IPv6 target through a
    /// SOCKS4a proxy). The text says which.
    case unsupportedSocketOperation(String)

    // MARK: proxies (the client's tunnel, before TLS and the opening handshake)

    /// The proxy wants credentials, or refused the ones given: HTTP `407 Proxy Authentication
    /// Required`, a SOCKS5 proxy that accepts none of the offered methods (0xFF), or a failed
    /// SOCKS5 user/password check (RFC 1929).
    case proxyAuthenticationRequired
    /// Nothing accepted the TCP connection to the proxy (ECONNREFUSED at its address).
    case proxyConnectionRefused
    /// The proxy closed (or reset) the connection before its reply was complete.
    case proxyConnectionClosed
    /// The TCP connection to the proxy, or the proxy's reply, did not come in time
    /// (``WebSocket/ClientConfiguration/connectTimeout``, ``WebSocket/Proxy/timeout``).
    case proxyConnectionTimeout
    /// The proxy's host name did not resolve.
    case proxyNotFound(host: String, message: String)
    /// The proxy's reply is not what the protocol allows (not an HTTP response head, not a
    /// SOCKS5/SOCKS4 reply, over the size limit); the text says what was wrong.
    case proxyProtocolError(String)
    /// The proxy answered but would not open the tunnel: an HTTP status other than 2xx and 407
    /// (e.g. `403 Forbidden`, `502 Bad Gateway`), or a SOCKS reply code that refuses (general
    /// failure, not allowed, network or host unreachable, connection refused, TTL expired).
    /// The text is the proxy's answer, e.g. `HTTP 502 Bad Gateway`.
    case proxyRefused(String)

    /// The opening handshake failed: refused with a status (see ``status``, ``headers``,
    /// ``bodyPrefix``, ``location``) or an invalid response (RFC 6455 §4.1).
    case handshakeFailed(HandshakeError)
    /// Server: the PROXY protocol header was missing, malformed, or came from a source that is
    /// not a trusted proxy (see ``WebSocketServer/Configuration/proxyProtocol``); the
    /// connection was closed without an answer.
    case proxyProtocol(ProxyHeaderError)
    /// A redirect of the opening handshake was not followed: it leads from `wss://` to `ws://`,
    /// or its `Location` is not a WebSocket or HTTP URL (see ``WebSocket/RedirectPolicy``).
    /// ``status`` and ``location`` say what the server answered.
    case redirectNotFollowed(status: Int, location: String, reason: String)
    /// The peer broke RFC 6455; this end failed the connection and sent ``closeCode``.
    case protocolError(ProtocolError)
    /// The connection is closing or closed; nothing more can be sent.
    case closed
    /// A non-suspending send found more than ``FlowControl/highWaterMark`` bytes unwritten: the
    /// peer is not reading fast enough; the message was not queued.
    case sendBufferFull
    /// The task that was connecting was cancelled: the attempt stopped where it was (the TCP
    /// connect, a proxy's tunnel, TLS or the opening handshake) and its socket closed.
    case cancelled
    /// The call was invalid for the connection's state (e.g. a control payload over 125 bytes).
    case usage(UsageError)
    /// Anything no other case describes (Tufao's `UNKNOWN_ERROR`): a system call failed with an
    /// error number this library does not classify. The text names the call and the error.
    case unknown(String)

    /// Which timer ran out.
    public enum Timeout: Hashable, Sendable {
        /// The TCP connection was not established in time.
        case connect
        /// The opening handshake did not complete in time.
        case handshake
        /// The peer did not answer the close frame in time.
        case closeHandshake
        /// No pong came back within the keepalive timeout.
        case keepalive
        /// A message the peer started received no byte for
        /// `Connection.Configuration.messageTimeout`; this end sent 1008.
        case message
        /// Queued bytes made no progress to the socket for ``FlowControl/sendTimeout``: the
        /// peer stopped reading; the connection was dropped.
        case send
    }

    /// The close code sent for a protocol error (RFC 6455 §7.4.1), else `nil`.
    public var closeCode: CloseCode? {
        if case .protocolError(let e) = self { return e.closeCode }
        return nil
    }

    /// The HTTP status of a refused handshake.
    public var status: Int? {
        if case .handshakeFailed(.refused(let status, _, _, _)) = self { return status }
        if case .redirectNotFollowed(let status, _, _) = self { return status }
        return nil
    }

    /// The response headers of a refused handshake.
    public var headers: HTTPHeaders? {
        if case .handshakeFailed(.refused(_, _, let headers, _)) = self { return headers }
        return nil
    }

    /// The start of the body of a refused handshake.
    public var bodyPrefix: [UInt8]? {
        if case .handshakeFailed(.refused(_, _, _, let body)) = self { return body }
        return nil
    }

    /// The `Location` of a refused handshake with a 3xx status.
    public var location: String? {
        if case .handshakeFailed(let e) = self { return e.location }
        if case .redirectNotFollowed(_, let location, _) = self { return location }
        return nil
    }

    /// Maps a failed system call.
    init(_ error: SystemError) {
        switch error.kind {
        case .connectionRefused: self = .connectionRefused
        case .remoteHostClosed: self = .remoteHostClosed
        case .accessDenied: self = .accessDenied
        case .outOfResources: self = .outOfResources
        case .timedOut: self = .timeout(.connect)
        case .unreachable, .addressInUse: self = .networkError(error)
        case .unsupported: self = .unsupportedSocketOperation("\(error)")
        case .other: self = .unknown("\(error)")
        }
    }

    /// One line for logs and stderr, e.g. `invalid argument: …`.
    public var description: String {
        switch self {
        case .invalidArgument(let why): return "invalid argument: \(why)"
        case .tls(let e): return e.description
        case .hostNotFound(let host, let message): return "host not found: \(host) (\(message))"
        case .connectionRefused: return "connection refused"
        case .remoteHostClosed: return "remote host closed the connection"
        case .accessDenied: return "access denied"
        case .outOfResources: return "out of resources"
        case .timeout(let which): return "timed out (\(which))"
        case .networkError(let e): return "network error: \(e)"
        case .unsupportedSocketOperation(let why): return "unsupported socket operation: \(why)"
        case .proxyAuthenticationRequired: return "the proxy requires authentication (none given, or rejected)"
        case .proxyConnectionRefused: return "the proxy refused the connection (nothing listening at its address)"
        case .proxyConnectionClosed: return "the proxy closed the connection before completing its reply"
        case .proxyConnectionTimeout: return "the proxy did not answer in time"
        case .proxyNotFound(let host, let message): return "proxy host not found: \(host) (\(message))"
        case .proxyProtocolError(let why): return "proxy protocol error: \(why)"
        case .proxyRefused(let reply): return "the proxy refused the tunnel: \(reply)"
        case .handshakeFailed(let e): return "WebSocket handshake failed: \(e.clientReasonText)"
        case .proxyProtocol(let e): return "PROXY protocol: \(e)"
        case .redirectNotFollowed(let status, let location, let reason):
            return "redirect \(status) to \(location) not followed: \(reason)"
        case .protocolError(let e): return "WebSocket protocol error \(e) (sent close \(e.closeCode.rawValue))"
        case .closed: return "the connection is closed"
        case .sendBufferFull: return "the send buffer is full (the peer is not reading)"
        case .cancelled: return "cancelled"
        case .usage(let e): return "invalid use: \(e)"
        case .unknown(let why): return "unknown error: \(why)"
        }
    }
}
