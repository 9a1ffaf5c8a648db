// SPDX-License-Identifier: Apache-2.0
//
// The references measured in the same run: memcpy of the same sizes (the physical limit for the
// GB/s rows) and the standard library's UTF-8 validation, `String(validating:as:)`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Baselines {
    /// memcpy of `size` bytes between two buffers allocated once.
    public static func memcpyScenario(key: String, size: Int) -> Scenario {
        let src = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        src.initializeMemory(as: UInt8.self, repeating: 1, count: size)
        dst.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        return Scenario(key: key, impl: "memcpy", unit: "GB/s", unitsPerCall: Double(size)) {
            memcpy(dst, src, size)
            return Int(dst.load(fromByteOffset: size - 1, as: UInt8.self))
        }
    }

    /// `String(validating:as:)` on `text` (it validates and builds the String, as a user who
    /// wants the text needs).
    public static func stringValidating(key: String, text: [UInt8]) -> Scenario {
        Scenario(key: key, impl: "stdlib", unit: "GB/s", unitsPerCall: Double(text.count)) {
            guard let s = String(validating: text, as: UTF8.self) else { fatalError("invalid test text") }
            return s.utf8.count
        }
    }
}
