// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

/// permessage-deflate (RFC 7692) over the system zlib: the `MessageExtension` a
/// `PerMessageDeflateNegotiator` builds once the parameters are agreed.
///
/// ```swift
/// // Client (WSPosixIO): offer permessage-deflate; used if the server accepts it.
/// var config = WebSocket.ClientConfiguration()
/// config.extensions = [PerMessageDeflate.negotiator()]
/// // Server: accept it.
/// return .accept(extensions: [PerMessageDeflate.negotiator()])
/// ```
///
/// Each end compresses every data message it sends (unless shorter than
/// ``Options/minimumSize``) and sets RSV1 on its first frame (RFC 7692 §6); control frames are
/// never compressed (the connection does not pass them here). Incoming messages with RSV1 are
/// inflated, bounded by the connection's `maxMessageSize`.
///
/// The zlib streams are reference-type state: a copy of this value (and of the `Connection`
/// holding it) shares them, so only one copy may be used. A connection is driven from one
/// thread at a time, which makes the `Sendable` conformance sound.
public struct PerMessageDeflate: MessageExtension {
    /// Tuning that is not negotiated.
    public struct Options: Hashable, Sendable {
        /// zlib compression level, 0–9 (or -1, zlib's default, which is 6).
        public var compressionLevel: Int
        /// zlib memLevel, 1–9: the compressor's hash table is `2^(memoryLevel + 9)` bytes.
        public var memoryLevel: Int
        /// Messages shorter than this are sent uncompressed, RSV1 unset (RFC 7692 §6.1 lets a
        /// sender choose per message).
        public var minimumSize: Int

        /// Tuning with zlib's default level (-1, which is 6), memory level 8, and every message
        /// compressed (`minimumSize` 0). Values out of range are clamped when the compressor is
        /// made: the level to -1...9, the memory level to 1...9.
        public init(compressionLevel: Int = -1, memoryLevel: Int = 8, minimumSize: Int = 0) {
            self.compressionLevel = compressionLevel; self.memoryLevel = memoryLevel; self.minimumSize = minimumSize
        }
    }

    /// RSV1, "Per-Message Compressed" (RFC 7692 §6).
    public static let compressedBit: UInt8 = 0x40

    /// The extension token in `Sec-WebSocket-Extensions`: `permessage-deflate` (RFC 7692 §7).
    public var name: String { PerMessageDeflateParameters.extensionName }
    /// The reserved bits this extension owns: RSV1 only (``compressedBit``, 0x40).
    public var reservedBits: UInt8 { Self.compressedBit }

    /// The negotiated parameters.
    public let parameters: PerMessageDeflateParameters
    /// This end's role (which of the parameters apply to sending and which to receiving).
    public let role: Role
    /// The tuning in force.
    public let options: Options
    /// The LZ77 window of this end's compressor, in bits (9–15; see ``init(parameters:role:options:)``).
    public let sendWindowBits: Int
    /// The window the inflater is set up with, in bits (9–15).
    public let receiveWindowBits: Int
    /// Whether this end resets its compressor after each message (RFC 7692 §7.1.1).
    public let resetsSendContext: Bool
    /// Whether the peer resets its compressor after each message, so ours may reset too.
    public let resetsReceiveContext: Bool

    /// Heap bytes zlib holds for this extension's two streams: nothing until the first message
    /// each way; with the default window (15) and memory level (8), about 262 KiB for the
    /// compressor and 40 KiB for the inflater (see Docs/Deflate.md). Kept for the connection's
    /// life, also with `*_no_context_takeover` (the streams are reset, not freed).
    public var memoryInUse: Int { compressor.memoryInUse + decompressor.memoryInUse }

    let compressor: DeflateCompressor
    let decompressor: InflateDecompressor

    /// A compressor for the negotiated `parameters`, as this `role`.
    ///
    /// The window sizes follow the negotiated `*_max_window_bits` (15 when absent). zlib cannot
    /// deflate with a raw window of 8 bits, so when 8 is negotiated this end compresses with 9
    /// (as other zlib-based implementations do; with no data in the stream beyond 256 bytes back
    /// the output is the same). The inflater likewise uses at least 9, which decodes anything
    /// a peer limited to 8 produces.
    public init(parameters: PerMessageDeflateParameters, role: Role, options: Options = .init()) {
        self.parameters = parameters; self.role = role; self.options = options
        let clientBits = parameters.clientMaxWindowBits ?? 15
        let serverBits = parameters.serverMaxWindowBits ?? 15
        let (send, receive) = role == .client ? (clientBits, serverBits) : (serverBits, clientBits)
        sendWindowBits = min(max(send, 9), 15)
        receiveWindowBits = min(max(receive, 9), 15)
        resetsSendContext = role == .client ? parameters.clientNoContextTakeover : parameters.serverNoContextTakeover
        resetsReceiveContext = role == .client ? parameters.serverNoContextTakeover : parameters.clientNoContextTakeover
        compressor = DeflateCompressor(level: min(max(options.compressionLevel, -1), 9), windowBits: sendWindowBits,
                                       memoryLevel: min(max(options.memoryLevel, 1), 9))
        decompressor = InflateDecompressor(windowBits: receiveWindowBits)
    }

    /// Compresses one outgoing message (RFC 7692 §7.2.1) and sets RSV1 on it (RFC 7692 §6).
    /// Short messages, and the rare message zlib fails on, go out uncompressed with RSV1 unset.
    public mutating func encode(_ payload: [UInt8], kind: Message.Kind) -> (payload: [UInt8], reservedBits: UInt8) {
        guard payload.count >= options.minimumSize,
              let compressed = compressor.compress(payload, reset: resetsSendContext) else { return (payload, 0) }
        return (compressed, Self.compressedBit)
    }

    /// Inflates one frame of a message whose first frame had RSV1 (RFC 7692 §7.2.2).
    public mutating func decode(_ payload: UnsafeRawBufferPointer, reservedBits: UInt8, isFinal: Bool,
                                into output: inout [UInt8], limit: Int) throws(ProtocolError) {
        guard reservedBits & Self.compressedBit != 0 else {
            // Not ours (another extension's bit): pass the bytes through.
            guard payload.count <= limit else { throw .messageTooLarge(limit: limit) }
            output.append(contentsOf: payload)
            return
        }
        try decompressor.decompress(payload, isFinal: isFinal, into: &output, limit: limit, reset: resetsReceiveContext)
    }
}

extension PerMessageDeflate {
    /// A negotiator that offers (client) or accepts (server) permessage-deflate with
    /// `preferences` and runs this compressor with `options`.
    ///
    /// Pass it to `ClientHandshake.Options.extensions`, `ServerHandshake.accept(…extensions:)`,
    /// or the WSPosixIO client configuration / server `.accept(extensions:)`.
    public static func negotiator(_ preferences: PerMessageDeflateNegotiator.Preferences = .init(),
                                  options: Options = .init()) -> PerMessageDeflateNegotiator {
        PerMessageDeflateNegotiator(preferences: preferences) { parameters, role in
            PerMessageDeflate(parameters: parameters, role: role, options: options)
        }
    }
}
