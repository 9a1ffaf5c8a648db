// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

/// Long mixed transcripts give the same events, bytes and transport actions for every split.
@Suite("Incremental parsing: every split point")
struct SplitInvarianceTests {
    static func clientSession() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes += Wire.client(.text, Array("first".utf8))
        bytes += Wire.client(.binary, [UInt8](repeating: 3, count: 300), fin: false, key: MaskingKey(9, 8, 7, 6))
        bytes += Wire.client(.ping, Array("p".utf8), key: MaskingKey(1, 1, 1, 1))
        bytes += Wire.client(.continuation, [UInt8](repeating: 4, count: 70_000), key: MaskingKey(0xFF, 0, 0xFF, 0))
        bytes += Wire.client(.text, Array("é€𝄞".utf8).prefix(5).map { $0 }, fin: false)
        bytes += Wire.client(.continuation, Array("é€𝄞".utf8).dropFirst(5).map { $0 })
        bytes += Wire.client(.pong, [])
        bytes += Wire.client(.close, Wire.close(1000, "done"))
        bytes += Wire.client(.text, Array("ignored".utf8))
        return bytes
    }

    @Test func serverSessionWithAllKindsOfFrames() throws {
        let runs = Chunking.transcripts(of: Self.clientSession()) { Connection(role: .server) }
        let reference = try #require(runs.first).transcript
        let peer = CloseFrame(code: .normalClosure, reason: "done")
        #expect(reference.events == [
            .message(.text("first")), .ping(Array("p".utf8)),
            .message(.binary([UInt8](repeating: 3, count: 300) + [UInt8](repeating: 4, count: 70_000))),
            .message(.text("é€𝄞")), .pong([]), .closeReceived(peer),
            .closed(.handshakeCompleted(peer: peer, initiatedLocally: false)),
        ])
        #expect(reference.written == Wire.server(.pong, Array("p".utf8)) + Wire.server(.close, Wire.close(1000)))
        #expect(reference.transport == [.closeTransport])
        for (label, transcript) in runs { #expect(transcript == reference, "\(label)") }
    }

    @Test func streamingServerSession() throws {
        var config = Connection.Configuration()
        config.deliversFragments = true
        let runs = Chunking.transcripts(of: Self.clientSession()) { Connection(role: .server, configuration: config) }
        let reference = try #require(runs.first).transcript
        #expect(reference.events.count == 9)
        for (label, transcript) in runs { #expect(transcript == reference, "\(label)") }
    }

    @Test func clientSessionWithAClientReply() throws {
        let input = Wire.server(.binary, [1]) + Wire.server(.ping, [2]) + Wire.server(.close, Wire.close(1001))
        let runs = Chunking.transcripts(of: input) { Connection(role: .client, entropy: FixedKeyGenerator()) }
        let reference = try #require(runs.first).transcript
        #expect(reference == Transcript([
            .deliver(.message(.binary([1]))), .deliver(.ping([2])), .deliver(.closeReceived(CloseFrame(code: .goingAway))),
            .write(Wire.client(.pong, [2]) + Wire.client(.close, Wire.close(1001))),
        ]))
        for (label, transcript) in runs { #expect(transcript == reference, "\(label)") }
    }
}
