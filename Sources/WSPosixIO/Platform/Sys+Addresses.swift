// SPDX-License-Identifier: Apache-2.0
//
// Sys: socket addresses (sockaddr conversion, numeric parsing and formatting, getaddrinfo).

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
    static func address(of fd: Int32,
                                _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &len) }
        }
        guard r == 0 else { return nil }
        return socketAddress(from: &storage)
    }

    static func socketAddress(from storage: UnsafeMutablePointer<sockaddr_storage>) -> SocketAddress? {
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

    static func withSockaddr<R>(_ address: SocketAddress,
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
        // The text goes to inet_pton as a C string: a NUL would cut it short ("127.0.0.1\0x").
        guard !text.utf8.contains(0) else { return nil }
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
        // As a C string, the name would end at a NUL and another host would be looked up.
        guard !host.utf8.contains(0) else { return .failure(ResolveFailure(message: "the name holds a NUL byte")) }
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
}
