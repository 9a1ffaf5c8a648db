// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// What went wrong with a WebSocket connection (Tufao's error list, where it applies).
public enum WebSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The URL is not a valid `ws://` or `wss://` URL, or an argument cannot be written into the
    /// handshake (a header with CR/LF, a subprotocol that is not a token).
    case invalidArgument(String)
    /// `wss://` was requested: TLS is not supported yet (see ``Transport``).
    case tlsNotSupported
    /// The host name did not resolve.
    case hostNotFound(host: String, message: String)
    /// The peer refused the TCP connection (ECONNREFUSED).
    case connectionRefused
    /// The peer closed or reset the connection unexpectedly.
    case remoteHostClosed
    /// The operation was not permitted (EACCES, EPERM).
    case accessDenied
    /// Out of descriptors, buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
    case outOfResources
    /// A timer ran out.
    case timeout(Timeout)
    /// Any other network failure.
    case networkError(SystemError)
    /// The opening handshake failed: refused with a status (see ``status``, ``headers``,
    /// ``bodyPrefix``, ``location``) or an invalid response (RFC 6455 §4.1).
    case handshakeFailed(HandshakeError)
    /// The peer broke RFC 6455; this end failed the connection and sent ``closeCode``.
    case protocolError(ProtocolError)
    /// The connection is closing or closed; nothing more can be sent.
    case closed
    /// The call was invalid for the connection's state (e.g. a control payload over 125 bytes).
    case usage(UsageError)

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
    }

    /// The close code sent for a protocol error (RFC 6455 §7.4.1), else `nil`.
    public var closeCode: CloseCode? {
        if case .protocolError(let e) = self { return e.closeCode }
        return nil
    }

    /// The HTTP status of a refused handshake.
    public var status: Int? {
        if case .handshakeFailed(.refused(let status, _, _, _)) = self { return status }
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
        case .unreachable, .addressInUse, .other: self = .networkError(error)
        }
    }

    public var description: String {
        switch self {
        case .invalidArgument(let why): return "invalid argument: \(why)"
        case .tlsNotSupported: return "TLS (wss://) is not supported yet"
        case .hostNotFound(let host, let message): return "host not found: \(host) (\(message))"
        case .connectionRefused: return "connection refused"
        case .remoteHostClosed: return "remote host closed the connection"
        case .accessDenied: return "access denied"
        case .outOfResources: return "out of resources"
        case .timeout(let which): return "timed out (\(which))"
        case .networkError(let e): return "network error: \(e)"
        case .handshakeFailed(let e): return "WebSocket handshake failed: \(e.reasonText)"
        case .protocolError(let e): return "WebSocket protocol error \(e) (sent close \(e.closeCode.rawValue))"
        case .closed: return "the connection is closed"
        case .usage(let e): return "invalid use: \(e)"
        }
    }
}
