// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO
import WSProtocol

/// `ws serve`'s Origin check: its own page and clients without `Origin` by default,
/// `--allow-origin` to widen it.
@Suite("Interop: ws serve's Origin check", .serialized, .timeLimit(.minutes(1)))
struct ServeOriginTests {
    static func tool(_ arguments: [String]) throws -> Subprocess {
        let binary = try Peers.require(Peers.wsBinary, "the ws binary (swift build --build-tests builds it)")
        return try Subprocess([binary] + arguments)
    }

    static func startServe(_ extra: [String] = []) async throws -> (Subprocess, Int) {
        let serve = try ServeOriginTests.tool(["serve", "--host", "127.0.0.1", "--port", "0"] + extra)
        let first = try await serve.nextLine()
        let prefix = "listening on ws://127.0.0.1:"
        guard first.hasPrefix(prefix), let port = Int(first.dropFirst(prefix.count)) else {
            serve.stop()
            throw Subprocess.Failure(description: "unexpected first line: \(first)")
        }
        return (serve, port)
    }

    static func status(port: Int, origin: String?) async -> Int? {
        var configuration = WebSocket.ClientConfiguration(origin: origin)
        configuration.group = Peers.loops
        do {
            let ws = try await WebSocket.connect(to: "ws://127.0.0.1:\(port)/echo", configuration: configuration)
            try? ws.close()
            for await _ in ws {}
            return 101
        } catch {
            return error.status
        }
    }

    @Test("ws serve: its own page and Origin-less clients by default, --allow-origin widens", .enabled(if: Peers.available(Peers.wsBinary)))
    func serveOrigins() async throws {
        let (serve, port) = try await Self.startServe()
        defer { serve.stop() }
        #expect(await Self.status(port: port, origin: nil) == 101)
        #expect(await Self.status(port: port, origin: "http://127.0.0.1:\(port)") == 101)
        #expect(await Self.status(port: port, origin: "http://evil.example") == 403)
        #expect(await Self.status(port: port, origin: "http://127.0.0.1:\(port + 1)") == 403)

        let (wide, widePort) = try await Self.startServe(["--allow-origin", "https://*.good.example", "--allow-origin", "http://one.example"])
        defer { wide.stop() }
        #expect(await Self.status(port: widePort, origin: "https://a.good.example") == 101)
        #expect(await Self.status(port: widePort, origin: "http://one.example") == 101)
        #expect(await Self.status(port: widePort, origin: "https://good.example") == 403)

        let (any, anyPort) = try await Self.startServe(["--allow-origin", "*"])
        defer { any.stop() }
        #expect(await Self.status(port: anyPort, origin: "http://evil.example") == 101)

        let bad = try ServeOriginTests.tool(["serve", "--allow-origin", "example.com"])
        defer { bad.stop() }
        #expect(await bad.waitForExit() == 2)
        #expect(bad.errorOutput == "ws: --allow-origin: 'example.com' is not an origin (scheme://host[:port], scheme://*.domain, or *) (try 'ws --help')\n")
    }
}
