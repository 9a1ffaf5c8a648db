// SPDX-License-Identifier: Apache-2.0
import Synchronization
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Redirects of the opening handshake: resolving Location (RFC 3986 §5.2)")
struct RedirectResolutionTests {
    static let base = ConnectTarget(secure: false, host: "a.example", port: 8080, resource: "/dir/page?x=1")

    @Test(arguments: [
        ("ws://b.example/p", "ws://b.example/p"),
        ("wss://b.example:8443/p?q", "wss://b.example:8443/p?q"),
        ("http://b.example/p", "ws://b.example/p"),
        ("HTTPS://b.example/", "wss://b.example/"),
        ("//c.example:9/p", "ws://c.example:9/p"),
        ("/other?y=2", "ws://a.example:8080/other?y=2"),
        ("?y=2", "ws://a.example:8080/dir/page?y=2"),
        ("next", "ws://a.example:8080/dir/next"),
        ("../up/./x", "ws://a.example:8080/up/x"),
        ("/a/b/../../c#frag", "ws://a.example:8080/c"),
        ("ws://[::1]:81/", "ws://[::1]:81/"),
    ])
    func resolves(location: String, expected: String) {
        #expect(Self.base.resolving(location)?.description == expected)
    }

    @Test(arguments: ["ftp://b.example/", "mailto:x@y", "ws:/nohost", "", "ws://b.example:99999/", "/with space", "ws://b.example:+80/"])
    func refuses(location: String) {
        #expect(Self.base.resolving(location) == nil)
    }

    @Test func origins() throws {
        #expect(Self.base.sameOrigin(try ConnectTarget(url: "ws://A.EXAMPLE:8080/other")))
        #expect(!Self.base.sameOrigin(try ConnectTarget(url: "ws://a.example:8081/dir/page")))
        #expect(!Self.base.sameOrigin(try ConnectTarget(url: "wss://a.example:8080/")))
        #expect(!Self.base.sameOrigin(try ConnectTarget(url: "ws://b.example:8080/")))
    }
}

@Suite("Redirects of the opening handshake, over loopback", .timeLimit(.minutes(1)))
struct RedirectTests {
    /// What a server saw: the request paths and whether credentials came along.
    final class Seen: Sendable {
        let requests = Lock<[(path: String, authorization: String?, cookie: String?)]>([])
        func record(_ request: UpgradeRequest) {
            requests.withLock {
                $0.append((request.path + (request.query.map { "?" + $0 } ?? ""),
                           request.headers.first(name: "Authorization"), request.headers.first(name: "Cookie")))
            }
        }
        var paths: [String] { requests.withLock { $0.map(\.path) } }
    }

    /// A server that redirects by path: `/once` → `/target`, `/loop` → `/loop`, `/away` → the
    /// other server, `/down` → a `ws://` URL; `/target` accepts.
    static func server(_ seen: Seen, other: Int = 0, statusForOnce: Int = 302) async throws -> WebSocketServer {
        try await Echo.server(onUpgrade: { request in
            seen.record(request)
            switch request.path {
            case "/once": return .reject(HTTPResponse(status: statusForOnce, headers: ["Location": "target?from=once"]))
            case "/loop": return .reject(HTTPResponse(status: 307, headers: ["Location": "/loop"]))
            case "/away": return .reject(HTTPResponse(status: 301, headers: ["Location": "ws://127.0.0.1:\(other)/landing"]))
            case "/down": return .reject(HTTPResponse(status: 308, headers: ["Location": "ws://127.0.0.1:\(other)/"]))
            case "/target", "/landing": return .accept()
            default: return .reject(HTTPResponse(status: 404))
            }
        })
    }

    static var configuration: WebSocket.ClientConfiguration {
        var c = WebSocket.ClientConfiguration()
        c.headers = ["Authorization": "Bearer t0ken", "Cookie": "session=1"]
        return c
    }

    @Test("A redirect is followed once per status, relative Location resolved", arguments: [301, 302, 303, 307, 308])
    func once(status: Int) async throws {
        let seen = Seen()
        let server = try await Self.server(seen, statusForOnce: status)
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/once", configuration: Self.configuration)
        try await ws.send(.text("hi"))
        var events = ws.makeAsyncIterator()
        #expect(await Echo.nextData(&events) == .text("hi"))
        try ws.close()
        _ = await Echo.drain(&events)
        #expect(seen.paths == ["/once", "/target?from=once"])
        // Same origin: the credentials stay.
        #expect(seen.requests.withLock { $0.last?.authorization } == "Bearer t0ken")
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("onHandshake sees every hop: each request as sent, each response head, the refusal too")
    func traceSeesEveryHop() async throws {
        let seen = Seen()
        let server = try await Self.server(seen)
        let traces = Lock<[WebSocket.HandshakeTrace]>([])
        var configuration = WebSocket.ClientConfiguration()
        configuration.onHandshake = { trace in traces.withLock { $0.append(trace) } }
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/once", configuration: configuration)
        let hops = traces.withLock { $0 }
        #expect(hops.map(\.request.target) == ["/once", "/target?from=once"])
        #expect(hops.map { $0.response?.status } == [302, 101])
        #expect(hops.first?.response?.headers.first(name: "Location") == "target?from=once")
        #expect(hops.allSatisfy { $0.tls == nil })
        // The last trace is this connection's own handshake.
        #expect(hops.last?.request == ws.handshakeRequest)
        #expect(hops.last?.response == ws.response)
        try ws.close()
        for await _ in ws {}

        traces.withLock { $0 = [] }
        do {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/nowhere", configuration: configuration)
            Issue.record("connected to a path the server refuses")
        } catch {
            #expect(error.status == 404)
        }
        let refused = traces.withLock { $0 }
        #expect(refused.map(\.request.target) == ["/nowhere"])
        #expect(refused.first?.request.headers.first(name: "Sec-WebSocket-Version") == "13")
        #expect(refused.first?.response?.status == 404)
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("A loop stops after maxRedirects (10); the error carries status and Location")
    func loop() async throws {
        let seen = Seen()
        let server = try await Self.server(seen)
        do {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/loop")
            Issue.record("connected through a redirect loop")
        } catch {
            #expect(error.status == 307)
            #expect(error.location == "/loop")
            guard case .handshakeFailed(.refused) = error else { Issue.record("\(error)"); return }
        }
        #expect(seen.paths.count == 11)  // the first request and 10 redirects
        var three = WebSocket.ClientConfiguration()
        three.redirects = .init(maxRedirects: 3)
        await #expect(throws: WebSocketError.self) { _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/loop", configuration: three) }
        #expect(seen.paths.count == 11 + 4)
        await server.shutdown(timeout: .seconds(1))
    }

    /// A server that answers every request with a redirect to itself, each just before the
    /// handshake timeout: each hop had a handshake timeout of its own, so a connect took 11
    /// times it (99 s against 9 s answers with the defaults). The hops now share the first
    /// one's time (connect + handshake timeouts, here 2 s): the connect ends with the handshake
    /// timeout after 7 hops of 0.3 s, not with the 302 after 11.
    @Test("Redirects share one allowance of time: a slow redirect loop times out")
    func slowLoop() async throws {
        let listener = try SilentListener()
        let requests = Lock(0)
        let server = Task {
            for hop in 0..<12 {
                guard let raw = try await listener.accept(timeout: .seconds(10)) else { return }
                let head = try await raw.read(until: { $0.suffix(4) == Array("\r\n\r\n".utf8) }, timeout: .seconds(5))
                guard head.suffix(4) == Array("\r\n\r\n".utf8) else { return }
                requests.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(300))  // the attack: late, within the timeout
                try raw.write("HTTP/1.1 302 Found\r\nLocation: /hop\(hop)\r\nContent-Length: 0\r\n\r\n")
            }
        }
        var configuration = WebSocket.ClientConfiguration()
        configuration.connectTimeout = .seconds(1)
        configuration.handshakeTimeout = .seconds(1)
        await #expect(throws: WebSocketError.timeout(.handshake)) {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(listener.address.port)/", configuration: configuration)
        }
        let seen = requests.withLock { $0 }
        #expect(seen >= 2 && seen < 11, "\(seen) requests")
        server.cancel()
        _ = await server.result
    }

    @Test("Following can be turned off: the 3xx is the error")
    func off() async throws {
        let seen = Seen()
        let server = try await Self.server(seen)
        var configuration = WebSocket.ClientConfiguration()
        configuration.redirects = .none
        do {
            _ = try await WebSocket.connect(to: "ws://127.0.0.1:\(server.port)/once", configuration: configuration)
            Issue.record("followed a redirect with redirects off")
        } catch {
            #expect(error.status == 302)
            #expect(error.location == "target?from=once")
        }
        #expect(seen.paths == ["/once"])
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("Another origin: Authorization and Cookie are dropped, Origin and other headers kept")
    func crossOrigin() async throws {
        let seenThere = Seen(), seenHere = Seen()
        let there = try await Self.server(seenThere)
        let here = try await Self.server(seenHere, other: there.port)
        var configuration = Self.configuration
        configuration.headers.add(name: "X-Keep", value: "1")
        let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(here.port)/away", configuration: configuration)
        #expect(ws.peerPort == there.port)
        try ws.close()
        for await _ in ws {}
        #expect(seenHere.requests.withLock { $0.first?.authorization } == "Bearer t0ken")
        #expect(seenThere.paths == ["/landing"])
        #expect(seenThere.requests.withLock { $0.first?.authorization } == nil)
        #expect(seenThere.requests.withLock { $0.first?.cookie } == nil)
        await here.shutdown(timeout: .seconds(1))
        await there.shutdown(timeout: .seconds(1))
    }

    @Test("Never from wss:// to ws://")
    func downgrade() async throws {
        let seen = Seen()
        let server = try await Self.server(seen, other: 9)
        var configuration = WebSocket.ClientConfiguration()
        configuration.transport = { _ in PlainTransport() }  // a stand-in "TLS" that lets wss:// through
        await #expect(throws: WebSocketError.redirectNotFollowed(status: 308, location: "ws://127.0.0.1:9/",
                                                                 reason: "it leads from wss:// to ws://")) {
            _ = try await WebSocket.connect(to: "wss://127.0.0.1:\(server.port)/down", configuration: configuration)
        }
        #expect(seen.paths == ["/down"])
        await server.shutdown(timeout: .seconds(1))
    }
}
