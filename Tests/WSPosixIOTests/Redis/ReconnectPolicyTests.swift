// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

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
        #expect(reconnector.connectionEnded(Self.closed(by: .goingAway), using: &full) == .reconnect(after: .milliseconds(100)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(200)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(400)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .reconnect(after: .milliseconds(500)))
        #expect(reconnector.attemptFailed(.connectionRefused, using: &full) == .stop)
        reconnector.connected()
        #expect(reconnector.failures == 0)
        var half = FixedGenerator(value: 1 << 63)
        #expect(reconnector.connectionEnded(CloseInfo(code: .abnormalClosure, closeReason: .abnormal), using: &half)
                == .reconnect(after: .milliseconds(75)))
        #expect(reconnector.connectionEnded(Self.closed(by: .normalClosure), using: &half) == .stop)
        #expect(reconnector.attemptFailed(.invalidArgument("x"), using: &half) == .stop)
        var unlimited = Reconnector(policy: ReconnectPolicy(backoff: Backoff(), maxAttempts: nil))
        for _ in 0..<100 { #expect(unlimited.attemptFailed(.connectionRefused, using: &full) != .stop) }
    }
}
