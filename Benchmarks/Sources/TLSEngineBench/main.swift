// SPDX-License-Identifier: Apache-2.0
// WSTLS engines back to back in memory, one thread, no sockets: a client engine and a server
// engine pass their bytes to each other directly. It isolates the engine's own cost from the
// event loop and the kernel, and runs under valgrind (callgrind counts the server's share
// deterministically: every server-side call goes through `measuredServerSide`).
//
//   TLSEngineBench hs COUNT CERT KEY       COUNT full TLS 1.3 handshakes (a fresh pair each)
//   TLSEngineBench echo COUNT CERT KEY     COUNT round trips of 32 bytes on one connection
//
// Prints one line: server_us_per_op (the server engine's thread CPU time per handshake or per
// round trip, both directions of its records) and the negotiated version and cipher.
//   valgrind --tool=callgrind --toggle-collect='*measuredServerSide*' TLSEngineBench hs 200 CERT KEY
// gives the server engine's instructions alone.
#if canImport(Glibc)
import Glibc
#endif
import WSTLS

nonisolated(unsafe) var serverMicroseconds = 0.0

func threadCPUMicroseconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
}

@inline(never)
func measuredServerSide(_ body: () throws -> Void) rethrows {
    let start = threadCPUMicroseconds()
    defer { serverMicroseconds += threadCPUMicroseconds() - start }
    try body()
}

/// `value` with two decimals.
func fixed(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

func fail(_ message: String) -> Never {
    print("TLSEngineBench: \(message)")
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[2]), count > 0, ["hs", "echo"].contains(arguments[1]) else {
    fail("usage: TLSEngineBench hs|echo COUNT CERT KEY")
}
let serverContext: TLSContext
let clientContext: TLSContext
do {
    serverContext = try TLSContext(server: TLSServerConfiguration(certificateChain: .file(arguments[3]),
                                                                  privateKey: .file(arguments[4])))
    var client = TLSClientConfiguration()
    client.verifiesPeer = false
    clientContext = try TLSContext(client: client)
} catch {
    fail("\(error)")
}

/// Runs both engines until neither has anything to say; returns the server's plaintext.
func exchange(client: TLSEngine, server: TLSEngine, clientPlain: inout [UInt8], serverPlain: inout [UInt8]) throws {
    var wire: [UInt8] = []
    for _ in 0..<16 {
        wire.removeAll(keepingCapacity: true)
        client.takeOutput(into: &wire)
        if !wire.isEmpty {
            let bytes = wire
            try measuredServerSide {
                try bytes.withUnsafeBytes { raw in try server.receive(raw, into: &serverPlain) }
            }
        }
        var back: [UInt8] = []
        measuredServerSide { server.takeOutput(into: &back) }
        if !back.isEmpty {
            try back.withUnsafeBytes { raw in try client.receive(raw, into: &clientPlain) }
        }
        if wire.isEmpty && back.isEmpty && !client.hasOutput { return }
    }
    fail("the engines did not settle")
}

func handshake() throws -> (TLSEngine, TLSEngine) {
    let client = try TLSEngine(context: clientContext, serverName: "127.0.0.1")
    var server: TLSEngine? = nil
    try measuredServerSide { server = try TLSEngine(context: serverContext) }
    try client.start()
    var c: [UInt8] = [], s: [UInt8] = []
    try exchange(client: client, server: server!, clientPlain: &c, serverPlain: &s)
    guard client.state == .established, server!.state == .established else { fail("no handshake") }
    return (client, server!)
}

do {
    if arguments[1] == "hs" {
        for _ in 0..<count {
            let (_, server) = try handshake()
            measuredServerSide { _ = server }  // its deinit is the server's too
        }
        let (_, server) = try handshake()
        print("server_us_per_op=\(fixed(serverMicroseconds / Double(count)))", server.session!.version, server.session!.cipher)
    } else {
        let (client, server) = try handshake()
        serverMicroseconds = 0
        let message = [UInt8](repeating: 0x61, count: 32)
        var wire: [UInt8] = [], received: [UInt8] = [], echoed: [UInt8] = []
        for _ in 0..<count {
            wire.removeAll(keepingCapacity: true)
            try message.withUnsafeBytes { raw in try client.send(raw, into: &wire) }
            received.removeAll(keepingCapacity: true)
            var back: [UInt8] = []
            try measuredServerSide {
                try wire.withUnsafeBytes { raw in try server.receive(raw, into: &received) }
                try received.withUnsafeBytes { raw in try server.send(raw, into: &back) }
            }
            echoed.removeAll(keepingCapacity: true)
            try back.withUnsafeBytes { raw in try client.receive(raw, into: &echoed) }
            guard echoed == message else { fail("echo differs") }
        }
        print("server_us_per_op=\(fixed(serverMicroseconds / Double(count)))", server.session!.version, server.session!.cipher)
    }
} catch {
    fail("\(error)")
}
