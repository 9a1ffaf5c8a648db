// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: the permessage-deflate decoder without context takeover (both
// `*_no_context_takeover`, RFC 7692 §7.1.1: each message stands alone), directly and through a
// client Connection, plus a compress → decode round trip (see InflateScript).
import FuzzDeflateSupport
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflateNoContext(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { InflateScript($0, noContextTakeover: true).check() }
}
