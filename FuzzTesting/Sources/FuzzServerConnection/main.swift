// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: a server-role Connection fed arbitrary bytes and commands, whole and
// split, checked by the invariants of FuzzSupport (see ConnectionScript for the input layout).
import FuzzSupport
import WSProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerConnection(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { ConnectionScript($0).check(role: .server) }
}
