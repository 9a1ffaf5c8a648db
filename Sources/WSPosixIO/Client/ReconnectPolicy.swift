// SPDX-License-Identifier: Apache-2.0
public import WSProtocol
import WSTLS

/// When and how soon a client connects again after losing its connection.
///
/// A client reconnects only when the loss says "come back": an abnormal closure (the TCP
/// connection dropped without a close handshake, 1006, or the keepalive pong never came), or
/// a server closing with 1001 (going away: a draining instance), 1012 (service restart) or
/// 1013 (try again later). Anything else (a normal close, a policy violation, a close this
/// end started) ends for good. Failed attempts are retried while the failure is transient
/// (refused, reset, timed out, a 502/503/504 answer, or a TLS server's `internal_error` alert
/// before the handshake: its 503), at most ``maxAttempts`` times in a row, after
/// ``backoff``'s delays. A connection lost before it was open for ``stableAfter`` (a
/// server that accepts and drops at once, or sheds load with 1013 right away) continues the
/// backoff where it was instead of starting it again.
public struct ReconnectPolicy: Hashable, Sendable {
    /// The delays between attempts (exponential with jitter and a cap).
    public var backoff: Backoff
    /// The most failed attempts in a row before giving up; `nil` for no limit. Default 10.
    public var maxAttempts: Int?
    /// How long a connection must have been open for the delay after its loss to start again
    /// from ``Backoff/initial``. Default 10 s.
    public var stableAfter: Duration

    /// A policy with `backoff` (default 250 ms doubling up to 30 s, jitter 0.5), at most
    /// `maxAttempts` failed attempts in a row (default 10; `nil` for no limit), and the backoff
    /// starting afresh only after a connection that stayed open for `stableAfter` (default 10 s).
    public init(backoff: Backoff = .init(initial: .milliseconds(250), maximum: .seconds(30)), maxAttempts: Int? = 10,
                stableAfter: Duration = .seconds(10)) {
        self.backoff = backoff
        self.maxAttempts = maxAttempts
        self.stableAfter = stableAfter
    }

    /// The close codes after which a server expects clients back.
    public static let reconnectCodes: Set<CloseCode> = [.goingAway, .serviceRestart, .tryAgainLater]

    /// Whether a connection that ended with `info` should be re-established.
    public func shouldReconnect(after info: CloseInfo) -> Bool {
        switch info.closeReason {
        case .handshakeCompleted(let peer, let initiatedLocally)?:
            return !initiatedLocally && Self.reconnectCodes.contains(peer.code)
        case .abnormal?:
            return true
        case .timedOut(let which)?:
            return which == .keepalive  // the peer vanished
        case .protocolError?:
            return false
        case nil:
            return info.code == .abnormalClosure  // the transport failed
        }
    }

    /// OpenSSL's reason for a fatal `internal_error` alert received during the handshake.
    static let tlsRefusal = "tlsv1 alert internal error"

    /// Whether a failed connection attempt is worth another try.
    public func shouldRetry(after error: WebSocketError) -> Bool {
        switch error {
        case .connectionRefused, .remoteHostClosed, .timeout, .networkError, .outOfResources:
            return true
        case .handshakeFailed:
            return [502, 503, 504].contains(error.status ?? 0)
        case .tls(.handshakeFailed(reason: let reason)):
            // A TLS server's 503: the fatal alert it sends at its connection cap or while it
            // shuts down (`TLSTransport.refuse()`), before any handshake.
            return reason == Self.tlsRefusal
        default:
            return false
        }
    }
}

/// The reconnect decisions of one client, as a value: what happened in, what to do out. Time
/// is the caller's (it sleeps for the delay it is given); randomness is passed in.
public struct Reconnector: Sendable {
    /// What to do next.
    public enum Decision: Hashable, Sendable {
        /// Connect again after this delay.
        case reconnect(after: Duration)
        /// Do not reconnect (the ending was final, or the attempts ran out).
        case stop
    }

    /// The policy this reconnector follows.
    public let policy: ReconnectPolicy
    /// Failed attempts since the last successful connection.
    public private(set) var failures = 0
    /// Which delay of the backoff comes next (0 for its first): one further per reconnect,
    /// back to 0 only when a connection stayed open for ``ReconnectPolicy/stableAfter`` (a
    /// connection that merely opens does not start the backoff again).
    public private(set) var attempt = 0

    /// A reconnector with no failures counted yet.
    public init(policy: ReconnectPolicy) { self.policy = policy }

    /// A connection opened: failed attempts are counted afresh.
    public mutating func connected() { failures = 0 }

    /// The open connection ended with `info` after being open for `uptime`: the backoff starts
    /// again when it stayed open for ``ReconnectPolicy/stableAfter``, and goes on otherwise.
    public mutating func connectionEnded(_ info: CloseInfo, openFor uptime: Duration,
                                         using generator: inout some RandomNumberGenerator) -> Decision {
        guard policy.shouldReconnect(after: info) else { return .stop }
        if uptime >= policy.stableAfter { attempt = 0 }
        return next(using: &generator)
    }

    /// An attempt to connect failed with `error`.
    public mutating func attemptFailed(_ error: WebSocketError, using generator: inout some RandomNumberGenerator) -> Decision {
        guard policy.shouldRetry(after: error) else { return .stop }
        failures += 1
        if let limit = policy.maxAttempts, failures >= limit { return .stop }
        return next(using: &generator)
    }

    private mutating func next(using generator: inout some RandomNumberGenerator) -> Decision {
        let delay = policy.backoff.delay(attempt: attempt, using: &generator)
        if attempt < Int.max { attempt += 1 }
        return .reconnect(after: delay)
    }
}
