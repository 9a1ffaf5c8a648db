// SPDX-License-Identifier: Apache-2.0
public import WSDeflate
public import WSProtocol

extension WebSocket {
    /// permessage-deflate (RFC 7692) as one setting of a client (``ClientConfiguration/compression``:
    /// offer it) or a server (``WebSocketServer/Configuration/compression``: accept offers).
    ///
    /// ```swift
    /// var client = WebSocket.ClientConfiguration()
    /// client.compression = .default                     // offer permessage-deflate
    /// var server = WebSocketServer.Configuration()
    /// server.compression = .default                     // accept every valid offer
    /// ```
    ///
    /// A server accepts the first offer it can honour, answering each parameter a client may
    /// send (`client_max_window_bits` with or without a value, `server_max_window_bits`, both
    /// `*_no_context_takeover`s) as `PerMessageDeflateNegotiator.response` describes.
    /// One message can still go out uncompressed: ``WebSocket/send(_:compress:)`` with
    /// `compress: false`. See Docs/Deflate.md for what each setting costs in memory.
    public struct Compression: Sendable, Hashable {
        /// What is negotiated: window sizes and context takeover.
        public var preferences: PerMessageDeflateNegotiator.Preferences
        /// zlib tuning, not negotiated: level, memory level, smallest message compressed.
        public var options: PerMessageDeflate.Options

        /// A setting with `preferences` (default: no restrictions, windows of 2^15) and zlib
        /// `options` (default: level 6, memLevel 8, every message compressed); ``default``
        /// is the smaller-memory choice.
        public init(preferences: PerMessageDeflateNegotiator.Preferences = .init(),
                    options: PerMessageDeflate.Options = .init()) {
            self.preferences = preferences; self.options = options
        }

        /// The memory-conscious default: LZ77 windows of 2^12 bytes both ways and zlib memLevel 5
        /// (compression level 6), the settings of Python websockets' defaults. A client offers
        /// `permessage-deflate; server_max_window_bits=12; client_max_window_bits=12`; a server
        /// answers an offer with at most 12 for both windows (less when the client asks for
        /// less; the client's window stays 15 when its offer does not allow a limit). zlib then
        /// holds about 49 KiB per connection once messages have gone both ways (nothing before
        /// the first compressed message; measured in Docs/Deflate.md), against about 301 KiB with
        /// zlib's own defaults (15 / memLevel 8).
        public static let `default` = Compression(
            preferences: .init(serverMaxWindowBits: 12, clientMaxWindowBits: 12),
            options: .init(memoryLevel: 5))

        /// The negotiator for the handshake (what `PerMessageDeflate.negotiator` makes).
        public var negotiator: PerMessageDeflateNegotiator {
            PerMessageDeflate.negotiator(preferences, options: options)
        }

        /// `extensions` with this setting's negotiator appended, unless the application already
        /// put a permessage-deflate negotiator there (its own wins).
        static func extensions(_ extensions: [any ExtensionNegotiator], adding compression: Compression?) -> [any ExtensionNegotiator] {
            guard let compression,
                  !extensions.contains(where: { $0.name.lowercased() == PerMessageDeflateParameters.extensionName })
            else { return extensions }
            return extensions + [compression.negotiator]
        }
    }
}
