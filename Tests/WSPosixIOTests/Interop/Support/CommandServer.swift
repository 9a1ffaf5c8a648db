// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSPosixIO
import WSProtocol

/// Our server, in process, speaking the same command language as the Python server peers
/// (Resources/peer_common.py), so the Python client peers can drive it:
/// echo every message; `!close CODE REASON`, `!ping PAYLOAD` (then `pong PAYLOAD`),
/// `!pattern binary N` / `!pattern text N UNIT`.
///
/// It accepts the first of `subprotocols` (in the server's order) that the client offers and
/// records, per connection, everything it received and how the connection ended, so a test
/// can assert both sides.
final class CommandServer: Sendable {
    /// What the server saw on one connection.
    struct Log: Sendable, Equatable {
        var path: String
        var subprotocol: String?
        var headers: [String: String] = [:]
        var received: [Message] = []
        var pongs: [[UInt8]] = []
        var close: CloseInfo?
    }

    let server: WebSocketServer
    private let store: LogStore

    var port: Int { server.port }

    /// Every finished connection's log, in the order they ended.
    var finished: [Log] { store.logs.withLock { $0 } }

    private init(server: WebSocketServer, store: LogStore) {
        self.server = server; self.store = store
    }

    static func start(subprotocols: [String] = [], configuration: Connection.Configuration = .init()) async throws -> CommandServer {
        let store = LogStore()
        var settings = WebSocketServer.Configuration(connection: configuration)
        settings.handshakeTimeout = .seconds(10)
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1", port: 0, configuration: settings,
            onUpgrade: { request in
                .accept(subprotocol: subprotocols.first { request.subprotocols.contains($0) })
            },
            onConnection: { ws in
                let log = await run(ws)
                store.logs.withLock { $0.append(log) }
            })
        return CommandServer(server: server, store: store)
    }

    /// Waits (bounded) until `count` connections have ended.
    func waitForLogs(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [Log] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = finished
            if current.count >= count { return current }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw Subprocess.Failure(description: "only \(finished.count) of \(count) connections ended")
    }

    func stop() async { await server.shutdown(timeout: .seconds(2)) }

    private static func run(_ ws: WebSocket) async -> Log {
        var log = Log(path: ws.request?.target ?? "?", subprotocol: ws.subprotocol)
        for field in ws.request?.headers ?? [:] where ["origin", "x-interop"].contains(field.name.lowercased()) {
            log.headers[field.name.lowercased()] = field.value
        }
        for await event in ws {
            switch event {
            case .text(let text):
                log.received.append(.text(text))
                try? await perform(text, on: ws)
            case .binary(let bytes):
                log.received.append(.binary(bytes))
                try? await ws.send(binary: bytes)
            case .pong(let payload):
                log.pongs.append(payload)
                try? await ws.send(text: "pong " + String(decoding: payload, as: UTF8.self))
            case .fragment, .ping:
                continue
            case .closed(let info):
                log.close = info
            }
        }
        return log
    }

    private static func perform(_ text: String, on ws: WebSocket) async throws(WebSocketError) {
        guard text.hasPrefix("!") else { return try await ws.send(text: text) }
        let fields = text.dropFirst().split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let rest = fields.count > 1 ? String(fields[1]) : ""
        switch fields.first ?? "" {
        case "close":
            let parts = rest.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let code = CloseCode(UInt16(parts.first ?? "") ?? 1000)
            try await ws.close(code: code, reason: parts.count > 1 ? String(parts[1]) : "")
        case "ping":
            try await ws.ping(Array(rest.utf8))
        case "pattern":
            let parts = rest.split(separator: " ", maxSplits: 2)
            let count = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            if parts.first == "binary" {
                try await ws.send(binary: Pattern.bytes(count))
            } else {
                try await ws.send(text: String(repeating: parts.count > 2 ? String(parts[2]) : "a", count: count))
            }
        default:
            try await ws.send(text: text)
        }
    }
}

/// The logs of finished connections, shared with the connection handler.
private final class LogStore: Sendable {
    let logs = Mutex<[CommandServer.Log]>([])
}
