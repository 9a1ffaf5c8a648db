// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

/// `ws serve`'s `/chat` broadcasts through ``WebSocketGroup``: a member that never reads must not
/// freeze the room (before, every broadcast awaited that member's `send`, forever).
@Suite("Interop: ws serve /chat with a member that never reads", .serialized, .timeLimit(.minutes(1)))
struct ChatToolTests {
    @Test("/chat: two members keep hearing each other while a third never reads",
          .enabled(if: Peers.available(Peers.wsBinary)))
    func aSilentMemberDoesNotFreezeTheRoom() async throws {
        let (serve, port) = try await ScaleOutToolTests.serve(["--no-deflate"])
        defer { serve.stop() }
        let address = SocketAddress(numericHost: "127.0.0.1", port: UInt16(port))!
        let silent = try await RawTCP.connect(address, receiveBuffer: 4096)
        try silent.write("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let head = try await silent.read(until: { $0.firstRange(of: Array("\r\n\r\n".utf8)) != nil }, timeout: .seconds(10))
        #expect(head.starts(with: Array("HTTP/1.1 101 ".utf8)))
        try await serve.waitForError(containing: "ws: open")
        let a = try await ScaleOutToolTests.connect(port, "/chat"), b = try await ScaleOutToolTests.connect(port, "/chat")
        // Both have joined the room (the server logs "open" after joining): a member that joined
        // late would miss the first broadcast, and the test would wait for it forever.
        try await serve.waitForError(containing: "ws: open", count: 3)
        // 120 rounds put 7.7 MiB toward the silent member: past the kernel's buffers and the
        // 1 MiB limit, where the old room stopped for good.
        let rounds = try await BroadcastTests.talk(a, b, rounds: 120)
        #expect(rounds == 120)
        try a.close()
        try b.close()
    }
}
