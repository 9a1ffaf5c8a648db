// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

/// Pre-handshake stages over loopback: the driver runs them after TCP and before the handshake,
/// on both sides, and a server stage's reported source becomes the connection's peer.
@Suite("Pre-handshake stages over loopback", .timeLimit(.minutes(1)))
struct StageTests {
    static let claimed = SocketAddress(numericHost: "203.0.113.7", port: 4242)!

    @Test func stagesRunOnBothSidesAndTheReportedSourceBecomesThePeer() async throws {
        let seen = Lock<(peer: SocketAddress?, direct: SocketAddress?)>((nil, nil))
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.makeStages = { _ in [LineStage(.server)] }
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfiguration) { ws in
            seen.withLock { $0 = (ws.peer, ws.directPeer) }
            for await event in ws {
                if case .text(let t) = event { try? await ws.send(.text("\(ws.peerAddress ?? "?") \(ws.peerPort ?? 0): \(t)")) }
            }
        }
        var configuration = WebSocket.ClientConfiguration()
        configuration.makeStages = { _, _ in [LineStage(.client(claiming: Self.claimed))] }
        let ws = try await WebSocket.connect(address: server.localAddress, resource: "/staged", configuration: configuration)
        try await ws.send(.text("hi"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("203.0.113.7 4242: hi"))
        let (peer, direct) = seen.withLock { $0 }
        #expect(peer == Self.claimed)
        #expect(direct?.host == "127.0.0.1")
        #expect(direct?.port == ws.localAddress?.port)
        try ws.close()
        _ = await Echo.drain(&it)
        await server.shutdown(timeout: .seconds(1))
    }

    /// A server stage that fails closes the connection before any handshake: the client's own
    /// stage sees the end of the stream.
    @Test func aFailingServerStageClosesBeforeTheHandshake() async throws {
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.makeStages = { _ in [LineStage(.server)] }
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfiguration) { _ in
            Issue.record("no connection may open")
        }
        var configuration = WebSocket.ClientConfiguration()
        // Claims no valid address: the server's stage refuses the line.
        configuration.makeStages = { _, _ in [BadLineStage()] }
        await #expect(throws: WebSocketError.remoteHostClosed) {
            _ = try await WebSocket.connect(address: server.localAddress, configuration: configuration)
        }
        #expect(server.connectionCount == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    /// A client stage that never finishes is bounded by the handshake timeout.
    @Test func aStageThatNeverFinishesTimesOut() async throws {
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.makeStages = { _ in [BadLineStage(line: [])] }  // reads, never answers
        let server = try await Echo.server(configuration: serverConfiguration)
        var configuration = WebSocket.ClientConfiguration()
        configuration.handshakeTimeout = .milliseconds(200)
        configuration.makeStages = { _, _ in [LineStage(.client(claiming: Self.claimed))] }
        await #expect(throws: WebSocketError.timeout(.handshake)) {
            _ = try await WebSocket.connect(address: server.localAddress, configuration: configuration)
        }
        await server.shutdown(timeout: .seconds(1))
    }
}

/// Sends a line a ``LineStage`` server refuses, then waits for an answer that never comes (on a
/// server: reads and never answers).
private struct BadLineStage: StreamStage {
    var line = Array("HELLO nowhere\n".utf8)
    mutating func start(now: Instant) -> [UInt8] { line }
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep { .needMoreData(write: []) }
    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep { .failed(.remoteHostClosed) }
    var nextDeadline: Instant? { nil }
    mutating func handleTimeout(now: Instant) -> StreamStageStep { .failed(.remoteHostClosed) }
}
