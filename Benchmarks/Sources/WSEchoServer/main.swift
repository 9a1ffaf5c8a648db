// SPDX-License-Identifier: Apache-2.0
//
// Our echo server for the end-to-end rows: WSPosixIO's `WebSocketServer` used as its
// documentation shows (one task per connection iterating the events, `send` for each message),
// on one event-loop thread like the C floor and the NIO server.
//
// Usage: WSEchoServer PORT [LOOP_THREADS]
import WSPosixIO
import WSProtocol

let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 9005 : 9005
let threads = arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1

var configuration = WebSocketServer.Configuration()
configuration.group = EventLoopGroup(threadCount: threads)
configuration.maxConnections = 20_000
configuration.backlog = 4096

let server = try await WebSocketServer.bind(host: "127.0.0.1", port: port, configuration: configuration) { ws in
    for await event in ws {
        switch event {
        case .text(let text): try? await ws.send(text: text)
        case .binary(let bytes): try? await ws.send(binary: bytes)
        default: break
        }
    }
}
print("listening on 127.0.0.1:\(server.port)")
while true { try await Task.sleep(for: .seconds(3600)) }
