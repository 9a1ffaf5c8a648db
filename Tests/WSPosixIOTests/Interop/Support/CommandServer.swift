// SPDX-License-Identifier: Apache-2.0
import Synchronization
@testable import WSPosixIO
import WSProtocol
import WSTLS

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

    /// Starts the server on ``Peers/loops``. Events are handled on the loop thread
    /// (`onEvent`), so the echo path never waits for the cooperative thread pool, which CPU-bound
    /// tests running beside these can hold for seconds; only `!close` and `!ping` start a task.
    static func start(subprotocols: [String] = [], configuration: Connection.Configuration = .init(),
                      tls: TLSServerConfiguration? = nil) async throws -> CommandServer {
        let store = LogStore()
        var settings = WebSocketServer.Configuration(connection: configuration)
        settings.tls = tls
        settings.handshakeTimeout = .seconds(10)
        settings.group = Peers.loops
        // Without subprotocols, no upgrade handler: every valid request is accepted on the loop.
        var onUpgrade: WebSocketServer.UpgradeHandler?
        if !subprotocols.isEmpty {
            onUpgrade = { @Sendable request in
                .accept(subprotocol: subprotocols.first { request.subprotocols.contains($0) })
            }
        }
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1", port: 0, configuration: settings, onUpgrade: onUpgrade,
            onEvent: { ws, event in store.handle(event, on: ws) })
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

}

/// The logs: open connections by identity, then the finished ones in the order they ended.
private final class LogStore: Sendable {
    let logs = Lock<[CommandServer.Log]>([])
    private let open = Lock<[ObjectIdentifier: CommandServer.Log]>([:])

    func handle(_ event: WebSocketEvent, on ws: WebSocket) {
        let id = ObjectIdentifier(ws)
        var log = open.withLock { $0[id] } ?? Self.newLog(for: ws)
        switch event {
        case .text(let text):
            log.received.append(.text(text))
            perform(text, on: ws)
        case .binary(let bytes):
            log.received.append(.binary(bytes))
            try? ws.enqueue(.binary(bytes))
        case .pong(let payload):
            log.pongs.append(payload)
            try? ws.enqueue(.text("pong " + String(decoding: payload, as: UTF8.self)))
        case .fragment, .ping:
            break
        case .closed(let info):
            log.close = info
            open.withLock { $0[id] = nil }
            logs.withLock { $0.append(log) }
            return
        }
        open.withLock { $0[id] = log }
    }

    private static func newLog(for ws: WebSocket) -> CommandServer.Log {
        var log = CommandServer.Log(path: ws.request?.target ?? "?", subprotocol: ws.subprotocol)
        for field in ws.request?.headers ?? [:] where ["origin", "x-interop"].contains(field.name.lowercased()) {
            log.headers[field.name.lowercased()] = field.value
        }
        return log
    }

    private func perform(_ text: String, on ws: WebSocket) {
        guard text.hasPrefix("!") else { try? ws.enqueue(.text(text)); return }
        let fields = text.dropFirst().split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let rest = fields.count > 1 ? String(fields[1]) : ""
        switch fields.first ?? "" {
        case "close":
            let parts = rest.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            let code = CloseCode(UInt16(parts.first ?? "") ?? 1000)
            let reason = parts.count > 1 ? String(parts[1]) : ""
            try? ws.close(code: code, reason: reason)
        case "ping":
            try? ws.ping(Array(rest.utf8))
        case "pattern":
            let parts = rest.split(separator: " ", maxSplits: 2)
            let count = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            if parts.first == "binary" {
                try? ws.enqueue(.binary(Pattern.bytes(count)))
            } else {
                try? ws.enqueue(.text(String(repeating: parts.count > 2 ? String(parts[2]) : "a", count: count)))
            }
        default:
            try? ws.enqueue(.text(text))
        }
    }
}
