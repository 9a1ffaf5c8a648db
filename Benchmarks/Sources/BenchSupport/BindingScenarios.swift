// SPDX-License-Identifier: Apache-2.0
//
// Our binding against NIO's pipeline, both over the same in-memory transport: the `nio` echo row
// runs NIOWebSocket's decoder, aggregator, echo handler and encoder in an `EmbeddedChannel`; the
// `nio-ours` row runs WSNIO's `WebSocketChannelHandler` (our core as a NIO ChannelHandler,
// Examples/NIOIntegration) and the same echo logic in an `EmbeddedChannel`, after an opening
// handshake done once at setup. Same reads in, same bytes drained out after each read.
import NIOCore
import NIOEmbedded
import WSNIO
import WSProtocol

/// Echoes each message and flushes once per read batch (NIOEchoHandler's logic on our events).
final class WSNIOEchoHandler: ChannelInboundHandler {
    typealias InboundIn = Event
    typealias OutboundOut = WebSocketCommand
    var messages = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .message(let message) = unwrapInboundIn(data) else { return }
        messages &+= 1
        context.write(wrapOutboundOut(.send(message)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

public enum BindingScenarios {
    /// The whole job per message through WSNIO's handler: receive, deliver, send back, write.
    public static func echo(key: String, reads: [ArraySlice<UInt8>], messages: Int, unit: String,
                            unitsPerCall: Double) -> Scenario {
        let channel = EmbeddedChannel()
        let echo = WSNIOEchoHandler()
        try! channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(mode: .server(ServerSettings())))
        try! channel.pipeline.syncOperations.addHandler(echo)
        try! channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try! channel.writeInbound(ByteBuffer(bytes: Inputs.handshakeRequest))
        var response = 0
        while let out = try! channel.readOutbound(as: ByteBuffer.self) { response &+= out.readableBytes }
        precondition(response > 100, "no 101 response")
        let inputs = NIOScenarios.buffers(reads)
        return Scenario(key: key, impl: "nio-ours", unit: unit, unitsPerCall: unitsPerCall) {
            let before = echo.messages
            let written = NIOScenarios.feed(channel, inputs)
            precondition(echo.messages - before == messages, "WSNIO echoed \(echo.messages - before), expected \(messages)")
            return written
        }
    }
}
