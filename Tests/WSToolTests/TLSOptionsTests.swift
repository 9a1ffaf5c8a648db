// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import ws
import WSTLS

@Suite("ws: TLS options")
struct TLSOptionsTests {
    @Test func serveTakesACertificateAndAKey() throws {
        let parsed = try CommandLineOptions.parse(["serve", "--port", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem"])
        var expected = CommandLineOptions.Serve()
        expected.port = 0
        expected.tlsCertificate = "c.pem"
        expected.tlsKey = "k.pem"
        #expect(parsed == .serve(expected))
    }

    @Test("One without the other is a usage error", arguments: [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]])
    func serveNeedsBoth(arguments: [String]) {
        #expect(throws: CommandLineOptions.UsageError(message: "serve: --tls-cert and --tls-key go together")) {
            try CommandLineOptions.parse(["serve"] + arguments)
        }
    }

    @Test func serveTakesASessionTicketCount() throws {
        let parsed = try CommandLineOptions.parse(["serve", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-session-tickets", "2"])
        var expected = CommandLineOptions.Serve()
        expected.tlsCertificate = "c.pem"
        expected.tlsKey = "k.pem"
        expected.tlsSessionTickets = 2
        #expect(parsed == .serve(expected))
        guard case .serve(let serve) = parsed else { return }
        #expect(ServeCommand(options: serve).tls?.sessionTickets == 2)
        #expect(ServeCommand(options: CommandLineOptions.Serve()).tls == nil)
    }

    @Test("A bad ticket count is a usage error", arguments: [
        (["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-session-tickets", "-1"], "--tls-session-tickets: '-1' is not a number of tickets (0-16)"),
        (["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-session-tickets", "17"], "--tls-session-tickets: '17' is not a number of tickets (0-16)"),
        (["--tls-session-tickets", "1"], "serve: --tls-session-tickets needs --tls-cert and --tls-key"),
    ])
    func serveRefusesBadTicketCounts(arguments: [String], message: String) {
        #expect(throws: CommandLineOptions.UsageError(message: message)) {
            try CommandLineOptions.parse(["serve"] + arguments)
        }
    }

    @Test func connectTakesTrustRootsAndInsecure() throws {
        let parsed = try CommandLineOptions.parse(["connect", "wss://h/", "--cacert", "a.pem", "--cacert", "b.pem", "-k"])
        var expected = CommandLineOptions.Connect(url: "wss://h/")
        expected.trustRoots = ["a.pem", "b.pem"]
        expected.insecure = true
        #expect(parsed == .connect(expected))
    }
}
