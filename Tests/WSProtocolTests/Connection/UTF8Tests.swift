// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// Text must be UTF-8, checked as it arrives and failed at the first impossible byte (1007).
@Suite("RFC 6455 §8.1 Handling errors in UTF-8-encoded data")
struct UTF8Tests {
    static func server(streaming: Bool = false) -> Connection {
        var config = Connection.Configuration()
        config.deliversFragments = streaming
        return Connection(role: .server, configuration: config)
    }

    @Test("Invalid single-frame text", arguments: [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
                                                   [0x68, 0xC3]] as [[UInt8]])
    func invalidText(bytes: [UInt8]) {
        var server = Self.server()
        #expect(server.receive(Wire.client(.text, bytes), now: .zero) == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func aCodePointSplitAcrossFragmentsIsFine() {
        var server = Self.server()
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        let input = Wire.client(.text, [euro[0]], fin: false) + Wire.client(.continuation, [euro[1]], fin: false)
            + Wire.client(.continuation, [euro[2]])
        #expect(server.receive(input, now: .zero) == [.deliver(.message(.text("€")))])
    }

    @Test func failsFastAcrossFragmentsBeforeTheMessageEnds() {
        var server = Self.server()
        // "κόσμε" then an impossible byte in a non-final fragment: fail now, not at the end.
        let input = Wire.client(.text, Array("κόσμε".utf8), fin: false) + Wire.client(.continuation, [0xCE, 0xBA, 0xF5], fin: false)
        #expect(server.receive(input, now: .zero) == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func failsFastInsideAFrameBeforeItEnds() {
        var server = Self.server()
        let frame = Wire.clientHeader(.text, length: 100)
        // The header, then the first payload bytes: 'a' and 0xFF (masked with the RFC key).
        let payload: [UInt8] = [0x61 ^ 0x37, 0xFF ^ 0xFA]
        #expect(server.receive(frame + payload, now: .zero) == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func aTruncatedSequenceAtTheEndOfTheMessage() {
        var server = Self.server()
        let input = Wire.client(.text, [0x61], fin: false) + Wire.client(.continuation, [0xE2, 0x82])
        #expect(server.receive(input, now: .zero) == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func streamingModeFailsFastToo() {
        var server = Self.server(streaming: true)
        let input = Wire.client(.text, [0x61], fin: false) + Wire.client(.continuation, [0x62, 0x80], fin: false)
        let first = Event.fragment(Fragment(kind: .text, bytes: [0x61], isFirst: true, isFinal: false))
        #expect(server.receive(input, now: .zero) == Wire.failure(.invalidUTF8, role: .server, before: [first]))
    }

    @Test func streamingModeTruncatedAtTheEnd() {
        var server = Self.server(streaming: true)
        let first = Event.fragment(Fragment(kind: .text, bytes: [0xC3], isFirst: true, isFinal: false))
        #expect(server.receive(Wire.client(.text, [0xC3], fin: false), now: .zero) == [.deliver(first)])
        #expect(server.receive(Wire.client(.continuation, []), now: .zero) == Wire.failure(.invalidUTF8, role: .server))
    }

    @Test func binaryIsNotChecked() {
        var server = Self.server()
        #expect(server.receive(Wire.client(.binary, [0xFF, 0xC0]), now: .zero) == [.deliver(.message(.binary([0xFF, 0xC0])))])
    }

    @Test func everySplitFailsAtTheSameByte() throws {
        let input = Wire.client(.text, Array("ok".utf8)) + Wire.client(.text, Array("héllo".utf8) + [0xFF] + Array("more".utf8))
        for streaming in [false, true] {
            let runs = Chunking.transcripts(of: input) { Self.server(streaming: streaming) }
            let reference = try #require(runs.first).transcript
            let ok: Event = streaming ? .fragment(Fragment(kind: .text, bytes: Array("ok".utf8), isFirst: true, isFinal: true))
                                      : .message(.text("ok"))
            #expect(reference == Transcript(Wire.failure(.invalidUTF8, role: .server, before: [ok])))
            for (label, transcript) in runs { #expect(transcript == reference, "streaming \(streaming), \(label)") }
        }
    }
}
