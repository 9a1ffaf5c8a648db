// SPDX-License-Identifier: Apache-2.0
//
// Our core on SwiftNIO for the same-layer end-to-end rows: the same NIO, bootstrap, socket
// options and event-loop thread count as NIOEchoServer, with WSNIO's `WebSocketChannelHandler`
// (our ServerHandshake and Connection, Examples/NIOIntegration) in place of NIOHTTP1 +
// NIOWebSocketServerUpgrader + NIOWebSocket's frame codec. The echo logic is NIOEchoServer's:
// echo each data message, flush once per read batch; the core answers pings and closes.
//
// Usage: NIOOursEchoServer [--read-max BYTES] PORT
//   --read-max  the largest read, at least 2048 (AdaptiveRecvByteBufferAllocator's maximum; NIO's default 65536)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import WSNIO
import WSProtocol

/// Echoes every data message and flushes once per read batch.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = Event
    typealias OutboundOut = WebSocketCommand

    private var pendingFlush = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .message(let message) = unwrapInboundIn(data) else { return }
        context.write(wrapOutboundOut(.send(message)), promise: nil)
        pendingFlush = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pendingFlush {
            pendingFlush = false
            context.flush()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

var port = 9002
var readMax = 65536
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--read-max", let value = arguments.popFirst().flatMap({ Int($0) }), value >= 2048 {
        readMax = value
    } else if let value = Int(argument) {
        port = value
    } else {
        var usage = "usage: NIOOursEchoServer [--read-max BYTES] PORT\n"
        usage.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}

// The defaults of NIOEchoServer's upgrader: 16 MiB frames (and messages).
var configuration = Connection.Configuration()
configuration.maxFrameSize = 16 << 20
configuration.maxMessageSize = 16 << 20
let settings = ServerSettings(configuration: configuration)
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 4096)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(ChannelOptions.recvAllocator,
                        value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: readMax))
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(mode: .server(settings)))
            try channel.pipeline.syncOperations.addHandler(EchoHandler())
        }
    }

let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("listening on \(channel.localAddress!) (read max \(readMax))")
try channel.closeFuture.wait()
