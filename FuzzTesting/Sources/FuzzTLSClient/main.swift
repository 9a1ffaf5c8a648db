// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point: the client side of the TLS engine (WSTLS over the system OpenSSL) fed
// arbitrary bytes where the server's handshake should be.
//
// Input: byte 0 seeds the chunking, byte 1 bit 0 ends with end of stream; the rest arrives as
// the server's bytes, in pieces. Checks: every failure is a TLSError (never a crash or a hang),
// once failed the engine keeps failing with the same error, and no application byte ever comes
// out of a handshake that a certificate nobody can have signed never completed.
import FuzzSupport
import WSTLS

/// One client context for every run (loading the system trust store is the slow part).
let context: TLSContext = {
    do { return try TLSContext(client: TLSClientConfiguration()) } catch { violation("no client context: \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSClient(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withFuzzInput(data, size) { input in
        var r = FuzzReader(input)
        let seed = r.byte()
        let endsWithEOF = r.byte() & 0x01 != 0
        let engine: TLSEngine
        do { engine = try TLSEngine(context: context, serverName: "fuzz.example") } catch { violation("engine: \(error)") }
        do { try engine.start() } catch { violation("start: \(error)") }
        if engine.takeOutput().isEmpty { violation("no ClientHello after start") }
        var firstFailure: TLSError? = nil
        for piece in Chunking.split(r.rest(), seed: seed) {
            var plaintext: [UInt8] = []
            let failure: TLSError? = piece.withUnsafeBytes { raw -> TLSError? in
                do throws(TLSError) { try engine.receive(raw, into: &plaintext); return nil } catch { return error }
            }
            if let failure {
                if let firstFailure, firstFailure != failure { violation("failed with \(failure) after \(firstFailure)") }
                firstFailure = failure
            } else if let firstFailure {
                violation("receive succeeded after \(firstFailure)")
            }
            if !plaintext.isEmpty { violation("\(plaintext.count) plaintext bytes from an unverifiable server") }
            if engine.state == .established { violation("handshake completed against fuzz bytes") }
            _ = engine.takeOutput()
        }
        if endsWithEOF {
            do throws(TLSError) { try engine.receiveEndOfStream() } catch { _ = error }
            if engine.state == .established { violation("established at end of stream") }
        }
    }
}
