// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: UTF8Validator against the standard library's UTF-8 decoder.
//
// Input: byte 0 seeds the chunking, the rest is the text. Checks: (1) the validator accepts the
// whole text exactly when `String(validating:as:)` does; (2) the index of the first impossible
// byte equals the one derived from the standard library's parser (the end of the maximal
// ill-formed subpart it reports, or its start when that byte can never begin a sequence); (3)
// feeding the text in pieces (at any alignment) gives the same index and completeness.
import FuzzSupport
@_spi(Testing) import WSProtocol

/// The first byte that cannot start or continue valid UTF-8, by the standard library; and
/// whether the text is complete.
func reference(_ bytes: [UInt8]) -> (firstInvalid: Int?, complete: Bool) {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let scalar):
            offset += scalar.count
        case .emptyInput:
            return (nil, true)
        case .error(let length):
            let lead = bytes[offset]
            guard (0xC2...0xF4).contains(lead) else { return (offset, false) }
            if offset + length == bytes.count { return (nil, false) }  // cut short by the end
            return (offset + length, false)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUTF8(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        guard let seed = input.first else { return }
        let text = Array(input.dropFirst())
        let stdlibValid = String(validating: text, as: UTF8.self) != nil

        var whole = UTF8Validator()
        let wholeIndex = text.withUnsafeBytes { whole.firstInvalidIndex(in: $0) }
        let wholeValid = wholeIndex == nil && whole.isComplete
        if wholeValid != stdlibValid {
            violation("UTF8Validator says \(wholeValid), String(validating:) says \(stdlibValid) for \(text)")
        }
        var convenience = UTF8Validator()
        if (convenience.validate(text[...]) && convenience.isComplete) != stdlibValid {
            violation("validate(slice) disagrees with String(validating:) for \(text)")
        }

        let ref = reference(text)
        if wholeIndex != ref.firstInvalid {
            violation("first invalid index \(String(describing: wholeIndex)), expected \(String(describing: ref.firstInvalid)) for \(text)")
        }
        if wholeIndex == nil && whole.isComplete != ref.complete {
            violation("isComplete \(whole.isComplete), expected \(ref.complete) for \(text)")
        }

        // Split: every piece through an odd offset of a larger buffer, so loads are unaligned.
        var split = UTF8Validator()
        var base = 0
        var splitIndex: Int? = nil
        for piece in Chunking.split(text, seed: seed) {
            let padded = [0x41] + piece
            let found = padded.withUnsafeBytes { split.firstInvalidIndex(in: UnsafeRawBufferPointer(rebasing: $0[1...])) }
            if let found { splitIndex = base + found; break }
            base += piece.count
        }
        if splitIndex != wholeIndex {
            violation("split first invalid index \(String(describing: splitIndex)) != whole \(String(describing: wholeIndex)) for \(text)")
        }
        if splitIndex == nil && split.isComplete != whole.isComplete {
            violation("split isComplete differs for \(text)")
        }
    }
}
