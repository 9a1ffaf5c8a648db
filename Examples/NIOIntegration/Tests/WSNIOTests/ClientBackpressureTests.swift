// SPDX-License-Identifier: Apache-2.0
import Foundation
import NIOCore
import Synchronization
import Testing
import WSNIO
import WSProtocol

/// `WebSocketClient.events` over loopback against a server that sends as fast as the socket
/// takes it: bounded while the application does not iterate, and the connection closed with a
/// 1001 when the application stops.
extension SocketTests {
    static let firehoseSize = 64 << 10
    /// Message i: i as 8 bytes big-endian, then this pattern from offset i % 256.
    static let firehosePattern = pattern((64 << 10) + 256)

    static func startFirehose(count: Int, progress: Firehose.Progress) async throws -> (any Channel, Int) {
        let server = try await WebSocketBootstrap.bind(
            group: Peers.group, host: "127.0.0.1", port: 0, settings: ServerSettings(date: { HandlerTests.date })
        ) { Firehose(count: count, progress: progress) }.get()
        return (server, server.localAddress!.port!)
    }

    /// Whether `event` is the firehose's message `index`, byte for byte.
    static func isFirehoseMessage(_ event: Event?, _ index: Int) -> Bool {
        guard case .message(.binary(let bytes))? = event, bytes.count == firehoseSize else { return false }
        let offset = index % 256
        return bytes.withUnsafeBytes { received in
            firehosePattern.withUnsafeBytes { pattern in
                received.load(fromByteOffset: 0, as: UInt64.self).bigEndian == UInt64(index)
                    && memcmp(received.baseAddress! + 8, pattern.baseAddress! + offset, firehoseSize - 8) == 0
            }
        }
    }

    /// The value `probe` returns once it returns one, asking again after a `Task.yield()` until
    /// `limit` has passed (then nil).
    func poll<Value>(_ limit: Duration, _ probe: () async throws -> Value?) async rethrows -> Value? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let value = try await probe() { return value }
            await Task.yield()
        }
        return nil
    }

    @Test("A client that does not iterate stops reading: 10,000 messages of 64 KiB, at most 14 buffered, then every one in order")
    func boundedEvents() async throws {
        let count = 10_000
        let progress = Firehose.Progress()
        let (server, port) = try await Self.startFirehose(count: count, progress: progress)
        defer { server.close(promise: nil) }
        // The default strategy: reads stop at 10 unconsumed events. One read (4 × 64 KiB of
        // frames) completes at most 4 more 64 KiB messages after the tenth.
        let client = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", group: Peers.group)
        let bound = 10 + 4
        // Nothing iterates: the client's read waits, the sockets' buffers fill, the server blocks
        // (without backpressure, it would write all 10,000 messages).
        let stalled = try #require(try await poll(.seconds(20)) { () async throws -> (flow: WebSocketClient.EventFlow?, written: Int)? in
            let (written, writable) = progress.value.withLock { ($0.written, $0.writable) }
            if written == count { return (nil, written) }
            let flow = try await client.eventFlow()
            return flow?.readHeld == true && !writable ? (flow, written) : nil
        }, "the client never held its reads with the server blocked")
        #expect(stalled.written < count, "the server wrote every message while nothing iterated")
        let flow = try #require(stalled.flow)
        #expect((10...bound).contains(flow.yielded), "\(flow.yielded) events buffered")
        // What the server wrote is what the client holds and the two sockets' buffers can.
        let socketBuffers = try Self.kernelLimit("tcp_rmem") + Self.kernelLimit("tcp_wmem")
        #expect(stalled.written <= bound + 1 + socketBuffers / Self.firehoseSize, "written \(stalled.written)")

        // Iterating again resumes reading: every message, in order, the buffer bounded throughout.
        var iterator = client.events.makeAsyncIterator()
        for index in 0..<count {
            let event = await iterator.next()
            guard Self.isFirehoseMessage(event, index) else {
                Issue.record("message \(index): \(event.map { String("\($0)".prefix(80)) } ?? "nil")")
                return
            }
            if index % 500 == 0 {
                let yielded = try #require(try await client.eventFlow()).yielded
                #expect(yielded - (index + 1) <= bound, "after message \(index)")
            }
        }
        let close = CloseFrame(code: .normalClosure)
        #expect(await iterator.next() == .closeReceived(close))
        #expect(await iterator.next() == .closed(.handshakeCompleted(peer: close, initiatedLocally: false)))
        #expect(await iterator.next() == nil)
        #expect(progress.value.withLock { $0.written } == count)
    }

    enum Ending: CaseIterable { case leaveLoop, cancel, dropClient }

    /// Connects, then ends as `ending` says; returns the client's channel.
    static func connectAndEnd(port: Int, _ ending: Ending) async throws -> any Channel {
        let client = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/", group: Peers.group)
        switch ending {
        case .leaveLoop:
            var received = 0
            for await event in client.events {
                #expect(isFirehoseMessage(event, received), "message \(received)")
                received += 1
                if received == 3 { break }
            }
        case .cancel:
            let (third, reached) = AsyncStream<Void>.makeStream()
            let consumer = Task {
                var received = 0
                for await _ in client.events {
                    received += 1
                    if received == 3 { reached.yield() }
                }
                return received
            }
            for await _ in third { break }
            consumer.cancel()
            #expect(await consumer.value >= 3)
        case .dropClient:
            break  // never iterated: the client, and its events, go when this returns
        }
        return client.channel
    }

    @Test("A consumer that stops iterating: the client sends 1001, drops the rest, and the connection closes",
          arguments: Ending.allCases)
    func consumerEnds(_ ending: Ending) async throws {
        let progress = Firehose.Progress()
        let (server, port) = try await Self.startFirehose(count: 10_000, progress: progress)
        defer { server.close(promise: nil) }
        let channel = try await Self.connectAndEnd(port: port, ending)
        let closed: Void? = try await within(.seconds(10), channel.closeFuture)
        #expect(closed != nil)
        let goingAway = CloseFrame(code: .goingAway)
        #expect(progress.value.withLock { $0.events } == [
            .closeReceived(goingAway), .closed(.handshakeCompleted(peer: goingAway, initiatedLocally: false)),
        ])
    }

    /// The largest size the kernel lets a TCP socket buffer grow to (the third number of
    /// `/proc/sys/net/ipv4/<name>`).
    static func kernelLimit(_ name: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8)
        return try #require(text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) })
    }
}

/// A server's application that sends `count` binary messages (see
/// ``SocketTests/firehosePattern``) whenever its channel is writable, then closes with 1000,
/// and records what it receives.
final class Firehose: ChannelDuplexHandler {
    typealias InboundIn = Event
    typealias OutboundIn = WebSocketCommand
    typealias OutboundOut = WebSocketCommand

    /// What a test reads: messages the socket took, the channel's writability, the events.
    final class Progress: Sendable {
        let value = Mutex<(written: Int, writable: Bool, events: [Event])>((0, true, []))
    }

    private let count: Int
    private let progress: Progress
    private var next = 0
    private var sending = false

    init(count: Int, progress: Progress) {
        self.count = count; self.progress = progress
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is WebSocketOpened {
            sending = true
            pump(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let event = unwrapInboundIn(data)
        progress.value.withLock { $0.events.append(event) }
        if case .closeReceived = event { sending = false }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func pump(context: ChannelHandlerContext) {
        while sending && next < count && context.channel.isWritable {
            let index = next
            next += 1  // before the write, which can re-enter (the channel's writability changes)
            var message = context.channel.allocator.buffer(capacity: SocketTests.firehoseSize)
            message.writeInteger(UInt64(index))
            let offset = index % 256
            SocketTests.firehosePattern.withUnsafeBytes {
                _ = message.writeBytes(UnsafeRawBufferPointer(rebasing: $0[(offset)..<(offset + SocketTests.firehoseSize - 8)]))
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenSuccess { [progress] in progress.value.withLock { $0.written += 1 } }
            written.futureResult.assumeIsolated().whenFailure { [self] _ in sending = false }
            context.write(wrapOutboundOut(.sendBuffer(message, kind: .binary)), promise: written)
        }
        if sending && next == count {
            sending = false
            context.write(wrapOutboundOut(.close(code: .normalClosure, reason: "")), promise: nil)
        }
        context.flush()
        let writable = context.channel.isWritable
        progress.value.withLock { $0.writable = writable }
    }
}
