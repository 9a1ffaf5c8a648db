// SPDX-License-Identifier: Apache-2.0
import Synchronization
public import WSProtocol

/// A set of connections that receive the same messages: a chat room, a live feed.
///
/// ``broadcast(_:compress:)`` sends one message to every member without waiting for any of
/// them: it encodes the frame once (server members without an extension that transforms the
/// message share the same bytes; a payload of 16 KiB or more on plain TCP is shared without a
/// copy) and queues it on each member like ``WebSocket/enqueue(_:compress:)``, never suspending.
/// A member that does not read cannot delay the others or make the group hold unbounded
/// memory: a member whose unwritten bytes (``WebSocket/bufferedAmount``) are above
/// ``maxBufferedBytes`` is handled by the ``SlowMemberPolicy``:
///
/// - ``SlowMemberPolicy/skip`` (default): that member misses this message (it gets the later
///   ones once its buffer drains below the limit).
/// - ``SlowMemberPolicy/close``: that member is closed with 1008 (policy violation, RFC 6455
///   §7.4.1) and leaves the group; its queued bytes still go first, and the core's close timeout
///   ends a peer that never reads them.
///
/// A member's unwritten bytes therefore stay under `maxBufferedBytes` plus one message (plus one
/// message per other broadcast running at the same moment).
///
/// ```swift
/// let room = WebSocketGroup()
/// let server = try await WebSocketServer.bind(port: 8080) { ws in
///     room.add(ws)
///     defer { room.remove(ws) }
///     for await event in ws {
///         if let message = event.message { room.broadcast(message) }
///     }
/// }
/// ```
public final class WebSocketGroup: Sendable {
    /// What happens to a member whose unwritten bytes are over ``WebSocketGroup/maxBufferedBytes``
    /// when a message is broadcast.
    public enum SlowMemberPolicy: Hashable, Sendable {
        /// The member misses the message; it stays in the group.
        case skip
        /// The member is closed with 1008 (policy violation) and removed from the group.
        case close
    }

    /// What one ``WebSocketGroup/broadcast(_:compress:)`` did.
    public struct Delivery: Hashable, Sendable {
        /// Members the message was queued on.
        public var queued: Int
        /// Members over the limit that missed it (``SlowMemberPolicy/skip``).
        public var skipped: Int
        /// Members over the limit that were closed with 1008 (``SlowMemberPolicy/close``).
        public var closed: Int
        /// Members that were already closing or closed (removed from the group).
        public var gone: Int

        /// A delivery with the given counts (each 0 by default).
        public init(queued: Int = 0, skipped: Int = 0, closed: Int = 0, gone: Int = 0) {
            self.queued = queued; self.skipped = skipped; self.closed = closed; self.gone = gone
        }
    }

    /// The slow-member policy.
    public let policy: SlowMemberPolicy
    /// A member with more unwritten bytes than this is slow. Default 1 MiB (the default
    /// ``FlowControl/highWaterMark``, where an async `send` would start waiting).
    public let maxBufferedBytes: Int

    private let members = Lock<[ObjectIdentifier: WebSocket]>([:])

    /// An empty group. A negative `maxBufferedBytes` counts as 0.
    ///
    /// - Parameters:
    ///   - policy: what to do with a member that is over `maxBufferedBytes` (default: skip).
    ///   - maxBufferedBytes: the unwritten bytes above which a member is slow (default 1 MiB).
    public init(policy: SlowMemberPolicy = .skip, maxBufferedBytes: Int = FlowControl().highWaterMark) {
        self.policy = policy
        self.maxBufferedBytes = max(0, maxBufferedBytes)
    }

    /// Adds a member (adding one twice keeps one entry).
    public func add(_ ws: WebSocket) { members.withLock { $0[ObjectIdentifier(ws)] = ws } }

    /// Removes a member; a connection that closes stays a member until it is removed or the next
    /// broadcast finds it closed.
    public func remove(_ ws: WebSocket) { members.withLock { $0[ObjectIdentifier(ws)] = nil } }

    /// The number of members.
    public var count: Int { members.withLock { $0.count } }

    /// The unwritten bytes of all members together (the memory the group's sends hold).
    public var bufferedAmount: Int {
        snapshot().reduce(0) { $0 + $1.bufferedAmount }
    }

    /// Queues `message` on every member without waiting for any (see the type's discussion for
    /// slow members). Safe from any thread or task, and from a loop-thread event handler.
    /// - Parameters:
    ///   - message: the text or binary message, encoded once for every member.
    ///   - compress: `false` sends it uncompressed to members that negotiated
    ///     permessage-deflate, which then share the once-encoded frame too (RFC 7692 §6.1).
    @discardableResult
    public func broadcast(_ message: Message, compress: Bool = true) -> Delivery {
        let binaryPayload = message.binaryPayload
        var frame: [UInt8]? = nil  // encoded on first use (a large binary payload may never need it)
        let use: Connection.ExtensionUse = compress ? .apply : .bypass
        var delivery = Delivery()
        var leaving: [WebSocket] = []
        for ws in snapshot() {
            if ws.bufferedAmount > maxBufferedBytes {
                switch policy {
                case .skip:
                    delivery.skipped += 1
                case .close:
                    leaving.append(ws)
                    // A member already closing (its close frame queued behind what it has not
                    // read) is not closed again: it is gone.
                    do {
                        try ws.close(code: .policyViolation, reason: "too slow")
                        delivery.closed += 1
                    } catch {
                        delivery.gone += 1
                    }
                }
                continue
            }
            do {
                try ws.channel.sendNow(payload: binaryPayload, kind: .binary) { (c, now, out) throws(UsageError) in
                    let encoded = frame ?? Self.serverFrame(message)
                    frame = encoded
                    if try c.sendEncoded(encoded, payloadCount: encoded.count - Self.headerLength(encoded),
                                         extensions: use, now: now, into: &out) {
                        return
                    }
                    try c.send(message, extensions: use, now: now, into: &out)
                }
                delivery.queued += 1
            } catch {
                delivery.gone += 1
                leaving.append(ws)
            }
        }
        if !leaving.isEmpty {
            members.withLock { for ws in leaving { $0[ObjectIdentifier(ws)] = nil } }
        }
        return delivery
    }

    private func snapshot() -> [WebSocket] { members.withLock { Array($0.values) } }

    /// The message as the one unmasked frame a server sends (RFC 6455 §5.2).
    private static func serverFrame(_ message: Message) -> [UInt8] {
        var frame: [UInt8] = []
        switch message {
        case .text(var text):
            text.withUTF8 { FrameWriter.append(opcode: .text, maskingKey: nil, payload: UnsafeRawBufferPointer($0), to: &frame) }
        case .binary(let bytes):
            FrameWriter.append(opcode: .binary, maskingKey: nil, payload: bytes, to: &frame)
        }
        return frame
    }

    /// The header length of an unmasked frame: 2, 4 (16-bit length) or 10 (64-bit length).
    private static func headerLength(_ frame: [UInt8]) -> Int {
        switch frame[1] & 0x7F {
        case 126: return 4
        case 127: return 10
        default: return 2
        }
    }
}
