// SPDX-License-Identifier: Apache-2.0
//
// Every system call of the module lives in this file, behind the one platform import block.
// EINTR is retried and EAGAIN turned into `nil` in one place (`retrying`); every other failure
// becomes a `SystemError` carrying errno and the operation's name.

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
/// (``Socket``, ``Poller``, ``MonotonicClock``, ``Resolver``).
enum Sys {
    // MARK: errno handling (the one place)

    /// Runs `body` until it is not interrupted (EINTR). Returns the result, `nil` on EAGAIN /
    /// EWOULDBLOCK (the call would block on a non-blocking descriptor), or throws.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ operation: StaticString, _ body: () -> T) throws(SystemError) -> T? {
        while true {
            let result = body()
            if result >= 0 { return result }
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

    // MARK: sockets

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

    // MARK: addresses

    private static func address(of fd: Int32,
                                _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &len) }
        }
        guard r == 0 else { return nil }
        return socketAddress(from: &storage)
    }

    private static func socketAddress(from storage: UnsafeMutablePointer<sockaddr_storage>) -> SocketAddress? {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            return storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                var raw = [UInt8](repeating: 0, count: 4)
                withUnsafeBytes(of: p.pointee.sin_addr) { src in for i in 0..<4 { raw[i] = src[i] } }
                return SocketAddress(family: .ipv4, bytes: raw, port: UInt16(bigEndian: p.pointee.sin_port), scopeID: 0)
            }
        case AF_INET6:
            return storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                var raw = [UInt8](repeating: 0, count: 16)
                withUnsafeBytes(of: p.pointee.sin6_addr) { src in for i in 0..<16 { raw[i] = src[i] } }
                return SocketAddress(family: .ipv6, bytes: raw, port: UInt16(bigEndian: p.pointee.sin6_port),
                                     scopeID: p.pointee.sin6_scope_id)
            }
        default:
            return nil
        }
    }

    private static func withSockaddr<R>(_ address: SocketAddress,
                                        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R) throws(SystemError) -> R {
        switch address.family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            #if canImport(Darwin)
            sin.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
            #endif
            sin.sin_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { dst in for i in 0..<4 { dst[i] = address.bytes[i] } }
            return try withUnsafePointer(to: &sin) { (p) throws(SystemError) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> R in
                    try body(sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            #if canImport(Darwin)
            sin6.sin6_len = UInt8(MemoryLayout<sockaddr_in6>.size)
            #endif
            sin6.sin6_port = address.port.bigEndian
            sin6.sin6_scope_id = address.scopeID
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { dst in for i in 0..<16 { dst[i] = address.bytes[i] } }
            return try withUnsafePointer(to: &sin6) { (p) throws(SystemError) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(SystemError) -> R in
                    try body(sa, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Parses a numeric IPv4 or IPv6 address (no brackets, optional `%scope` not supported).
    static func parseNumericAddress(_ text: String, port: UInt16) -> SocketAddress? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let raw = withUnsafeBytes(of: v4) { Array($0) }
            return SocketAddress(family: .ipv4, bytes: raw, port: port, scopeID: 0)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let raw = withUnsafeBytes(of: v6) { Array($0) }
            return SocketAddress(family: .ipv6, bytes: raw, port: port, scopeID: 0)
        }
        return nil
    }

    /// The numeric text form of an address (inet_ntop).
    static func formatAddress(_ address: SocketAddress) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let ok = address.bytes.withUnsafeBytes { src in
            inet_ntop(family, src.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Resolves `host` with getaddrinfo (blocking: call it off the event loop). Returns the
    /// addresses in the resolver's order, or the resolver's message when there are none.
    static func resolve(host: String, port: UInt16) -> Result<[SocketAddress], ResolveFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let message = rc == EAI_SYSTEM ? errorDescription(errno) : String(cString: gai_strerror(rc))
            return .failure(ResolveFailure(message: message))
        }
        defer { freeaddrinfo(first) }
        var result: [SocketAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node {
            if let sa = n.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: min(Int(n.pointee.ai_addrlen), dst.count)))
                }
                if let address = socketAddress(from: &storage), !result.contains(address) { result.append(address) }
            }
            node = n.pointee.ai_next
        }
        return result.isEmpty ? .failure(ResolveFailure(message: "no addresses")) : .success(result)
    }

    struct ResolveFailure: Error { var message: String }

    // MARK: clock, threads, limits

    /// CLOCK_MONOTONIC in nanoseconds.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func processorCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// An identifier of the calling thread, comparable with `==`.
    @inline(__always)
    static func currentThread() -> UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }

    /// The values of the named environment variables that are set (for the proxy settings).
    static func environment(_ names: [String]) -> [String: String] {
        var values: [String: String] = [:]
        for name in names {
            if let raw = getenv(name) { values[name] = String(cString: raw) }
        }
        return values
    }

    private final class ThreadBody { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }

    /// Starts a detached OS thread running `body`.
    static func spawnThread(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        #if canImport(Darwin)
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue().run()
            return nil
        }, box)
        #else
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box)
        #endif
        precondition(rc == 0, "pthread_create failed: \(rc)")
        #if canImport(Darwin)
        pthread_detach(thread!)
        #else
        pthread_detach(thread)
        #endif
    }

    /// The soft and hard limits on open file descriptors (RLIMIT_NOFILE).
    static func openFileLimit() -> (soft: UInt64, hard: UInt64) {
        var rl = rlimit()
        getrlimit(openFilesResource, &rl)
        return (UInt64(rl.rlim_cur), UInt64(rl.rlim_max))
    }

    static func setOpenFileLimit(soft: UInt64) throws(SystemError) {
        var rl = rlimit()
        getrlimit(openFilesResource, &rl)
        rl.rlim_cur = rlim_t(soft)
        _ = try check("setrlimit") { setrlimit(openFilesResource, &rl) }
    }
}

#if canImport(Darwin)
private let openFilesResource = RLIMIT_NOFILE
#else
private let openFilesResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif

// MARK: readiness (epoll on Linux, kqueue on Darwin)

extension Sys {
    #if canImport(Darwin)
    // kqueue sketch: compiled on Darwin only; Linux is the supported, tested platform.
    static func pollerCreate() throws(SystemError) -> Int32 { try check("kqueue") { kqueue() } }

    static func pollerSet(_ kq: Int32, fd: Int32, read: Bool, write: Bool, isNew: Bool) throws(SystemError) {
        var changes = [
            kevent(ident: UInt(fd), filter: Int16(EVFILT_READ), flags: UInt16(EV_ADD | (read ? EV_ENABLE : EV_DISABLE)),
                   fflags: 0, data: 0, udata: nil),
            kevent(ident: UInt(fd), filter: Int16(EVFILT_WRITE), flags: UInt16(EV_ADD | (write ? EV_ENABLE : EV_DISABLE)),
                   fflags: 0, data: 0, udata: nil),
        ]
        _ = try check("kevent") { kevent(kq, &changes, 2, nil, 0, nil) }
    }

    static func pollerRemove(_ kq: Int32, fd: Int32) {
        var changes = [
            kevent(ident: UInt(fd), filter: Int16(EVFILT_READ), flags: UInt16(EV_DELETE), fflags: 0, data: 0, udata: nil),
            kevent(ident: UInt(fd), filter: Int16(EVFILT_WRITE), flags: UInt16(EV_DELETE), fflags: 0, data: 0, udata: nil),
        ]
        _ = kevent(kq, &changes, 2, nil, 0, nil)
    }

    static func pollerWait(_ kq: Int32, into events: inout [PollEvent], timeoutMilliseconds: Int32) throws(SystemError) {
        events.removeAll(keepingCapacity: true)
        var raw = [kevent](repeating: kevent(), count: 256)
        var ts = timespec(tv_sec: Int(timeoutMilliseconds / 1000), tv_nsec: Int(timeoutMilliseconds % 1000) * 1_000_000)
        let n = try check("kevent") {
            timeoutMilliseconds < 0 ? kevent(kq, nil, 0, &raw, 256, nil) : kevent(kq, nil, 0, &raw, 256, &ts)
        }
        for e in raw.prefix(Int(n)) {
            let fd = Int32(e.ident)
            let eof = e.flags & UInt16(EV_EOF) != 0 || e.flags & UInt16(EV_ERROR) != 0
            events.append(PollEvent(fd: fd, readable: e.filter == Int16(EVFILT_READ) || eof,
                                    writable: e.filter == Int16(EVFILT_WRITE), hangup: eof))
        }
    }

    /// A wakeup channel: a pipe whose read end the poller watches. Returns (read end, write end).
    static func wakerCreate() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        _ = try check("pipe") { pipe(&fds) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        return (fds[0], fds[1])
    }

    static func wakerSignal(_ writeEnd: Int32) {
        var one: UInt8 = 1
        _ = sysWrite(writeEnd, &one, 1)
    }

    static func wakerDrain(_ readEnd: Int32) {
        var sink = [UInt8](repeating: 0, count: 64)
        while sysRead(readEnd, &sink, 64) > 0 {}
    }
    #else
    static func pollerCreate() throws(SystemError) -> Int32 {
        try check("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    /// Registers `fd` (`isNew`) or changes its interest. Level-triggered.
    static func pollerSet(_ ep: Int32, fd: Int32, read: Bool, write: Bool, isNew: Bool) throws(SystemError) {
        var ev = epoll_event()
        // EPOLLRDHUP only with read interest: it is level-triggered and would spin while reading is paused.
        ev.events = (read ? EPOLLIN.rawValue | EPOLLRDHUP.rawValue : 0) | (write ? EPOLLOUT.rawValue : 0)
        ev.data.fd = fd
        _ = try check("epoll_ctl") { epoll_ctl(ep, isNew ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) }
    }

    static func pollerRemove(_ ep: Int32, fd: Int32) {
        var ev = epoll_event()
        _ = epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev)
    }

    /// Waits for readiness (`-1`: no timeout) and replaces `events` with what is ready.
    static func pollerWait(_ ep: Int32, into events: inout [PollEvent], timeoutMilliseconds: Int32) throws(SystemError) {
        events.removeAll(keepingCapacity: true)
        try withUnsafeTemporaryAllocation(of: epoll_event.self, capacity: 256) { (raw) throws(SystemError) in
            guard let n = try retrying("epoll_wait", { epoll_wait(ep, raw.baseAddress, 256, timeoutMilliseconds) }) else { return }
            for i in 0..<Int(n) {
                let flags = raw[i].events
                let hangup = flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
                events.append(PollEvent(fd: raw[i].data.fd,
                                        readable: flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 || hangup,
                                        writable: flags & EPOLLOUT.rawValue != 0, hangup: hangup))
            }
        }
    }

    /// A wakeup channel: one eventfd serves as both ends.
    static func wakerCreate() throws(SystemError) -> (read: Int32, write: Int32) {
        let fd = try check("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
        return (fd, fd)
    }

    static func wakerSignal(_ writeEnd: Int32) { var one: UInt64 = 1; _ = sysWrite(writeEnd, &one, 8) }
    static func wakerDrain(_ readEnd: Int32) { var value: UInt64 = 0; _ = sysRead(readEnd, &value, 8) }
    #endif
}

// File-scope aliases: inside `Sys` the short names would resolve to its own members.
@inline(__always) private func sysSocket(_ d: Int32, _ t: Int32) -> Int32 { socket(d, t, 0) }
@inline(__always) private func sysBind(_ fd: Int32, _ sa: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 { bind(fd, sa, len) }
@inline(__always) private func sysListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
@inline(__always) private func sysConnect(_ fd: Int32, _ sa: UnsafePointer<sockaddr>, _ len: socklen_t) -> Int32 { connect(fd, sa, len) }
@inline(__always) private func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { read(fd, p, n) }
@inline(__always) private func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int { write(fd, p, n) }
@inline(__always) private func sysSend(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int, _ flags: Int32) -> Int { send(fd, p, n, flags) }
@inline(__always) private func sysSendmsg(_ fd: Int32, _ m: UnsafePointer<msghdr>, _ flags: Int32) -> Int { sendmsg(fd, m, flags) }
@inline(__always) private func sysShutdown(_ fd: Int32, _ how: Int32) -> Int32 { shutdown(fd, how) }
@inline(__always) private func sysClose(_ fd: Int32) -> Int32 { close(fd) }
#if canImport(Darwin)
@inline(__always) private func sysAccept(_ fd: Int32) -> Int32 { accept(fd, nil, nil) }
#else
@inline(__always) private func sysAccept(_ fd: Int32) -> Int32 {
    cwsposix_accept_nonblocking(fd)
}
#endif

#if WS_PTHREAD_LOCK
/// A pthread mutex, which ThreadSanitizer understands (it does not see `Synchronization.Mutex`
/// on Linux). Build with `-Xswiftc -DWS_PTHREAD_LOCK --sanitize=thread` to check the driver.
final class Lock<Value: ~Copyable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value
    init(_ value: consuming Value) { self.value = value; pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#endif
