// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import WSProtocol

/// Standard output and error for `ws`: every line is written whole and flushed at once, so a
/// test (or a pipe) sees each line as soon as it is printed.
///
/// Lines carry text from peers (messages, close reasons, reason phrases, request paths), so
/// ``line(_:)`` and ``error(_:)`` print them through ``escaped(_:)``: a peer cannot move the
/// cursor, retitle the window or split one line into two on the operator's terminal.
enum Terminal {
    /// Prints one line on standard output, escaped (``escaped(_:)``), and flushes. Returns
    /// `false` when it could not be written (standard output is a pipe whose reader is gone,
    /// as in `ws connect URL | head -1`, or another write error).
    @discardableResult
    static func line(_ text: String) -> Bool {
        write(escaped(text) + "\n", to: STDOUT_FILENO)
    }

    /// Prints one line on standard error, escaped (``escaped(_:)``): in place, or once
    /// ``printOffTheLoops()`` was called, through ``standardError`` (never blocking; dropped and
    /// counted while 1 MiB waits).
    static func error(_ text: String) {
        if offTheLoops.load(ordering: .relaxed) {
            standardError.print(escaped(text) + "\n")
        } else {
            write(escaped(text) + "\n", to: STDERR_FILENO)
        }
    }

    /// Prints one line on standard output, escaped, through ``standardOutput``: it waits for
    /// room there rather than block the thread (`ws serve`'s `/report`, on an event loop).
    static func lineWaiting(_ text: String) async {
        await standardOutput.printWaiting(escaped(text) + "\n")
    }

    /// `ws serve`: from now on ``error(_:)`` lines are written by a thread of their own, so that
    /// a standard error nobody reads cannot hold an event loop (``LineOutput``).
    static func printOffTheLoops() { offTheLoops.store(true, ordering: .relaxed) }

    /// Writes what ``standardOutput`` and ``standardError`` hold, waiting at most a second for
    /// each (an output nobody reads must not keep the process from exiting).
    static func flush() {
        standardOutput.flush(timeout: .seconds(1))
        standardError.flush(timeout: .seconds(1))
    }

    static let standardOutput = LineOutput(fd: STDOUT_FILENO, name: "stdout")
    static let standardError = LineOutput(fd: STDERR_FILENO, name: "stderr")
    private static let offTheLoops = Atomic<Bool>(false)

    /// Prints text of our own (the help), as is.
    static func trustedText(_ text: String) {
        write(text, to: STDOUT_FILENO)
    }

    /// `text` with everything a terminal could act on made visible, so it prints as one inert line.
    ///
    /// - `\` becomes `\\` (so an escape in the output always means one in the input);
    /// - newline, carriage return and tab become `\n`, `\r`, `\t`; every other C0 control and
    ///   DEL become `\xHH` (ESC is `\x1B`: no escape sequence reaches the terminal);
    /// - the C1 controls U+0080–U+009F (U+009B is an 8-bit CSI to some terminals), the bidi
    ///   embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the line and
    ///   paragraph separators (U+2028, U+2029) become `\u{XXXX}`.
    ///
    /// Everything else (printable ASCII, letters and symbols of any script, emoji) is kept.
    static func escaped(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { escape(scalar, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `scalar` as ``escaped(_:)`` prints it, in UTF-8.
    @inline(__always)
    private static func escape(_ scalar: Unicode.Scalar, into out: inout [UInt8]) {
        switch scalar.value {
        case 0x5C: out += [0x5C, 0x5C]
        case 0x0A: out += [0x5C, UInt8(ascii: "n")]
        case 0x0D: out += [0x5C, UInt8(ascii: "r")]
        case 0x09: out += [0x5C, UInt8(ascii: "t")]
        case 0x00...0x1F, 0x7F: out += Array(("\\x" + hex(scalar.value, digits: 2)).utf8)
        case 0x80...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029:
            out += Array(("\\u{" + hex(scalar.value, digits: 4) + "}").utf8)
        default:
            if scalar.isASCII { out.append(UInt8(scalar.value)) } else { out += Array(String(scalar).utf8) }
        }
    }

    /// The most bytes ``message(_:)`` holds before writing them.
    static let messagePieceSize = 64 << 10

    /// Prints a received message as one line on standard output: text escaped (``escaped(_:)``),
    /// binary as `[binary 3 bytes] 01 02 03`,
    /// written in pieces of about ``messagePieceSize`` bytes as it is formed. Returns `false`
    /// when it could not be written (as ``line(_:)``).
    ///
    /// Formed whole, the line cost several copies of itself: a 16 MiB binary message (48 MiB of
    /// hex, escaped, a newline appended, made an array to write) took `ws connect` to 218 MiB.
    static func message(_ message: Message) -> Bool {
        var out: [UInt8] = []
        out.reserveCapacity(messagePieceSize + 16)
        var written = true
        func flushIfFull() {
            guard out.count >= messagePieceSize else { return }
            if written { written = write(out[...], to: STDOUT_FILENO) }
            out.removeAll(keepingCapacity: true)
        }
        switch message {
        case .text(let text):
            for scalar in text.unicodeScalars {
                escape(scalar, into: &out)
                flushIfFull()
                if !written { return false }
            }
        case .binary(let bytes):
            let digits = Array("0123456789abcdef".utf8)
            out += Array("[binary \(bytes.count) bytes]".utf8)
            for byte in bytes {
                out.append(UInt8(ascii: " "))
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
                flushIfFull()
                if !written { return false }
            }
        }
        out.append(0x0A)
        return written && write(out[...], to: STDOUT_FILENO)
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(digits - text.count, 0)) + text
    }

    /// Writes all of `text`; `false` when a write failed (the rest is dropped).
    @discardableResult
    private static func write(_ text: String, to fd: Int32) -> Bool {
        write(Array(text.utf8)[...], to: fd)
    }

    /// Writes all of `bytes`; `false` when a write failed (the rest is dropped). Also
    /// ``LineOutput``'s writer.
    @discardableResult
    static func write(_ bytes: ArraySlice<UInt8>, to fd: Int32) -> Bool {
        var bytes = bytes
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            bytes = bytes.dropFirst(n)
        }
        return true
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
