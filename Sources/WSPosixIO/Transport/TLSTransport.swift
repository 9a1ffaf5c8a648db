// SPDX-License-Identifier: Apache-2.0
public import WSTLS

/// TLS as a ``Transport``: a `TLSEngine` (WSTLS, the system OpenSSL) between the socket and
/// the WebSocket bytes. `wss://` clients and servers with ``WebSocketServer/Configuration/tls``
/// use it; it can also be returned from a transport factory.
public struct TLSTransport: Transport, @unchecked Sendable {
    // @unchecked: the engine is a class without locks. A connection owns its transport and
    // uses it under its channel's lock only; the Sendable requirement lets factories and
    // configurations cross threads, not engines.
    //
    // Two words: it fits an existential's inline buffer (three words), so the connection's
    // `any Transport` holds it without a box, and calling it in place needs no box made unique.
    private let setup: Setup
    private var engine: TLSEngine?

    /// What ``start()`` makes the engine from.
    private final class Setup: Sendable {
        let context: TLSContext
        let serverName: String?
        init(context: TLSContext, serverName: String?) {
            self.context = context
            self.serverName = serverName
        }
    }

    /// A transport for one connection. For a client, `serverName` is the host name or address
    /// connected to (SNI and certificate verification).
    public init(context: TLSContext, serverName: String? = nil) {
        self.setup = Setup(context: context, serverName: serverName)
    }

    /// What the handshake agreed on; `nil` until it finished.
    public var session: TLSSessionInfo? { engine?.session }

    /// Whether our close_notify went out (see `TLSEngine.sentCloseNotify`).
    public var sentCloseNotify: Bool { engine?.sentCloseNotify ?? false }

    /// Whether the peer's close_notify arrived (see `TLSEngine.receivedCloseNotify`).
    public var receivedCloseNotify: Bool { engine?.receivedCloseNotify ?? false }

    /// The peer's close_notify arrived: its stream has ended, whether or not TCP's has.
    public var hasReceivedEndOfStream: Bool { receivedCloseNotify }

    /// The error of a transport used before ``start()``, or started twice: nothing of the
    /// peer's is dropped, and a stream cut before any TLS is not taken for a clean one.
    static let notStarted = WebSocketError.invalidArgument("TLSTransport used before start()")

    public mutating func start() throws(WebSocketError) -> [UInt8] {
        guard engine == nil else { throw .invalidArgument("TLSTransport.start() called twice") }
        do {
            let engine = try TLSEngine(context: setup.context, serverName: setup.serverName)
            self.engine = engine
            try engine.start()
            return engine.takeOutput()
        } catch {
            throw .tls(error)
        }
    }

    public mutating func unwrap(_ wire: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) throws(WebSocketError) {
        guard let engine else { throw Self.notStarted }
        do { try engine.receive(wire, into: &plaintext) } catch { throw .tls(error) }
    }

    public mutating func unwrap(_ wire: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) throws(WebSocketError) {
        guard let engine else { throw Self.notStarted }
        do { try engine.receive(wire, body) } catch { throw .tls(error) }
    }

    public mutating func wrap(_ plaintext: UnsafeRawBufferPointer, into wire: inout [UInt8]) throws(WebSocketError) {
        guard let engine else { throw Self.notStarted }
        do { try engine.send(plaintext, into: &wire) } catch { throw .tls(error) }
    }

    public mutating func takeOutput() -> [UInt8] { engine?.takeOutput() ?? [] }

    public mutating func close() -> [UInt8] {
        engine?.close()
        return takeOutput()
    }

    /// A server's refusal before the handshake: a fatal `internal_error` alert
    /// (`TLSEngine.refusal`); a client refuses nothing.
    public mutating func refuse() -> [UInt8] { setup.context.isServer ? TLSEngine.refusal : [] }

    public mutating func receiveEndOfStream() throws(WebSocketError) {
        guard let engine else { throw Self.notStarted }
        do { try engine.receiveEndOfStream() } catch { throw .tls(error) }
    }
}
