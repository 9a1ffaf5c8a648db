// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// Opens a tunnel through a SOCKS5 proxy (RFC 1928), with user/password authentication
/// (RFC 1929) when credentials are set.
///
/// ```
/// greeting  05 n methods…          → method  05 m        (00 none, 02 user/password, FF none acceptable)
/// auth      01 ulen user plen pass → status  01 s        (00 success)
/// request   05 01 00 atyp addr port → reply  05 rep 00 atyp addr port
/// ```
/// A host name travels as `atyp 03` and the proxy resolves it. Every reply byte is checked:
/// a wrong version, reserved byte or address type is ``WebSocketError/proxyProtocolError(_:)``;
/// the replies are at most 262 bytes, so nothing grows without bound.
struct SOCKS5Stage: StreamStage {
    /// Where the tunnel goes.
    enum Target: Hashable, Sendable {
        /// A numeric address: `atyp` 1 (IPv4, 4 bytes) or 4 (IPv6, 16 bytes).
        case address(UInt8, [UInt8])
        /// A host name the proxy resolves (`atyp` 3).
        case name(String)
    }

    private enum State {
        case awaitingMethod
        case awaitingAuthentication
        case awaitingReply
        case finished
    }

    private let target: Target
    private let port: UInt16
    private let credentials: WebSocket.Proxy.Credentials?
    private var state = State.awaitingMethod
    private var buffer: [UInt8] = []
    /// How long the proxy may take to reply, from ``start(now:)`` on.
    private let timeout: Duration
    private(set) var nextDeadline: Instant?

    init(target: Target, port: UInt16, credentials: WebSocket.Proxy.Credentials?, timeout: Duration) {
        self.target = target; self.port = port; self.credentials = credentials
        self.timeout = timeout
    }

    mutating func start(now: Instant) -> [UInt8] {
        nextDeadline = now + timeout
        // With credentials, offer both: the proxy picks (RFC 1928 §3).
        return credentials == nil ? [0x05, 0x01, 0x00] : [0x05, 0x02, 0x00, 0x02]
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep {
        guard state != .finished else { return .needMoreData(write: []) }
        buffer.append(contentsOf: bytes)
        var write: [UInt8] = []
        while true {
            switch state {
            case .awaitingMethod:
                guard buffer.count >= 2 else { return .needMoreData(write: write) }
                guard buffer[0] == 0x05 else { return fail(.proxyProtocolError(Self.notSOCKS5(buffer[0]))) }
                let method = buffer[1]
                buffer.removeFirst(2)
                switch method {
                case 0x00:
                    write += request()
                    state = .awaitingReply
                case 0x02 where credentials != nil:
                    let user = Array(credentials!.user.utf8), password = Array(credentials!.password.utf8)
                    write += [0x01, UInt8(user.count)] + user + [UInt8(password.count)] + password
                    state = .awaitingAuthentication
                case 0xFF:
                    return fail(.proxyAuthenticationRequired)
                default:
                    return fail(.proxyProtocolError("the SOCKS5 proxy chose method \(method), which was not offered"))
                }
            case .awaitingAuthentication:
                guard buffer.count >= 2 else { return .needMoreData(write: write) }
                guard buffer[0] == 0x01 else {
                    return fail(.proxyProtocolError("the SOCKS5 authentication reply has version \(buffer[0]), not 1 (RFC 1929)"))
                }
                guard buffer[1] == 0x00 else { return fail(.proxyAuthenticationRequired) }
                buffer.removeFirst(2)
                write += request()
                state = .awaitingReply
            case .awaitingReply:
                guard buffer.count >= 5 else { return .needMoreData(write: write) }
                guard buffer[0] == 0x05 else { return fail(.proxyProtocolError(Self.notSOCKS5(buffer[0]))) }
                guard buffer[2] == 0x00 else { return fail(.proxyProtocolError("the SOCKS5 reply's reserved byte is \(buffer[2]), not 0")) }
                let length: Int
                switch buffer[3] {
                case 0x01: length = 4 + 4 + 2
                case 0x04: length = 4 + 16 + 2
                case 0x03: length = 4 + 1 + Int(buffer[4]) + 2
                default: return fail(.proxyProtocolError("the SOCKS5 reply has address type \(buffer[3])"))
                }
                // A refusal is decided by its code; the address after it does not matter.
                if buffer[1] != 0x00 { return fail(Self.refusal(buffer[1])) }
                guard buffer.count >= length else { return .needMoreData(write: write) }
                let leftover = Array(buffer[length...])
                buffer = []
                state = .finished
                nextDeadline = nil
                return .done(write: write, leftover: leftover, facts: StreamStageFacts())
            case .finished:
                return .needMoreData(write: write)
            }
        }
    }

    /// `05 01 00 atyp addr port`: CONNECT (RFC 1928 §4).
    private func request() -> [UInt8] {
        var bytes: [UInt8] = [0x05, 0x01, 0x00]
        switch target {
        case .address(let type, let address): bytes += [type] + address
        case .name(let name): bytes += [0x03, UInt8(name.utf8.count)] + Array(name.utf8)
        }
        return bytes + [UInt8(port >> 8), UInt8(port & 0xFF)]
    }

    /// The error for a reply code other than 0 (RFC 1928 §6).
    static func refusal(_ code: UInt8) -> WebSocketError {
        switch code {
        case 0x01: return .proxyRefused("SOCKS5 reply 1: general SOCKS server failure")
        case 0x02: return .proxyRefused("SOCKS5 reply 2: connection not allowed by ruleset")
        case 0x03: return .proxyRefused("SOCKS5 reply 3: network unreachable")
        case 0x04: return .proxyRefused("SOCKS5 reply 4: host unreachable")
        case 0x05: return .proxyRefused("SOCKS5 reply 5: connection refused")
        case 0x06: return .proxyRefused("SOCKS5 reply 6: TTL expired")
        case 0x07: return .unsupportedSocketOperation("SOCKS5 reply 7: command not supported")
        case 0x08: return .unsupportedSocketOperation("SOCKS5 reply 8: address type not supported")
        default: return .proxyProtocolError("the SOCKS5 reply has the unassigned code \(code)")
        }
    }

    private static func notSOCKS5(_ version: UInt8) -> String {
        "the proxy's reply is not SOCKS5 (version byte \(version), expected 5)"
    }

    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep {
        fail(.proxyConnectionClosed)
    }

    mutating func handleTimeout(now: Instant) -> StreamStageStep {
        guard let deadline = nextDeadline, now >= deadline else { return .needMoreData(write: []) }
        return fail(.proxyConnectionTimeout)
    }

    private mutating func fail(_ error: WebSocketError) -> StreamStageStep {
        state = .finished
        nextDeadline = nil
        buffer = []
        return .failed(error)
    }
}

/// Opens a tunnel through a SOCKS4a proxy: `04 01 port ip user 00 [host 00]`, reply
/// `00 5A port ip` (8 bytes; 0x5A granted, 0x5B–0x5D refused).
struct SOCKS4aStage: StreamStage {
    enum Target: Hashable, Sendable {
        case address([UInt8])
        case name(String)
    }

    private let request: [UInt8]
    private var buffer: [UInt8] = []
    private var finished = false
    /// How long the proxy may take to reply, from ``start(now:)`` on.
    private let timeout: Duration
    private(set) var nextDeadline: Instant?

    init(target: Target, port: UInt16, user: String, timeout: Duration) {
        var bytes: [UInt8] = [0x04, 0x01, UInt8(port >> 8), UInt8(port & 0xFF)]
        switch target {
        case .address(let address): bytes += address + Array(user.utf8) + [0]
        case .name(let name): bytes += [0, 0, 0, 1] + Array(user.utf8) + [0] + Array(name.utf8) + [0]
        }
        request = bytes
        self.timeout = timeout
    }

    mutating func start(now: Instant) -> [UInt8] {
        nextDeadline = now + timeout
        return request
    }

    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep {
        guard !finished else { return .needMoreData(write: []) }
        buffer.append(contentsOf: bytes)
        guard buffer.count >= 8 else { return .needMoreData(write: []) }
        guard buffer[0] == 0x00 else {
            return fail(.proxyProtocolError("the proxy's reply is not SOCKS4 (first byte \(buffer[0]), expected 0)"))
        }
        switch buffer[1] {
        case 0x5A:
            finished = true
            nextDeadline = nil
            let leftover = Array(buffer[8...])
            buffer = []
            return .done(write: [], leftover: leftover, facts: StreamStageFacts())
        case 0x5B: return fail(.proxyRefused("SOCKS4 reply 91: request rejected or failed"))
        case 0x5C, 0x5D: return fail(.proxyAuthenticationRequired)
        default: return fail(.proxyProtocolError("the SOCKS4 reply has the unknown code \(buffer[1])"))
        }
    }

    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep { fail(.proxyConnectionClosed) }

    mutating func handleTimeout(now: Instant) -> StreamStageStep {
        guard let deadline = nextDeadline, now >= deadline else { return .needMoreData(write: []) }
        return fail(.proxyConnectionTimeout)
    }

    private mutating func fail(_ error: WebSocketError) -> StreamStageStep {
        finished = true
        nextDeadline = nil
        buffer = []
        return .failed(error)
    }
}
