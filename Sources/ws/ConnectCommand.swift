// SPDX-License-Identifier: Apache-2.0
import WSPosixIO
import WSProtocol
import WSTLS

/// `ws connect URL`: standard input lines become text messages; received messages are printed
/// one per line; end of input closes with 1000 and waits for the close handshake.
///
/// Exit status 0 when the connection ends with a clean close handshake, 1 otherwise (with a
/// one-line reason on standard error).
struct ConnectCommand {
    var options: CommandLineOptions.Connect

    func run() async -> Int32 {
        var configuration = WebSocket.ClientConfiguration(subprotocols: options.subprotocols,
                                                          origin: options.origin,
                                                          compression: options.deflate ? .default : nil)
        for header in options.headers { configuration.headers.add(name: header.name, value: header.value) }
        if !options.trustRoots.isEmpty {
            configuration.tls.trustRoots = .systemAnd(options.trustRoots.map { .file($0) })
        }
        if options.insecure {
            configuration.tls.verifiesPeer = false
            Terminal.error("ws: warning: --insecure: the server's certificate is not verified")
        }
        let ws: WebSocket
        do {
            ws = try await WebSocket.connect(to: options.url, configuration: configuration)
        } catch {
            Terminal.error("ws: \(Self.describe(error))")
            return 1
        }
        if let subprotocol = ws.subprotocol { Terminal.error("ws: subprotocol \(subprotocol)") }

        // Standard input → text messages; at its end, the close handshake (RFC 6455 §7.1.2).
        let sender = Task {
            for await line in BlockingLines.standardInput() {
                do { try await ws.send(text: line) } catch { return }
            }
            try? await ws.close(code: .normalClosure)
        }
        defer { sender.cancel() }

        for await event in ws {
            switch event {
            case .text, .binary:
                if let message = event.message { Terminal.line(Terminal.describe(message)) }
            case .fragment, .ping, .pong:
                continue
            case .closed(let info):
                return Self.exitStatus(for: info)
            }
        }
        return 1
    }

    static func exitStatus(for info: CloseInfo) -> Int32 {
        if case .handshakeCompleted(let peer, let initiatedLocally) = info.closeReason {
            if !initiatedLocally {
                let reason = peer.reason.isEmpty ? "" : " \(peer.reason)"
                Terminal.error("ws: closed by peer: \(peer.code.rawValue)\(reason)")
            }
            return 0
        }
        Terminal.error("ws: connection failed: \(info)")
        return 1
    }

    /// One line for a failed connect; a refused handshake gives the HTTP status and reason
    /// phrase (`handshake failed: 403 Forbidden`).
    static func describe(_ error: WebSocketError) -> String {
        switch error {
        case .handshakeFailed(.refused(let status, let reason, _, _)):
            return "handshake failed: \(status) \(reason)"
        case .handshakeFailed(let other):
            return "handshake failed: \(other.reasonText)"
        default:
            return "\(error)"
        }
    }
}
