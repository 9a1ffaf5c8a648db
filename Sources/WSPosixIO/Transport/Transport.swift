// SPDX-License-Identifier: Apache-2.0

/// The seam between the socket and the WebSocket bytes, where TLS plugs in.
///
/// A transport turns bytes read from the socket into application bytes and application bytes
/// into bytes to write, entirely in memory (a sans-I/O TLS engine fits this shape, as NIOSSL's
/// memory BIO does). ``PlainTransport`` passes bytes through untouched; the channel takes a fast
/// path for it and never copies. `wss://` URLs fail with ``WebSocketError/tlsNotSupported``
/// until a TLS transport exists.
public protocol Transport: Sendable {
    /// Whether bytes pass through unchanged (the driver then skips ``unwrap(_:into:)`` and ``wrap(_:into:)``).
    var isPassthrough: Bool { get }
    /// Bytes to write as soon as TCP is connected (a TLS ClientHello); empty for plain TCP.
    mutating func start() throws(WebSocketError) -> [UInt8]
    /// Bytes read from the socket: appends the application bytes they carry to `plaintext`.
    mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError)
    /// Application bytes to send: appends the bytes to write to `wire`.
    mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError)
}

/// Plain TCP: bytes pass through.
public struct PlainTransport: Transport {
    public init() {}
    public var isPassthrough: Bool { true }
    public mutating func start() throws(WebSocketError) -> [UInt8] { [] }
    public mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        plaintext.append(contentsOf: wire)
    }
    public mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        wire.append(contentsOf: plaintext)
    }
}
