// SPDX-License-Identifier: Apache-2.0

/// Every workload, each built lazily (so a filtered run sets up only what it measures).
/// Keys: `decode.<payload>.<delivery>` (server receiving masked frames), `encode.<payload>.<role>`,
/// `echo.<payload>.<delivery>` (whole messages received and sent back), `utf8.<text>`, `handshake`.
public enum Catalog {
    /// Frame counts chosen so each input is about 1 MiB (4 MiB for 1 MiB frames).
    static func frameCount(_ size: Int) -> Int { size >= 1 << 20 ? 4 : max(1, (1 << 20) / (size + 6)) }

    /// A decode workload: the masked stream and its reads.
    public struct DecodeInput {
        public let size: Int
        public let count: Int
        public let stream: [UInt8]
        public let reads: [ArraySlice<UInt8>]
        public let unit: String
        public var unitsPerCall: Double { unit == "GB/s" ? Double(size * count) : Double(count) }

        public init(size: Int, perFrame: Bool) {
            self.size = size
            count = Catalog.frameCount(size)
            let s = Inputs.maskedStream(frameSize: size, count: count)
            stream = s.bytes
            reads = perFrame ? Inputs.reads(s.bytes, frameEnds: s.frameEnds) : Inputs.reads(s.bytes, readSize: 64 << 10)
            unit = size >= 1 << 20 ? "GB/s" : "frames/s"
        }
    }

    /// (key, payload size, one frame per read?)
    public static let decodeCases: [(String, Int, Bool)] = [
        ("decode.16B.64K", 16, false), ("decode.16B.1frame", 16, true),
        ("decode.125B.64K", 125, false), ("decode.125B.1frame", 125, true),
        ("decode.1MiB.64K", 1 << 20, false),
    ]
    /// (key, payload size, masked?, frames per flush)
    public static let encodeCases: [(String, Int, Bool, Int)] = [
        ("encode.16B.server", 16, false, 64), ("encode.125B.server", 125, false, 64),
        ("encode.16B.client", 16, true, 64), ("encode.125B.client", 125, true, 64),
        ("encode.1MiB.client", 1 << 20, true, 1),
    ]
    /// Whole messages received and sent back: (key, payload size, one message per read?)
    public static let messageCases: [(String, Int, Bool)] = [
        ("echo.16B.64K", 16, false), ("echo.16B.1msg", 16, true), ("echo.125B.64K", 125, false),
        ("echo.1MiB.64K", 1 << 20, false),
    ]

    /// Scenario groups for our implementation; filled in by OursScenarios.swift.
    nonisolated(unsafe) public static var ours: [() -> [Scenario]] = []

    public static var all: [() -> [Scenario]] {
        var groups: [() -> [Scenario]] = []
        for (key, size, perFrame) in decodeCases {
            groups.append {
                let input = DecodeInput(size: size, perFrame: perFrame)
                return [NIOScenarios.decode(key: key, reads: input.reads, frames: input.count, unit: input.unit,
                                            unitsPerCall: input.unitsPerCall),
                        OursScenarios.decode(key: key, reads: input.reads, frames: input.count, unit: input.unit,
                                             unitsPerCall: input.unitsPerCall),
                        SameLayerScenarios.decodeDirect(key: key, reads: input.reads, frames: input.count,
                                                        unit: input.unit, unitsPerCall: input.unitsPerCall)]
            }
        }
        for (key, size, masked, batch) in encodeCases {
            groups.append {
                let payload = Inputs.bytes(size, seed: 5)
                let unit = size >= 1 << 20 ? "GB/s" : "frames/s"
                var rows = [NIOScenarios.encode(key: key, payload: payload, masked: masked, batch: batch, unit: unit),
                            OursScenarios.encode(key: key, payload: payload, role: masked ? .client : .server,
                                                 batch: batch, unit: unit)]
                if masked {
                    rows.append(OursScenarios.encode(key: key, payload: payload, role: .client, batch: batch, unit: unit,
                                                     fastEntropy: true, impl: "ours-chacha"))
                }
                rows += SameLayerScenarios.encode(key: key, payload: payload, masked: masked, batch: batch, unit: unit)
                return rows
            }
        }
        for (key, size, perMessage) in messageCases {
            groups.append {
                let input = DecodeInput(size: size, perFrame: perMessage)
                let unit = input.unit == "GB/s" ? "GB/s" : "msgs/s"
                return [NIOScenarios.echo(key: key, reads: input.reads, messages: input.count, unit: unit,
                                          unitsPerCall: input.unitsPerCall),
                        OursScenarios.echo(key: key, reads: input.reads, messages: input.count, unit: unit,
                                           unitsPerCall: input.unitsPerCall),
                        BindingScenarios.echo(key: key, reads: input.reads, messages: input.count, unit: unit,
                                              unitsPerCall: input.unitsPerCall)]
            }
        }
        groups.append { [Baselines.memcpyScenario(key: "decode.1MiB.64K", size: 1 << 20),
                         Baselines.memcpyScenario(key: "encode.1MiB.client", size: 1 << 20),
                         Baselines.memcpyScenario(key: "echo.1MiB.64K", size: 1 << 20)] }
        groups.append { [Baselines.stringValidating(key: "utf8.ascii", text: Inputs.asciiText),
                         OursScenarios.utf8(key: "utf8.ascii", text: Inputs.asciiText),
                         Baselines.stringValidating(key: "utf8.mixed", text: Inputs.mixedText),
                         OursScenarios.utf8(key: "utf8.mixed", text: Inputs.mixedText),
                         SameLayerScenarios.validateOnly(key: "utf8.ascii", text: Inputs.asciiText),
                         SameLayerScenarios.validateOnly(key: "utf8.mixed", text: Inputs.mixedText)] }
        groups.append { [NIOScenarios.handshake(key: "handshake"), OursScenarios.handshake(key: "handshake")] }
        return groups + ours
    }
}
