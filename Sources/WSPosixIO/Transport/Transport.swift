// SPDX-License-Identifier: Apache-2.0

/// The seam between the socket and the WebSocket bytes, where TLS plugs in.
///
/// A transport turns bytes read from the socket into application bytes, and application bytes
/// into bytes to write, entirely in memory (a sans-I/O TLS engine fits this shape, as NIOSSL's
/// memory BIO does). Configure one with ``WebSocket/ClientConfiguration/transport`` or
/// ``WebSocketServer/Configuration/transport``; each connection gets its own instance. Without
/// one, bytes go straight between the socket and the core (the fast path, no copies).
///
/// The driver calls ``start()`` once TCP is up and writes its bytes first; after each
/// ``unwrap(_:into:)`` it writes what ``takeOutput()`` returns (handshake records, alerts);
/// it passes every batch of outgoing application bytes through ``wrap(_:into:)``. A thrown
/// error ends the connection (reported as the connection's error).
///
/// Until a TLS transport exists, `wss://` URLs without a configured transport fail with
/// ``WebSocketError/tlsNotSupported``.
public protocol Transport: Sendable {
    /// Bytes to write as soon as TCP is connected (a TLS ClientHello); empty for none.
    mutating func start() throws(WebSocketError) -> [UInt8]
    /// Bytes read from the socket: appends the application bytes they carry to `plaintext`.
    mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError)
    /// Application bytes to send: appends the bytes to write to `wire`.
    mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError)
    /// Bytes the transport must send on its own (handshake records, alerts), polled after each unwrap.
    mutating func takeOutput() -> [UInt8]
}

/// Plain TCP as a transport: bytes pass through. (Configuring no transport at all is faster.)
public struct PlainTransport: Transport {
    public init() {}
    public mutating func start() throws(WebSocketError) -> [UInt8] { [] }
    public mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        plaintext.append(contentsOf: wire)
    }
    public mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        wire.append(contentsOf: plaintext)
    }
    public mutating func takeOutput() -> [UInt8] { [] }
}
