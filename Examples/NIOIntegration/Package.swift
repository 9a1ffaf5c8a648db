// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
//
// The core inside SwiftNIO: a ChannelHandler that runs WSProtocol's handshakes and Connection on
// a NIO channel (WSNIO), and a server and client built on it (nio-ws). A separate package, so the
// library itself keeps zero package dependencies; Scripts/test builds it and runs its tests.
import PackageDescription

let package = Package(
    name: "NIOIntegration",
    products: [
        // For Benchmarks/ (NIOEchoServer --ours serves the same-layer end-to-end rows on this handler).
        .library(name: "WSNIO", targets: ["WSNIO"]),
    ],
    dependencies: [
        .package(name: "swift-websocket-sansio", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        .target(name: "WSNIO", dependencies: [
            .product(name: "WSProtocol", package: "swift-websocket-sansio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "nio-ws", dependencies: [
            "WSNIO",
            .product(name: "WSProtocol", package: "swift-websocket-sansio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "WSNIOTests", dependencies: [
            "WSNIO",
            .product(name: "WSProtocol", package: "swift-websocket-sansio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
