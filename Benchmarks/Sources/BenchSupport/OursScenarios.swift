// SPDX-License-Identifier: Apache-2.0
//
// Our side of every workload, on the same inputs as NIO's. The decoder is the connection itself
// (`Connection.receive(_:now:into:)`, the hot-path entry a driver calls after each read): it is
// the only stateful parser the core has, so "ours" decoding also assembles the message, checks
// the limits and produces the `.deliver(.message)` output. Outputs go to a caller-owned array that
// keeps its capacity, as the binding does.
@_spi(Testing) import WSProtocol

public enum OursScenarios {
    /// Masked binary frames in, one `.message(.binary)` per frame out (server role).
    public static func decode(key: String, reads: [ArraySlice<UInt8>], frames: Int, unit: String,
                              unitsPerCall: Double) -> Scenario {
        var connection = Connection(role: .server)
        var outputs: [Connection.Output] = []
        outputs.reserveCapacity(4096)
        return Scenario(key: key, impl: "ours", unit: unit, unitsPerCall: unitsPerCall) {
            var count = 0
            var checksum = 0
            for read in reads {
                read.withUnsafeBytes { connection.receive($0, now: .zero, into: &outputs) }
                for output in outputs {
                    if case .deliver(.message(.binary(let payload))) = output {
                        count &+= 1
                        checksum &+= payload.count &+ Int(payload.first ?? 0)
                    }
                }
                outputs.removeAll(keepingCapacity: true)
            }
            precondition(count == frames, "decoded \(count) messages, expected \(frames)")
            return checksum
        }
    }

    /// `batch` binary messages appended to the outbound buffer with `send(_:now:into:)`, which is
    /// then emptied (keeping its capacity) as the driver does after writing it. A client uses
    /// the default entropy source (`SystemRandomNumberGenerator`) for its masking keys unless
    /// `fastEntropy` is set, which passes the library's `ChaChaRandomNumberGenerator`.
    public static func encode(key: String, payload: [UInt8], role: Role, batch: Int, unit: String,
                              fastEntropy: Bool = false, impl: String = "ours") -> Scenario {
        var connection = fastEntropy ? Connection(role: role, entropy: ChaChaRandomNumberGenerator()) : Connection(role: role)
        var outbound: [UInt8] = []
        outbound.reserveCapacity(batch * (payload.count + 14))
        let message = Message.binary(payload)
        let units = unit == "GB/s" ? Double(batch * payload.count) : Double(batch)
        return Scenario(key: key, impl: impl, unit: unit, unitsPerCall: units) {
            for _ in 0..<batch { try! connection.send(message, now: .zero, into: &outbound) }
            let total = outbound.count
            outbound.removeAll(keepingCapacity: true)
            return total
        }
    }

    /// The server's whole job per message: receive (`receive(_:now:into:)`), then send each
    /// message back (`send(_:now:into:)`), events and outputs included.
    public static func echo(key: String, reads: [ArraySlice<UInt8>], messages: Int, unit: String,
                            unitsPerCall: Double) -> Scenario {
        var connection = Connection(role: .server)
        var outputs: [Connection.Output] = []
        outputs.reserveCapacity(4096)
        var outbound: [UInt8] = []
        outbound.reserveCapacity(256 << 10)
        return Scenario(key: key, impl: "ours", unit: unit, unitsPerCall: unitsPerCall) {
            var count = 0
            var written = 0
            for read in reads {
                read.withUnsafeBytes { connection.receive($0, now: .zero, into: &outputs) }
                for output in outputs {
                    if case .deliver(.message(let message)) = output {
                        count &+= 1
                        try! connection.send(message, now: .zero, into: &outbound)
                    }
                }
                outputs.removeAll(keepingCapacity: true)
                written &+= outbound.count
                outbound.removeAll(keepingCapacity: true)
            }
            precondition(count == messages, "echoed \(count) messages, expected \(messages)")
            return written
        }
    }

    /// `UTF8Validator` over the whole text in one call.
    public static func utf8(key: String, text: [UInt8]) -> Scenario {
        Scenario(key: key, impl: "ours", unit: "GB/s", unitsPerCall: Double(text.count)) {
            var validator = UTF8Validator()
            let ok = text.withUnsafeBytes { validator.validate($0) } && validator.isComplete
            precondition(ok, "invalid test text")
            return text.count
        }
    }
}

extension OursScenarios {
    /// A server handshake per call: a new `ServerHandshake`, the request in, `accept` (the 101
    /// response bytes and a ready `Connection`) out.
    public static func handshake(key: String) -> Scenario {
        let request = Inputs.handshakeRequest
        return Scenario(key: key, impl: "ours", unit: "hs/s", unitsPerCall: 1) {
            var handshake = ServerHandshake(now: .zero)
            guard case .upgradeRequest(let upgrade) = handshake.receive(request, now: .zero) else {
                fatalError("the request was not an upgrade")
            }
            let (response, connection, _) = try! handshake.accept(upgrade, now: .zero)
            precondition(response.count > 100 && connection.canSend, "no 101 response")
            return response.count
        }
    }
}
