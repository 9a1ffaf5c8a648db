// SPDX-License-Identifier: Apache-2.0
public import WSProtocol
public import WSTLS
import Synchronization

extension WebSocket {
    /// Connects to a `ws://` or `wss://host[:port]/path?query` URL (IPv6 literals in brackets),
    /// through ``ClientConfiguration/proxy`` if set, following redirects as
    /// ``ClientConfiguration/redirects`` allows.
    ///
    /// `wss://` runs TLS over the system OpenSSL and verifies the server as
    /// ``ClientConfiguration/tls`` says (by default: the system trust store and the host name);
    /// nothing is sent before the server is verified.
    ///
    /// - Throws: ``WebSocketError/invalidArgument(_:)`` for a bad URL, ``WebSocketError/tls(_:)``
    ///   when TLS fails, and the connection errors of ``connect(host:port:resource:headers:configuration:)``.
    public static func connect(to url: String, configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(to: url, ignoring: [], configuration: configuration)
    }

    /// Connects to a `ws://` or `wss://` URL, letting the named certificate verification
    /// failures through (as Tufao's `connectToHostEncrypted(QUrl, ignoredSslErrors)`); they add
    /// to `TLSClientConfiguration.ignoredFailures`. Only the named ones pass.
    public static func connect(to url: String, ignoring ignored: Set<VerificationFailure>,
                               configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(ConnectTarget(url: url), address: nil, headers: [:], ignoring: ignored, configuration: configuration)
    }

    /// Connects to a host name or numeric address (as Tufao's `connectToHost`): resolves it off
    /// the loop, tries each address in turn within ``ClientConfiguration/connectTimeout``, then
    /// performs the opening handshake within ``ClientConfiguration/handshakeTimeout``.
    ///
    /// - Parameters:
    ///   - host: a host name, or an IPv4/IPv6 address (brackets optional).
    ///   - port: the TCP port, 80 by default.
    ///   - resource: the path and query, `/` by default.
    ///   - headers: extra request headers (added to the configuration's).
    ///   - configuration: subprotocols, `Origin`, timeouts, limits, flow control, proxy, redirects.
    /// - Throws: ``WebSocketError/hostNotFound(host:message:)``, ``WebSocketError/connectionRefused``,
    ///   ``WebSocketError/timeout(_:)``, ``WebSocketError/handshakeFailed(_:)`` (a refusal carries
    ///   the status, headers and start of the body), the proxy errors
    ///   (``WebSocketError/proxyNotFound(host:message:)``, ...) and the other network errors;
    ///   ``WebSocketError/cancelled`` when the calling task is cancelled (the attempt stops
    ///   where it is and its socket closes; a name lookup under way finishes first).
    public static func connect(host: String, port: Int = 80, resource: String = "/", headers: HTTPHeaders = [:],
                               configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(host: host, port: port, secure: false, resource: resource, headers: headers, ignoring: [],
                          configuration: configuration)
    }

    /// Connects over TLS to a host name or numeric address (as Tufao's `connectToHostEncrypted`):
    /// as ``connect(host:port:resource:headers:configuration:)``, with the server verified as
    /// ``ClientConfiguration/tls`` says, plus the `ignored` failures let through.
    ///
    /// - Parameters:
    ///   - host: a host name, or an IPv4/IPv6 address (brackets optional).
    ///   - port: the TCP port, 443 by default (then left out of the `Host` header).
    ///   - resource: the path and query, `/` by default.
    ///   - headers: extra request headers (added to the configuration's).
    ///   - ignored: verification failures to let through (only these pass).
    ///   - configuration: subprotocols, `Origin`, TLS settings, timeouts, limits, flow control.
    /// - Throws: ``WebSocketError/tls(_:)`` when TLS fails (the verification result, or
    ///   OpenSSL's reason), and the errors of ``connect(host:port:resource:headers:configuration:)``.
    public static func connectEncrypted(host: String, port: Int = 443, resource: String = "/", headers: HTTPHeaders = [:],
                                        ignoring ignored: Set<VerificationFailure> = [],
                                        configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(host: host, port: port, secure: true, resource: resource, headers: headers, ignoring: ignored,
                          configuration: configuration)
    }

    /// Connects to an address (no name resolution), as Tufao's `connectToHost(QHostAddress, ...)`.
    public static func connect(address: SocketAddress, resource: String = "/", headers: HTTPHeaders = [:],
                               configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(ConnectTarget(secure: false, host: address.host, port: Int(address.port), resource: resource),
                          address: address, headers: headers, ignoring: [], configuration: configuration)
    }

    /// Connects over TLS to an address (no name resolution), as Tufao's
    /// `connectToHostEncrypted(QHostAddress, ...)`: the certificate must be valid for the
    /// address itself (an IP address entry), unless `VerificationFailure.hostNameMismatch`
    /// is ignored.
    public static func connectEncrypted(address: SocketAddress, resource: String = "/", headers: HTTPHeaders = [:],
                                        ignoring ignored: Set<VerificationFailure> = [],
                                        configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        try await connect(ConnectTarget(secure: true, host: address.host, port: Int(address.port), resource: resource),
                          address: address, headers: headers, ignoring: ignored, configuration: configuration)
    }

    private static func connect(host: String, port: Int, secure: Bool, resource: String, headers: HTTPHeaders,
                                ignoring ignored: Set<VerificationFailure>,
                                configuration: ClientConfiguration) async throws(WebSocketError) -> WebSocket {
        guard let port16 = UInt16(exactly: port), port16 > 0 else { throw .invalidArgument("invalid port \(port)") }
        var bare = Substring(host)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        return try await connect(ConnectTarget(secure: secure, host: String(bare), port: Int(port16), resource: resource),
                                 address: nil, headers: headers, ignoring: ignored, configuration: configuration)
    }

    /// Connects, following redirects (see ``RedirectPolicy``).
    private static func connect(_ first: ConnectTarget, address: SocketAddress?, headers: HTTPHeaders,
                                ignoring ignored: Set<VerificationFailure>,
                                configuration: ClientConfiguration) async throws(WebSocketError) -> WebSocket {
        var target = first, address = address, headers = headers, configuration = configuration, ignored = ignored
        var hops = 0
        // The hops after a redirect share the first one's time: a server that answers each
        // request with a redirect just before the handshake timeout held a connect for 11 times
        // it (99 s with 9 s per hop; 10 s each for the connect too, 220 s).
        let latest = MonotonicClock.now() + configuration.connectTimeout + configuration.handshakeTimeout
        while true {
            if hops > 0 && MonotonicClock.now() >= latest { throw .timeout(.handshake) }
            do {
                return try await open(target, address: address, headers: headers, ignoring: ignored, configuration: configuration,
                                      latest: hops > 0 ? latest : nil)
            } catch {
                guard case .handshakeFailed(.refused(let status, _, let fields, _)) = error,
                      ConnectTarget.redirectStatuses.contains(status), let location = fields.first(name: "Location"),
                      hops < configuration.redirects.maxRedirects else { throw error }
                guard let next = target.resolving(location) else {
                    throw .redirectNotFollowed(status: status, location: location,
                                               reason: "the Location is not a ws, wss, http or https URL")
                }
                if target.secure && !next.secure {
                    throw .redirectNotFollowed(status: status, location: location, reason: "it leads from wss:// to ws://")
                }
                if !next.sameOrigin(target) {
                    // Credentials meant for one origin must not reach another, nor does trust
                    // relaxed for one: certificate failures let through for the first server
                    // (`ignoring:`, `tls.ignoredFailures`) are refused again at another.
                    for name in ["Authorization", "Cookie"] {
                        headers.remove(name: name)
                        configuration.headers.remove(name: name)
                    }
                    ignored = []
                    configuration.tls.ignoredFailures = []
                }
                target = next
                address = nil
                hops += 1
            }
        }
    }

    /// One attempt: directly, or through the proxy the configuration selects; done by `latest`
    /// if set (connect, stages and handshake).
    private static func open(_ target: ConnectTarget, address: SocketAddress?, headers: HTTPHeaders,
                             ignoring ignored: Set<VerificationFailure>,
                             configuration: ClientConfiguration, latest: Instant?) async throws(WebSocketError) -> WebSocket {
        guard let port16 = UInt16(exactly: target.port), port16 > 0 else { throw .invalidArgument("invalid port \(target.port)") }
        // Cancelled before this attempt (or a redirect's) started: nothing is resolved or opened.
        if Task.isCancelled { throw .cancelled }
        let options = try makeOptions(host: target.host, port: target.port, secure: target.secure, resource: target.resource,
                                      headers: headers, configuration: configuration)
        // TLS (wss://) starts after the proxy's tunnel is open, so it runs end to end with the target.
        let transport = try makeTransport(host: target.host, port: target.port, secure: target.secure, ignoring: ignored,
                                          configuration: configuration)
        let proxy: Proxy?
        switch configuration.proxy {
        case .none: proxy = nil
        case .environment: proxy = try Proxy.fromEnvironment(secure: target.secure, host: target.host)
        case .proxy(let p): proxy = p
        }
        guard let proxy else {
            let addresses: [SocketAddress]
            if let address { addresses = [address] } else {
                addresses = try await Resolver.resolve(host: target.host, port: port16).get()
            }
            return try await connect(addresses: addresses, options: options, transport: transport, configuration: configuration,
                                     stages: [], latest: latest)
        }
        guard let proxyPort = UInt16(exactly: proxy.port), proxyPort > 0 else { throw .invalidArgument("proxy: invalid port \(proxy.port)") }
        let proxyAddresses: [SocketAddress]
        switch await Resolver.resolve(host: proxy.host, port: proxyPort) {
        case .success(let found): proxyAddresses = found
        case .failure(.hostNotFound(let host, let message)): throw .proxyNotFound(host: host, message: message)
        case .failure(let other): throw other
        }
        var resolved: SocketAddress? = nil
        if proxy.kind == .socks5 {  // socks5:// resolves here; socks5h:// and socks4a:// leave it to the proxy
            if let address { resolved = address } else {
                resolved = try await Resolver.resolve(host: target.host, port: port16).get().first
            }
        }
        let stage = try proxy.stage(host: target.host, port: target.port, resolved: resolved)
        do {
            return try await connect(addresses: proxyAddresses, options: options, transport: transport, configuration: configuration,
                                     stages: [stage], latest: latest)
        } catch {
            switch error {
            case .connectionRefused: throw .proxyConnectionRefused
            case .timeout(.connect): throw .proxyConnectionTimeout
            default: throw error
            }
        }
    }

    /// The configured transport factory's, else TLS for a secure connection, else none.
    private static func makeTransport(host: String, port: Int, secure: Bool, ignoring ignored: Set<VerificationFailure>,
                                      configuration: ClientConfiguration) throws(WebSocketError) -> (@Sendable () -> any Transport)? {
        if let factory = configuration.transport {
            let context = TransportContext(role: .client, host: host, port: port, secure: secure)
            return { factory(context) }
        }
        guard secure else { return nil }
        var tls = configuration.tls
        tls.ignoredFailures.formUnion(ignored)
        let context = try ClientTLSContexts.context(for: tls)
        return { TLSTransport(context: context, serverName: host) }
    }

    private static func makeOptions(host: String, port: Int, secure: Bool, resource: String, headers: HTTPHeaders,
                                    configuration: ClientConfiguration) throws(WebSocketError) -> ClientHandshake.Options {
        var all = configuration.headers
        all.add(contentsOf: headers)
        let options = ClientHandshake.Options(
            host: host, port: port, secure: secure, resource: resource, origin: configuration.origin,
            subprotocols: configuration.subprotocols,
            extensions: Compression.extensions(configuration.extensions, adding: configuration.compression), headers: all,
            limits: configuration.limits, timeout: configuration.handshakeTimeout,
            configuration: configuration.connection)
        do {
            _ = try ClientHandshake(options: options, now: .zero)  // validate the arguments up front
        } catch {
            // Said once: "invalid argument: header X cannot be written", not "… Invalid argument: …".
            if case .invalidArgument(let why) = error { throw .invalidArgument(why) }
            throw .invalidArgument(error.reasonText)
        }
        return options
    }

    private static func connect(addresses: [SocketAddress], options: ClientHandshake.Options,
                                transport: (@Sendable () -> any Transport)?,
                                configuration: ClientConfiguration, stages: [any StreamStage],
                                latest: Instant?) async throws(WebSocketError) -> WebSocket {
        var lastError = WebSocketError.connectionRefused
        for (index, address) in addresses.enumerated() {
            // A name resolution is not interrupted; what follows it is not started.
            if Task.isCancelled { throw .cancelled }
            let fd: Int32
            do {
                fd = try Sys.socket(family: address.family)
            } catch {
                throw WebSocketError(error)
            }
            let setup = ChannelSetup(stages: stages + (configuration.makeStages?(options.host, options.effectivePort) ?? []),
                                     transport: transport, handshake: .client(options),
                                     stageTimeout: configuration.handshakeTimeout, latest: latest)
            let loop: EventLoop
            do {
                loop = try configuration.group.next()
            } catch {
                Sys.close(fd)
                throw WebSocketError(error)
            }
            let channel = Channel(loop: loop, socket: FileDescriptor(fd), role: .client,
                                  setup: setup, deadline: setup.deadline(now: MonotonicClock.now(), timeout: configuration.connectTimeout),
                                  flow: configuration.flowControl, peer: address, server: nil)
            let result = await channel.startClient()
            if let trace = configuration.onHandshake {
                let (request, response, tls) = channel.state.withLock { ($0.handshakeRequest, $0.response, $0.tlsSession) }
                if let request { trace(HandshakeTrace(request: request, response: response ?? Self.refusedHead(result), tls: tls)) }
            }
            switch result {
            case .success:
                return WebSocket(channel: channel)
            case .failure(var error):
                // The server closed (or reset) before its response head was complete: Tufao's
                // REMOTE_HOST_CLOSED. A response that came and was wrong stays handshakeFailed.
                if error == .handshakeFailed(.endOfStream) { error = .remoteHostClosed }
                lastError = error
                let canRetry: Bool
                switch error {
                case .connectionRefused, .networkError, .timeout(.connect): canRetry = true
                default: canRetry = false
                }
                if !canRetry || index == addresses.count - 1 { throw error }
            }
        }
        throw lastError
    }

    /// The response head a refusal carries (its body is not part of the head).
    private static func refusedHead(_ result: Result<Void, WebSocketError>) -> HTTPResponseHead? {
        guard case .failure(.handshakeFailed(.refused(let status, let reason, let headers, _))) = result else { return nil }
        return HTTPResponseHead(status: status, reason: reason, headers: headers)
    }
}
