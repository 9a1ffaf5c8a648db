// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol
import WSTestSupport
import WSTLS

/// Many TLS connections at once, and a graceful shutdown that reaches each of them over TLS.
@Suite("TLS at scale", .timeLimit(.minutes(2)))
struct TLSScaleTests {
    @Test func aThousandConcurrentTLSConnectionsThenAGracefulShutdown() async throws {
        let count = 1_000
        // Two descriptors per connection here (client and server in one process).
        try #require(ProcessLimits.raiseOpenFiles(atLeast: 4_096) >= 2 * UInt64(count) + 100)
        let server = try await Echo.server(configuration: TLSLoopbackTests.serverConfiguration())
        let config = try TLSLoopbackTests.clientConfiguration()
        // All connected, each echoes its own message, then stays open.
        let sockets = try await withThrowingTaskGroup(of: WebSocket.self) { group in
            for i in 0..<count {
                group.addTask {
                    let ws = try await WebSocket.connect(to: "wss://localhost:\(server.port)/", configuration: config)
                    try await ws.send(.text("n\(i)"))
                    var it = ws.makeAsyncIterator()
                    guard await Echo.nextData(&it) == .text("n\(i)") else { throw WebSocketError.closed }
                    return ws
                }
            }
            var all: [WebSocket] = []
            for try await ws in group { all.append(ws) }
            return all
        }
        #expect(sockets.count == count)
        #expect(server.connectionCount == count)
        #expect(sockets.allSatisfy { $0.tls?.version == "TLSv1.3" })
        // Shutdown: every client gets close 1001 through its TLS stream, cleanly.
        async let stopped: Void = server.shutdown(timeout: .seconds(30))
        let codes = await withTaskGroup(of: CloseCode?.self) { group in
            for ws in sockets {
                group.addTask {
                    var it = ws.makeAsyncIterator()
                    guard case .closed(let info)? = await Echo.drain(&it).last, info.isClean else { return nil }
                    return info.code
                }
            }
            var all: [CloseCode?] = []
            for await code in group { all.append(code) }
            return all
        }
        await stopped
        #expect(codes.count == count)
        #expect(codes.allSatisfy { $0 == .goingAway })
        #expect(server.connectionCount == 0)
    }

    /// A client that stops reading over TLS: the server's sends suspend at the high-water mark
    /// (TLS records count in the outbound budget), then everything arrives intact.
    @Test func aSlowTLSReaderKeepsServerMemoryFlat() async throws {
        let message = Echo.bytes(count: 64 << 10, seed: 3)
        let total = 200  // 12.5 MiB
        // Record overhead: at most 22 bytes per 16 KiB record (TLS 1.3, AES-GCM), plus slack.
        let bound = (256 << 10) + message.count + 4096
        let progress = SendProgress((0, 0))
        var serverConfig = try TLSLoopbackTests.serverConfiguration()
        serverConfig.flowControl = FlowControl(highWaterMark: 256 << 10, lowWaterMark: 64 << 10)
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfig) { ws in
            for _ in 0..<total {
                do { try await ws.send(.binary(message)) } catch { break }
                let buffered = ws.bufferedAmount
                progress.withLock { $0.sent += 1; $0.maxBuffered = max($0.maxBuffered, buffered) }
            }
            for await _ in ws {}
        }
        var config = try TLSLoopbackTests.clientConfiguration()
        config.flowControl = FlowControl(maxBufferedEvents: 4)
        let ws = try await WebSocket.connect(to: "wss://localhost:\(server.port)/", configuration: config)
        let stalled = try await progress.waitUntilStalled(ws, polling: .milliseconds(100))
        #expect(stalled.sent < total)
        #expect(stalled.maxBuffered <= bound)
        #expect(ws.isReadingPaused)
        var it = ws.makeAsyncIterator()
        var received = 0
        while received < total, let e = await it.next() {
            guard case .binary(let b) = e else { Issue.record("unexpected \(e)"); break }
            if b != message { Issue.record("message \(received) corrupted"); break }
            received += 1
        }
        #expect(received == total)
        #expect(progress.withLock { $0.maxBuffered } <= bound)
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }
}
