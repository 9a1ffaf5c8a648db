// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

// Settings shared by every target: Swift 6 language mode with strict concurrency, plus the
// upcoming features the house style asks for (see Docs/Architecture.md). Scripts/test builds
// with warnings as errors.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-websocket-sansio",
    products: [
        .library(name: "WSProtocol", targets: ["WSProtocol"]),
        .library(name: "WSPosixIO", targets: ["WSPosixIO"]),
        .library(name: "WSDeflate", targets: ["WSDeflate"]),
        .library(name: "WSTLS", targets: ["WSTLS"]),
        .library(name: "WSFoundation", targets: ["WSFoundation"]),
        .executable(name: "ws", targets: ["ws"]),
    ],
    targets: [
        // The pure core: standard library only, no Foundation, no clock, no RNG of its own.
        .target(name: "WSProtocol", swiftSettings: strictSettings),
        // System headers Glibc does not export (epoll, eventfd); used only by WSPosixIO's Platform/Sys*.swift.
        .target(name: "CWSPosixShims"),
        // The binding to POSIX sockets (event loop, client, server); permessage-deflate through WSDeflate.
        .target(name: "WSPosixIO", dependencies: ["WSProtocol", "WSDeflate", "CWSPosixShims", "WSTLS"], swiftSettings: strictSettings),
        // The system zlib (a module map only), used by WSDeflate; WSProtocol never links it.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // permessage-deflate (RFC 7692) over zlib, plugged into the core as a MessageExtension.
        .target(name: "WSDeflate", dependencies: ["WSProtocol", "CZlib"], swiftSettings: strictSettings),
        // The system OpenSSL (a module map and a shim header), used by WSTLS only.
        .systemLibrary(name: "CSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // A sans-I/O TLS engine over OpenSSL's memory BIOs (bytes in, bytes out), for any driver.
        .target(name: "WSTLS", dependencies: ["CSSL"], swiftSettings: strictSettings),
        // Foundation conveniences (URL, Data, TimeInterval/Date) over WSPosixIO; nothing else depends on it.
        .target(name: "WSFoundation", dependencies: ["WSPosixIO", "WSProtocol"], swiftSettings: strictSettings),
        // The command-line tool: `ws serve`, `ws connect`, `ws autobahn-client`.
        .executableTarget(name: "ws", dependencies: ["WSPosixIO", "WSProtocol", "WSDeflate", "WSTLS"], swiftSettings: strictSettings),

        // Seeded inputs shared by the test targets (not a product).
        .target(name: "WSTestSupport", path: "Tests/WSTestSupport", swiftSettings: strictSettings),
        .testTarget(name: "WSProtocolTests", dependencies: ["WSProtocol", "WSTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WSTLSTests", dependencies: ["WSTLS", "CSSL", "WSTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WSDeflateTests", dependencies: ["WSDeflate", "WSProtocol", "WSTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "WSFoundationTests", dependencies: ["WSFoundation", "WSPosixIO", "WSProtocol"],
                    swiftSettings: strictSettings),
        .testTarget(name: "WSPosixIOTests", dependencies: ["WSPosixIO", "WSTLS", "WSProtocol", "WSDeflate", "WSTestSupport"],
                    resources: [.copy("Resources")], swiftSettings: strictSettings),
        // The `ws` tool's pure parts (escaping, argument and answer checks), via @testable import.
        .testTarget(name: "WSToolTests", dependencies: ["ws"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
