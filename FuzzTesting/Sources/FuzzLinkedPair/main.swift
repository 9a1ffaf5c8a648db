// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: a client and a server Connection wired back to back. What one sends,
// the other must receive unchanged, in order, whatever the fragmentation, extension, delivery
// mode and read sizes; pings come back as pongs; a close handshake started by either side ends
// with both sides closed cleanly with the right code and `initiatedLocally`.
//
// Input: byte 0 selects variants (bit 0 client fragmentSize, bit 1 server fragmentSize, each
// from the next bytes; bit 2 the run-length extension on both; bit 3 streaming delivery on the
// server; bit 4 on the client); byte 1 seeds the chunking of every transfer; then commands:
// 0 client sends binary, 1 client sends text, 2 server sends binary, 3 server sends text,
// 4 client pings, 5 client closes, 6 server closes.
import FuzzSupport
import WSProtocol

struct Side {
    var connection: Connection
    var outbox: [UInt8] = []
    var messages: [Message] = []
    var partial: (kind: Message.Kind, bytes: [UInt8])? = nil
    var pongs: [[UInt8]] = []
    var closeReceived: CloseFrame? = nil
    var closed: CloseReason? = nil

    mutating func take(_ outputs: [Connection.Output]) {
        for output in outputs {
            switch output {
            case .write(let bytes): outbox += bytes
            case .deliver(.message(let m)): messages.append(m)
            case .deliver(.fragment(let f)):
                if f.isFirst { partial = (f.kind, []) }
                guard var p = partial else { violation("fragment without a first") }
                p.bytes += f.bytes
                partial = p
                if f.isFinal {
                    messages.append(p.kind == .text ? .text(String(decoding: p.bytes, as: UTF8.self)) : .binary(p.bytes))
                    partial = nil
                }
            case .deliver(.pong(let payload)): pongs.append(payload)
            case .deliver(.ping): break
            case .deliver(.closeReceived(let frame)): closeReceived = frame
            case .deliver(.closed(let reason)): closed = reason
            case .shutdownWrite, .closeTransport: break
            }
        }
    }
}

/// Moves written bytes across until both outboxes are empty.
func pump(_ client: inout Side, _ server: inout Side, seed: UInt8) {
    var rounds = 0
    while !client.outbox.isEmpty || !server.outbox.isEmpty {
        rounds += 1
        if rounds > 100 { violation("the pair does not settle") }
        let toServer = client.outbox; client.outbox = []
        for piece in Chunking.split(toServer, seed: seed) { server.take(server.connection.receive(piece, now: .zero)) }
        let toClient = server.outbox; server.outbox = []
        for piece in Chunking.split(toClient, seed: seed) { client.take(client.connection.receive(piece, now: .zero)) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLinkedPair(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let flags = r.byte()
        let seed = r.byte()
        var clientConfig = Connection.Configuration(), serverConfig = Connection.Configuration()
        if flags & 1 != 0 { clientConfig.fragmentSize = Int(r.byte() % 16) + 1 }
        if flags & 2 != 0 { serverConfig.fragmentSize = Int(r.byte() % 16) + 1 }
        serverConfig.deliversFragments = flags & 8 != 0
        clientConfig.deliversFragments = flags & 16 != 0
        let extensions: [any MessageExtension] = flags & 4 != 0 ? [RunLengthExtension()] : []
        var client = Side(connection: Connection(role: .client, configuration: clientConfig, extensions: extensions,
                                                 entropy: SplitMix64(seed: 3)))
        var server = Side(connection: Connection(role: .server, configuration: serverConfig, extensions: extensions))
        var sentByClient: [Message] = [], sentByServer: [Message] = [], pings: [[UInt8]] = []
        var closer: (client: Bool, code: UInt16, reason: String)? = nil
        let codes: [UInt16] = [1000, 1001, 1003, 1008, 3000, 4999]
        while !r.isAtEnd && closer == nil {
            let op = r.byte() % 7
            do throws(UsageError) {
                switch op {
                case 0, 1, 2, 3:
                    let bytes = r.take(r.length())
                    let message: Message = op & 1 == 0 ? .binary(bytes) : .text(String(decoding: bytes, as: UTF8.self))
                    if op < 2 {
                        client.take(try client.connection.send(message, now: .zero)); sentByClient.append(message)
                    } else {
                        server.take(try server.connection.send(message, now: .zero)); sentByServer.append(message)
                    }
                case 4:
                    let payload = r.take(Int(r.byte() % 126))
                    client.take(try client.connection.ping(payload, now: .zero)); pings.append(payload)
                default:
                    let code = codes[Int(r.byte()) % codes.count]
                    let reason = String(decoding: r.take(Int(r.byte() % 40)), as: UTF8.self)
                    guard reason.utf8.count <= 123 else { continue }
                    let side = op == 5
                    if side { client.take(try client.connection.close(code: CloseCode(code), reason: reason, now: .zero)) }
                    else { server.take(try server.connection.close(code: CloseCode(code), reason: reason, now: .zero)) }
                    closer = (side, code, reason)
                }
            } catch {
                violation("usage error \(error) on an open pair")
            }
            pump(&client, &server, seed: seed)
        }
        if server.messages != sentByClient { violation("server received \(server.messages), client sent \(sentByClient)") }
        if client.messages != sentByServer { violation("client received \(client.messages), server sent \(sentByServer)") }
        if client.pongs != pings { violation("pongs \(client.pongs) for pings \(pings)") }
        guard let closer else {
            if client.closed != nil || server.closed != nil { violation("closed without a close") }
            return
        }
        // The client waits for the server's TCP close (RFC 6455 §7.1.1).
        if client.closed != nil { violation("client closed before end of stream: \(String(describing: client.closed))") }
        client.take(client.connection.receiveEndOfStream(now: .zero))
        let sent = CloseFrame(code: CloseCode(closer.code), reason: closer.reason)
        let echo = CloseFrame(code: CloseCode(closer.code))
        let (initiator, responder) = closer.client ? (client, server) : (server, client)
        if responder.closeReceived != sent { violation("responder got \(String(describing: responder.closeReceived)), sent \(sent)") }
        if initiator.closeReceived != echo { violation("initiator got \(String(describing: initiator.closeReceived)), expected echo \(echo)") }
        if initiator.closed != .handshakeCompleted(peer: echo, initiatedLocally: true) {
            violation("initiator closed with \(String(describing: initiator.closed))")
        }
        if responder.closed != .handshakeCompleted(peer: sent, initiatedLocally: false) {
            violation("responder closed with \(String(describing: responder.closed))")
        }
    }
}
