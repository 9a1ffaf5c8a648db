// SPDX-License-Identifier: Apache-2.0
//
// The Swift floor for the end-to-end rows: what the optimised C floor (C/echo_server_fast.c)
// does, written in Swift, to tell what the language and its concurrency runtime cost per
// message apart from what our library costs. Same wire work as c-fast (the opening handshake,
// masked frames unmasked in place, UTF-8 checks of single-frame text, each data frame echoed
// unmasked, pings answered, closes echoed; no extensions, no aggregation), same shape (one
// thread, edge-triggered epoll, reads until EAGAIN into one shared 256 KiB buffer, one writev
// per read with the payloads straight from the buffer, unsafe pointers, no allocation per
// message). Two modes:
//   - `sync`: each readiness is answered on the loop thread (the C floor in Swift);
//   - `async`: one task per connection (`Task(executorPreference:)` on the loop, as
//     WSPosixIO's server runs handlers); the loop resumes the connection's task, which reads
//     and answers, then waits again on a continuation: the least Swift concurrency's one task
//     per connection costs per message.
// Not a WebSocket server for anything else: protocol errors just close.
//
// Usage: SwiftFloor [sync|async] PORT
import CFloorShims
import Glibc
import Synchronization
@_spi(Testing) import WSProtocol  // AcceptKey only: the handshake is not in the measured rows

let bufferSize = 256 * 1024
let maxFrame = 64 << 20
let headLimit = 8192
let pendingLimit = 1 << 20
let maxIOV = 1024

final class Conn {
    let fd: Int32
    var upgraded = false
    var closing = false
    var readBlocked = false
    var rest: [UInt8] = []          // an incomplete frame (or head) kept between reads
    var out: [UInt8] = []           // output the socket did not take yet
    var outOffset = 0
    // async mode
    var waiter: UnsafeContinuation<Bool, Never>?
    var readable = false
    var writable = false
    var dead = false
    init(fd: Int32) { self.fd = fd }
}

/// The shared per-loop state (loop thread only).
final class Floor: @unchecked Sendable {
    var buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
    var capacity = bufferSize
    let iov = UnsafeMutablePointer<iovec>.allocate(capacity: maxIOV)
    let heads = UnsafeMutablePointer<UInt8>.allocate(capacity: maxIOV * 10)
    var niov = 0
    var nheads = 0
    var need = 0
    var reply = [UInt8]()

    @inline(__always) func emit(_ p: UnsafeRawPointer, _ n: Int) {
        iov[niov] = iovec(iov_base: UnsafeMutableRawPointer(mutating: p), iov_len: n)
        niov += 1
    }

    @inline(__always) func emitHead(_ first: UInt8, _ len: Int) {
        let h = heads + nheads * 10
        nheads += 1
        var k = 0
        h[k] = first; k += 1
        if len < 126 {
            h[k] = UInt8(len); k += 1
        } else if len < 65536 {
            h[k] = 126; h[k + 1] = UInt8(len >> 8); h[k + 2] = UInt8(len & 0xFF); k += 3
        } else {
            h[k] = 127; k += 1
            for s in stride(from: 56, through: 0, by: -8) { h[k] = UInt8((len >> s) & 0xFF); k += 1 }
        }
        emit(h, k)
    }

    /// XOR with the 4-byte key, in place, 32 bytes per step.
    @inline(__always) func unmask(_ p: UnsafeMutableRawPointer, _ n: Int, _ key: UnsafeRawPointer) {
        let k32 = UInt64(key.loadUnaligned(as: UInt32.self))
        let k = k32 << 32 | k32
        var i = 0
        while i + 32 <= n {
            let q = p + i
            q.storeBytes(of: q.loadUnaligned(as: UInt64.self) ^ k, as: UInt64.self)
            (q + 8).storeBytes(of: (q + 8).loadUnaligned(as: UInt64.self) ^ k, as: UInt64.self)
            (q + 16).storeBytes(of: (q + 16).loadUnaligned(as: UInt64.self) ^ k, as: UInt64.self)
            (q + 24).storeBytes(of: (q + 24).loadUnaligned(as: UInt64.self) ^ k, as: UInt64.self)
            i += 32
        }
        while i + 8 <= n {
            (p + i).storeBytes(of: (p + i).loadUnaligned(as: UInt64.self) ^ k, as: UInt64.self)
            i += 8
        }
        let kb = key.assumingMemoryBound(to: UInt8.self)
        let b = p.assumingMemoryBound(to: UInt8.self)
        while i < n { b[i] ^= kb[i & 3]; i += 1 }
    }

    /// UTF-8 (RFC 3629): whole 32-byte ASCII blocks skipped, the rest checked byte by byte.
    func textValid(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        var i = 0
        while i + 32 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self) | p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                | p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) | p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            if w & 0x8080_8080_8080_8080 != 0 { break }
            i += 32
        }
        let b = p.assumingMemoryBound(to: UInt8.self)
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let len: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: len = 2
            case 0xE0: len = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: len = 3
            case 0xED: len = 3; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4: len = 4; hi = 0x8F
            default: return false
            }
            if i + len > n { return false }
            if b[i + 1] < lo || b[i + 1] > hi { return false }
            for j in 2..<len where b[i + j] & 0xC0 != 0x80 { return false }
            i += len
        }
        return true
    }

    /// The opening handshake from head[0..<n): 0 when incomplete, -1 to drop, else bytes used.
    func upgrade(_ c: Conn, _ head: UnsafeRawPointer, _ n: Int) -> Int {
        let bytes = UnsafeRawBufferPointer(start: head, count: n)
        var end = -1
        if n >= 4 { for i in 0...(n - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { end = i; break } }
        if end < 0 { return n > headLimit ? -1 : 0 }
        guard let text = String(validating: bytes[0..<end], as: UTF8.self) else { return -1 }
        var key: Substring?
        for line in text.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == "sec-websocket-key" {
                key = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
            }
        }
        guard let key, !key.isEmpty else { return -1 }
        reply = Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(AcceptKey.accept(forKey: String(key)))\r\n\r\n").utf8)
        reply.withUnsafeBytes { emit($0.baseAddress!, $0.count) }
        c.upgraded = true
        return end + 4
    }

    /// Answers the whole frames in p[0..<n), payloads unmasked in place and queued from there.
    func answer(_ c: Conn, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
        let b = p.assumingMemoryBound(to: UInt8.self)
        var at = 0
        while !c.closing && n - at >= 2 && niov + 2 <= maxIOV {
            let b0 = b[at], b1 = b[at + 1]
            if b1 & 0x80 == 0 || b0 & 0x70 != 0 { return -1 }
            var len = Int(b1 & 0x7F)
            var hl = 2
            if len == 126 {
                if n - at < 4 { break }
                len = Int(b[at + 2]) << 8 | Int(b[at + 3]); hl = 4
            } else if len == 127 {
                if n - at < 10 { break }
                var v: UInt64 = 0
                for i in 2..<10 { v = v << 8 | UInt64(b[at + i]) }
                if v > UInt64(maxFrame) { return -1 }
                len = Int(v); hl = 10
            }
            if len > maxFrame { return -1 }
            if n - at < hl + 4 + len {
                if hl + 4 + len > capacity { need = hl + 4 + len }
                break
            }
            let op = b0 & 0x0F
            let payload = p + at + hl + 4
            if op >= 0x8 && (len > 125 || b0 & 0x80 == 0) { return -1 }
            unmask(payload, len, p + at + hl)
            if op <= 0x2 {
                if op == 0x1 && b0 & 0x80 != 0 && !textValid(payload, len) { return -1 }
                emitHead(b0, len)
                if len > 0 { emit(payload, len) }
            } else if op == 0x9 {
                emitHead(0x8A, len)
                if len > 0 { emit(payload, len) }
            } else if op == 0x8 {
                emitHead(0x88, len >= 2 ? 2 : 0)
                if len >= 2 { emit(payload, 2) }
                c.closing = true
            } else if op != 0xA {
                return -1
            }
            at += hl + 4 + len
        }
        return at
    }

    /// Keeps bytes the socket did not take, after what is already pending.
    func keep(_ c: Conn, _ p: UnsafeRawPointer, _ n: Int) {
        c.out.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
    }

    /// Sends the queued pieces: one writev when nothing is pending, whatever is left kept.
    func sendQueued(_ c: Conn) -> Bool {
        var first = 0
        if c.out.count == c.outOffset {
            while first < niov {
                let w = writev(c.fd, iov + first, Int32(min(niov - first, 1024)))
                if w < 0 && errno == EINTR { continue }
                if w < 0 && errno == EAGAIN { break }
                if w < 0 { niov = 0; nheads = 0; return false }
                var left = w
                while first < niov && left >= iov[first].iov_len { left -= iov[first].iov_len; first += 1 }
                if first < niov {
                    iov[first].iov_base = iov[first].iov_base + left
                    iov[first].iov_len -= left
                }
            }
        }
        for i in first..<max(first, niov) { keep(c, iov[i].iov_base!, iov[i].iov_len) }
        niov = 0
        nheads = 0
        return true
    }

    /// Writes pending output: 1 when all went out, 0 when the socket is full, -1 when dead.
    func drain(_ c: Conn) -> Int {
        while c.outOffset < c.out.count {
            let w = c.out.withUnsafeBytes { write(c.fd, $0.baseAddress! + c.outOffset, $0.count - c.outOffset) }
            if w > 0 { c.outOffset += w; continue }
            if w < 0 && errno == EINTR { continue }
            if w < 0 && errno == EAGAIN { return 0 }
            return -1
        }
        c.out.removeAll(keepingCapacity: c.out.capacity <= bufferSize)
        c.outOffset = 0
        return 1
    }

    /// Reads until EAGAIN (or until the pending output is too large), answering as it goes.
    /// Returns false when the connection must be dropped.
    func onReadable(_ c: Conn) -> Bool {
        var have = 0
        if !c.rest.isEmpty {
            if c.rest.count > capacity { grow(c.rest.count + bufferSize) }
            c.rest.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            have = c.rest.count
            c.rest.removeAll()
        }
        var eof = false
        while true {
            if have < capacity {
                let r = read(c.fd, buffer + have, capacity - have)
                if r < 0 && errno == EINTR { continue }
                if r < 0 && errno != EAGAIN { return false }
                if r == 0 { eof = true }
                if r > 0 { have += r }
            }
            var used = 0
            while true {
                if !c.upgraded {
                    let h = upgrade(c, buffer + used, have - used)
                    if h < 0 { return false }
                    used += h
                }
                let f = c.upgraded ? answer(c, buffer + used, have - used) : 0
                if f < 0 { return false }
                used += f
                if !sendQueued(c) { return false }
                if f == 0 || c.closing || have - used < 2 { break }
            }
            niov = 0
            nheads = 0
            if c.closing { return c.out.count > c.outOffset }  // the close echo still going out: drop after it
            if used < have {
                if used > 0 { (buffer).copyMemory(from: buffer + used, byteCount: have - used) }
                have -= used
            } else {
                have = 0
            }
            if need > 0 && have > 0 {
                grow(need)
                need = 0
            }
            if eof {
                return false
            }
            if c.out.count - c.outOffset > pendingLimit {
                c.readBlocked = true
                break
            }
            if have == capacity { continue }
            // Read until EAGAIN: the loop above returns on it only through `r < 0`.
            let r = read(c.fd, buffer + have, capacity - have)
            if r > 0 { have += r; continue }
            if r == 0 { eof = true; continue }
            if errno == EINTR { continue }
            if errno != EAGAIN { return false }
            break
        }
        if have > 0 { c.rest = Array(UnsafeRawBufferPointer(start: buffer, count: have)) }
        return true
    }

    func grow(_ size: Int) {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        bigger.copyMemory(from: buffer, byteCount: capacity)
        buffer.deallocate()
        buffer = bigger
        capacity = size
    }

    /// EPOLLOUT: write what is pending; read on if reading was held back.
    func onWritable(_ c: Conn) -> Bool {
        let d = drain(c)
        if d < 0 { return false }
        if d == 1 && c.closing { return false }
        if d == 1 && c.readBlocked {
            c.readBlocked = false
            return onReadable(c)
        }
        return true
    }
}

/// The loop thread: epoll, and a task executor running the connections' tasks on it.
final class Loop: TaskExecutor, @unchecked Sendable {
    let ep = epoll_create1(Int32(EPOLL_CLOEXEC))
    let wake = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
    let floor = Floor()
    var conns: [Conn?] = []
    var localJobs: [UnownedJob] = []
    var running: [UnownedJob] = []
    let remote = Mutex<[UnownedJob]>([])
    let thread = Atomic<UInt>(0)
    let async: Bool
    let listener: Int32

    init(listener: Int32, async: Bool) {
        self.listener = listener
        self.async = async
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.fd = listener
        epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev)
        var wev = epoll_event()
        wev.events = EPOLLIN.rawValue
        wev.data.fd = wake
        epoll_ctl(ep, EPOLL_CTL_ADD, wake, &wev)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if thread.load(ordering: .relaxed) == UInt(pthread_self()) {
            localJobs.append(job)
        } else {
            remote.withLock { $0.append(job) }
            var one: UInt64 = 1
            _ = write(wake, &one, 8)
        }
    }

    func runLocal() {
        while !localJobs.isEmpty {
            swap(&localJobs, &running)
            for job in running { job.runSynchronously(on: asUnownedTaskExecutor()) }
            running.removeAll(keepingCapacity: true)
        }
    }

    func drop(_ c: Conn) {
        if c.dead { return }
        c.dead = true
        close(c.fd)
        conns[Int(c.fd)] = nil
        if let w = c.waiter { c.waiter = nil; w.resume(returning: false) }
    }

    func accepted(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let c = Conn(fd: fd)
        if Int(fd) >= conns.count { conns.append(contentsOf: repeatElement(nil, count: Int(fd) + 64 - conns.count)) }
        conns[Int(fd)] = c
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLET.rawValue
        ev.data.fd = fd
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)
        if async {
            let floor = self.floor
            Task(executorPreference: self) { [self] in
                // The connection's task: wait for readiness, then read and answer on this thread.
                while await withUnsafeContinuation({ (k: UnsafeContinuation<Bool, Never>) in
                    if c.dead { k.resume(returning: false) } else if c.readable || c.writable { k.resume(returning: true) } else { c.waiter = k }
                }) {
                    let r = c.readable, w = c.writable
                    c.readable = false
                    c.writable = false
                    if w && !floor.onWritable(c) { drop(c); break }
                    if r && !c.readBlocked && !floor.onReadable(c) { drop(c); break }
                }
            }
        }
    }

    func run() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 256)
        while true {
            let n = epoll_wait(ep, events, 256, localJobs.isEmpty ? -1 : 0)
            if n < 0 { if errno == EINTR { continue }; fatalError("epoll_wait") }
            for i in 0..<Int(n) {
                let fd = events[i].data.fd
                let flags = events[i].events
                if fd == listener {
                    while true {
                        let s = floor_accept(listener)
                        if s < 0 { break }
                        accepted(s)
                    }
                } else if fd == wake {
                    var v: UInt64 = 0
                    _ = read(wake, &v, 8)
                    let jobs = remote.withLock { j -> [UnownedJob] in defer { j.removeAll() }; return j }
                    for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
                } else if Int(fd) < conns.count, let c = conns[Int(fd)] {
                    let readable = flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0
                    let writable = flags & EPOLLOUT.rawValue != 0
                    if async {
                        c.readable = c.readable || readable
                        c.writable = c.writable || writable
                        if let w = c.waiter { c.waiter = nil; w.resume(returning: true) }
                        // The task this woke runs now, as WSPosixIO's loop does.
                        if !localJobs.isEmpty { runLocal() }
                    } else {
                        if writable && !floor.onWritable(c) { drop(c); continue }
                        if readable && !c.readBlocked && !floor.onReadable(c) { drop(c) }
                    }
                }
            }
            runLocal()
        }
    }
}

var mode = "sync"
var port: UInt16 = 9006
for argument in CommandLine.arguments.dropFirst() {
    if argument == "sync" || argument == "async" { mode = argument } else if let p = UInt16(argument) { port = p } else {
        floor_fail("usage: SwiftFloor [sync|async] PORT\n")
        exit(2)
    }
}
signal(SIGPIPE, SIG_IGN)
let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
var yes: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_port = port.bigEndian
address.sin_addr.s_addr = inet_addr("127.0.0.1")
let bound = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
}
if bound != 0 || listen(listener, 4096) != 0 {
    floor_fail("SwiftFloor: cannot listen on 127.0.0.1:\(port)\n")
    exit(1)
}
print("listening on 127.0.0.1:\(port) (\(mode))")
Loop(listener: listener, async: mode == "async").run()
