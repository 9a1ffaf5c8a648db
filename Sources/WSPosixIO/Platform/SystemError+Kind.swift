// SPDX-License-Identifier: Apache-2.0

extension SystemError {
    /// The broad class of a failure, as the application's error list names them.
    public enum Kind: Hashable, Sendable {
        case connectionRefused
        case remoteHostClosed
        case accessDenied
        case outOfResources
        case timedOut
        case unreachable
        case addressInUse
        /// The system cannot do this (address family or operation not supported, or an
        /// address this socket cannot use).
        case unsupported
        /// Anything else.
        case other
    }

    /// The broad class of this failure.
    public var kind: Kind { Sys.classify(errno) }
}
