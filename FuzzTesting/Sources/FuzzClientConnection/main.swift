// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: a client-role Connection fed arbitrary bytes and commands, whole and
// split, checked by the invariants of FuzzSupport (see ConnectionScript for the input layout).
import FuzzSupport
import WSProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientConnection(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { ConnectionScript($0).check(role: .client) }
}
