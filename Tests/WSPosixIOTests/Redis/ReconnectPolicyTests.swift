// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTLS

@Suite("Client reconnect policy")
struct ReconnectPolicyTests {
    static func closed(by code: CloseCode, locally: Bool = false) -> CloseInfo {
        CloseInfo(code: code, closeReason: .handshakeCompleted(peer: CloseFrame(code: code), initiatedLocally: locally))
    }

    @Test("Which endings bring the client back", arguments: [
        (closed(by: .goingAway), true),
        (closed(by: .serviceRestart), true),
        (closed(by: .tryAgainLater), true),
        (closed(by: .normalClosure), false),
        (closed(by: .policyViolation), false),
        (closed(by: .internalError), false),
        (closed(by: .goingAway, locally: true), false),
        (CloseInfo(code: .abnormalClosure, closeReason: .abnormal), true),
        (CloseInfo(code: .internalError, closeReason: .timedOut(.keepalive), error: .timeout(.keepalive)), true),
        (CloseInfo(code: .abnormalClosure, closeReason: .timedOut(.closeHandshake)), false),
        (CloseInfo(code: .protocolError, closeReason: .protocolError(.reservedBitsSet(0x40))), false),
        (CloseInfo(code: .abnormalClosure, error: .remoteHostClosed), true),
    ] as [(CloseInfo, Bool)])
    func reconnectAfter(info: CloseInfo, expected: Bool) {
        #expect(ReconnectPolicy().shouldReconnect(after: info) == expected)
    }

    @Test("Which failed attempts are retried", arguments: [
        (WebSocketError.connectionRefused, true),
        (.remoteHostClosed, true),
        (.timeout(.connect), true),
        (.timeout(.handshake), true),
        (.handshakeFailed(.refused(status: 503, reason: "Service Unavailable", headers: [:], bodyPrefix: [])), true),
        (.handshakeFailed(.refused(status: 502, reason: "Bad Gateway", headers: [:], bodyPrefix: [])), true),
        (.handshakeFailed(.refused(status: 403, reason: "Forbidden", headers: [:], bodyPrefix: [])), false),
        (.tls(.handshakeFailed(reason: "tlsv1 alert internal error")), true),
        (.tls(.handshakeFailed(reason: "tlsv1 alert unknown ca")), false),
        (.tls(.verificationFailed(VerificationError(failure: .expired, result: 10, reason: "certificate has expired", depth: 0))), false),
        (.hostNotFound(host: "nowhere", message: "no"), false),
        (.invalidArgument("bad URL"), false),
    ] as [(WebSocketError, Bool)])
    func retryAfter(error: WebSocketError, expected: Bool) {
        #expect(ReconnectPolicy().shouldRetry(after: error) == expected)
    }

    struct FixedGenerator: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test func backoffGrowsWithFailuresResetsOnConnectAndStopsAtTheLimit() {
        let policy = ReconnectPolicy(backoff: Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .milliseconds(500), jitter: 0.5),
                                     maxAttempts: 4)
        var reconnector = Reconnector(policy: policy)
        var full = FixedGenerator(value: 0)
        #expect(reconnector.connectionEnded(Self.closed(by: .goingAway), openFor: .seconds(60), using: &full) == .reconnect(after: .milliseconds(100)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(200)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(400)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(500)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .stop)
        reconnector.connected()
        #expect(reconnector.failures == 0)
        var half = FixedGenerator(value: 1 << 63)
        #expect(reconnector.connectionEnded(CloseInfo(code: .abnormalClosure, closeReason: .abnormal), openFor: .seconds(60),
                                            using: &half)
                == .reconnect(after: .milliseconds(75)))
        #expect(reconnector.connectionEnded(Self.closed(by: .normalClosure), openFor: .seconds(60), using: &half) == .stop)
        #expect(reconnector.attemptFailed(.invalidArgument("x"), using: &half) == .stop)
        var unlimited = Reconnector(policy: ReconnectPolicy(backoff: Backoff(), maxAttempts: nil))
        for _ in 0..<100 { #expect(unlimited.attemptFailed(.connectionRefused, using: &full) != .stop) }
    }

    /// A server that accepts and at once closes with 1013 (try again later), or drops the
    /// connection, is not called back every 250 ms forever: a connection that did not stay open
    /// for `stableAfter` continues the backoff, one that did starts it again.
    @Test func shortConnectionsContinueTheBackoff() {
        let policy = ReconnectPolicy(backoff: Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .milliseconds(1000), jitter: 0.5),
                                     maxAttempts: 4, stableAfter: .seconds(10))
        var reconnector = Reconnector(policy: policy)
        var full = FixedGenerator(value: 0)
        var delays: [Duration] = []
        for _ in 0..<6 {
            reconnector.connected()
            if case .reconnect(let delay) = reconnector.connectionEnded(Self.closed(by: .tryAgainLater), openFor: .milliseconds(5),
                                                                        using: &full) {
                delays.append(delay)
            }
        }
        #expect(delays == [100, 200, 400, 800, 1000, 1000].map { .milliseconds($0) })
        #expect(reconnector.attempt == 6)
        // A failed attempt goes on from there; a connection that opens does not reset it.
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(1000)))
        reconnector.connected()
        #expect(reconnector.connectionEnded(CloseInfo(code: .abnormalClosure, closeReason: .abnormal), openFor: .seconds(9),
                                            using: &full) == .reconnect(after: .milliseconds(1000)))
        // One that stayed up for `stableAfter` starts the backoff again.
        reconnector.connected()
        #expect(reconnector.connectionEnded(Self.closed(by: .goingAway), openFor: .seconds(10), using: &full)
                == .reconnect(after: .milliseconds(100)))
        #expect(reconnector.attempt == 1)
    }
}
