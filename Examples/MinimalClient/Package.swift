// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
//
// The driver guide's worked example (Sources/WSProtocol/Docs.docc/WritingADriver.md): a blocking
// WebSocket client on plain POSIX sockets, with no event loop, in one file. A separate package
// that depends on the library by path; Scripts/test builds it and runs its tests against `ws serve`.
import PackageDescription

let package = Package(
    name: "MinimalClient",
    dependencies: [.package(name: "swift-websocket-sansio", path: "../..")],
    targets: [
        .target(name: "MinimalClient", dependencies: [.product(name: "WSProtocol", package: "swift-websocket-sansio")]),
        .executableTarget(name: "minimal-client", dependencies: ["MinimalClient"]),
        .testTarget(name: "MinimalClientTests", dependencies: [
            "MinimalClient", .product(name: "WSProtocol", package: "swift-websocket-sansio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
