// SPDX-License-Identifier: Apache-2.0
//
// Sys: TCP sockets (create, options, bind/listen/accept/connect, read/write, shutdown, close).

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

extension Sys {
    static func socket(family: SocketAddress.Family) throws(SystemError) -> Int32 {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        #if canImport(Darwin)
        let fd = try check("socket") { sysSocket(domain, SOCK_STREAM) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
        #else
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try check("socket") { sysSocket(domain, type) }
        #endif
    }

    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) throws(SystemError) {
        var v = value
        _ = try check("setsockopt") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    static func setNoDelay(_ fd: Int32) throws(SystemError) { try setOption(fd, level: Int32(IPPROTO_TCP), name: Int32(TCP_NODELAY), value: 1) }
    static func setReuseAddress(_ fd: Int32) throws(SystemError) { try setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1) }
    static func setReceiveBufferSize(_ fd: Int32, _ bytes: Int32) throws(SystemError) {
        try setOption(fd, level: SOL_SOCKET, name: SO_RCVBUF, value: bytes)
    }
    static func setIPv6Only(_ fd: Int32) throws(SystemError) { try setOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1) }

    static func bind(_ fd: Int32, _ address: SocketAddress) throws(SystemError) {
        _ = try withSockaddr(address) { (sa, len) throws(SystemError) in
            try check("bind") { sysBind(fd, sa, len) }
        }
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(SystemError) {
        _ = try check("listen") { sysListen(fd, backlog) }
    }

    /// Accepts one connection as a non-blocking, close-on-exec descriptor; `nil` when none is pending.
    static func accept(_ fd: Int32) throws(SystemError) -> Int32? {
        #if canImport(Darwin)
        guard let c = try retrying("accept", { sysAccept(fd) }) else { return nil }
        _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
        _ = fcntl(c, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        _ = setsockopt(c, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        return c
        #else
        return try retrying("accept4") { sysAccept(fd) }
        #endif
    }

    /// Starts a non-blocking connect. Returns `true` when already connected, `false` when in
    /// progress (wait for writability, then read ``pendingError(_:)``).
    static func connect(_ fd: Int32, _ address: SocketAddress) throws(SystemError) -> Bool {
        let r: Int32 = try withSockaddr(address) { sa, len in sysConnect(fd, sa, len) }
        if r == 0 { return true }
        let code = errno
        if code == EINPROGRESS || code == EINTR { return false }
        throw SystemError(errno: code, operation: "connect")
    }

    /// The socket's pending error (SO_ERROR), 0 when none.
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0 { return errno }
        return value
    }

    /// Reads into `buffer`: the count (0 = end of stream), or `nil` when nothing is available.
    @inline(__always)
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        try retrying("read") { sysRead(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes from `buffer` without raising SIGPIPE: the count written, or `nil` when the socket
    /// buffer is full.
    @inline(__always)
    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        #if canImport(Darwin)
        try retrying("send") { sysSend(fd, buffer.baseAddress, buffer.count, 0) }
        #else
        try retrying("send") { sysSend(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
        #endif
    }

    /// Writes up to three buffers in order with one gathered call (as `writev`; empty ones are
    /// skipped) without raising SIGPIPE: the count written (it may end inside any buffer), or
    /// `nil` when the socket buffer is full.
    static func writev(_ fd: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
                       _ c: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        var vectors = (iovec(), iovec(), iovec())
        var count = 0
        return try withUnsafeMutableBytes(of: &vectors) { raw throws(SystemError) -> Int? in
            let iov = raw.bindMemory(to: iovec.self)
            func add(_ part: UnsafeRawBufferPointer) {
                guard part.count > 0 else { return }
                iov[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: part.baseAddress), iov_len: part.count)
                count += 1
            }
            add(a); add(b); add(c)
            var message = msghdr()
            message.msg_iov = iov.baseAddress
            #if canImport(Darwin)
            message.msg_iovlen = Int32(count)
            return try retrying("sendmsg") { sysSendmsg(fd, &message, 0) }
            #else
            message.msg_iovlen = count
            return try retrying("sendmsg") { sysSendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
            #endif
        }
    }

    static func shutdownWrite(_ fd: Int32) {
        _ = sysShutdown(fd, Int32(SHUT_WR))
    }

    /// Closes `fd`. Not retried on EINTR: on Linux the descriptor is released anyway.
    static func close(_ fd: Int32) {
        _ = sysClose(fd)
    }

    static func localAddress(_ fd: Int32) -> SocketAddress? { address(of: fd) { fd, sa, len in getsockname(fd, sa, len) } }
    static func peerAddress(_ fd: Int32) -> SocketAddress? { address(of: fd) { fd, sa, len in getpeername(fd, sa, len) } }
}
