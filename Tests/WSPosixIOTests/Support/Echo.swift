// SPDX-License-Identifier: Apache-2.0
import WSPosixIO
import WSProtocol
import WSTestSupport

/// Helpers shared by the loopback tests.
enum Echo {
    /// A server that echoes every data message back, on 127.0.0.1 (or `host`) port 0.
    static func server(host: String = "127.0.0.1", port: Int = 0, configuration: WebSocketServer.Configuration = .init(),
                       onUpgrade: WebSocketServer.UpgradeHandler? = nil) async throws -> WebSocketServer {
        try await WebSocketServer.bind(host: host, port: port, configuration: configuration, onUpgrade: onUpgrade) { ws in
            for await event in ws {
                switch event {
                case .text(let t): try? await ws.send(.text(t))
                case .binary(let b): try? await ws.send(.binary(b))
                default: break
                }
            }
        }
    }

    /// The next event that is not a ping or pong.
    static func nextData(_ iterator: inout WebSocket.AsyncIterator) async -> WebSocketEvent? {
        while let e = await iterator.next() {
            switch e {
            case .ping, .pong: continue
            default: return e
            }
        }
        return nil
    }

    /// Collects events until `.closed` (inclusive).
    static func drain(_ iterator: inout WebSocket.AsyncIterator) async -> [WebSocketEvent] {
        var all: [WebSocketEvent] = []
        while let e = await iterator.next() { all.append(e) }
        return all
    }

    /// Deterministic bytes (SplitMix64) for payloads.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        return generator.packedBytes(count)
    }

    /// ASCII text of `count` bytes.
    static func text(count: Int) -> String {
        String(decoding: (0..<count).map { UInt8(0x61 + $0 % 26) }, as: UTF8.self)
    }
}
