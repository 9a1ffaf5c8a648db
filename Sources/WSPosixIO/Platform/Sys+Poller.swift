// SPDX-License-Identifier: Apache-2.0
//
// Sys: readiness (epoll on Linux, kqueue on Darwin) and the waker (eventfd on Linux, a pipe on Darwin).

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
    /// The most readiness records one wait returns.
    static let pollBatch = 256

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

    /// The kernel's readiness records for one wait, allocated once per loop thread.
    struct PollScratch: ~Copyable {
        let raw = UnsafeMutablePointer<kevent>.allocate(capacity: Sys.pollBatch)
        deinit { raw.deallocate() }
    }

    /// Waits for readiness (`-1`: no timeout); returns how many records `scratch` now holds
    /// (``pollEvent(_:_:)`` reads each).
    static func pollerWait(_ kq: Int32, scratch: borrowing PollScratch, timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        var ts = timespec(tv_sec: Int(timeoutMilliseconds / 1000), tv_nsec: Int(timeoutMilliseconds % 1000) * 1_000_000)
        let raw = scratch.raw
        let n = try check("kevent") {
            timeoutMilliseconds < 0 ? kevent(kq, nil, 0, raw, Int32(pollBatch), nil) : kevent(kq, nil, 0, raw, Int32(pollBatch), &ts)
        }
        return Int(n)
    }

    /// The `i`th record of the last wait.
    static func pollEvent(_ scratch: borrowing PollScratch, _ i: Int) -> PollEvent {
        let e = scratch.raw[i]
        let eof = e.flags & UInt16(EV_EOF) != 0 || e.flags & UInt16(EV_ERROR) != 0
        return PollEvent(fd: Int32(e.ident), readable: e.filter == Int16(EVFILT_READ) || eof,
                         writable: e.filter == Int16(EVFILT_WRITE), hangup: eof)
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

    /// The kernel's readiness records for one wait, allocated once per loop thread (3 KiB: a
    /// temporary allocation of that size per wait went to the heap, one malloc per loop round).
    struct PollScratch: ~Copyable {
        let raw = UnsafeMutablePointer<epoll_event>.allocate(capacity: Sys.pollBatch)
        deinit { raw.deallocate() }
    }

    /// Waits for readiness (`-1`: no timeout); returns how many records `scratch` now holds
    /// (``pollEvent(_:_:)`` reads each, in place: copying them into an array cost an append per
    /// record and a `removeAll` per wait). A plain system call, as the data path's reads and
    /// writes (see CWSPosixShims.h).
    static func pollerWait(_ ep: Int32, scratch: borrowing PollScratch, timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        let raw = scratch.raw
        guard let n = try retrying("epoll_wait", {
            cwsposix_epoll_wait(ep, raw, Int32(pollBatch), timeoutMilliseconds)
        }) else { return 0 }
        return n
    }

    /// The `i`th record of the last wait.
    @inline(__always)
    static func pollEvent(_ scratch: borrowing PollScratch, _ i: Int) -> PollEvent {
        let flags = scratch.raw[i].events
        let hangup = flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        return PollEvent(fd: scratch.raw[i].data.fd,
                         readable: flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 || hangup,
                         writable: flags & EPOLLOUT.rawValue != 0, hangup: hangup)
    }

    /// A wakeup channel: one eventfd serves as both ends.
    static func wakerCreate() throws(SystemError) -> (read: Int32, write: Int32) {
        let fd = try check("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
        return (fd, fd)
    }

    static func wakerSignal(_ writeEnd: Int32) { var one: UInt64 = 1; _ = sysWrite(writeEnd, &one, 8) }
    static func wakerDrain(_ readEnd: Int32) { var value: UInt64 = 0; _ = sysRead(readEnd, &value, 8) }

    /// The loop's timer: a timerfd, so that the loop waits without a timeout (a finite
    /// `epoll_wait` timeout arms and cancels a kernel timer on every wait that sleeps; measured
    /// on one 32 B ping-pong connection: about 1 µs of server CPU per message).
    static func timerCreate() throws(SystemError) -> Int32 { try check("timerfd_create") { cwsposix_timer_create() } }
    /// Expires once at `deadline` (at once if it has passed).
    static func timerArm(_ fd: Int32, atNanoseconds deadline: UInt64) { _ = cwsposix_timer_arm(fd, deadline) }
    static func timerDrain(_ fd: Int32) { var count: UInt64 = 0; _ = sysRead(fd, &count, 8) }
    #endif
}
