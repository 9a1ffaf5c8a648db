// SPDX-License-Identifier: Apache-2.0
import NIOCore
import NIOPosix
import WSProtocol

/// Bootstraps for servers and clients whose channels run ``WebSocketChannelHandler``.
public enum WebSocketBootstrap {
    /// Binds a listening channel; every accepted channel gets a server ``WebSocketChannelHandler``
    /// followed by the handler `application` makes.
    public static func bind(group: any EventLoopGroup, host: String, port: Int, settings: ServerSettings,
                            application: @escaping @Sendable () -> any ChannelHandler) -> EventLoopFuture<any Channel> {
        ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(mode: .server(settings)))
                    try channel.pipeline.syncOperations.addHandler(application())
                }
            }
            .bind(host: host, port: port)
    }

    /// Connects to `options.host` and runs the client handshake, with the handler
    /// `application` makes after the WebSocket handler.
    public static func connect(group: any EventLoopGroup, options: ClientHandshake.Options,
                               application: @escaping @Sendable () -> any ChannelHandler) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(mode: .client(options)))
                    try channel.pipeline.syncOperations.addHandler(application())
                }
            }
            .connect(host: options.host, port: options.effectivePort)
    }
}
