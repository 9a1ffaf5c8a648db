// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOEmbedded
import Testing
@testable import WSNIO
import WSProtocol

/// The demo's `/chat` room on `EmbeddedChannel`s: what each member is sent, exactly.
@Suite("DemoServer's /chat room")
struct ChatRoomTests {
    /// A `/chat` member: the handshake done and its 101 read.
    static func member(of room: ChatRoom) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handlers: [
            WebSocketChannelHandler(mode: .server(ServerSettings(date: { HandlerTests.date }))),
            DemoHandler(room: room, onReport: { _ in }),
        ])
        try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: HandlerTests.request))
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == HandlerTests.response)
        return channel
    }

    @Test("A member whose channel is not writable misses a message, the others get it; writable again, it gets the next")
    func slowMember() throws {
        let room = ChatRoom()
        let slow = try Self.member(of: room), sender = try Self.member(of: room)
        let hello: [UInt8] = [0x81, 0x05] + Array("Hello".utf8)
        slow.isWritable = false  // over its high watermark: the peer does not read
        try sender.writeInbound(ByteBuffer(bytes: HandlerTests.maskedHello))
        slow.embeddedEventLoop.run()
        sender.embeddedEventLoop.run()
        #expect(try HandlerTests.written(sender) == hello)
        #expect(try HandlerTests.written(slow) == [])
        slow.isWritable = true
        try sender.writeInbound(ByteBuffer(bytes: HandlerTests.maskedHello))
        slow.embeddedEventLoop.run()
        sender.embeddedEventLoop.run()
        #expect(try HandlerTests.written(sender) == hello)
        #expect(try HandlerTests.written(slow) == hello)
    }
}
