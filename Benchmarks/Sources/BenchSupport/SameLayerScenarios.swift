// SPDX-License-Identifier: Apache-2.0
//
// Same-layer rows: NIO measured at the layer our core sits at, next to the rows that run NIO's
// whole pipeline (NIOScenarios.swift, impl `nio`).
//
// - `nio-direct` (decode, encode): NIOWebSocket's `WebSocketFrameDecoder` and
//   `WebSocketFrameEncoder` called by hand, with no `ByteToMessageHandler`, no aggregator and no
//   `EmbeddedChannel` I/O. Both types only work through a `ChannelHandlerContext` (the decoder hands
//   each frame to `context.fireChannelRead`, the encoder writes with `context.write`; NIO has no
//   public parser or serializer without one), so a two-handler pipeline exists only to supply that
//   context: the decoder's frames go straight to the sink handler, the encoder's buffers straight
//   to a handler that counts and drops them. The loop keeps the unread bytes in one cumulation
//   buffer itself, as `ByteToMessageHandler` would. Frames are unmasked (`unmaskedData`) as the
//   user's handler does, and ours delivers them unmasked.
// - `nio-chacha`, `nio-direct-chacha` (client encode): NIO's masking keys from
//   `WebSocketMaskingKey.random(using:)` with the same `ChaChaRandomNumberGenerator` as
//   `ours-chacha`, so both sides use the same generator (`nio` and `ours` both use the system one).
// - `stdlib-validate` (UTF-8): `UTF8Span(validating:)` over the bytes, which validates and neither
//   allocates nor copies, as our `UTF8Validator` (the `stdlib` row, `String(validating:)`, also
//   builds a String).
import NIOCore
import NIOEmbedded
import NIOWebSocket
import WSProtocol

/// Captures its context so a decoder or encoder can be called with it by hand.
final class ContextProvider: ChannelDuplexHandler {
    typealias InboundIn = Never
    typealias OutboundIn = Never
    var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
}

/// The outbound end: counts the bytes written and drops them (the socket of the direct rows).
final class WriteCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var bytes = 0
    var buffers = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        bytes &+= unwrapOutboundIn(data).readableBytes
        buffers &+= 1
        promise?.succeed()
    }
}

public enum SameLayerScenarios {
    /// The encode rows of one workload: `nio-direct` always; for client frames also `nio-chacha`
    /// and `nio-direct-chacha`. Catalog times them with the workload's other rows, interleaved.
    public static func encode(key: String, payload: [UInt8], masked: Bool, batch: Int, unit: String) -> [Scenario] {
        var rows = [encode(key: key, payload: payload, masked: masked, batch: batch, unit: unit, direct: true, chacha: false)]
        if masked {
            rows.append(encode(key: key, payload: payload, masked: true, batch: batch, unit: unit, direct: false, chacha: true))
            rows.append(encode(key: key, payload: payload, masked: true, batch: batch, unit: unit, direct: true, chacha: true))
        }
        return rows
    }

    /// `WebSocketFrameDecoder.decode(context:buffer:)` called by hand over one cumulation buffer.
    public static func decodeDirect(key: String, reads: [ArraySlice<UInt8>], frames: Int, unit: String,
                                    unitsPerCall: Double) -> Scenario {
        let channel = EmbeddedChannel()
        let provider = ContextProvider()
        let sink = NIOFrameSink()
        try! channel.pipeline.syncOperations.addHandler(provider)
        try! channel.pipeline.syncOperations.addHandler(sink)
        let context = provider.context!
        let decoder = WebSocketFrameDecoder(maxFrameSize: 1 << 21)
        let inputs = NIOScenarios.buffers(reads)
        var cumulation = channel.allocator.buffer(capacity: 128 << 10)
        return Scenario(key: key, impl: "nio-direct", unit: unit, unitsPerCall: unitsPerCall) {
            let before = sink.frames
            for var read in inputs {
                // A read that arrives with nothing left over is decoded in place (no copy), as
                // ByteToMessageHandler does; otherwise it is appended to the leftover.
                if cumulation.readableBytes == 0 {
                    while case .continue = try! decoder.decode(context: context, buffer: &read) {}
                    if read.readableBytes > 0 {
                        cumulation.clear()
                        cumulation.writeImmutableBuffer(read)
                    }
                } else {
                    cumulation.writeImmutableBuffer(read)
                    while case .continue = try! decoder.decode(context: context, buffer: &cumulation) {}
                    cumulation.discardReadBytes()
                }
            }
            precondition(sink.frames - before == frames, "NIO decoded \(sink.frames - before) frames, expected \(frames)")
            return sink.checksum
        }
    }

    /// `batch` frames of `payload`: through `WebSocketFrameEncoder.write(context:data:promise:)`
    /// called by hand (`direct`), or through the pipeline and `EmbeddedChannel` as the `nio` row
    /// does; masking keys from the ChaCha generator when `chacha`, else from the system one.
    public static func encode(key: String, payload: [UInt8], masked: Bool, batch: Int, unit: String,
                              direct: Bool, chacha: Bool) -> Scenario {
        let channel = EmbeddedChannel()
        let counter = WriteCounter()
        let encoder = WebSocketFrameEncoder()
        let provider = ContextProvider()
        if direct {
            try! channel.pipeline.syncOperations.addHandler(counter)
            try! channel.pipeline.syncOperations.addHandler(provider)
        } else {
            try! channel.pipeline.syncOperations.addHandler(encoder)
        }
        // The encoder allocates its header buffer in handlerAdded, from the context it is given.
        if direct { encoder.handlerAdded(context: provider.context!) }
        let context = provider.context
        let data = ByteBuffer(bytes: payload)
        var generator = ChaChaRandomNumberGenerator()
        let units = unit == "GB/s" ? Double(batch * payload.count) : Double(batch)
        let impl = (direct ? "nio-direct" : "nio") + (chacha ? "-chacha" : "")
        return Scenario(key: key, impl: impl, unit: unit, unitsPerCall: units) {
            for _ in 0..<batch {
                let maskKey: WebSocketMaskingKey? = masked
                    ? (chacha ? WebSocketMaskingKey.random(using: &generator) : WebSocketMaskingKey.random()) : nil
                let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: maskKey, data: data)
                if let context {
                    encoder.write(context: context, data: NIOAny(frame), promise: nil)
                } else {
                    channel.write(frame, promise: nil)
                }
            }
            if direct {
                let total = counter.bytes
                counter.bytes = 0
                return total
            }
            channel.flush()
            var total = 0
            while let out = try! channel.readOutbound(as: ByteBuffer.self) { total &+= out.readableBytes }
            return total
        }
    }

    /// `UTF8Span(validating:)`: validation only, no String built.
    public static func validateOnly(key: String, text: [UInt8]) -> Scenario {
        Scenario(key: key, impl: "stdlib-validate", unit: "GB/s", unitsPerCall: Double(text.count)) {
            guard let span = try? UTF8Span(validating: text.span) else { fatalError("invalid test text") }
            return span.count
        }
    }
}
