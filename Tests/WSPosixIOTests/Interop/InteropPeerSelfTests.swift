// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// Checks the interop machinery itself: the CRC the reports use, and that the Python peers
/// are installed and agree with each other before they judge our code.
@Suite("Interop peers self-check", .serialized, .timeLimit(.minutes(1)))
struct InteropPeerSelfTests {
    @Test func crc32MatchesZlib() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(PeerReport.Received.binary([1, 2, 255]).crc32 == 3_786_882_602)  // zlib.crc32(b"\x01\x02\xff")
    }

    @Test("websockets client and wsproto server agree", .enabled(if: Peers.available(Peers.python)))
    func pythonPeersAgree() async throws {
        let (server, port) = try await Peers.startServer("wsproto_server.py", ["--subprotocol", "chat"])
        defer { server.stop() }
        let script = #"[{"send":"text","data":"héllo"},{"expect":1},{"send":"binary","pattern":70000},{"expect":1},{"close":4001,"reason":"bye"}]"#
        let client = try Peers.startPython("websockets_client.py",
                                           ["ws://127.0.0.1:\(port)/self", script, "--subprotocol", "chat"])
        defer { client.stop() }
        let report = try PeerReport.decode(try await client.nextLine())
        #expect(report.error == nil)
        #expect(report.subprotocol == "chat")
        #expect(report.received == [.text("héllo"), .binary(Pattern.bytes(70000))])
        #expect(report.close_code == 4001)
        #expect(report.close_reason == "bye")
        let serverReport = try PeerReport.decode(try await server.nextLine())
        #expect(serverReport.path == "/self")
        #expect(serverReport.close_code == 4001)
    }
}
