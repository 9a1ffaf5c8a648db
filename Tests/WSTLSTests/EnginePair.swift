// SPDX-License-Identifier: Apache-2.0
import WSTestSupport
import WSTLS

/// A client engine and a server engine joined in memory (the TLS version of `LinkedPair`).
struct EnginePair {
    let client: TLSEngine
    let server: TLSEngine
    var clientReceived: [UInt8] = []
    var serverReceived: [UInt8] = []

    init(client: TLSClientConfiguration, server: TLSServerConfiguration,
         serverName: String? = "localhost") throws {
        self.client = try TLSEngine(context: TLSContext(client: client), serverName: serverName)
        self.server = try TLSEngine(context: TLSContext(server: server))
    }

    /// Moves the client's output to the server.
    mutating func toServer() throws {
        let bytes = client.takeOutput()
        try bytes.withUnsafeBytes { raw in try server.receive(raw, into: &serverReceived) }
    }

    /// Moves the server's output to the client.
    mutating func toClient() throws {
        let bytes = server.takeOutput()
        try bytes.withUnsafeBytes { raw in try client.receive(raw, into: &clientReceived) }
    }

    /// Runs the handshake to the end: moves bytes both ways until neither side has any.
    mutating func handshake() throws {
        try client.start()
        for _ in 0..<10 where client.hasOutput || server.hasOutput {
            try toServer()
            try toClient()
        }
    }
}

extension TLSClientConfiguration {
    /// Trusts only the test CA.
    static func test(ignoring ignored: Set<VerificationFailure> = []) throws -> TLSClientConfiguration {
        TLSClientConfiguration(trustRoots: .only([.file(try TestCertificates.path("ca.pem"))]), ignoredFailures: ignored)
    }
}

extension TLSServerConfiguration {
    /// Serves the named test certificate (`server` unless told).
    static func test(_ name: String = "server") throws -> TLSServerConfiguration {
        TLSServerConfiguration(certificateChain: .file(try TestCertificates.path("\(name).pem")),
                               privateKey: .file(try TestCertificates.path("\(name).key")))
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
