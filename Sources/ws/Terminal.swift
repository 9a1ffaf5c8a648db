// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import WSProtocol

/// Standard output and error for `ws`: every line is written whole and flushed at once, so a
/// test (or a pipe) sees each line as soon as it is printed.
enum Terminal {
    /// Prints one line on standard output and flushes.
    static func line(_ text: String) {
        write(text + "\n", to: STDOUT_FILENO)
    }

    /// Prints one line on standard error.
    static func error(_ text: String) {
        write(text + "\n", to: STDERR_FILENO)
    }

    /// The one-line form of a received message: text as is, binary as
    /// `[binary 3 bytes] 01 02 03`.
    static func describe(_ message: Message) -> String {
        switch message {
        case .text(let text):
            return text
        case .binary(let bytes):
            let digits = Array("0123456789abcdef".utf8)
            var hex: [UInt8] = []
            hex.reserveCapacity(bytes.count * 3)
            for byte in bytes {
                hex.append(UInt8(ascii: " "))
                hex.append(digits[Int(byte >> 4)])
                hex.append(digits[Int(byte & 0x0f)])
            }
            return "[binary \(bytes.count) bytes]" + String(decoding: hex, as: UTF8.self)
        }
    }

    private static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
