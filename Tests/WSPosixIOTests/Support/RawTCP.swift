// SPDX-License-Identifier: Apache-2.0
@testable import WSPosixIO
import WSProtocol

/// A bare TCP peer for tests that need to misbehave (send half a handshake, never answer).
final class RawTCP: @unchecked Sendable {
    private let socket: FileDescriptor
    private var fd: Int32 { socket.raw }
    /// The descriptor, for tests that write with their own loop.
    var descriptor: Int32 { socket.raw }

    fileprivate init(_ fd: Int32) { socket = FileDescriptor(fd) }

    /// Connects to `address` (waits up to 2 s for the connection, unless `wait` is false).
    /// `receiveBuffer` sets SO_RCVBUF first (a small one makes a peer that does not read push
    /// back on the sender after a few KiB).
    static func connect(_ address: SocketAddress, wait: Bool = true, receiveBuffer: Int32? = nil) async throws -> RawTCP {
        let fd = try Sys.socket(family: address.family)
        let raw = RawTCP(fd)
        if let receiveBuffer { try Sys.setReceiveBufferSize(fd, receiveBuffer) }
        if try !Sys.connect(fd, address), wait {
            let deadline = MonotonicClock.now() + .seconds(2)
            while Sys.peerAddress(fd) == nil && MonotonicClock.now() < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        return raw
    }

    /// Whether the connection is established (false after a refused connect).
    var isConnected: Bool { Sys.peerAddress(fd) != nil }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = try bytes.withUnsafeBytes { try Sys.write(fd, UnsafeRawBufferPointer(rebasing: $0[offset...])) } ?? 0
            offset += n
        }
    }

    /// Half-closes: the peer reads end of stream, this side can still read.
    func shutdownWrite() { Sys.shutdownWrite(fd) }

    /// Writes what the kernel takes now (0 when the socket buffer is full).
    func writeSome(_ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBytes { try Sys.write(fd, $0) } ?? 0
    }

    /// Writes all of `bytes` (in one call when the kernel takes them, as a scripted peer needs).
    func write(bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = try bytes.withUnsafeBytes { try Sys.write(fd, UnsafeRawBufferPointer(rebasing: $0[offset...])) } ?? 0
            offset += n
        }
    }

    /// Reads until `done` holds for everything read so far, the peer closes, or `timeout`
    /// passes; returns everything read (possibly more than `done` needed).
    func read(until done: ([UInt8]) -> Bool, timeout: Duration) async throws -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = MonotonicClock.now() + timeout
        while !done(all) && MonotonicClock.now() < deadline {
            let n: Int?
            do {
                n = try buffer.withUnsafeMutableBytes { try Sys.read(fd, into: $0) }
            } catch {
                return all
            }
            if let n {
                if n == 0 { return all }
                all.append(contentsOf: buffer[0..<n])
            } else {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        return all
    }

    /// Reads until the peer closes (or `timeout`): the bytes, and whether EOF was seen.
    func readToEnd(timeout: Duration) async throws -> (bytes: [UInt8], sawEOF: Bool) {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = MonotonicClock.now() + timeout
        var lastTry = false
        while !lastTry {
            // One more read after the deadline: a starved task must still see what arrived.
            lastTry = MonotonicClock.now() >= deadline
            let n: Int?
            do {
                n = try buffer.withUnsafeMutableBytes { try Sys.read(fd, into: $0) }
            } catch {
                return (all, true)  // reset counts as closed
            }
            if let n {
                if n == 0 { return (all, true) }
                all.append(contentsOf: buffer[0..<n])
                lastTry = false  // keep reading while bytes keep coming
            } else {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        return (all, false)
    }
}

/// A listening socket that accepts and then never says anything.
final class SilentListener: @unchecked Sendable {
    private let socket: FileDescriptor
    let address: SocketAddress

    init(backlog: Int32 = 16) throws {
        let fd = try Sys.socket(family: .ipv4)
        socket = FileDescriptor(fd)
        try Sys.bind(fd, SocketAddress(numericHost: "127.0.0.1", port: 0)!)
        try Sys.listen(fd, backlog: backlog)
        address = Sys.localAddress(fd)!
    }

    /// Takes the next connection from the queue (waits up to `timeout` for one; `nil` if none
    /// came), for a test that plays the server by hand.
    func accept(timeout: Duration) async throws -> RawTCP? {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if let fd = try Sys.accept(socket.raw) { return RawTCP(fd) }
            try await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    /// A port that is bound but not listening, so connecting to it is refused.
    static func unusedPortNotListening() throws -> (holder: BoundSocket, port: Int) {
        let b = try BoundSocket()
        return (b, Int(b.address.port))
    }
}

/// A socket bound to a loopback port without listening (connections to it are refused).
final class BoundSocket: @unchecked Sendable {
    private let socket: FileDescriptor
    let address: SocketAddress

    init() throws {
        let fd = try Sys.socket(family: .ipv4)
        socket = FileDescriptor(fd)
        try Sys.bind(fd, SocketAddress(numericHost: "127.0.0.1", port: 0)!)
        address = Sys.localAddress(fd)!
    }
}
