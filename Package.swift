// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

// Settings shared by every target: Swift 6 language mode with strict concurrency, plus the
// upcoming features the house style asks for (see Docs/Architecture.md). Scripts/test builds
// with warnings as errors.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-websocket-sansio",
    products: [
        .library(name: "WSProtocol", targets: ["WSProtocol"]),
        .library(name: "WSPosixIO", targets: ["WSPosixIO"]),
        .executable(name: "ws", targets: ["ws"]),
    ],
    targets: [
        // The pure core: standard library only, no Foundation, no clock, no RNG of its own.
        .target(name: "WSProtocol", swiftSettings: strictSettings),
        // System headers Glibc does not export (epoll, eventfd); used only by WSPosixIO's Syscalls.swift.
        .target(name: "CWSPosixShims"),
        // The binding to POSIX sockets (event loop, client, server).
        .target(name: "WSPosixIO", dependencies: ["WSProtocol", "CWSPosixShims"], swiftSettings: strictSettings),
        // The command-line tool: `ws serve`, `ws connect`, `ws autobahn-client`.
        .executableTarget(name: "ws", dependencies: ["WSPosixIO", "WSProtocol"], swiftSettings: strictSettings),

        .testTarget(name: "WSProtocolTests", dependencies: ["WSProtocol"], swiftSettings: strictSettings),
        .testTarget(name: "WSPosixIOTests", dependencies: ["WSPosixIO", "WSProtocol"],
                    resources: [.copy("Resources")], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
