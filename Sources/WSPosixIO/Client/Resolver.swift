// SPDX-License-Identifier: Apache-2.0

/// Host name resolution that never blocks an event loop: getaddrinfo runs on its own thread.
enum Resolver {
    /// The addresses of `host` (a numeric address is returned as is, without a lookup).
    static func resolve(host: String, port: UInt16) async -> Result<[SocketAddress], WebSocketError> {
        if let numeric = SocketAddress(numericHost: host, port: port) { return .success([numeric]) }
        return await withCheckedContinuation { continuation in
            Sys.spawnThread {
                switch Sys.resolve(host: host, port: port) {
                case .success(let addresses): continuation.resume(returning: .success(addresses))
                case .failure(let failure): continuation.resume(returning: .failure(.hostNotFound(host: host, message: failure.message)))
                }
            }
        }
    }
}
