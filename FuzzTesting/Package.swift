// swift-tools-version: 6.2
// SPDX-License-Identifier: Apache-2.0
import PackageDescription

// libFuzzer entry points for the parsers and state machines of WSProtocol (see README.md).
// Each target is an executable whose only entry is `LLVMFuzzerTestOneInput`; libFuzzer supplies
// `main`. Build with Scripts/fuzz (or the command in README.md): a plain `swift build` of this
// package links but has no `main`.
let targetNames = [
    "FuzzServerConnection", "FuzzClientConnection", "FuzzHTTPHead", "FuzzServerHandshake",
    "FuzzClientHandshake", "FuzzExtensionHeader", "FuzzUTF8", "FuzzLinkedPair",
]
// Targets of the socket binding's pure parsers (the PROXY protocol header, forwarding headers).
let posixTargetNames = ["FuzzProxyHeader"]
// The permessage-deflate decoder, with and without context takeover (FuzzDeflateSupport).
let deflateTargetNames = ["FuzzInflate", "FuzzInflateNoContext"]
// The TLS engine's input (WSTLS over the system OpenSSL).
let tlsTargetNames = ["FuzzTLSClient"]

let core: Target.Dependency = .product(name: "WSProtocol", package: "swift-websocket-sansio")
let posix: Target.Dependency = .product(name: "WSPosixIO", package: "swift-websocket-sansio")
let deflate: Target.Dependency = .product(name: "WSDeflate", package: "swift-websocket-sansio")
let tls: Target.Dependency = .product(name: "WSTLS", package: "swift-websocket-sansio")

let package = Package(
    name: "FuzzTesting",
    dependencies: [.package(name: "swift-websocket-sansio", path: "..")],
    targets: [
        // Shared harness: byte reader, chunking, the Connection script runner and its oracles.
        .target(name: "FuzzSupport", dependencies: [core]),
    ] + targetNames.map { .executableTarget(name: $0, dependencies: ["FuzzSupport", core]) }
      + posixTargetNames.map { .executableTarget(name: $0, dependencies: ["FuzzSupport", posix]) }
      + [.target(name: "FuzzDeflateSupport", dependencies: ["FuzzSupport", core, deflate])]
      + deflateTargetNames.map { .executableTarget(name: $0, dependencies: ["FuzzDeflateSupport", "FuzzSupport"]) }
      + tlsTargetNames.map { .executableTarget(name: $0, dependencies: ["FuzzSupport", tls]) },
    swiftLanguageModes: [.v6]
)
