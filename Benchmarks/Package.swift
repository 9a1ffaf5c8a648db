// swift-tools-version: 6.1
// SPDX-License-Identifier: Apache-2.0
//
// The benchmark package: a separate package so the library itself keeps no dependencies.
// It compares WSProtocol / WSPosixIO with SwiftNIO's NIOWebSocket (and, through Scripts/bench,
// with Python websockets, picows and a minimal C epoll server) in the same run.
import PackageDescription

let package = Package(
    name: "swift-websocket-sansio-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-websocket-sansio", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Our core on NIO (WSNIO's ChannelHandler), for the same-NIO end-to-end rows.
        .package(name: "NIOIntegration", path: "../Examples/NIOIntegration"),
        // NIOSSL for the wss:// rows (NIOEchoServer --tls-cert/--tls-key, Scripts/bench-tls).
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        // The malloc interposer that ordo-one/benchmark uses for its malloc counts, used directly
        // so every row lands in one table.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.6.1"),
    ],
    targets: [
        // The workloads: inputs, our scenarios, NIO's scenarios, the baselines, the timing loop.
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "WSProtocol", package: "swift-websocket-sansio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "WSNIO", package: "NIOIntegration"),
            ],
            // The scenarios keep their state (a connection, a channel) in closure captures; without
            // this, every access to a capture pays a dynamic exclusivity check that neither library
            // pays in real use. It applies to this module only: the libraries build as users get them.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // Micro-benchmarks timed with a monotonic clock; prints one `row` line per measurement.
        .executableTarget(name: "BenchRunner", dependencies: ["BenchSupport"]),
        // Allocation counts per message, with the malloc interposer ordo-one/benchmark uses
        // (a separate process, so the interposer never slows the timed rows).
        .executableTarget(
            name: "AllocCounter",
            dependencies: [
                "BenchSupport",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]
        ),
        // Our echo server (WSPosixIO) for the end-to-end rows.
        .executableTarget(
            name: "WSEchoServer",
            dependencies: [
                .product(name: "WSPosixIO", package: "swift-websocket-sansio"),
                .product(name: "WSProtocol", package: "swift-websocket-sansio"),
                .product(name: "WSTLS", package: "swift-websocket-sansio"),
            ]
        ),
        // WSTLS engines back to back in memory, one thread: the engine's own CPU per handshake
        // and per 32-byte round trip (natively, or its instructions under callgrind).
        .executableTarget(
            name: "TLSEngineBench",
            dependencies: [.product(name: "WSTLS", package: "swift-websocket-sansio")]
        ),
        // The Swift floor: c-fast's work and shape in Swift (`sync`), and with one task per
        // connection on the loop's task executor (`async`), so that the end-to-end rows show
        // what the language and its concurrency runtime cost apart from what our library costs.
        // Without the runtime's exclusivity checks, as a C programmer's Swift would be: with them,
        // every access to a class's stored property on the hot path went through
        // `swift_beginAccess` and a thread-local access set (442 of its 1,128 instructions per
        // 50 × 32 B echo). The library keeps the checks and marks only its proven hot state
        // `@exclusivity(unchecked)`.
        .systemLibrary(name: "CFloorShims", path: "Sources/CFloorShims"),
        .executableTarget(
            name: "SwiftFloor",
            dependencies: ["CFloorShims", .product(name: "WSProtocol", package: "swift-websocket-sansio")],
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // The SwiftNIO echo server (NIOWebSocket server upgrader) for the end-to-end rows; with
        // --tls-cert/--tls-key it serves wss:// through NIOSSL; with --ours it serves our core on
        // the same NIO (Examples/NIOIntegration's ChannelHandler) for the same-layer rows.
        .executableTarget(
            name: "NIOEchoServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "WSNIO", package: "NIOIntegration"),
                .product(name: "WSProtocol", package: "swift-websocket-sansio"),
            ]
        ),
    ]
)
