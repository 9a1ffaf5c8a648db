// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Backpressure and many connections", .timeLimit(.minutes(1)))
struct BackpressureTests {
    /// Negative water marks count as 0: a negative high-water mark no longer stops reading for
    /// good (the opening handshake timed out), and a send that went over the high-water mark
    /// resumes once everything is written, instead of waiting for a negative count of unwritten
    /// bytes (a negative low-water mark, set directly or by `init` from a negative high-water mark).
    @Test(arguments: [
        { var f = FlowControl(highWaterMark: 1000); f.lowWaterMark = -1; return f }(),
        FlowControl(highWaterMark: -1),
    ])
    func negativeWaterMarksCountAsZero(flow: FlowControl) async throws {
        let server = try await Echo.server()
        var config = WebSocket.ClientConfiguration()
        config.flowControl = flow
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        let sent = Signal()
        // More than the socket buffers take at once: the send waits for the rest to be written.
        let payload = Echo.bytes(count: 8 << 20, seed: 3)
        let sender = Task {
            try await ws.send(.binary(payload))
            sent.fire()
        }
        #expect(await sent.wait(timeout: .seconds(10)), "the send did not return once its bytes were written")
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .binary(payload))
        try ws.close()
        _ = await sender.result
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func slowReaderKeepsServerMemoryFlat() async throws {
        let message = Echo.bytes(count: 64 << 10, seed: 3)
        let total = 200  // 12.5 MiB, far more than the socket buffers and the high-water mark
        let progress = SendProgress((0, 0))
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.flowControl = FlowControl(highWaterMark: 256 << 10, lowWaterMark: 64 << 10)
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfig) { ws in
            for _ in 0..<total {
                do { try await ws.send(.binary(message)) } catch { break }
                let buffered = ws.bufferedAmount
                progress.withLock { $0.sent += 1; $0.maxBuffered = max($0.maxBuffered, buffered) }
            }
            for await _ in ws {}
        }
        var config = WebSocket.ClientConfiguration()
        config.flowControl = FlowControl(maxBufferedEvents: 4)
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: config)
        // Don't read: the client stops reading, TCP fills, the server's send suspends. Wait
        // (bounded) until the server's progress stops moving.
        let stalled = try await progress.waitUntilStalled(ws, polling: .milliseconds(100))
        #expect(stalled.sent < total)
        #expect(stalled.maxBuffered <= (256 << 10) + message.count)
        #expect(ws.isReadingPaused)
        #expect(ws.bufferedEventCount <= 4 + 64)  // the read that crossed the limit can finish a few more
        // Now consume everything: all messages arrive, in order, intact.
        var it = ws.makeAsyncIterator()
        var received = 0
        while received < total, let e = await it.next() {
            guard case .binary(let b) = e else { Issue.record("unexpected \(e)"); break }
            if b != message { Issue.record("message \(received) corrupted"); break }
            received += 1
        }
        #expect(received == total)
        #expect(progress.withLock { $0.maxBuffered } <= (256 << 10) + message.count)
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func aThousandConcurrentConnections() async throws {
        let count = 1000
        ProcessLimits.raiseOpenFiles(atLeast: UInt64(count * 2 + 256))
        try #require(ProcessLimits.openFiles.soft >= UInt64(count * 2 + 64))
        var serverConfig = WebSocketServer.Configuration()
        serverConfig.maxConnections = count + 10
        let server = try await Echo.server(configuration: serverConfig)
        let port = server.port
        let ok = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<count {
                group.addTask {
                    let ws = try await WebSocket.connect(host: "127.0.0.1", port: port)
                    var it = ws.makeAsyncIterator()
                    var good = true
                    for k in 0..<3 {
                        let text = "conn \(i) message \(k)"
                        try await ws.send(.text(text))
                        let reply = await Echo.nextData(&it)
                        if reply != .text(text) { good = false }
                    }
                    try ws.close()
                    let rest = await Echo.drain(&it)
                    if case .closed(let info)? = rest.last { good = good && info.code == .normalClosure } else { good = false }
                    return good
                }
            }
            var ok = 0
            for try await good in group where good { ok += 1 }
            return ok
        }
        #expect(ok == count)
        for _ in 0..<2500 where server.connectionCount > 0 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(server.connectionCount == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func shutdownWhileClientsAreStreaming() async throws {
        let server = try await Echo.server()
        let port = server.port
        let connected = Countdown(20)
        let codes = try await withThrowingTaskGroup(of: CloseCode?.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let ws = try await WebSocket.connect(host: "127.0.0.1", port: port)
                    connected.arrive()
                    // Stream until the server says goodbye, reading echoes as they come.
                    let reader = Task { () -> CloseCode? in
                        for await e in ws { if case .closed(let info) = e { return info.code } }
                        return nil
                    }
                    var k = 0
                    while k < 500, (try? await ws.send(.text("client \(i) message \(k)"))) != nil { k += 1 }
                    return await reader.value
                }
            }
            // Shut down once every client has its 101 (a handshake still under way when the
            // server shuts down rightly gets 503; the server counts a connection from accept on).
            #expect(await connected.wait(timeout: .seconds(60)), "every client connected")
            let start = MonotonicClock.now()
            await server.shutdown(timeout: .seconds(10))
            #expect(MonotonicClock.now().nanoseconds - start.nanoseconds < 12_000_000_000)
            var codes: [CloseCode?] = []
            for try await c in group { codes.append(c) }
            return codes
        }
        #expect(codes.count == 20)
        #expect(codes.allSatisfy { $0 == .goingAway }, "\(Set(codes.map { $0?.rawValue ?? 0 }))")
        #expect(server.connectionCount == 0)
    }
}
