// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("RFC 6455 §4 Opening handshake, over loopback", .timeLimit(.minutes(1)))
struct HandshakeTests {
    static func rejectingServer() async throws -> WebSocketServer {
        try await WebSocketServer.bind(port: 0, onUpgrade: { request in
            switch request.path {
            case "/401":
                return .reject(HTTPResponse(status: 401, headers: ["WWW-Authenticate": "Bearer realm=\"test\""], text: "token please"))
            case "/403":
                return .reject(HTTPResponse(status: 403, text: "bad origin"))
            case "/302":
                return .reject(HTTPResponse(status: 302, headers: ["Location": "ws://127.0.0.1/elsewhere"]))
            default:
                return .accept()
            }
        }) { ws in for await _ in ws {} }
    }

    @Test("Rejections reach the client with status, headers and body", arguments: [401, 403, 302])
    func rejection(status: Int) async throws {
        let server = try await Self.rejectingServer()
        var configuration = WebSocket.ClientConfiguration()
        configuration.redirects = .none  // a 302 is reported, not followed (RedirectTests follow them)
        do {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port, resource: "/\(status)",
                                            configuration: configuration)
            Issue.record("connected despite the rejection")
        } catch {
            #expect(error.status == status)
            switch status {
            case 401:
                #expect(error.headers?.first(name: "WWW-Authenticate") == "Bearer realm=\"test\"")
                #expect(error.bodyPrefix == Array("token please".utf8))
            case 403:
                #expect(error.bodyPrefix == Array("bad origin".utf8))
            default:
                #expect(error.location == "ws://127.0.0.1/elsewhere")
            }
        }
        await server.shutdown(timeout: .seconds(1))
    }

    /// `discardRequest()` drops the upgrade request (and the forwarding headers read from it);
    /// what the handshake negotiated and the connection itself stay.
    @Test func discardRequestForgetsTheRequestOnly() async throws {
        struct Seen: Sendable, Equatable {
            var path: String?
            var forwarded: Bool
            var requestAfter: Bool
            var forwardedAfter: Bool
            var subprotocolAfter: String?
            var peerAfter: Bool
        }
        let seen = Lock<Seen?>(nil)
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { _ in .accept(subprotocol: "chat.v2") }) { ws in
            let path = ws.request?.path
            let forwarded = ws.forwarded?.forwardedFor?.count == 1
            ws.discardRequest()
            seen.withLock {
                $0 = Seen(path: path, forwarded: forwarded, requestAfter: ws.request != nil, forwardedAfter: ws.forwarded != nil,
                          subprotocolAfter: ws.subprotocol, peerAfter: ws.peer != nil)
            }
            for await e in ws { if let m = e.message { try? ws.enqueue(m) } }
        }
        var config = WebSocket.ClientConfiguration(subprotocols: ["chat.v2"])
        config.headers = ["X-Forwarded-For": "192.0.2.7"]
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/room", configuration: config)
        try await ws.send(.text("still open"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("still open"))
        #expect(seen.withLock { $0 } == Seen(path: "/room", forwarded: true, requestAfter: false, forwardedAfter: false,
                                             subprotocolAfter: "chat.v2", peerAfter: true))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func subprotocolOriginAndHeadersReachTheServer() async throws {
        let server = try await WebSocketServer.bind(port: 0, onUpgrade: { request in
            guard request.origin == "http://example.test",
                  request.headers.first(name: "X-Token") == "secret",
                  request.query == "room=1" else {
                return .reject(HTTPResponse(status: 403))
            }
            return .accept(subprotocol: request.subprotocols.contains("chat.v2") ? "chat.v2" : nil,
                           headers: ["X-Server": "ours"])
        }) { ws in
            for await e in ws { if case .text(let t) = e { try? await ws.send(.text(t + " from " + (ws.subprotocol ?? "-"))) } }
        }
        var config = WebSocket.ClientConfiguration(subprotocols: ["chat.v1", "chat.v2"], origin: "http://example.test")
        config.headers = ["X-Token": "secret"]
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/chat?room=1", configuration: config)
        #expect(ws.subprotocol == "chat.v2")
        #expect(ws.response?.headers.first(name: "X-Server") == "ours")
        #expect(ws.role == .client)
        #expect(ws.peerAddress == "127.0.0.1")
        #expect(ws.peerPort == server.port)
        try await ws.send(.text("hi"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("hi from chat.v2"))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func ipv6Loopback() async throws {
        let server = try await Echo.server(host: "::1")
        #expect(server.localAddress.family == .ipv6)
        let ws = try await WebSocket.connect(to: "ws://[::1]:\(server.port)/")
        #expect(ws.peerAddress == "::1")
        try await ws.send(.text("over v6"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("over v6"))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func hostNameIsResolved() async throws {
        let server = try await Echo.server()
        let ws = try await WebSocket.connect(host: "localhost", port: server.port)
        try await ws.send(.text("named"))
        var it = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&it) == .text("named"))
        try ws.close()
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func connectionRefused() async throws {
        let (holder, port) = try SilentListener.unusedPortNotListening()
        await #expect(throws: WebSocketError.connectionRefused) {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: port)
        }
        _ = holder
    }

    @Test func hostNotFound() async throws {
        do {
            _ = try await WebSocket.connect(host: "no-such-host.invalid", port: 80)
            Issue.record("connected to a host that does not exist")
        } catch {
            guard case .hostNotFound(let host, _) = error else { Issue.record("\(error)"); return }
            #expect(host == "no-such-host.invalid")
        }
    }

    @Test func wssIsNotSupportedYet() async {
        await #expect(throws: WebSocketError.connectionRefused) { _ = try await WebSocket.connect(to: "wss://127.0.0.1:1/") }
        await #expect(throws: WebSocketError.self) { _ = try await WebSocket.connect(to: "http://127.0.0.1:1/") }
    }

    /// The connecting task cancelled while the server has the request and has not answered:
    /// the attempt stops with `.cancelled` (without the cancellation it waits for the answer,
    /// here the server's 503 when its decision times out).
    @Test func cancellingTheConnectingTaskStopsTheAttempt() async throws {
        let (asked, ask) = AsyncStream<Void>.makeStream()
        let (held, release) = AsyncStream<Void>.makeStream()
        var serverConfiguration = WebSocketServer.Configuration()
        serverConfiguration.decisionTimeout = .seconds(2)
        let server = try await WebSocketServer.bind(port: 0, configuration: serverConfiguration, onUpgrade: { _ in
            ask.yield()
            for await _ in held {}  // no decision until the test ends
            return .accept()
        }) { ws in for await _ in ws {} }
        var configuration = WebSocket.ClientConfiguration()
        configuration.handshakeTimeout = .seconds(30)
        let attempt = Task { try await WebSocket.connect(host: "127.0.0.1", port: server.port, configuration: configuration) }
        var requests = asked.makeAsyncIterator()
        _ = await requests.next()  // the request reached the server: the client waits for the answer
        attempt.cancel()
        await #expect(throws: WebSocketError.cancelled) { _ = try await attempt.value }
        release.finish()
        await server.shutdown(timeout: .seconds(1))
    }

    /// A task cancelled before it connects opens nothing: `.cancelled` at once.
    @Test func connectingFromACancelledTaskThrowsCancelled() async throws {
        let server = try await Self.rejectingServer()
        let attempt = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        }
        await #expect(throws: WebSocketError.cancelled) { _ = try await attempt.value }
        await server.shutdown(timeout: .seconds(1))
    }

    /// Cancelled in the window after the attempt's last look at the task (the socket is made)
    /// and before the channel starts: the cancellation handler runs as `startClient()` enters
    /// it, before the continuation is stored or anything registered, so its own job finds
    /// nothing to stop; the flag it leaves makes the start job fail at once with `.cancelled`,
    /// with no TCP connect and the socket closed. (Without the flag the attempt ran on: here to
    /// the silent listener's handshake timeout.) `makeStages` runs in exactly that window, on
    /// the connecting task.
    @Test func aCancellationBeforeTheChannelStartsStopsItsStart() async throws {
        let listener = try SilentListener()
        let group = EventLoopGroup(threadCount: 1)
        let loop = try group.loops[0]
        let registered = await loop.registeredDescriptors()
        var configuration = WebSocket.ClientConfiguration()
        configuration.group = group
        configuration.handshakeTimeout = .seconds(3)
        configuration.makeStages = { _, _ in
            withUnsafeCurrentTask { $0?.cancel() }
            return []
        }
        let clock = ContinuousClock()
        let start = clock.now
        let attempt = Task {
            try await WebSocket.connect(host: "127.0.0.1", port: Int(listener.address.port), configuration: configuration)
        }
        await #expect(throws: WebSocketError.cancelled) { _ = try await attempt.value }
        #expect(clock.now - start < .seconds(2))
        #expect(await loop.registeredDescriptors() == registered)
        #expect(try await listener.accept(timeout: .milliseconds(100)) == nil, "a TCP connection was made")
    }

    /// An argument the handshake cannot carry is named once ("invalid argument: header X cannot
    /// be written", not "invalid argument: Invalid argument: …"), before any connection is made.
    @Test func anUnwritableHeaderIsReportedOnce() async {
        let error = WebSocketError.invalidArgument("header X-Bad cannot be written")
        await #expect(throws: error) {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: 9, headers: ["X-Bad": "a\r\nb"])
        }
        #expect(error.description == "invalid argument: header X-Bad cannot be written")
    }

    @Test func clientHandshakeTimesOut() async throws {
        let listener = try SilentListener()
        var config = WebSocket.ClientConfiguration()
        config.handshakeTimeout = .milliseconds(200)
        await #expect(throws: WebSocketError.timeout(.handshake)) {
            _ = try await WebSocket.connect(address: listener.address, configuration: config)
        }
    }

    @Test func connectTimesOutWhenTheListenQueueIsFull() async throws {
        // A listener that never accepts, with the smallest backlog: once its queue is full the
        // kernel drops further SYNs, so a connect neither succeeds nor fails.
        let listener = try SilentListener(backlog: 0)
        // The first filler established is the queue's one entry (the kernel admits a SYN while
        // it holds no more than the backlog): from then on it is full, and later SYNs are dropped.
        var fillers = [try await RawTCP.connect(listener.address)]
        #expect(fillers[0].isConnected)
        for _ in 0..<3 { fillers.append(try await RawTCP.connect(listener.address, wait: false)) }
        var config = WebSocket.ClientConfiguration()
        config.connectTimeout = .milliseconds(300)
        config.handshakeTimeout = .seconds(20)
        let start = MonotonicClock.now()
        await #expect(throws: WebSocketError.timeout(.connect)) {
            _ = try await WebSocket.connect(address: listener.address, configuration: config)
        }
        #expect(MonotonicClock.now().nanoseconds - start.nanoseconds < 30_000_000_000)  // sanity only (shared CPUs)
        _ = fillers
    }

    @Test func slowHandshakeIsDroppedAtTheTimeout() async throws {
        var config = WebSocketServer.Configuration()
        config.handshakeTimeout = .milliseconds(200)
        let server = try await WebSocketServer.bind(port: 0, configuration: config) { _ in }
        do {
            let raw = try await RawTCP.connect(server.localAddress)
            try raw.write("GET / HTTP/1.1\r\nHost: x\r\n")  // ...and never the rest
            let start = MonotonicClock.now()
            let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(20))
            let elapsed = MonotonicClock.now().nanoseconds - start.nanoseconds
            #expect(eof)
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
            // Generous upper bound: debug builds on a shared machine can stall a loop for a while.
            #expect(elapsed >= 150_000_000 && elapsed < 30_000_000_000)
        }
        for _ in 0..<1000 where server.connectionCount > 0 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(server.connectionCount == 0)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func plainHTTPGets426ByDefault() async throws {
        let server = try await Echo.server()
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let (bytes, eof) = try await raw.readToEnd(timeout: .seconds(5))
        #expect(eof)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"))
        #expect(text.contains("Sec-WebSocket-Version: 13\r\n"))
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func plainHTTPGoesToTheHandler() async throws {
        let server = try await WebSocketServer.bind(port: 0, onHTTPRequest: { head in
            HTTPResponse(status: 200, headers: ["Content-Type": "text/html"], body: Array("<p>\(head.path)</p>".utf8))
        }) { _ in }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("GET /page HTTP/1.1\r\nHost: x\r\n\r\n")
        let (bytes, _) = try await raw.readToEnd(timeout: .seconds(5))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.hasSuffix("\r\n\r\n<p>/page</p>"))
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func headRequestsGetNoBody() async throws {
        let server = try await WebSocketServer.bind(port: 0, onHTTPRequest: { _ in
            HTTPResponse(status: 200, text: "hello")
        }) { _ in }
        let raw = try await RawTCP.connect(server.localAddress)
        try raw.write("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        let (bytes, _) = try await raw.readToEnd(timeout: .seconds(5))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
        await server.shutdown(timeout: .seconds(1))
    }

    @Test func connectionCapAnswers503() async throws {
        var config = WebSocketServer.Configuration()
        config.maxConnections = 2
        let server = try await WebSocketServer.bind(port: 0, configuration: config) { ws in for await _ in ws {} }
        let a = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        let b = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        #expect(server.connectionCount == 2)
        do {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
            Issue.record("a third connection was accepted")
        } catch {
            #expect(error.status == 503)
        }
        try a.close()
        var it = a.makeAsyncIterator()
        _ = await Echo.drain(&it)
        for _ in 0..<500 where server.connectionCount > 1 { try await Task.sleep(for: .milliseconds(2)) }
        let c = try await WebSocket.connect(host: "127.0.0.1", port: server.port)  // room again
        try c.close()
        try b.close()
        await server.shutdown(timeout: .seconds(1))
    }
}

extension EventLoop {
    /// The descriptors registered on this loop, counted on its thread.
    func registeredDescriptors() async -> Int {
        await withCheckedContinuation { c in execute { c.resume(returning: self.registeredCount) } }
    }
}
