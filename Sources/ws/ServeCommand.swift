// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSPosixIO
import WSProtocol
import WSTLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `ws serve`: the demo server.
///
/// - `/` answers the HTML demo page (``DemoPage``), `/selftest` the browser self-test
///   (``SelfTestPage``); a plain request for a WebSocket endpoint (`/echo`, `/chat`,
///   `/report`) gets 426 with `Upgrade: websocket` (RFC 9110 §15.5.22); other plain HTTP
///   requests get 404.
/// - WebSocket `/echo` echoes every message (same type, same bytes); `/chat` sends every
///   message to every connected peer (the sender too) through a ``WebSocketGroup``: a peer
///   whose unwritten bytes are over 1 MiB misses messages instead of delaying the others; `/report` prints each text message it
///   receives as one line on standard output, escaped (``Terminal/escaped(_:)``; the self-test
///   page reports there).
/// - permessage-deflate offers are accepted unless `--no-deflate`.
/// - With `--tls-cert` and `--tls-key`, everything is served over TLS (`https://`, `wss://`);
///   SIGHUP reloads both files (new connections get the new certificate).
/// - `/healthz` answers 200 `ok`, or 503 `draining` once SIGINT/SIGTERM has arrived (a load
///   balancer's health check).
/// - SIGINT/SIGTERM: `/healthz` and new upgrades get 503; after `--drain` seconds (default 0),
///   close 1001 (going away) to every peer, wait for their answers (bounded), exit 0.
/// - `--max-connections` and `--max-buffered` cap the connections and the bytes buffered
///   across them (``applyCaps(to:)``).
/// - Behind a load balancer: `--proxy-protocol` and `--forwarded` report the real client (see
///   ``CommandLineOptions/Serve``); `--redis` fans `/chat` out over Redis pub/sub (``ChatFanOut``).
struct ServeCommand {
    var options: CommandLineOptions.Serve
    var host: String { options.host }
    var port: Int { options.port }

    var tls: TLSServerConfiguration? {
        guard let certificate = options.tlsCertificate, let key = options.tlsKey else { return nil }
        var configuration = TLSServerConfiguration(certificateChain: .file(certificate), privateKey: .file(key))
        configuration.sessionTickets = options.tlsSessionTickets
        return configuration
    }

    /// The `Origin` check: the page this server serves (reached by the bind host or a loopback
    /// name), clients that send no `Origin` (command-line tools), and the `--allow-origin` values.
    var originPolicy: OriginPolicy {
        OriginPolicy(allowed: options.allowedOrigins, allowsMissingOrigin: true,
                     sameOriginHosts: [host, "localhost", "127.0.0.1", "::1"])
    }

    /// `--max-connections` and `--max-buffered`: the server's caps (beyond them new
    /// connections get 503, or a fatal alert over TLS).
    func applyCaps(to configuration: inout WebSocketServer.Configuration) {
        if let count = options.maxConnections { configuration.maxConnections = count }
        configuration.maxBufferedBytes = options.maxBufferedBytes
    }

    func run() async -> Int32 {
        SignalWaiter.install()  // SIGINT/SIGTERM: graceful shutdown below; SIGHUP: reload
        Terminal.printOffTheLoops()  // log lines are printed on the loops: never blocking them
        ProcessLimits.raiseOpenFiles(atLeast: 1 << 20)  // soft limit up to the hard one: many connections
        let room = WebSocketGroup()  // /chat: a member that does not read misses messages, never delays the others
        let health = HealthState()
        let trusted = IPAddressPrefix.loopback + options.trustedProxies.compactMap { IPAddressPrefix($0) }
        var configuration = WebSocketServer.Configuration()
        configuration.compression = options.deflate ? .default : nil
        if let threads = options.threads { configuration.group = EventLoopGroup(threadCount: threads) }
        applyCaps(to: &configuration)
        if options.proxyProtocol { configuration.proxyProtocol = ProxyProtocolSettings(trustedSources: trusted) }
        if options.forwarded { configuration.trustedForwarders = trusted }
        var fanOut: ChatFanOut? = nil
        if let text = options.redis, let url = try? RedisURL(text) {
            do {
                fanOut = try ChatFanOut(url: url, room: room)
            } catch {
                Terminal.error("ws: redis: \(error)")
                return 1
            }
        }
        let chat = fanOut
        let server: WebSocketServer
        do {
            configuration.tls = tls
            configuration.originPolicy = originPolicy
            server = try await WebSocketServer.bind(
                host: host, port: port, configuration: configuration,
                onUpgrade: { request in
                    // Draining: new connections belong on another instance (a balancer retries).
                    if health.isDraining {
                        return .reject(HTTPResponse(status: 503, headers: ["Retry-After": "1"], text: "draining\n"))
                    }
                    switch request.path {
                    case "/echo", "/chat", "/report":
                        return .accept(subprotocol: nil)
                    default:
                        return .reject(HTTPResponse(status: 404, text: "No WebSocket endpoint at \(request.path); try /echo or /chat.\n"))
                    }
                },
                onHTTPRequest: { head in Self.page(for: head, draining: health.isDraining) },
                onConnection: { ws in await Self.serve(ws, room: room, fanOut: chat) })
        } catch {
            Terminal.error("ws: cannot listen on \(host):\(port): \(error)")
            return 1
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        Terminal.line("listening on \(tls == nil ? "ws" : "wss")://\(shownHost):\(server.port)")
        fanOut?.start()
        var signal = await SignalWaiter.waitForTermination()
        while signal == SIGHUP {
            if let tls {
                do {
                    try server.reloadTLS(tls)
                    Terminal.error("ws: SIGHUP, reloaded \(options.tlsCertificate ?? "")")
                } catch {
                    Terminal.error("ws: SIGHUP, reload failed (the old certificate stays): \(error)")
                }
            }
            signal = await SignalWaiter.waitForTermination()
        }
        health.startDraining()
        if options.drainSeconds > 0 {
            Terminal.error("ws: signal \(signal), draining: /healthz answers 503 for \(options.drainSeconds) s (another signal ends it)")
            // A second SIGTERM or SIGINT (an operator's second Ctrl-C) ends the draining early;
            // a SIGHUP meanwhile changes nothing (the certificates in use serve out the drain).
            let end = ContinuousClock.now + .seconds(options.drainSeconds)
            while case let left = end - ContinuousClock.now, left > .zero,
                  let again = await SignalWaiter.waitForTermination(timeout: left) {
                if again == SIGHUP { continue }
                Terminal.error("ws: signal \(again), draining ended early")
                break
            }
        }
        Terminal.error("ws: signal \(signal), closing \(server.connectionCount) connection(s) with 1001")
        await server.shutdown(timeout: .seconds(5))
        await fanOut?.stop()
        return 0
    }

    /// The answer to a plain HTTP request.
    static func page(for head: HTTPRequestHead, draining: Bool) -> HTTPResponse {
        let html: HTTPHeaders = ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"]
        guard head.method == "GET" || head.method == "HEAD" else {
            return HTTPResponse(status: 405, headers: ["Allow": "GET, HEAD"], text: "Method not allowed.\n")
        }
        switch head.path {
        case "/": return HTTPResponse(status: 200, headers: html, body: Array(DemoPage.html.utf8))
        case "/selftest": return HTTPResponse(status: 200, headers: html, body: Array(SelfTestPage.html.utf8))
        // The resource exists, but only as a WebSocket: "426 (Upgrade Required) ... the server
        // refuses to perform the request using the current protocol but might be willing to do
        // so after the client upgrades" (RFC 9110 §15.5.22), not 404.
        case "/echo", "/chat", "/report": return .upgradeRequired
        case "/healthz":
            let headers: HTTPHeaders = ["Cache-Control": "no-store"]
            return draining ? HTTPResponse(status: 503, headers: headers, text: "draining\n")
                            : HTTPResponse(status: 200, headers: headers, text: "ok\n")
        default: return HTTPResponse(status: 404, text: "Not found: \(head.path)\n")
        }
    }

    /// Runs one accepted connection according to its path; logs its opening and closing on
    /// standard error.
    ///
    /// An idle connection's task stays parked in here for as long as the connection lives, so
    /// the async frames are kept small: everything that is not a loop over events runs in
    /// synchronous code (``Route``, ``enqueued(_:_:_:)``), and each path has its own small loop.
    /// The chain a task parked in `/echo`'s `next()` held fitted the task allocator's first
    /// slab with 24 bytes to spare (960 of 984 bytes, measured with gdb on the allocator; see
    /// Docs/Performance.md), and with `next(message:)` an idle connection's memory is the same
    /// (measured): a larger frame on it costs a second slab, ≈ 1 KiB per idle connection.
    @inline(__always)
    static func serve(_ ws: WebSocket, room: WebSocketGroup, fanOut: ChatFanOut?) async {
        let route = Route.open(ws, room: room)
        switch route {
        case .echo: await echo(ws)
        case .chat: await chat(ws, room: room, fanOut: fanOut)
        case .report: await report(ws)
        }
        route.end(ws, room: room)
    }

    // The loops keep no `CloseInfo` across a suspension (it is large: it may carry a
    // `WebSocketError`); ``Route/end(_:room:)`` reads it from the socket once they end.

    /// `/echo`: each message back, same type, same bytes. Messages are borrowed where they
    /// arrived (`next(message:)`: no `String` or array per message) and framed straight from
    /// there.
    @inline(never)
    nonisolated(nonsending) static func echo(_ ws: WebSocket) async {
        var events = ws.makeAsyncIterator()
        while let next = await events.next(message: { kind, bytes in enqueued(ws, kind, bytes) }) {
            // This task runs on the connection's loop thread, so the non-suspending form
            // works; `send` (which suspends) only when the outbound buffer is full.
            if case .message(let unsent?) = next { await sendWaiting(ws, unsent) }
        }
    }

    /// Queues a message without suspending; when the outbound buffer is full, returns it
    /// (copied: the bytes are borrowed) for ``sendWaiting(_:_:)``. The typed error stays in
    /// this synchronous frame, out of the loop's async one. Closing or closed counts as done:
    /// the loop ends with the close event.
    @inline(never)
    static func enqueued(_ ws: WebSocket, _ kind: Message.Kind, _ bytes: UnsafeRawBufferPointer) -> Message? {
        do {
            try ws.enqueue(kind, bytes: bytes)
        } catch .sendBufferFull {
            return kind == .text ? .text(String(decoding: bytes, as: UTF8.self)) : .binary([UInt8](bytes))
        } catch {}
        return nil
    }

    /// `send` for a slow peer, in its own frame (the error it may throw stays out of the
    /// loop's frame, which an idle connection keeps).
    @inline(never)
    static func sendWaiting(_ ws: WebSocket, _ message: Message) async {
        try? await ws.send(message)
    }

    /// `/chat`: each message to every member (through Redis when `--redis` is set).
    @inline(never)
    static func chat(_ ws: WebSocket, room: WebSocketGroup, fanOut: ChatFanOut?) async {
        for await event in ws {
            if let message = event.message {
                if let fanOut { fanOut.publish(message) } else { room.broadcast(message) }
            }
        }
    }

    /// `/report`: each text message as one line on standard output (escaped: control
    /// characters visible), written off the loop: while a megabyte waits unread (a paused
    /// pipe), this connection waits with it, not its loop.
    @inline(never)
    static func report(_ ws: WebSocket) async {
        for await event in ws {
            if case .text(let text)? = event.message { await Terminal.lineWaiting(text) }
        }
    }

    /// One connection's path (the upgrade handler accepts only these three), and its log lines.
    /// Nothing about the connection is kept while it runs (no object, no strings, not even the
    /// upgrade request: ``WebSocket/discardRequest()``): the peer is read from the socket
    /// again for the closing line.
    enum Route: UInt8 {
        case echo, chat, report

        var path: String {
            switch self {
            case .echo: "/echo"
            case .chat: "/chat"
            case .report: "/report"
            }
        }

        /// The peer as logged: the real client first, then the hop it came through (behind a proxy).
        static func peer(of ws: WebSocket) -> String {
            var peer = ws.peer.map { "\($0)" } ?? "?"
            if let direct = ws.directPeer, direct != ws.peer { peer += " via \(direct)" }
            return peer
        }

        /// Joins `/chat`'s room, then logs the opening (so a `/chat` member's "open" line means
        /// it hears the room); the route for `ws`'s path.
        @inline(never)
        static func open(_ ws: WebSocket, room: WebSocketGroup) -> Route {
            let path = ws.request?.path ?? "/"
            let route: Route = path == "/chat" ? .chat : path == "/report" ? .report : .echo
            ws.discardRequest()  // its header fields are not needed any more (≈ 0.4 KiB per connection)
            if route == .chat { room.add(ws) }
            Terminal.error("ws: open \(peer(of: ws)) \(route.path)")
            return route
        }

        /// Leaves `/chat`'s room, logs how the connection ended.
        @inline(never)
        func end(_ ws: WebSocket, room: WebSocketGroup) {
            if self == .chat { room.remove(ws) }
            let ending = ws.closeInfo ?? CloseInfo(code: .abnormalClosure)
            Terminal.error("ws: \(ending) \(Self.peer(of: ws)) \(path)")
        }
    }
}

/// Whether the server is draining (shutdown begun): `/healthz` then answers 503.
final class HealthState: Sendable {
    private let draining = Atomic<Bool>(false)
    var isDraining: Bool { draining.load(ordering: .acquiring) }
    func startDraining() { draining.store(true, ordering: .releasing) }
}
