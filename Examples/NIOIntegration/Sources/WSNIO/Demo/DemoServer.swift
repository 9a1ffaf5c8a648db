// SPDX-License-Identifier: Apache-2.0
import NIOCore
import Synchronization
import WSProtocol

/// The same demo service as `ws serve`, on NIO: `/echo` echoes every message, `/chat` sends
/// every message to every member (but a member that does not read misses messages, see
/// `ChatRoom`), `/report` hands each text message to `onReport`; plain HTTP
/// requests get the page registered for their path, or 404.
public enum DemoServer {
    /// Binds the demo server; its responses are dated by `date` (default: the wall clock).
    public static func bind(group: any EventLoopGroup, host: String = "127.0.0.1", port: Int,
                            configuration: Connection.Configuration = .init(), pages: [String: String] = [:],
                            onReport: @escaping @Sendable (String) -> Void = { print($0) },
                            date: @escaping @Sendable () -> HTTPDate? = WallClock.httpDate) -> EventLoopFuture<any Channel> {
        let room = ChatRoom()
        let settings = ServerSettings(
            configuration: configuration,
            decide: { request in
                switch request.path {
                case "/echo", "/chat", "/report": return .accept(subprotocol: nil, headers: [:])
                default: return .reject(status: 404, headers: ["Content-Type": "text/plain; charset=utf-8"],
                                        body: Array("No WebSocket endpoint at \(request.path)\n".utf8))
                }
            },
            respond: { head in
                guard let page = pages[head.path] else { return HTTPAnswer(status: 404, text: "Not found: \(head.path)\n") }
                return HTTPAnswer(status: 200, headers: ["Content-Type": "text/html; charset=utf-8"], body: Array(page.utf8))
            },
            date: date)
        return WebSocketBootstrap.bind(group: group, host: host, port: port, settings: settings) {
            DemoHandler(room: room, onReport: onReport)
        }
    }
}

/// Serves one connection by its path.
final class DemoHandler: ChannelInboundHandler {
    typealias InboundIn = Event
    typealias OutboundOut = WebSocketCommand

    private let room: ChatRoom
    private let onReport: @Sendable (String) -> Void
    private var path = ""
    private var pendingFlush = false

    init(room: ChatRoom, onReport: @escaping @Sendable (String) -> Void) {
        self.room = room; self.onReport = onReport
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let opened = event as? WebSocketOpened {
            path = opened.request?.path ?? "/"
            if path == "/chat" { room.join(context.channel) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .message(let message) = unwrapInboundIn(data) else { return }
        switch path {
        case "/chat":
            room.broadcast(message)
        case "/report":
            if case .text(let text) = message { onReport(text.split(whereSeparator: \.isNewline).joined(separator: " ")) }
        default:
            context.write(wrapOutboundOut(.send(message)), promise: nil)
            pendingFlush = true
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pendingFlush {
            pendingFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if path == "/chat" { room.leave(context.channel) }
        context.fireChannelInactive()
    }
}

/// The members of `/chat`; a broadcast writes to each member's channel without waiting.
///
/// A member that does not read misses messages and never delays the others, as `ws serve`'s
/// room (WSPosixIO's `WebSocketGroup`, policy `.skip`): a message goes only to members whose
/// channel is writable (under NIO's write-buffer high watermark), checked on the member's
/// own event loop when the write is made. Without it, what a non-reading member was sent
/// piled up in its channel without bound.
final class ChatRoom: Sendable {
    private let members = Mutex<[ObjectIdentifier: any Channel]>([:])

    func join(_ channel: any Channel) { members.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func leave(_ channel: any Channel) { _ = members.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) } }

    func broadcast(_ message: Message) {
        for channel in members.withLock({ Array($0.values) }) {
            channel.eventLoop.execute {
                guard channel.isWritable else { return }  // a slow member misses this one
                channel.writeAndFlush(WebSocketCommand.send(message), promise: nil)
            }
        }
    }
}
