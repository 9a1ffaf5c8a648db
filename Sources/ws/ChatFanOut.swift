// SPDX-License-Identifier: Apache-2.0
import WSPosixIO
import WSProtocol

/// `/chat` across processes: every message goes to Redis (channel `ws:chat`) and comes back
/// through the subscription to every instance, this one included, which broadcasts it to its
/// local members. While Redis is down, messages are broadcast locally only.
///
/// On the wire to Redis a message is one byte, `t` (text) or `b` (binary), then its payload.
/// Messages from Redis reach the room in the order they arrive (one consumer task).
final class ChatFanOut: Sendable {
    static let channel = "ws:chat"
    private let pubsub: RedisPubSub
    private let inbox: AsyncStream<Message>.Continuation
    private let consumer: Task<Void, Never>

    init(url: RedisURL, room: WebSocketGroup) throws(WebSocketError) {
        let (stream, inbox) = AsyncStream<Message>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        self.inbox = inbox
        let target = url
        pubsub = try RedisPubSub(url: url, channel: Self.channel, onMessage: { payload in
            if let message = Self.decode(payload) { inbox.yield(message) }
        }, onStateChange: { change in
            switch change {
            case .connected:
                Terminal.error("ws: redis: connected to \(target), /chat is shared through channel \(Self.channel)")
            case .disconnected(let reason):
                Terminal.error("ws: redis: unavailable (\(reason)); /chat is local only, reconnecting with backoff")
            }
        })
        self.consumer = Task {
            for await message in stream { room.broadcast(message) }
        }
    }

    func start() { pubsub.start() }

    /// Sends a member's message to every instance (or, while Redis is down, to the local room).
    func publish(_ message: Message) { pubsub.publish(Self.encode(message)) }

    func stop() async {
        await pubsub.stop()
        inbox.finish()
        await consumer.value
    }

    static func encode(_ message: Message) -> [UInt8] {
        switch message {
        case .text(let text): return [0x74] + Array(text.utf8)
        case .binary(let bytes): return [0x62] + bytes
        }
    }

    static func decode(_ payload: [UInt8]) -> Message? {
        switch payload.first {
        case 0x74: return String(validating: payload.dropFirst(), as: UTF8.self).map { .text($0) }
        case 0x62: return .binary(Array(payload.dropFirst()))
        default: return nil
        }
    }
}
