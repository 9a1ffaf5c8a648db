// SPDX-License-Identifier: Apache-2.0
//
// The module's only door to the operating system: `Sys`, split by concern into
// Sys.swift (errno handling, the file-scope aliases), Sys+Sockets.swift, Sys+Addresses.swift,
// Sys+Poller.swift (epoll/kqueue, the eventfd waker) and Sys+Threads.swift (clock, threads,
// limits, CPUs). EINTR is retried and EAGAIN turned into `nil` in one place (`retrying`); every
// other failure becomes a `SystemError` carrying errno and the operation's name. Only these files
// import the C library.

#if canImport(Glibc)
import Glibc
import CWSPosixShims
#elseif canImport(Musl)
import Musl
import CWSPosixShims
#elseif canImport(Darwin)
import Darwin
#else
#error("WSPosixIO supports Linux (Glibc, Musl) and Darwin")
#endif

/// The module's only door to the operating system. Internal: callers use the typed wrappers
/// (``Socket``, ``Poller``, `MonotonicClock`, ``Resolver``).
enum Sys {
    // MARK: errno handling (the one place)

    /// Runs `body` until it is not interrupted (EINTR). Returns the result, `nil` on EAGAIN /
    /// EWOULDBLOCK (the call would block on a non-blocking descriptor), or throws.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ operation: StaticString, _ body: () -> T) throws(SystemError) -> T? {
        while true {
            let result = body()
            // `T(0)`-typed zero: `>= 0` picked the mixed-type comparison, which called `Int`'s
            // `<` through its protocol witness on every read and write.
            if result >= (0 as T) { return result }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            throw SystemError(errno: code, operation: String(describing: operation))
        }
    }

    /// As ``retrying(_:_:)`` for calls that never legitimately return EAGAIN.
    @inline(__always)
    static func check<T: BinaryInteger>(_ operation: StaticString, _ body: () -> T) throws(SystemError) -> T {
        guard let r = try retrying(operation, body) else {
            throw SystemError(errno: EAGAIN, operation: String(describing: operation))
        }
        return r
    }

    static func errorDescription(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// `EINVAL`, for an argument refused before any system call (an event loop group of no thread).
    static var invalidArgument: Int32 { EINVAL }

    /// How an errno maps onto the application's error list (Tufao's).
    static func classify(_ code: Int32) -> SystemError.Kind {
        switch code {
        case ECONNREFUSED: return .connectionRefused
        case ECONNRESET, EPIPE, ECONNABORTED: return .remoteHostClosed
        case EACCES, EPERM: return .accessDenied
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .outOfResources
        case ETIMEDOUT: return .timedOut
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN, EADDRNOTAVAIL, EHOSTDOWN, ENETRESET: return .unreachable
        case EADDRINUSE: return .addressInUse
        case EAFNOSUPPORT, EPROTONOSUPPORT, EOPNOTSUPP, ESOCKTNOSUPPORT, EPFNOSUPPORT, EINVAL: return .unsupported
        default: return .other
        }
    }
}

// File-scope aliases: inside `Sys` the short names would resolve to its own members.
@inline(__always) func sysSocket(_ d: Int32, _ t: Int32) -> Int32 { socket(d, t, 0) }
@inline(__always) func sysBind(_ fd: Int32, _ sa: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 { bind(fd, sa, len) }
@inline(__always) func sysListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
@inline(__always) func sysConnect(_ fd: Int32, _ sa: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 { connect(fd, sa, len) }
#if canImport(Darwin)
@inline(__always) func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { read(fd, p, n) }
@inline(__always) func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int { write(fd, p, n) }
@inline(__always) func sysSend(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int, _ flags: Int32) -> Int { send(fd, p, n, flags) }
@inline(__always) func sysSendmsg(_ fd: Int32, _ m: UnsafePointer<msghdr>, _ flags: Int32) -> Int { sendmsg(fd, m, flags) }
#else
// Plain system calls, not glibc's cancellation-point wrappers (see CWSPosixShims.h).
@inline(__always) func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { cwsposix_read(fd, p, n) }
@inline(__always) func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int { cwsposix_write(fd, p, n) }
@inline(__always) func sysSend(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int, _ flags: Int32) -> Int { cwsposix_send(fd, p, n, flags) }
@inline(__always) func sysSendmsg(_ fd: Int32, _ m: UnsafePointer<msghdr>, _ flags: Int32) -> Int { cwsposix_sendmsg(fd, m, flags) }
#endif
@inline(__always) func sysShutdown(_ fd: Int32, _ how: Int32) -> Int32 { shutdown(fd, how) }
@inline(__always) func sysClose(_ fd: Int32) -> Int32 { close(fd) }
#if canImport(Darwin)
@inline(__always) func sysAccept(_ fd: Int32) -> Int32 { accept(fd, nil, nil) }
#else
@inline(__always) func sysAccept(_ fd: Int32) -> Int32 {
    cwsposix_accept_nonblocking(fd)
}
#endif
