// SPDX-License-Identifier: Apache-2.0
//
// The SwiftNIO peer for the end-to-end rows: an echo server built the way NIO's documentation
// shows, with `NIOWebSocketServerUpgrader` on the HTTP/1 server pipeline and a channel handler
// that echoes each data frame (unmasked) and flushes once per read batch. One event-loop thread,
// like the C floor and our server, so every server gets one core and the load generator the other.
// With --tls-cert FILE --tls-key FILE it serves wss:// with NIOSSL's `NIOSSLServerHandler` first in
// the pipeline (NIOSSL's defaults: TLS 1.2 and 1.3, its bundled BoringSSL).
//
// With --ours it serves our core on the same NIO instead (the same-layer rows): Examples/NIOIntegration's
// `WebSocketChannelHandler` (our ServerHandshake and Connection as a ChannelHandler) in place of
// NIOHTTP1, the upgrader and NIOWebSocket's codec, with the same echo logic (echo each data
// message, flush once per read batch; the core answers pings and closes).
//
// Usage: NIOEchoServer [--ours] [--read-max BYTES] [--tls-cert FILE --tls-key FILE] PORT
//   --read-max  the largest read, at least 2048 (AdaptiveRecvByteBufferAllocator's maximum; NIO's default 65536).
//               Scripts/bench runs it with 65536 (`nio`) and 262144 (`nio-256k`, the 256 KiB our
//               WSPosixIO server reads at once).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import WSNIO
import WSProtocol

/// Echoes text and binary frames, answers pings, and answers a close frame then closes.
/// An echo handler that flushes once per read batch (when the batch wrote something) and
/// closes the channel on an error.
protocol BatchFlushing: ChannelInboundHandler {
    var pendingFlush: Bool { get set }
}

extension BatchFlushing {
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

final class EchoHandler: BatchFlushing {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    var pendingFlush = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            let echo = WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)
            context.write(wrapOutboundOut(echo), promise: nil)
            pendingFlush = true
        case .ping:
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            pendingFlush = true
        case .connectionClose:
            var body = frame.unmaskedData
            let code = body.readSlice(length: 2) ?? ByteBuffer()
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }

}

/// `--ours`: echoes every data message our core delivers and flushes once per read batch.
final class OursEchoHandler: BatchFlushing {
    typealias InboundIn = Event
    typealias OutboundOut = WebSocketCommand

    var pendingFlush = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .message(let message) = unwrapInboundIn(data) else { return }
        context.write(wrapOutboundOut(.send(message)), promise: nil)
        pendingFlush = true
    }

}

var port = 9002
var ours = false
var readMax = 65536
var certificatePath: String?
var keyPath: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--ours" {
        ours = true
    } else if argument == "--read-max", let value = arguments.popFirst().flatMap({ Int($0) }), value >= 2048 {
        readMax = value
    } else if argument == "--tls-cert", let value = arguments.popFirst() {
        certificatePath = value
    } else if argument == "--tls-key", let value = arguments.popFirst() {
        keyPath = value
    } else if let value = Int(argument) {
        port = value
    } else {
        var usage = "usage: NIOEchoServer [--ours] [--read-max BYTES] [--tls-cert FILE --tls-key FILE] PORT\n"
        usage.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
}
let sslContext: NIOSSLContext? = try certificatePath.flatMap { certificatePath in
    try keyPath.map { keyPath in
        try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
        ))
    }
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
// --ours: NIOWebSocketServerUpgrader's limits (16 MiB frames, and messages).
var oursConfiguration = Connection.Configuration()
oursConfiguration.maxFrameSize = 16 << 20
oursConfiguration.maxMessageSize = 16 << 20
let oursSettings = ServerSettings(configuration: oursConfiguration)
let servesOurs = ours

let upgrader = NIOWebSocketServerUpgrader(
    maxFrameSize: 16 << 20,
    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
    upgradePipelineHandler: { channel, _ in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
    }
)

let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.backlog, value: 4096)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(ChannelOptions.recvAllocator,
                        value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: readMax))
    .childChannelInitializer { channel in
        if let sslContext {
            do {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
        if servesOurs {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(mode: .server(oursSettings)))
                try channel.pipeline.syncOperations.addHandler(OursEchoHandler())
            }
        }
        return channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
        )
    }

let channel = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
print("listening on \(channel.localAddress!) (\(ours ? "our core" : "NIOWebSocket"), read max \(readMax))")
try channel.closeFuture.wait()
