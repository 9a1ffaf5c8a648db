// SPDX-License-Identifier: Apache-2.0

/// The `Sec-WebSocket-Key` nonce and the `Sec-WebSocket-Accept` value derived from it
/// (RFC 6455 §4.1, §4.2.2).
@_spi(Testing) public enum AcceptKey {
    /// The GUID appended to the key before hashing (RFC 6455 §1.3).
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `base64(SHA-1(key + GUID))` (RFC 6455 §4.2.2 step 5.4). The key is used as sent,
    /// without trimming or decoding.
    public static func accept(forKey key: String) -> String {
        Base64.encode(SHA1.hash(Array(key.utf8) + Array(guid.utf8)))
    }

    /// A fresh key: 16 bytes from `generator`, Base64-encoded (RFC 6455 §4.1: "a randomly
    /// selected 16-byte value that has been base64-encoded").
    public static func randomKey(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let v = generator.next()
            for s in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
        }
        return Base64.encode(bytes)
    }

    /// Whether `key` is a valid `Sec-WebSocket-Key`: Base64 that decodes to exactly 16 bytes
    /// (RFC 6455 §4.2.1 item 5).
    public static func isValidKey(_ key: String) -> Bool {
        Base64.decode(key)?.count == 16
    }
}
