// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import WSPosixIO
import WSProtocol

/// Our server (`WebSocketServer`, in process, see ``CommandServer``) against clients nobody
/// here wrote: Python websockets 17.4 and wsproto 1.3.2 (Resources/*_client.py).
@Suite("Interop: Python clients, our server", .serialized, .timeLimit(.minutes(1)))
struct PythonClientInteropTests {
    static let clients = ["websockets_client.py", "wsproto_client.py"]

    /// Runs a client peer with a JSON script against `server` and returns its report.
    static func run(_ client: String, _ script: String, port: Int, path: String = "/",
                    arguments: [String] = []) async throws -> PeerReport {
        let peer = try Peers.startPython(client, ["ws://127.0.0.1:\(port)\(path)", script] + arguments)
        defer { peer.stop() }
        let report = try PeerReport.decode(try await peer.nextLine(timeout: .seconds(30)))
        #expect(report.error == nil, "\(client): \(report.error ?? "")")
        return report
    }

    @Test("Text and binary up to 1 MiB echoed exactly; the client closes with 4001 \"bye\"",
          .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func echoAndClientClose(client: String) async throws {
        let server = try await CommandServer.start()
        let script = """
        [{"send":"text","data":"héllo wörld ✓ 世界 🎉"},{"expect":1},
         {"send":"text","data":""},{"expect":1},
         {"send":"binary","hex":""},{"expect":1},
         {"send":"binary","hex":"00ff01"},{"expect":1},
         {"send":"text","unit":"Grüße, 世界! ","count":60000},{"expect":1},
         {"send":"binary","pattern":1048576},{"expect":1},
         {"close":4001,"reason":"bye"}]
        """
        let report = try await Self.run(client, script, port: server.port, path: "/echo?q=1")
        let logs = try await server.waitForLogs(1)
        await server.stop()
        let messages: [Message] = [
            .text("héllo wörld ✓ 世界 🎉"), .text(""), .binary([]), .binary([0x00, 0xff, 0x01]),
            .text(String(repeating: "Grüße, 世界! ", count: 60_000)), .binary(Pattern.bytes(1 << 20)),
        ]
        #expect(report.received == messages.map(PeerReport.Received.init))
        // Our server answers a close with the same code and no reason (RFC 6455 §5.5.1).
        #expect(report.close_code == 4001)
        #expect(report.close_reason == "")
        let log = try #require(logs.first)
        #expect(log.path == "/echo?q=1")
        #expect(log.received == messages)
        #expect(log.close?.code == CloseCode(4001))
        #expect(log.close?.reason == "bye")
        #expect(log.close?.isClean == true)
    }

    @Test("Fragmented messages from the client are reassembled",
          .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func fragmentsFromClient(client: String) async throws {
        let server = try await CommandServer.start()
        let script = """
        [{"fragments":"text","parts":["frag","ment","ed €"]},{"expect":1},
         {"fragments":"binary","parts":["01","0203","","ff"]},{"expect":1},
         {"close":1000}]
        """
        let report = try await Self.run(client, script, port: server.port)
        let logs = try await server.waitForLogs(1)
        await server.stop()
        let messages: [Message] = [.text("fragmented €"), .binary([1, 2, 3, 0xff])]
        #expect(report.received == messages.map(PeerReport.Received.init))
        #expect(report.close_code == 1000)
        #expect(logs.first?.received == messages)
        #expect(logs.first?.close?.code == .normalClosure)
    }

    @Test("Our fragmented messages (fragmentSize 1000, UTF-8 split mid-character) are reassembled by the client",
          .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func fragmentsToClient(client: String) async throws {
        var configuration = Connection.Configuration()
        configuration.fragmentSize = 1000
        let server = try await CommandServer.start(configuration: configuration)
        let script = """
        [{"send":"text","unit":"€","count":1000},{"expect":1},
         {"send":"text","data":"!pattern binary 4500"},{"expect":1},
         {"close":1000}]
        """
        let report = try await Self.run(client, script, port: server.port)
        await server.stop()
        #expect(report.received == [.text(String(repeating: "€", count: 1000)), .binary(Pattern.bytes(4500))])
    }

    @Test("Ping/pong both ways", .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func pingPong(client: String) async throws {
        let server = try await CommandServer.start()
        let script = """
        [{"ping":""},{"ping":"are you there?"},{"ping":"\(String(repeating: "p", count: 125))"},
         {"send":"text","data":"!ping yo"},{"expect":1},{"close":1000}]
        """
        let report = try await Self.run(client, script, port: server.port)
        let logs = try await server.waitForLogs(1)
        await server.stop()
        #expect(report.pongs == ["", "are you there?", String(repeating: "p", count: 125)])  // our automatic pongs
        #expect(report.received == [.text("pong yo")])  // after the client answered our ping
        #expect(logs.first?.pongs == [Array("yo".utf8)])
    }

    @Test("The server closes with 4002 \"srv\"", .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func serverCloses(client: String) async throws {
        let server = try await CommandServer.start()
        let report = try await Self.run(client, #"[{"send":"text","data":"!close 4002 srv"},{"wait_close":true}]"#,
                                        port: server.port)
        let logs = try await server.waitForLogs(1)
        await server.stop()
        #expect(report.close_code == 4002)
        #expect(report.close_reason == "srv")
        let close = try #require(logs.first?.close)
        #expect(close.code == CloseCode(4002))  // the client echoed our code
        #expect(close.isClean)
        if case .handshakeCompleted(_, let initiatedLocally) = close.closeReason { #expect(initiatedLocally) }
    }

    @Test("Subprotocol negotiation and request headers", .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func negotiation(client: String) async throws {
        let server = try await CommandServer.start(subprotocols: ["superchat", "chat"])
        let report = try await Self.run(client, #"[{"close":1000}]"#, port: server.port, path: "/negotiate",
                                        arguments: ["--subprotocol", "foo", "--subprotocol", "chat",
                                                    "--header", "X-Interop: python"])
        let logs = try await server.waitForLogs(1)
        await server.stop()
        #expect(report.subprotocol == "chat")
        #expect(logs.first?.subprotocol == "chat")
        #expect(logs.first?.headers["x-interop"] == "python")
        #expect(logs.first?.close?.code == .normalClosure)
    }

    @Test("No common subprotocol: accepted without one", .enabled(if: Peers.available(Peers.python)), arguments: clients)
    func noCommonSubprotocol(client: String) async throws {
        let server = try await CommandServer.start(subprotocols: ["superchat"])
        let report = try await Self.run(client, #"[{"close":1000}]"#, port: server.port,
                                        arguments: ["--subprotocol", "foo"])
        await server.stop()
        #expect(report.subprotocol == nil)
        #expect(report.close_code == 1000)
    }
}
