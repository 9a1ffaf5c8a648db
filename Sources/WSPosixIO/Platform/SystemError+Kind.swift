// SPDX-License-Identifier: Apache-2.0

extension SystemError {
    /// The broad class of a failure, as the application's error list names them.
    public enum Kind: Hashable, Sendable {
        /// Nothing listens at the address (`ECONNREFUSED`).
        case connectionRefused
        /// The peer reset or aborted the connection (`ECONNRESET`, `EPIPE`, `ECONNABORTED`).
        case remoteHostClosed
        /// Not permitted (`EACCES`, `EPERM`), e.g. binding a port below 1024 unprivileged.
        case accessDenied
        /// Out of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`).
        case outOfResources
        /// The system's own timeout expired (`ETIMEDOUT`).
        case timedOut
        /// No route to the host or network, or the address is not available here
        /// (`EHOSTUNREACH`, `ENETUNREACH`, `ENETDOWN`, `EADDRNOTAVAIL`, `EHOSTDOWN`, `ENETRESET`).
        case unreachable
        /// The address and port are already bound (`EADDRINUSE`).
        case addressInUse
        /// The system cannot do this (address family or operation not supported, or an
        /// address this socket cannot use: `EAFNOSUPPORT`, `EPROTONOSUPPORT`, `EOPNOTSUPP`,
        /// `ESOCKTNOSUPPORT`, `EPFNOSUPPORT`, `EINVAL`).
        case unsupported
        /// Anything else.
        case other
    }

    /// The broad class of this failure.
    public var kind: Kind { Sys.classify(errno) }
}
