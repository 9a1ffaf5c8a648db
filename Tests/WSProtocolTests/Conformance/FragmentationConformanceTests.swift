// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

private typealias F = TestFrameEncoder

/// Autobahn|Testsuite section 5 (fragmentation, RFC 6455 §5.4): fragmented messages, control
/// frames between fragments, and every way to get the fragment sequence wrong.
@Suite("Autobahn 5 Fragmentation (RFC 6455 §5.4)")
struct FragmentationConformanceTests {
    @Test("5.1–5.2: a fragmented ping or pong fails with 1002", arguments: [F.ping, F.pong])
    func fragmentedControl(opcode: UInt8) {
        let frames = [F.client(opcode, Array("fragment1".utf8), fin: false), F.client(F.continuation, Array("fragment2".utf8))]
        Conformance.check(.server, frames: frames, expected: Expect.failure(.fragmentedControlFrame, role: .server))
    }

    @Test("A fragmented close frame fails with 1002")
    func fragmentedClose() {
        Conformance.check(.server, frames: [F.client(F.close, F.closePayload(1000), fin: false)],
                          expected: Expect.failure(.fragmentedControlFrame, role: .server))
    }

    @Test("5.3–5.5: a text message in two fragments, whole, octet-wise and per frame")
    func twoFragments() {
        let frames = [F.client(F.text, Array("fragment1".utf8), fin: false), F.client(F.continuation, Array("fragment2".utf8))]
        Conformance.check(.server, frames: frames, expected: Expect.messages([.text("fragment1fragment2")]))
        Conformance.check(.client, frames: [F.server(F.text, Array("frag".utf8), fin: false),
                                            F.server(F.continuation, Array("ment".utf8))],
                          expected: Expect.messages([.text("fragment")]))
    }

    @Test("5.6–5.8: pings between fragments are answered at once; the message arrives whole")
    func pingBetweenFragments() {
        let frames = [F.client(F.text, Array("fragment1".utf8), fin: false), F.client(F.ping, Array("ping payload".utf8)),
                      F.client(F.continuation, Array("fragment2".utf8))]
        Conformance.check(.server, frames: frames,
                          expected: Outcome(events: [.ping(Array("ping payload".utf8)), .message(.text("fragment1fragment2"))],
                                            written: F.server(F.pong, Array("ping payload".utf8))))
    }

    @Test("5.9–5.14: a continuation frame with no message started fails with 1002, with FIN or without",
          arguments: [true, false])
    func continuationWithoutStart(fin: Bool) {
        let frames = [F.client(F.continuation, Array("non-continuation payload".utf8), fin: fin),
                      F.client(F.text, Array("Hello, world!".utf8))]
        Conformance.check(.server, frames: frames, expected: Expect.failure(.unexpectedContinuation, role: .server))
    }

    @Test("5.15: after one fragmented message, a stray continuation fails with 1002")
    func strayContinuationAfterMessage() {
        let frames = [F.client(F.text, Array("fragment1".utf8), fin: false), F.client(F.continuation, Array("fragment2".utf8)),
                      F.client(F.continuation, Array("fragment3".utf8), fin: false), F.client(F.text, Array("fragment4".utf8))]
        Conformance.check(.server, frames: frames,
                          expected: Expect.failure(.unexpectedContinuation, role: .server,
                                                   after: Expect.messages([.text("fragment1fragment2")])))
    }

    @Test("5.16–5.17: a continuation right after a whole message fails with 1002")
    func continuationAfterWholeMessage() {
        let frames = [F.client(F.text, Array("whole".utf8)), F.client(F.continuation, Array("stray".utf8))]
        Conformance.check(.server, frames: frames,
                          expected: Expect.failure(.unexpectedContinuation, role: .server, after: Expect.messages([.text("whole")])))
    }

    @Test("5.18: a new text or binary frame while a message is open fails with 1002", arguments: [F.text, F.binary])
    func newMessageDuringFragmented(opcode: UInt8) {
        let frames = [F.client(F.text, Array("fragment1".utf8), fin: false), F.client(opcode, Array("fragment2".utf8))]
        Conformance.check(.server, frames: frames, expected: Expect.failure(.expectedContinuation, role: .server))
    }

    @Test("5.19–5.20: a message in five fragments with pings between them")
    func fiveFragmentsWithPings() {
        var frames: [[UInt8]] = []
        var written: [UInt8] = []
        var events: [Event] = []
        for i in 1...5 {
            frames.append(F.client(i == 1 ? F.text : F.continuation, Array("fragment\(i)".utf8), fin: i == 5))
            if i < 5 {
                let ping = Array("pongme \(i)!".utf8)
                frames.append(F.client(F.ping, ping))
                written += F.server(F.pong, ping)
                events.append(.ping(ping))
            }
        }
        events.append(.message(.text((1...5).map { "fragment\($0)" }.joined())))
        Conformance.check(.server, frames: frames, expected: Outcome(events: events, written: written))
    }

    @Test("A binary message in many empty and non-empty fragments")
    func emptyFragments() {
        let frames = [F.client(F.binary, [], fin: false), F.client(F.continuation, [1], fin: false),
                      F.client(F.continuation, [], fin: false), F.client(F.continuation, [2, 3])]
        Conformance.check(.server, frames: frames, expected: Expect.messages([.binary([1, 2, 3])]))
    }

    @Test("Streaming mode delivers each fragment as it completes")
    func streamingMode() {
        var configuration = Connection.Configuration()
        configuration.deliversFragments = true
        let frames = [F.client(F.text, Array("ab".utf8), fin: false), F.client(F.continuation, Array("cd".utf8))]
        Conformance.check(.server, configuration: configuration, frames: frames, deliveries: [.whole, .perFrame],
                          expected: Outcome(events: [.fragment(Fragment(kind: .text, bytes: Array("ab".utf8), isFirst: true, isFinal: false)),
                                                     .fragment(Fragment(kind: .text, bytes: Array("cd".utf8), isFirst: false, isFinal: true))]))
    }
}
