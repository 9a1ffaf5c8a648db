// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: the permessage-deflate decoder with context takeover (RFC 7692 §7.2.2;
// the window carries over between messages), directly and through a client Connection, plus a
// compress → decode round trip (see InflateScript for the input layout).
import FuzzDeflateSupport
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { InflateScript($0, noContextTakeover: false).check() }
}
