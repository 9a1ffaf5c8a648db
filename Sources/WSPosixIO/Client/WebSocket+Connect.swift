// SPDX-License-Identifier: Apache-2.0
public import WSProtocol

extension WebSocket {
    /// Connects to a `ws://host[:port]/path?query` URL (IPv6 literals in brackets).
    ///
    /// - Throws: ``WebSocketError/invalidArgument(_:)`` for a bad URL, ``WebSocketError/tlsNotSupported``
    ///   for `wss://`, and the connection errors of ``connect(host:port:resource:headers:configuration:)``.
    public static func connect(to url: String, configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        let options: ClientHandshake.Options
        do {
            options = try ClientHandshake.Options(url: url)
        } catch {
            throw .invalidArgument(error.reasonText)
        }
        // TLS plugs in through `configuration.transport`; there is no built-in TLS yet.
        guard !options.secure || configuration.transport != nil else { throw .tlsNotSupported }
        return try await connect(host: options.host, port: options.effectivePort, resource: options.resource,
                                 headers: [:], configuration: configuration)
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
    ///   - configuration: subprotocols, `Origin`, timeouts, limits, flow control.
    /// - Throws: ``WebSocketError/hostNotFound(host:message:)``, ``WebSocketError/connectionRefused``,
    ///   ``WebSocketError/timeout(_:)``, ``WebSocketError/handshakeFailed(_:)`` (a refusal carries
    ///   the status, headers and start of the body), and the other network errors.
    public static func connect(host: String, port: Int = 80, resource: String = "/", headers: HTTPHeaders = [:],
                               configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        guard let port16 = UInt16(exactly: port), port16 > 0 else { throw .invalidArgument("invalid port \(port)") }
        var bare = Substring(host)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        let options = try makeOptions(host: String(bare), port: port, resource: resource, headers: headers,
                                      configuration: configuration)
        let addresses = try await Resolver.resolve(host: String(bare), port: port16).get()
        return try await connect(addresses: addresses, options: options, configuration: configuration)
    }

    /// Connects to an address (no name resolution), as Tufao's `connectToHost(QHostAddress, ...)`.
    public static func connect(address: SocketAddress, resource: String = "/", headers: HTTPHeaders = [:],
                               configuration: ClientConfiguration = .init()) async throws(WebSocketError) -> WebSocket {
        let options = try makeOptions(host: address.host, port: Int(address.port), resource: resource,
                                      headers: headers, configuration: configuration)
        return try await connect(addresses: [address], options: options, configuration: configuration)
    }

    private static func makeOptions(host: String, port: Int, resource: String, headers: HTTPHeaders,
                                    configuration: ClientConfiguration) throws(WebSocketError) -> ClientHandshake.Options {
        var all = configuration.headers
        all.add(contentsOf: headers)
        let options = ClientHandshake.Options(
            host: host, port: port, secure: false, resource: resource, origin: configuration.origin,
            subprotocols: configuration.subprotocols,
            extensions: Compression.extensions(configuration.extensions, adding: configuration.compression), headers: all,
            limits: configuration.limits, timeout: configuration.handshakeTimeout,
            configuration: configuration.connection)
        do {
            _ = try ClientHandshake(options: options, now: .zero)  // validate the arguments up front
        } catch {
            throw .invalidArgument(error.reasonText)
        }
        return options
    }

    private static func connect(addresses: [SocketAddress], options: ClientHandshake.Options,
                                configuration: ClientConfiguration) async throws(WebSocketError) -> WebSocket {
        var lastError = WebSocketError.connectionRefused
        for (index, address) in addresses.enumerated() {
            let fd: Int32
            do {
                fd = try Sys.socket(family: address.family)
            } catch {
                throw WebSocketError(error)
            }
            let channel = Channel(loop: configuration.group.next(), socket: FileDescriptor(fd), role: .client,
                                  phase: .connecting, flow: configuration.flowControl, peer: address, server: nil)
            let deadline = MonotonicClock.now() + configuration.connectTimeout
            switch await channel.startClient(options: options, connectDeadline: deadline, transport: configuration.transport) {
            case .success:
                return WebSocket(channel: channel)
            case .failure(let error):
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
}
