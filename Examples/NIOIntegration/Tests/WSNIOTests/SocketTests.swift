// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WSNIO
import WSProtocol

/// The NIO server and client over real loopback sockets: against each other, against Python
/// websockets (both ways), and against headless Chromium's own WebSocket.
@Suite("WSNIO over sockets", .serialized, .timeLimit(.minutes(1)))
struct SocketTests {
    static func startDemo(configuration: Connection.Configuration = .init(), pages: [String: String] = [:],
                          onReport: @escaping @Sendable (String) -> Void = { _ in }) async throws -> (any Channel, Int) {
        let server = try await DemoServer.bind(group: Peers.group, port: 0, configuration: configuration,
                                               pages: pages, onReport: onReport, date: { HandlerTests.date }).get()
        return (server, server.localAddress!.port!)
    }

    static func collect(_ client: WebSocketClient) async -> [Event] {
        var events: [Event] = []
        for await event in client.events { events.append(event) }
        return events
    }

    /// peer_common.py's pattern: byte i is (i * 31 + 7) mod 256, a 256-byte cycle (doubled,
    /// which is fast in a debug build too).
    static func pattern(_ count: Int) -> [UInt8] {
        var bytes = (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        while bytes.count < count { bytes.append(contentsOf: bytes) }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    @Test("NIO client and server: a 16 MiB message and back, then our close 4003 answered and reported")
    func largeMessageAndClose() async throws {
        let (server, port) = try await Self.startDemo()
        defer { server.close(promise: nil) }
        let client = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/echo", group: Peers.group)
        let big = Self.pattern(16 << 20)
        try await client.send(.binary(big))
        var iterator = client.events.makeAsyncIterator()
        let echoed = await iterator.next()
        #expect(echoed == .message(.binary(big)))
        try await client.close(code: CloseCode(4003), reason: "x")
        let peer = CloseFrame(code: CloseCode(4003))
        #expect(await iterator.next() == .closeReceived(peer))
        #expect(await iterator.next() == .closed(.handshakeCompleted(peer: peer, initiatedLocally: true)))
        #expect(await iterator.next() == nil)
    }

    @Test("A message over the server's maxMessageSize: the client gets 1009 and a clean close")
    func messageLimit() async throws {
        var configuration = Connection.Configuration()
        configuration.maxMessageSize = 1024
        let (server, port) = try await Self.startDemo(configuration: configuration)
        defer { server.close(promise: nil) }
        let client = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/echo", group: Peers.group)
        var iterator = client.events.makeAsyncIterator()
        try await client.send(.binary(Self.pattern(1024)))
        // The echo first: had both messages arrived in one read, the core would have failed the
        // connection on the second before the server's handler could answer the first.
        #expect(await iterator.next() == .message(.binary(Self.pattern(1024))))
        try await client.send(.binary(Self.pattern(1025)))
        let peer = CloseFrame(code: .messageTooBig, reason: "message too big")
        #expect(await iterator.next() == .closeReceived(peer))
        #expect(await iterator.next() == .closed(.handshakeCompleted(peer: peer, initiatedLocally: false)))
        #expect(await iterator.next() == nil)
    }

    @Test("An unknown path is refused with the server's 404")
    func refused() async throws {
        let (server, port) = try await Self.startDemo()
        defer { server.close(promise: nil) }
        let body = Array("No WebSocket endpoint at /nowhere\n".utf8)
        await #expect(throws: WebSocketNIOError.handshakeFailed(.refused(
            status: 404, reason: "Not Found",
            headers: ["Content-Type": "text/plain; charset=utf-8", "Date": "Sun, 06 Nov 1994 08:49:37 GMT", "Connection": "close",
                      "Content-Length": "34"],
            bodyPrefix: body))) {
            _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/nowhere", group: Peers.group)
        }
    }

    @Test("Python websockets client → NIO server: text, binary, 70000 bytes, ping, close 4001")
    func pythonClient() async throws {
        let (server, port) = try await Self.startDemo()
        defer { server.close(promise: nil) }
        let script = #"[{"send": "text", "data": "héllo ✓"}, {"send": "binary", "hex": "0001ff"},"#
            + #" {"send": "binary", "pattern": 70000}, {"ping": "yo"}, {"expect": 3}, {"close": 4001, "reason": "bye"}]"#
        let peer = try Peer(try Peers.python(), ["websockets_client.py", "ws://127.0.0.1:\(port)/echo", script])
        defer { peer.stop() }
        let report = try JSONSerialization.jsonObject(with: Data(try peer.nextLine().utf8)) as! [String: Any]
        #expect(report["error"] == nil, "\(report)")
        let received = report["received"] as? [[String: Any]] ?? []
        #expect(received.map { $0["type"] as? String } == ["text", "binary", "binary"])
        #expect(received.first?["data"] as? String == "héllo ✓")
        #expect(received.dropFirst().first?["data"] as? String == "0001ff")
        #expect(received.last?["len"] as? Int == 70000)
        #expect(received.last?["crc32"] as? Int == Int(crc32(Self.pattern(70000))))
        #expect(report["pongs"] as? [String] == ["yo"])
        #expect(report["close_code"] as? Int == 4001)
    }

    @Test("NIO client → Python websockets server: echo, the server's ping answered, the server's close 4002")
    func pythonServer() async throws {
        let peer = try Peer(try Peers.python(), ["websockets_server.py"])
        defer { peer.stop() }
        let first = try peer.nextLine()
        let port = try #require(Int(first.dropFirst("PORT ".count)), "first line: \(first)")
        let client = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/nio", group: Peers.group)
        try await client.send(.text("héllo ✓"))
        try await client.send(.binary([0, 1, 255]))
        try await client.send(.text("!ping hi"))
        try await client.send(.text("!close 4002 done"))
        let close = CloseFrame(code: CloseCode(4002), reason: "done")
        #expect(await Self.collect(client) == [
            .message(.text("héllo ✓")), .message(.binary([0, 1, 255])), .ping(Array("hi".utf8)), .message(.text("pong hi")),
            .closeReceived(close), .closed(.handshakeCompleted(peer: close, initiatedLocally: false)),
        ])
        let report = try JSONSerialization.jsonObject(with: Data(try peer.nextLine().utf8)) as! [String: Any]
        #expect(report["path"] as? String == "/nio")
        #expect(report["pongs"] as? [String] == ["hi"])
        #expect(report["close_code"] as? Int == 4002)
    }

    @Test("Headless Chromium passes ws serve's self-test page against the NIO server")
    func browserSelfTest() async throws {
        let source = try String(contentsOf: Peers.root.appendingPathComponent("Sources/ws/SelfTestPage.swift"), encoding: .utf8)
        let start = try #require(source.range(of: "#\"\"\"\n")), end = try #require(source.range(of: "\"\"\"#"))
        let page = String(source[start.upperBound..<end.lowerBound])
        let (reports, continuation) = AsyncStream<String>.makeStream()
        let (server, port) = try await Self.startDemo(pages: ["/selftest": page], onReport: { continuation.yield($0) })
        defer { server.close(promise: nil) }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("nio-chromium-\(UUID().uuidString)")
        let browser = try Peer(try Peers.chromium(), ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                                      "--disable-extensions", "--disable-dev-shm-usage",
                                                      "--user-data-dir=\(profile.path)", "http://127.0.0.1:\(port)/selftest"])
        defer {
            browser.stop()
            try? FileManager.default.removeItem(at: profile)
        }
        var verdict: String?
        for await line in reports where line.hasPrefix("SELFTEST") {
            verdict = line
            break
        }
        #expect(verdict == "SELFTEST PASS extensions=none")  // the demo server negotiates no extension
    }
}

extension SocketTests {
    @Test("A server channel that allows half-closure: the peer's FIN after the handshake is 1006, and the channel closes")
    func remoteHalfClosure() async throws {
        let child = Peers.group.next().makePromise(of: (any Channel).self)
        let events = EventLog()
        let server = try await ServerBootstrap(group: Peers.group)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = WebSocketChannelHandler(mode: .server(ServerSettings(date: { HandlerTests.date })))
                    handler.lingerTimeout = .hours(1)  // so that only the end of stream can close it
                    try channel.pipeline.syncOperations.addHandlers(handler, EventSink { event in events.value.withLock { $0.append(event) } })
                    child.succeed(channel)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let received = Peers.group.next().makePromise(of: [UInt8].self)
        let peer = try await ClientBootstrap(group: Peers.group)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ByteCollector(received)) }
            }
            .connect(host: "127.0.0.1", port: server.localAddress!.port!).get()
        defer { peer.close(promise: nil) }
        try await peer.writeAndFlush(ByteBuffer(string: HandlerTests.request))
        try await peer.close(mode: .output)
        // The 101, then the server's FIN; and the server's channel closed, well before the linger.
        #expect(try await within(.seconds(10), received.futureResult) == Array(HandlerTests.response.utf8))
        let closed: Void? = try await within(.seconds(10), child.futureResult.get().closeFuture)
        #expect(closed != nil)
        #expect(events.value.withLock { $0 } == [.closed(.abnormal)])
    }

    /// The future's value, or nil if it has not come within `limit` (a bound on a wait that
    /// must end much sooner, so that a failure is reported, not a hang).
    func within<Value: Sendable>(_ limit: TimeAmount, _ future: EventLoopFuture<Value>) async throws -> Value? {
        let outcome = future.eventLoop.makePromise(of: Value?.self)
        future.whenComplete { outcome.completeWith($0.map { $0 }) }
        let timer = future.eventLoop.scheduleTask(in: limit) { outcome.succeed(nil) }
        defer { timer.cancel() }
        return try await outcome.futureResult.get()
    }
}

/// Collects the bytes a raw peer receives until the other side's FIN (or the channel's end).
final class ByteCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<[UInt8]>
    private var bytes: [UInt8]? = []

    init(_ done: EventLoopPromise<[UInt8]>) { self.done = done }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { bytes? += unwrapInboundIn(data).readableBytesView }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { finish() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func finish() {
        guard let bytes else { return }
        self.bytes = nil
        done.succeed(bytes)
    }
}

/// Events recorded on one thread, read on another.
final class EventLog: Sendable {
    let value = Mutex<[Event]>([])
}

/// Hands every event to a closure.
final class EventSink: ChannelInboundHandler {
    typealias InboundIn = Event
    private let sink: @Sendable (Event) -> Void

    init(_ sink: @escaping @Sendable (Event) -> Void) { self.sink = sink }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { sink(unwrapInboundIn(data)) }
}

/// CRC-32 (IEEE 802.3, zlib's), to compare with the Python peers' summaries.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}
