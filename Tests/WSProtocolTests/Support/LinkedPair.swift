// SPDX-License-Identifier: Apache-2.0
import WSProtocol

/// A client and a server ``Connection`` joined in memory (h11's `ConnectionPair`, wsproto's
/// `remote.receive_data(local.send(...))`). Outputs are performed as a driver would: writes go to
/// the other side's inbox, events are recorded, `.closeTransport` ends that side's stream, which
/// the other side sees as end of stream once it has read everything.
struct LinkedPair {
    enum Side: Hashable, Sendable { case client, server }

    var client: Connection
    var server: Connection
    /// Bytes written by the server, not yet read by the client (and the reverse).
    var toClient: [UInt8] = []
    var toServer: [UInt8] = []
    /// Events delivered to each side, in order.
    var clientEvents: [Event] = []
    var serverEvents: [Event] = []
    /// Whether each side closed its transport.
    var clientTransportClosed = false
    var serverTransportClosed = false
    /// Whether each side was told of end of stream.
    var clientSawEndOfStream = false
    var serverSawEndOfStream = false
    /// The time given to every input.
    var now: Instant = .zero
    /// Bytes read per `receive` call while pumping (`nil`: all that is pending).
    var chunkSize: Int? = nil

    init(client: Connection.Configuration = .init(), server: Connection.Configuration = .init(),
         clientEntropy: any RandomNumberGenerator & Sendable = FixedKeyGenerator()) {
        self.client = Connection(role: .client, configuration: client, entropy: clientEntropy)
        self.server = Connection(role: .server, configuration: server)
    }

    /// Performs `outputs` produced by `side`.
    mutating func perform(_ outputs: [Connection.Output], from side: Side) {
        for output in outputs {
            switch (side, output) {
            case (.client, .write(let bytes)): toServer += bytes
            case (.server, .write(let bytes)): toClient += bytes
            case (.client, .deliver(let event)): clientEvents.append(event)
            case (.server, .deliver(let event)): serverEvents.append(event)
            case (.client, .closeTransport), (.client, .shutdownWrite): clientTransportClosed = true
            case (.server, .closeTransport), (.server, .shutdownWrite): serverTransportClosed = true
            }
        }
    }

    /// Read positions in `toServer` / `toClient` (consumed bytes are dropped once all are read).
    private var serverRead = 0
    private var clientRead = 0

    /// The next chunk of `buffer` from `read`, at most `size` bytes.
    private static func take(_ buffer: inout [UInt8], _ read: inout Int, _ size: Int?) -> ArraySlice<UInt8> {
        let n = min(size ?? (buffer.count - read), buffer.count - read)
        let chunk = buffer[read ..< read + n]
        read += n
        if read == buffer.count { buffer.removeAll(keepingCapacity: true); read = 0 }
        return chunk
    }

    /// Runs a command on one side and performs its outputs.
    mutating func client(_ command: (inout Connection, Instant) throws(UsageError) -> [Connection.Output]) throws(UsageError) {
        let outputs = try command(&client, now)
        perform(outputs, from: .client)
    }
    mutating func server(_ command: (inout Connection, Instant) throws(UsageError) -> [Connection.Output]) throws(UsageError) {
        let outputs = try command(&server, now)
        perform(outputs, from: .server)
    }

    /// Moves bytes both ways until nothing is pending, then reports end of stream to a side whose
    /// peer closed its transport. Bounded: stops after `limit` rounds.
    mutating func pump(limit: Int = 10_000_000) {
        for _ in 0..<limit {
            var progressed = false
            if !toServer.isEmpty && !serverTransportClosed {
                let chunk = Self.take(&toServer, &serverRead, chunkSize)
                perform(server.receive(chunk, now: now), from: .server)
                progressed = true
            } else if !toClient.isEmpty && !clientTransportClosed {
                let chunk = Self.take(&toClient, &clientRead, chunkSize)
                perform(client.receive(chunk, now: now), from: .client)
                progressed = true
            } else if clientTransportClosed && !serverSawEndOfStream && !serverTransportClosed {
                serverSawEndOfStream = true
                perform(server.receiveEndOfStream(now: now), from: .server)
                progressed = true
            } else if serverTransportClosed && !clientSawEndOfStream && !clientTransportClosed {
                clientSawEndOfStream = true
                perform(client.receiveEndOfStream(now: now), from: .client)
                progressed = true
            }
            if !progressed { return }
        }
    }

    /// Sends `messages` from `side`, pumps, and returns what the other side received as messages.
    static func roundTrip(_ messages: [Message], from side: Side = .client, client: Connection.Configuration = .init(),
                          server: Connection.Configuration = .init(), chunkSize: Int? = nil) throws(UsageError) -> [Message] {
        var pair = LinkedPair(client: client, server: server)
        pair.chunkSize = chunkSize
        for message in messages {
            switch side {
            case .client: try pair.client { (c, now) throws(UsageError) in try c.send(message, now: now) }
            case .server: try pair.server { (c, now) throws(UsageError) in try c.send(message, now: now) }
            }
        }
        pair.pump()
        let events = side == .client ? pair.serverEvents : pair.clientEvents
        return events.compactMap { if case .message(let m) = $0 { m } else { nil } }
    }
}
