// SPDX-License-Identifier: Apache-2.0
//
// Our echo server for the end-to-end rows, on WSPosixIO's `WebSocketServer`, one event-loop
// thread like the C floor and the NIO server. Two ways to serve, both as documented:
// - `inline` (default): an event handler on the loop thread replying with `enqueue` (no task
//   per connection, no task switch per message, one write per batch of events);
// - `async`: a task per connection iterating the events and `await`ing `send` per message;
// - `inplace`: a message handler on the loop thread that gets each message borrowed (in the
//   read buffer, unmasked there, when it arrived whole) and replies with `enqueue(_:bytes:)`.
//
// With --tls-cert FILE --tls-key FILE it serves wss:// (WSTLS over the system OpenSSL);
// --tls-session-tickets N sends N TLS 1.3 session tickets per handshake (WSTLS's default: 0;
// Scripts/bench-tls passes 2, the number NIOSSL's and OpenSSL's servers send, for equal work).
//
// Usage: WSEchoServer [--threads N] [--tls-cert FILE --tls-key FILE [--tls-session-tickets N]] [inline|async|inplace] PORT
import WSPosixIO
import WSProtocol
import WSTLS

var port = 9005
var mode = "inline"
var threads = 1
var certificate: String?
var key: String?
var tickets: Int?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--threads": threads = arguments.popFirst().flatMap { Int($0) } ?? 1
    case "--tls-cert": certificate = arguments.popFirst()
    case "--tls-key": key = arguments.popFirst()
    case "--tls-session-tickets": tickets = arguments.popFirst().flatMap { Int($0) }
    case "inline", "async", "inplace": mode = argument
    default:
        guard let p = Int(argument) else { fatalError("usage: WSEchoServer [--threads N] [--tls-cert FILE --tls-key FILE [--tls-session-tickets N]] [inline|async|inplace] PORT") }
        port = p
    }
}

var configuration = WebSocketServer.Configuration()
configuration.group = EventLoopGroup(threadCount: threads)
configuration.maxConnections = 20_000
configuration.backlog = 4096
if let certificate, let key {
    var tls = TLSServerConfiguration(certificateChain: .file(certificate), privateKey: .file(key))
    if let tickets { tls.sessionTickets = tickets }
    configuration.tls = tls
}

let server: WebSocketServer
switch mode {
case "async":
    server = try await WebSocketServer.bind(host: "127.0.0.1", port: port, configuration: configuration) { ws in
        for await event in ws {
            switch event {
            case .text(let text): try? await ws.send(.text(text))
            case .binary(let bytes): try? await ws.send(.binary(bytes))
            default: break
            }
        }
    }
case "inplace":
    server = try await WebSocketServer.bind(host: "127.0.0.1", port: port, configuration: configuration,
                                            onMessage: { ws, kind, bytes in try? ws.enqueue(kind, bytes: bytes) },
                                            onEvent: { _, _ in })
default:
    server = try await WebSocketServer.bind(host: "127.0.0.1", port: port, configuration: configuration,
                                            onEvent: { ws, event in
        switch event {
        case .text(let text): try? ws.enqueue(.text(text))
        case .binary(let bytes): try? ws.enqueue(.binary(bytes))
        default: break
        }
    })
}
print("listening on 127.0.0.1:\(server.port) (\(mode))")
while true { try await Task.sleep(for: .seconds(3600)) }
