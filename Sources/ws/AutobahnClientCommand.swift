// SPDX-License-Identifier: Apache-2.0
import WSPosixIO
import WSProtocol

/// `ws autobahn-client`: the client testee of an Autobahn|Testsuite-style fuzzing server.
///
/// Protocol (the fuzzing server's conventional URLs): `/getCaseCount` sends the number of
/// cases as one text message; `/runCase?case=N&agent=A` runs case N, and the testee echoes
/// every message back unchanged (same type, same bytes) until the server closes;
/// `/updateReports?agent=A` makes the server write its reports.
///
/// The server's answers are checked like any peer input: a case count that is not a whole
/// number from 0 to ``maxCaseCount`` ends the run with one line on standard error, exit 1.
struct AutobahnClientCommand {
    /// The most cases a run accepts (the real fuzzing server has about 520).
    static let maxCaseCount = 100_000

    var url: String
    var agent: String

    func run() async -> Int32 {
        var base = Substring(url)
        while base.hasSuffix("/") { base = base.dropLast() }
        let agentQuery = Self.percentEncoded(agent)
        var configuration = WebSocket.ClientConfiguration()
        // The fuzzing server's largest cases send 16 MiB messages (section 9).
        configuration.connection.maxMessageSize = 64 << 20
        configuration.connection.maxFrameSize = 64 << 20
        // Sections 12 and 13 run only when the client offers permessage-deflate.
        configuration.compression = .default

        let count: Int
        do {
            let ws = try await WebSocket.connect(to: "\(base)/getCaseCount", configuration: configuration)
            var received: String?
            for await event in ws {
                if case .text(let text) = event, received == nil { received = text }
            }
            guard let received else {
                Terminal.error("ws: /getCaseCount sent no number")
                return 1
            }
            guard let number = Self.caseCount(received) else {
                let shown = received.count > 40 ? received.prefix(40) + "..." : Substring(received)
                Terminal.error("ws: /getCaseCount sent \"\(shown)\", not a case count (a whole number 0-\(Self.maxCaseCount))")
                return 1
            }
            count = number
        } catch {
            Terminal.error("ws: getCaseCount: \(ConnectCommand.describe(error))")
            return 1
        }
        Terminal.line("\(count) cases")

        var failures = 0
        for number in 0..<count {
            let index = number + 1
            do {
                let ws = try await WebSocket.connect(to: "\(base)/runCase?case=\(index)&agent=\(agentQuery)",
                                                     configuration: configuration)
                let info = await Self.echo(ws)
                Terminal.line("case \(index)/\(count): \(info)")
            } catch {
                failures += 1
                Terminal.line("case \(index)/\(count): \(ConnectCommand.describe(error))")
            }
        }

        do {
            let ws = try await WebSocket.connect(to: "\(base)/updateReports?agent=\(agentQuery)",
                                                 configuration: configuration)
            for await _ in ws {}
        } catch {
            Terminal.error("ws: updateReports: \(ConnectCommand.describe(error))")
            return 1
        }
        Terminal.line("reports updated for agent \(agent)")
        return failures == 0 ? 0 : 1
    }

    /// The case count in the fuzzing server's answer: decimal digits only, 0 to ``maxCaseCount``.
    static func caseCount(_ text: String) -> Int? {
        guard (1...6).contains(text.utf8.count),
              text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let count = Int(text), count <= maxCaseCount else { return nil }
        return count
    }

    /// Echoes every message until the connection closes; returns how it closed.
    static func echo(_ ws: WebSocket) async -> CloseInfo {
        for await event in ws {
            switch event {
            case .text(let text): try? await ws.send(.text(text))
            case .binary(let bytes): try? await ws.send(.binary(bytes))
            case .fragment, .ping, .pong: continue
            case .closed(let info): return info
            }
        }
        return CloseInfo(code: .abnormalClosure)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 0xf)])"
            }
        }
        return out
    }
}
