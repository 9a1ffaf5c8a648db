// SPDX-License-Identifier: Apache-2.0
import Testing
import WSPosixIO
import WSProtocol

@Suite("Origin policy (RFC 6455 §10.2, RFC 6454)")
struct OriginPolicyTests {
    static let policy = OriginPolicy(allowed: ["https://example.com", "https://*.apps.example", "http://localhost:8080"],
                                     allowsMissingOrigin: false)

    @Test(arguments: ["https://example.com", "HTTPS://EXAMPLE.COM", "https://example.com:443", "https://example.com/",
                      "https://a.apps.example", "https://a.b.apps.example", "http://localhost:8080"])
    func allowed(origin: String) {
        #expect(Self.policy.allows(origin: origin))
    }

    @Test(arguments: ["http://example.com", "https://example.com:8443", "https://evil-example.com", "https://example.com.evil",
                      "https://apps.example", "https://a.apps.example:444", "http://localhost", "null", "", "garbage"])
    func refused(origin: String) {
        #expect(!Self.policy.allows(origin: origin))
    }

    @Test func missingOriginAndAny() {
        #expect(!Self.policy.allows(origin: nil))
        #expect(OriginPolicy().allows(origin: nil))
        #expect(!OriginPolicy().allows(origin: "https://example.com"))
        #expect(OriginPolicy.any.allows(origin: "null"))
        #expect(OriginPolicy.any.allows(origin: nil))
    }

    @Test func ownPageOrigin() {
        let own = OriginPolicy(sameOriginHosts: ["127.0.0.1", "localhost", "::1"])
        #expect(own.allows(origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080"))
        #expect(own.allows(origin: "http://LOCALHOST:8080", host: "localhost:8080"))
        #expect(own.allows(origin: "http://[::1]:9", host: "[::1]:9"))
        #expect(own.allows(origin: "http://localhost", host: "localhost"))
        #expect(own.allows(origin: "https://localhost", host: "localhost"))
        // Another port, another page; a foreign name pointed at us (DNS rebinding).
        #expect(!own.allows(origin: "http://127.0.0.1:9999", host: "127.0.0.1:8080"))
        #expect(!own.allows(origin: "http://evil.example:8080", host: "evil.example:8080"))
        #expect(!own.allows(origin: "http://evil.example:8080", host: "127.0.0.1:8080"))
    }

    @Test("A refused Origin gets 403 with a body that says why; an allowed one connects", .timeLimit(.minutes(1)))
    func overLoopback() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.originPolicy = OriginPolicy(allowed: ["https://good.example"], allowsMissingOrigin: false)
        let server = try await Echo.server(configuration: configuration)
        let url = "ws://127.0.0.1:\(server.port)/"
        do {
            _ = try await WebSocket.connect(to: url, configuration: .init(origin: "https://evil.example"))
            Issue.record("a refused origin connected")
        } catch {
            #expect(error.status == 403)
            #expect(error.bodyPrefix == Array("Forbidden: the origin https://evil.example is not allowed to open WebSocket connections here.\n".utf8))
        }
        do {
            _ = try await WebSocket.connect(to: url)
            Issue.record("a request without Origin connected")
        } catch {
            #expect(error.status == 403)
            #expect(error.bodyPrefix == Array("Forbidden: this server does not accept requests without an Origin header.\n".utf8))
        }
        let ws = try await WebSocket.connect(to: url, configuration: .init(origin: "https://good.example"))
        try ws.close()
        for await _ in ws {}
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("The policy runs before onUpgrade, which sees only allowed requests", .timeLimit(.minutes(1)))
    func beforeTheApplication() async throws {
        var configuration = WebSocketServer.Configuration()
        configuration.originPolicy = OriginPolicy(allowed: ["https://good.example"])
        let server = try await Echo.server(configuration: configuration, onUpgrade: { request in
            request.origin == "https://good.example" ? .reject(HTTPResponse(status: 418)) : .accept()
        })
        let url = "ws://127.0.0.1:\(server.port)/"
        do {
            _ = try await WebSocket.connect(to: url, configuration: .init(origin: "https://good.example"))
            Issue.record("onUpgrade's refusal was skipped")
        } catch {
            #expect(error.status == 418)
        }
        do {
            _ = try await WebSocket.connect(to: url, configuration: .init(origin: "https://bad.example"))
            Issue.record("a refused origin connected")
        } catch {
            #expect(error.status == 403)
        }
        let ws = try await WebSocket.connect(to: url)  // no Origin: allowed by default, then onUpgrade accepts
        try ws.close()
        for await _ in ws {}
        await server.shutdown(timeout: .seconds(1))
    }
}
