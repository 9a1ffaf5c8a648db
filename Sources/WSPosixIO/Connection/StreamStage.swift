// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A step the driver runs on the raw byte stream before the WebSocket opening handshake, the
/// same way it runs the core: bytes in, bytes out, time injected, no I/O of its own.
///
/// A client's stages tunnel through proxies (HTTP `CONNECT`, SOCKS5); a server's read what a
/// load balancer puts in front of the request (the PROXY protocol header). The driver runs a
/// connection's stages in order, once TCP is up and before any ``Transport`` (TLS) starts, so
/// TLS travels inside a proxy tunnel and a PROXY header comes before the TLS ClientHello:
///
/// ```
/// client: connect ─▶ stage 1 … stage n ─▶ transport (TLS) ─▶ WebSocket handshake ─▶ open
/// server: accept  ─▶ stage 1 … stage n ─▶ transport (TLS) ─▶ WebSocket handshake ─▶ open
/// ```
///
/// The driver writes what ``start(now:)`` returns, feeds every byte read to
/// ``receive(_:now:)`` and writes what each step asks for, calls ``handleTimeout(now:)`` once
/// ``nextDeadline`` has passed, and moves on after ``StreamStageStep/done(write:leftover:facts:)``,
/// handing the leftover bytes to whatever runs next.
protocol StreamStage: Sendable {
    /// Bytes to write as soon as the stage starts (a `CONNECT` request, a SOCKS greeting);
    /// empty when the stage only reads.
    mutating func start(now: Instant) -> [UInt8]
    /// Bytes read from the socket.
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: Instant) -> StreamStageStep
    /// The peer closed its side before the stage finished.
    mutating func receiveEndOfStream(now: Instant) -> StreamStageStep
    /// When the stage gives up waiting (`nil` for never; the driver's own timeouts still apply).
    var nextDeadline: Instant? { get }
    /// The deadline passed: the stage reports its timeout as a failure.
    mutating func handleTimeout(now: Instant) -> StreamStageStep
}

/// What a ``StreamStage`` asks the driver to do after an input.
enum StreamStageStep: Sendable {
    /// Write these bytes (possibly none) and keep feeding the stage.
    case needMoreData(write: [UInt8])
    /// The stage is done: write these bytes, hand `leftover` (bytes read past the stage's end)
    /// to what runs next, and record `facts`.
    case done(write: [UInt8], leftover: [UInt8], facts: StreamStageFacts)
    /// The stage failed: the connection ends with this error.
    case failed(WebSocketError)
}

/// What a finished stage learned about the connection.
struct StreamStageFacts: Hashable, Sendable {
    /// The original client, as a PROXY protocol header reports it (server side).
    var source: SocketAddress?
    /// The address the client connected to, as a PROXY protocol header reports it (server side).
    var destination: SocketAddress?

    init(source: SocketAddress? = nil, destination: SocketAddress? = nil) {
        self.source = source
        self.destination = destination
    }
}
