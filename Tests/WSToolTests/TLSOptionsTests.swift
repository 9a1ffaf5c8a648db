// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import ws

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

    @Test func connectTakesTrustRootsAndInsecure() throws {
        let parsed = try CommandLineOptions.parse(["connect", "wss://h/", "--cacert", "a.pem", "--cacert", "b.pem", "-k"])
        var expected = CommandLineOptions.Connect(url: "wss://h/")
        expected.trustRoots = ["a.pem", "b.pem"]
        expected.insecure = true
        #expect(parsed == .connect(expected))
    }
}
