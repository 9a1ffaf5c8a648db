// SPDX-License-Identifier: Apache-2.0

/// Which end of the connection this machine plays (RFC 6455 §5.1: clients mask, servers don't).
public enum Role: Hashable, Sendable {
    case client
    case server
}
