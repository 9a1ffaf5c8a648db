// SPDX-License-Identifier: Apache-2.0
//
// SwiftNIO's NIOWebSocket driven the way an NIO user runs it: `WebSocketFrameDecoder` inside a
// `ByteToMessageHandler` and `WebSocketFrameEncoder` in a channel pipeline. The decoder can only
// be driven through a pipeline (its `decode(context:buffer:)` needs a `ChannelHandlerContext`),
// so an `EmbeddedChannel` stands in for the socket channel; bytes enter with
// `pipeline.fireChannelRead` + `fireChannelReadComplete` per read, exactly what a socket channel
// does after each `read(2)`. The user's handler reads `frame.unmaskedData` (NIO hands frames
// over still masked), so unmasking is counted.
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket

/// Echoes each (aggregated) data frame, unmasked, and flushes once per read batch.
final class NIOEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    var messages = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        messages &+= 1
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: frame.opcode, data: frame.unmaskedData)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

/// The application end of the inbound pipeline: unmasks each frame and counts it.
final class NIOFrameSink: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    var frames = 0
    var checksum = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let payload = frame.unmaskedData
        frames &+= 1
        checksum &+= payload.readableBytes &+ Int(payload.getInteger(at: payload.readerIndex, as: UInt8.self) ?? 0)
    }
}

public enum NIOScenarios {
    static func buffers(_ reads: [ArraySlice<UInt8>]) -> [ByteBuffer] {
        reads.map { ByteBuffer(bytes: $0) }
    }

    /// Frames decoded (and unmasked) from `reads`, through decoder → [aggregator] → sink.
    public static func decode(key: String, reads: [ArraySlice<UInt8>], frames: Int, unit: String,
                              unitsPerCall: Double, aggregate: Bool = false) -> Scenario {
        let channel = EmbeddedChannel()
        let sink = NIOFrameSink()
        try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 21)))
        if aggregate {
            try! channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16, maxAccumulatedFrameSize: 16 << 20))
        }
        try! channel.pipeline.syncOperations.addHandler(sink)
        let inputs = buffers(reads)
        return Scenario(key: key, impl: "nio", unit: unit, unitsPerCall: unitsPerCall) {
            let before = sink.frames
            for buffer in inputs {
                channel.pipeline.fireChannelRead(buffer)
                channel.pipeline.fireChannelReadComplete()
            }
            precondition(sink.frames - before == frames, "NIO decoded \(sink.frames - before) frames, expected \(frames)")
            return sink.checksum
        }
    }

    /// The server's whole job per message: decoder → aggregator → echo handler → encoder, with
    /// the written bytes drained after each read.
    public static func echo(key: String, reads: [ArraySlice<UInt8>], messages: Int, unit: String,
                            unitsPerCall: Double) -> Scenario {
        let channel = EmbeddedChannel()
        let echo = NIOEchoHandler()
        try! channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        try! channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 21)))
        try! channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16, maxAccumulatedFrameSize: 16 << 20))
        try! channel.pipeline.syncOperations.addHandler(echo)
        let inputs = buffers(reads)
        return Scenario(key: key, impl: "nio", unit: unit, unitsPerCall: unitsPerCall) {
            let before = echo.messages
            let written = feed(channel, inputs)
            precondition(echo.messages - before == messages, "NIO echoed \(echo.messages - before), expected \(messages)")
            return written
        }
    }

    /// Feeds each read as a socket channel does (`fireChannelRead` + `fireChannelReadComplete`)
    /// and drains what the pipeline wrote after each; returns the bytes written.
    static func feed(_ channel: EmbeddedChannel, _ inputs: [ByteBuffer]) -> Int {
        var written = 0
        for buffer in inputs {
            channel.pipeline.fireChannelRead(buffer)
            channel.pipeline.fireChannelReadComplete()
            while let out = try! channel.readOutbound(as: ByteBuffer.self) { written &+= out.readableBytes }
        }
        return written
    }

    /// `batch` frames of `payload` written through `WebSocketFrameEncoder` and flushed, then
    /// drained from the channel (the bytes a socket would write). Client frames get a key from
    /// `WebSocketMaskingKey.random()` each.
    public static func encode(key: String, payload: [UInt8], masked: Bool, batch: Int, unit: String) -> Scenario {
        let channel = EmbeddedChannel()
        try! channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder())
        let data = ByteBuffer(bytes: payload)
        let units = unit == "GB/s" ? Double(batch * payload.count) : Double(batch)
        return Scenario(key: key, impl: "nio", unit: unit, unitsPerCall: units) {
            for _ in 0..<batch {
                // NIO's documented default key source (`SystemRandomNumberGenerator`), as ours.
                let maskKey: WebSocketMaskingKey? = masked ? WebSocketMaskingKey.random() : nil
                channel.write(WebSocketFrame(fin: true, opcode: .binary, maskKey: maskKey, data: data), promise: nil)
            }
            channel.flush()
            var total = 0
            while let out = try! channel.readOutbound(as: ByteBuffer.self) { total &+= out.readableBytes }
            return total
        }
    }

    /// Server handshakes: a new pipeline per connection (`configureHTTPServerPipeline` with the
    /// `NIOWebSocketServerUpgrader`), the request in, the 101 response out.
    public static func handshake(key: String) -> Scenario {
        let request = ByteBuffer(bytes: Inputs.handshakeRequest)
        let upgrader = NIOWebSocketServerUpgrader(
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededFuture(()) })
        return Scenario(key: key, impl: "nio", unit: "hs/s", unitsPerCall: 1) {
            let channel = EmbeddedChannel()
            try! channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            try! channel.writeInbound(request)
            channel.embeddedEventLoop.run()
            var total = 0
            while let out = try! channel.readOutbound(as: IOData.self) { total &+= out.readableBytes }
            precondition(total > 100, "no 101 response")
            _ = try? channel.finish()
            return total
        }
    }
}
