// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSProtocol
import WSTLS

/// What a server's channels share: the configuration, the application's handlers, and the
/// registry of live connections (for the connection cap and graceful shutdown).
final class ServerContext: Sendable {
    let configuration: WebSocketServer.Configuration
    let onUpgrade: WebSocketServer.UpgradeHandler?
    let onHTTPRequest: WebSocketServer.HTTPHandler?
    let onConnection: WebSocketServer.ConnectionHandler?
    let onEvent: WebSocketServer.EventHandler?
    /// With it, data messages go here, borrowed (in place where they arrived whole), not to ``onEvent``.
    let onMessage: WebSocketServer.MessageHandler?
    /// Whether ``onEvent`` / ``onMessage`` are set (asked on every read: reading the optional
    /// closure copied it, a retain and a release).
    let hasEventHandler: Bool
    let hasMessageHandler: Bool

    private struct Registry {
        var channels: [ObjectIdentifier: Channel] = [:]
        var shuttingDown = false
    }
    private let registry = Lock(Registry())
    /// The TLS context new connections get (replaced by ``WebSocketServer/reloadTLS(_:)``).
    private let tlsContext: Lock<TLSContext?>
    /// The bytes buffered by all connections: queued events, messages being assembled, bytes
    /// to write. Each channel reports its changes in steps of ``accountingGranule``.
    private let buffered = Atomic<Int>(0)

    /// Channels report their buffered bytes when they moved by this much (or fell to zero), so
    /// small messages cost no atomic operation; the total is exact to this much per connection.
    static let accountingGranule = 64 << 10

    var bufferedBytes: Int { buffered.load(ordering: .relaxed) }

    func addBuffered(_ delta: Int) {
        buffered.add(delta, ordering: .relaxed)
    }

    init(configuration: WebSocketServer.Configuration, onUpgrade: WebSocketServer.UpgradeHandler?,
         onHTTPRequest: WebSocketServer.HTTPHandler?, onConnection: WebSocketServer.ConnectionHandler?,
         onEvent: WebSocketServer.EventHandler?, onMessage: WebSocketServer.MessageHandler? = nil,
         tlsContext: TLSContext?) {
        self.configuration = configuration
        self.tlsContext = Lock(tlsContext)
        self.onUpgrade = onUpgrade
        self.onHTTPRequest = onHTTPRequest
        self.onConnection = onConnection
        self.onEvent = onEvent
        self.onMessage = onMessage
        self.hasEventHandler = onEvent != nil
        self.hasMessageHandler = onMessage != nil
    }

    /// The transport for a new connection: the configured factory's, else TLS with the current
    /// certificates, else none.
    func makeTransport() -> (any Transport)? {
        if let factory = configuration.transport { return factory(TransportContext(role: .server)) }
        guard let context = tlsContext.withLock({ $0 }) else { return nil }
        return TLSTransport(context: context)
    }

    func replaceTLSContext(_ context: TLSContext) {
        tlsContext.withLock { $0 = context }
    }

    /// Whether upgrade requests go through ``decide(_:on:)`` (an origin policy or the application).
    var hasUpgradeHandler: Bool { onUpgrade != nil || configuration.originPolicy != nil }
    var hasHTTPHandler: Bool { onHTTPRequest != nil }
    var isShuttingDown: Bool { registry.withLock { $0.shuttingDown } }
    var count: Int { registry.withLock { $0.channels.count } }

    var handshakeOptions: ServerHandshake.Options {
        ServerHandshake.Options(limits: configuration.limits, timeout: configuration.handshakeTimeout)
    }

    /// Registers a new connection; `false` when the cap is reached or the server is shutting down.
    func admit(_ channel: Channel) -> Bool {
        registry.withLock { r in
            guard !r.shuttingDown, r.channels.count < configuration.maxConnections else { return false }
            if let cap = configuration.maxBufferedBytes, buffered.load(ordering: .relaxed) >= cap { return false }
            r.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: Channel) {
        _ = registry.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Stops admitting and returns the live connections.
    func beginShutdown() -> [Channel] {
        registry.withLock { r in
            r.shuttingDown = true
            return Array(r.channels.values)
        }
    }

    func snapshot() -> [Channel] { registry.withLock { Array($0.channels.values) } }

    // MARK: calling the application

    func decide(_ request: UpgradeRequest, on channel: Channel) {
        if let refusal = configuration.originPolicy?.refusal(for: request) {
            channel.apply(.reject(refusal))
            return
        }
        guard let onUpgrade else {
            channel.apply(.accept())
            return
        }
        // On the connection's loop: no dependency on the shared pool, no thread switch.
        Task(executorPreference: channel.loop) { channel.apply(await onUpgrade(request)) }
    }

    func answer(_ head: HTTPRequestHead, on channel: Channel) {
        guard let onHTTPRequest else { return }
        let isHead = head.method == "HEAD"
        Task(executorPreference: channel.loop) {
            let response = await onHTTPRequest(head)
            channel.respond(response, headOnly: isHead)
        }
    }

    func opened(_ channel: Channel) {
        channel.releaseHandshakeStorage()
        guard let handler = onConnection else { return }
        let socket = WebSocket(channel: channel)
        // The handler runs on the connection's loop thread (see ``EventLoop``): events reach it
        // and its replies reach the socket without a thread switch.
        Task(executorPreference: channel.loop) {
            channel.handlerTaskStarted()
            await handler(socket)
            channel.handlerTaskEnded()
        }
    }
}
