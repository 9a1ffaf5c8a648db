// SPDX-License-Identifier: Apache-2.0
import Synchronization
import WSTLS

/// The client TLS contexts made so far, one per configuration: making one reads the system
/// trust store, which costs far more than a connection's handshake, so connections with equal
/// configurations share one. At most ``capacity`` are kept (all are dropped when it is reached;
/// open connections keep theirs).
enum ClientTLSContexts {
    static let capacity = 16
    private static let contexts = Lock<[TLSClientConfiguration: TLSContext]>([:])

    static func context(for configuration: TLSClientConfiguration) throws(WebSocketError) -> TLSContext {
        if let known = contexts.withLock({ $0[configuration] }) { return known }
        let made: TLSContext
        do { made = try TLSContext(client: configuration) } catch { throw .tls(error) }
        contexts.withLock { cache in
            if cache.count >= capacity { cache.removeAll() }
            cache[configuration] = made
        }
        return made
    }
}
