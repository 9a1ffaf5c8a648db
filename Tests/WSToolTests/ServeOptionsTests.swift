// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import ws
import WSPosixIO
import WSProtocol

@Suite("ws serve: scale-out options")
struct ServeOptionsTests {
    @Test func optionsAreParsed() throws {
        let options = try CommandLineOptions.parse(["serve", "--port", "0", "--trusted-proxy", "10.0.0.0/8",
                                                    "--trusted-proxy", "2001:db8::1", "--forwarded",
                                                    "--redis", "redis://127.0.0.1:6380/2", "--drain", "3", "--threads", "1"])
        var expected = CommandLineOptions.Serve()
        expected.port = 0
        expected.trustedProxies = ["10.0.0.0/8", "2001:db8::1"]
        expected.forwarded = true
        expected.redis = "redis://127.0.0.1:6380/2"
        expected.drainSeconds = 3
        expected.threads = 1
        #expect(options == .serve(expected))
        #expect(try CommandLineOptions.parse(["serve"]) == .serve(CommandLineOptions.Serve()))
    }

    @Test func capsAreParsed() throws {
        var expected = CommandLineOptions.Serve()
        expected.maxConnections = 2
        expected.maxBufferedBytes = 64 << 20
        #expect(try CommandLineOptions.parse(["serve", "--max-connections", "2", "--max-buffered", "64M"]) == .serve(expected))
        for (text, bytes) in [("1", 1), ("4096", 4096), ("3k", 3 << 10), ("2G", 2 << 30), ("1024G", 1 << 40)] {
            expected = CommandLineOptions.Serve()
            expected.maxBufferedBytes = bytes
            #expect(try CommandLineOptions.parse(["serve", "--max-buffered", text]) == .serve(expected))
        }
    }

    @Test func capsReachTheServerConfiguration() throws {
        guard case .serve(let options) = try CommandLineOptions.parse(["serve", "--max-connections", "7", "--max-buffered", "3M"]) else {
            Issue.record("not serve"); return
        }
        var configuration = WebSocketServer.Configuration()
        ServeCommand(options: options).applyCaps(to: &configuration)
        #expect(configuration.maxConnections == 7)
        #expect(configuration.maxBufferedBytes == 3 << 20)
        var defaults = WebSocketServer.Configuration()
        ServeCommand(options: CommandLineOptions.Serve()).applyCaps(to: &defaults)
        #expect(defaults.maxConnections == 10_000)
        #expect(defaults.maxBufferedBytes == nil)
    }

    @Test("Bad values are usage errors", arguments: [
        (["serve", "--trusted-proxy", "example.com"], "--trusted-proxy: 'example.com' is not ADDRESS or ADDRESS/PREFIX (e.g. 10.0.0.0/8)"),
        (["serve", "--trusted-proxy", "10.0.0.0/40"], "--trusted-proxy: '10.0.0.0/40' is not ADDRESS or ADDRESS/PREFIX (e.g. 10.0.0.0/8)"),
        (["serve", "--redis", "http://h"], "--redis: 'http://h' does not start with redis://"),
        (["serve", "--redis", "redis://h:0"], "--redis: port '0' is not 1-65535"),
        (["serve", "--drain", "-1"], "--drain: '-1' is not a number of seconds (0-3600)"),
        (["serve", "--drain"], "--drain needs a value"),
        (["serve", "--threads", "0"], "--threads: '0' is not a number of threads (1-1024)"),
        (["serve", "--threads", "two"], "--threads: 'two' is not a number of threads (1-1024)"),
        // Digits only: `Int(_:)` took a sign.
        (["serve", "--port", "+80"], "--port: '+80' is not a port number (0-65535)"),
        (["serve", "--threads", "+2"], "--threads: '+2' is not a number of threads (1-1024)"),
        (["serve", "--drain", "+3"], "--drain: '+3' is not a number of seconds (0-3600)"),
        (["serve", "--max-connections", "0"], "--max-connections: '0' is not a number of connections (1-10000000)"),
        (["serve", "--max-connections", "10000001"], "--max-connections: '10000001' is not a number of connections (1-10000000)"),
        (["serve", "--max-connections", "+5"], "--max-connections: '+5' is not a number of connections (1-10000000)"),
        (["serve", "--max-connections"], "--max-connections needs a value"),
        (["serve", "--max-buffered", "0"], "--max-buffered: '0' is not a size (bytes, or a number with K, M or G; at most 1024G)"),
        (["serve", "--max-buffered", "M"], "--max-buffered: 'M' is not a size (bytes, or a number with K, M or G; at most 1024G)"),
        (["serve", "--max-buffered", "12X"], "--max-buffered: '12X' is not a size (bytes, or a number with K, M or G; at most 1024G)"),
        (["serve", "--max-buffered", "1025G"], "--max-buffered: '1025G' is not a size (bytes, or a number with K, M or G; at most 1024G)"),
        (["serve", "--max-buffered", "99999999999999999G"], "--max-buffered: '99999999999999999G' is not a size (bytes, or a number with K, M or G; at most 1024G)"),
    ])
    func badValues(arguments: [String], message: String) {
        #expect(throws: CommandLineOptions.UsageError(message: message)) { try CommandLineOptions.parse(arguments) }
    }

    @Test func healthz() {
        let head = { (path: String) in HTTPRequestHead(method: "GET", target: path) }
        #expect(ServeCommand.page(for: head("/healthz"), draining: false).status == 200)
        #expect(ServeCommand.page(for: head("/healthz"), draining: false).body == Array("ok\n".utf8))
        #expect(ServeCommand.page(for: head("/healthz"), draining: true).status == 503)
        #expect(ServeCommand.page(for: head("/healthz"), draining: true).body == Array("draining\n".utf8))
    }

    @Test("A plain request for a WebSocket endpoint gets 426 with Upgrade: websocket (RFC 9110 §15.5.22), not 404",
          arguments: ["/echo", "/chat", "/report", "/echo?x=1"])
    func plainRequestForAnEndpoint(target: String) {
        let response = ServeCommand.page(for: HTTPRequestHead(method: "GET", target: target), draining: false)
        #expect(response == .upgradeRequired)
        #expect(response.headers["Upgrade"] == ["websocket"])
        #expect(response.headers["Sec-WebSocket-Version"] == ["13"])
        #expect(ServeCommand.page(for: HTTPRequestHead(method: "GET", target: "/nothing"), draining: false).status == 404)
    }
}
