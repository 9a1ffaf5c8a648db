// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import WSPosixIO
import WSProtocol

/// Tufao's `WebSocket` members and `Error` values that the other suites do not already make
/// happen (see Docs/Tufao.md for the whole table): `isConnected`, `connectToHost` with port
/// 80, and errors from the real system (REMOTE_HOST_CLOSED during the opening handshake,
/// UNSUPPORTED_SOCKET_OPERATION, NETWORK_ERROR, ACCESS_ERROR, OUT_OF_RESOURCES, UNKNOWN_ERROR).
@Suite("Tufao parity: members and errors", .serialized, .timeLimit(.minutes(1)))
struct TufaoParityTests {
    @Test("isConnected is true from connect until the socket closes, false after")
    func isConnected() async throws {
        let opened = AsyncStream.makeStream(of: Bool.self)
        let server = try await WebSocketServer.bind(port: 0) { ws in
            opened.continuation.yield(ws.isConnected)
            for await _ in ws {}
        }
        let ws = try await WebSocket.connect(host: "127.0.0.1", port: server.port)
        #expect(ws.isConnected)
        var serverSide = opened.stream.makeAsyncIterator()
        #expect(await serverSide.next() == true)
        try ws.close()
        var last: WebSocketEvent?
        for await event in ws {
            if case .closed = event {} else { #expect(ws.isConnected) }  // up until the socket closes
            last = event
        }
        guard case .closed? = last else { Issue.record("\(String(describing: last))"); return }
        #expect(!ws.isConnected)
        await server.shutdown(timeout: .seconds(1))
    }

    /// Whether this process may listen on 127.0.0.1:80 (root, or a low unprivileged port start).
    static var canListenOn80: Bool {
        guard let fd = try? Sys.socket(family: .ipv4) else { return false }
        let socket = FileDescriptor(fd)
        do {
            try Sys.bind(socket.raw, SocketAddress(numericHost: "127.0.0.1", port: 80)!)
            return true
        } catch {
            return false
        }
    }

    @Test("connectToHost(host, resource, headers): port 80 by default", .enabled(if: canListenOn80))
    func port80ByDefault() async throws {
        let server = try await Echo.server(port: 80)
        let ws = try await WebSocket.connect(host: "127.0.0.1", resource: "/chat", headers: ["X-A": "1"])
        #expect(ws.peerPort == 80)
        #expect(ws.handshakeRequest?.headers.first(name: "Host") == "127.0.0.1")  // no :80
        try ws.close()
        for await _ in ws {}
        await server.shutdown(timeout: .seconds(1))
    }

    @Test("REMOTE_HOST_CLOSED: the server closes during the opening handshake, before or inside its response",
          .enabled(if: Peers.available(Peers.python)), arguments: [[UInt8](), Array("HTTP/1.1 101 Switching Prot".utf8)])
    func remoteHostClosedDuringTheHandshake(partial: [UInt8]) async throws {
        let (fake, port) = try await ProxyInteropTests.startScripted(reply: partial)
        defer { fake.stop() }
        await #expect(throws: WebSocketError.remoteHostClosed) {
            _ = try await WebSocket.connect(host: "127.0.0.1", port: port)
        }
        #expect(try await fake.nextLine().hasPrefix("GOT " + Hex.string(Array("GET / HTTP/1.1\r\n".utf8), separator: "")))
    }

    @Test("UNSUPPORTED_SOCKET_OPERATION: an IPv6 link-local address without a scope cannot be connected to")
    func unsupportedSocketOperation() async throws {
        let linkLocal = try #require(SocketAddress(numericHost: "fe80::1", port: 80))
        do {
            _ = try await WebSocket.connect(address: linkLocal)
            Issue.record("connected to fe80::1 without a scope")
        } catch {
            guard case .unsupportedSocketOperation(let why) = error else { Issue.record("\(error)"); return }
            // EINVAL from connect (Linux), or EAFNOSUPPORT from socket on a system without IPv6.
            #expect(why.hasPrefix("connect: ") || why.hasPrefix("socket: "), "\(why)")
            #expect(error.description == "unsupported socket operation: \(why)")
        }
    }

    @Test("NETWORK_ERROR: TCP to a multicast address is unreachable")
    func networkError() async throws {
        do {
            _ = try await WebSocket.connect(address: SocketAddress(numericHost: "224.0.0.1", port: 80)!)
            Issue.record("connected to a multicast address")
        } catch {
            guard case .networkError(let system) = error else { Issue.record("\(error)"); return }
            #expect(system.errno == ENETUNREACH)
            #expect(error.description == "network error: connect: Network is unreachable (errno \(ENETUNREACH))")
        }
    }

    @Test("UNKNOWN_ERROR: a system error this library does not classify")
    func unknown() {
        let error = WebSocketError(SystemError(errno: EBADMSG, operation: "read"))
        #expect(error == .unknown("read: Bad message (errno \(EBADMSG))"))
        #expect(error.description == "unknown error: read: Bad message (errno \(EBADMSG))")
    }

    static var setpriv: String? { FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") ? "/usr/bin/setpriv" : nil }
    static var unprivilegedPortStart: Int {
        (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
    }

    @Test("ACCESS_ERROR: listening on port 80 without the privilege",
          .enabled(if: Peers.available(Peers.wsBinary) && unprivilegedPortStart > 80 && (getuid() != 0 || setpriv != nil)))
    func accessDenied() async throws {
        let ws = try Peers.require(Peers.wsBinary, "the ws binary")
        var argv = [ws, "serve", "--host", "127.0.0.1", "--port", "80"]
        if getuid() == 0 { argv = [Self.setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups"] + argv }
        let serve = try Subprocess(argv)
        defer { serve.stop() }
        #expect(await serve.waitForExit() == 1)
        #expect(serve.errorOutput == "ws: cannot listen on 127.0.0.1:80: access denied\n")
    }

    @Test("OUT_OF_RESOURCES: no descriptor left for the socket (RLIMIT_NOFILE)",
          .enabled(if: Peers.available(Peers.wsBinary) && FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")))
    func outOfResources() async throws {
        let ws = try Peers.require(Peers.wsBinary, "the ws binary")
        // The tool needs a few descriptors before the socket (standard streams, the Swift
        // runtime's); below what the socket and the event loops together need, one of them is
        // refused, and either refusal is the typed error (a loop that cannot be made is
        // `.outOfResources` from `connect`, not a fatal error).
        // The child may also inherit descriptors from this test process (other suites run at
        // the same time), so the scan goes up until the socket is granted, and a little past.
        // Every limit from 4 up (at 3 the dynamic loader cannot open the shared libraries, before
        // any code of ours) ends in one line and status 1: "out of resources" until the socket
        // and the loops fit, then "connection refused" from the closed port. Never a crash (at 4
        // the concurrency runtime's first worker thread used to trap in libdispatch).
        var outputs: [String] = []
        var sawOutOfResources = false
        var pastTheBoundary = 0
        for limit in 4...1024 where pastTheBoundary < 4 {
            let tool = try Subprocess(["/usr/bin/prlimit", "--nofile=\(limit)", ws, "connect", "ws://127.0.0.1:9/"])
            defer { tool.stop() }
            tool.closeInput()
            let status = await tool.waitForExit()
            outputs.append(tool.errorOutput)
            #expect(status == 1, "limit \(limit): status \(status), \(tool.errorOutput)")
            #expect(tool.errorOutput == "ws: out of resources\n" || tool.errorOutput == "ws: connection refused\n",
                    "limit \(limit): \(tool.errorOutput)")
            if tool.errorOutput == "ws: out of resources\n" { sawOutOfResources = true }
            if tool.errorOutput == "ws: connection refused\n" { pastTheBoundary += 1 }
        }
        #expect(sawOutOfResources, "no limit gave 'out of resources': \(outputs.prefix(3))")
        #expect(pastTheBoundary == 4, "never got past the limit: \(outputs.suffix(3))")
    }
}
