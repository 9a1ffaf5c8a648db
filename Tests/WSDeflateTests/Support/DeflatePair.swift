// SPDX-License-Identifier: Apache-2.0
import WSDeflate
import WSProtocol
import WSTestSupport

/// A client and a server joined in memory after a real opening handshake (ClientHandshake →
/// ServerHandshake with negotiation), so the extensions are the ones the negotiators built.
struct DeflatePair {
    var client: Connection
    var server: Connection
    /// The `Sec-WebSocket-Extensions` value of the 101 response (nil when none).
    let negotiated: String?
    var clientEvents: [Event] = []
    var serverEvents: [Event] = []
    /// Every frame byte written by each side (for wire-level checks).
    var clientWire: [UInt8] = []
    var serverWire: [UInt8] = []

    enum Failure: Error { case handshake(String) }

    init(client clientNegotiators: [any ExtensionNegotiator], server serverNegotiators: [any ExtensionNegotiator],
         clientConfiguration: Connection.Configuration = .init(),
         serverConfiguration: Connection.Configuration = .init(), seed: UInt64 = 1) throws {
        var options = try ClientHandshake.Options(url: "ws://127.0.0.1/chat", extensions: clientNegotiators)
        options.configuration = clientConfiguration
        var clientHS = try ClientHandshake(options: options, now: .zero, entropy: SeededGenerator(seed: seed))
        var serverHS = ServerHandshake(now: .zero)
        guard case .upgradeRequest(let request) = serverHS.receive(clientHS.requestBytes, now: .zero) else {
            throw Failure.handshake("server did not see an upgrade request")
        }
        let accepted = try serverHS.accept(request, extensions: serverNegotiators, configuration: serverConfiguration,
                                           now: .zero)
        guard case .connected(let connection, _, let response) = clientHS.receive(accepted.response, now: .zero) else {
            throw Failure.handshake("client did not connect")
        }
        client = connection
        server = accepted.connection
        negotiated = response.headers.first(name: "Sec-WebSocket-Extensions")
    }

    /// Sends `message` from the client (or the server) and delivers everything it wrote to the other side.
    /// `extensions: .bypass` sends it uncompressed.
    mutating func send(_ message: Message, fromClient: Bool = true, extensions: Connection.ExtensionUse = .apply) throws {
        if fromClient {
            let out = try client.send(message, extensions: extensions, now: .zero)
            let bytes = Self.written(out)
            clientWire += bytes
            serverEvents += Self.events(server.receive(bytes, now: .zero))
        } else {
            let out = try server.send(message, extensions: extensions, now: .zero)
            let bytes = Self.written(out)
            serverWire += bytes
            clientEvents += Self.events(client.receive(bytes, now: .zero))
        }
    }

    static func written(_ outputs: [Connection.Output]) -> [UInt8] {
        outputs.reduce(into: []) { if case .write(let b) = $1 { $0 += b } }
    }

    static func events(_ outputs: [Connection.Output]) -> [Event] {
        outputs.compactMap { if case .deliver(let e) = $0 { return e } else { return nil } }
    }

    /// The close code of the last `.closed` event, if any.
    static func closeCode(_ events: [Event]) -> CloseCode? {
        for case .closed(let reason) in events.reversed() { return reason.code }
        return nil
    }
}
