// SPDX-License-Identifier: Apache-2.0
import Testing
import WSPosixIO
import WSProtocol

@Suite("Loopback: our client against our server", .timeLimit(.minutes(1)))
struct EchoTests {
    @Test("Text and binary messages echo intact", arguments: [0, 125, 64 << 10, 1 << 20, 16 << 20])
    func echo(size: Int) async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        var it = ws.makeAsyncIterator()
        let text = Echo.text(count: size)
        try await ws.send(text: text)
        #expect(await Echo.nextData(&it) == .text(text))
        let bytes = Echo.bytes(count: size, seed: UInt64(size))
        try await ws.send(binary: bytes)
        #expect(await Echo.nextData(&it) == .binary(bytes))
        try await ws.close()
        let rest = await Echo.drain(&it)
        guard case .closed(let info)? = rest.last else { Issue.record("no closed event: \(rest)"); return }
        #expect(info.code == .normalClosure)
        #expect(info.isClean)
        await server.shutdown(timeout: .seconds(1))
    }
}
