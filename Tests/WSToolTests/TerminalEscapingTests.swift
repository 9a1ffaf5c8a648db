// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import ws

/// Peer text reaches the operator's terminal as one inert line (`Terminal.escaped`).
@Suite("ws: peer text is escaped before it is printed")
struct TerminalEscapingTests {
    @Test("Printable text of any script is kept", arguments: [
        "", "hello", "héllo wörld ✓ 世界 🎉", "SELFTEST PASS", "a\u{301}", "\u{FFFD}", "~!@#$%^&*()_+{}|:\"<>?",
    ])
    func printableTextIsKept(text: String) {
        #expect(Terminal.escaped(text) == text)
    }

    @Test("Control characters and escape sequences become visible", arguments: [
        ("\u{1B}[2J\u{1B}[H", #"\x1B[2J\x1B[H"#),               // clear the screen, cursor home
        ("\u{1B}]0;pwned\u{07}", #"\x1B]0;pwned\x07"#),           // OSC: set the window title
        ("a\nb\r\nc\td", #"a\nb\r\nc\td"#),
        ("\u{0}\u{8}\u{7F}", #"\x00\x08\x7F"#),
        ("\u{9B}31m\u{85}", #"\u{009B}31m\u{0085}"#),              // C1: 8-bit CSI, NEL
        ("abc\u{202E}txt.exe", #"abc\u{202E}txt.exe"#),           // bidi override
        ("\u{2066}x\u{2069}\u{2028}\u{2029}", #"\u{2066}x\u{2069}\u{2028}\u{2029}"#),
        (#"C:\dir\n"#, #"C:\\dir\\n"#),                           // a literal backslash is doubled
    ])
    func controlsAreEscaped(text: String, expected: String) {
        #expect(Terminal.escaped(text) == expected)
    }

    @Test("No escaped text holds a control character, whatever the input")
    func everyScalarBelow0x3000IsSafe() {
        var failures: [UInt32] = []
        for value in UInt32(0)..<0x3000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let out = Terminal.escaped(String(Character(scalar)))
            let unsafe = out.unicodeScalars.contains { s in
                s.value < 0x20 || (0x7F...0x9F).contains(s.value) || (0x202A...0x202E).contains(s.value)
                    || (0x2066...0x2069).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
            }
            if unsafe { failures.append(value) }
        }
        #expect(failures == [])
    }
}

@Suite("ws autobahn-client: command line and answers are validated")
struct AutobahnClientValidationTests {
    @Test("Case counts: whole numbers 0-100000 only", arguments: [
        ("0", 0), ("3", 3), ("517", 517), ("100000", 100_000),
        ("-1", nil), ("-3", nil), ("100001", nil), ("99999999999999999999", nil), ("", nil), (" 5", nil),
        ("5\n", nil), ("+5", nil), ("0x10", nil), ("1e3", nil), ("abc", nil), ("٣", nil),
    ] as [(String, Int?)])
    func caseCount(text: String, expected: Int?) {
        #expect(AutobahnClientCommand.caseCount(text) == expected)
    }

    @Test("Bad arguments are usage errors", arguments: [
        (["--url", "http://127.0.0.1:9001"], "autobahn-client: --url 'http://127.0.0.1:9001' is not a ws:// or wss:// URL without query or fragment"),
        (["--url", "ws://"], "autobahn-client: --url 'ws://' is not a ws:// or wss:// URL without query or fragment"),
        (["--url", "ws://h/?x=1"], "autobahn-client: --url 'ws://h/?x=1' is not a ws:// or wss:// URL without query or fragment"),
        (["--url", "ws://h/#f"], "autobahn-client: --url 'ws://h/#f' is not a ws:// or wss:// URL without query or fragment"),
        (["--url", "ws://h", "--agent", ""], "autobahn-client: --agent must be 1-100 characters"),
        (["--url", "ws://h", "--agent", String(repeating: "a", count: 101)], "autobahn-client: --agent must be 1-100 characters"),
        (["--url"], "--url needs a value"),
    ] as [([String], String)])
    func badArguments(arguments: [String], message: String) {
        #expect(throws: CommandLineOptions.UsageError(message: message)) {
            try CommandLineOptions.parse(["autobahn-client"] + arguments)
        }
    }

    @Test func goodArguments() throws {
        #expect(try CommandLineOptions.parse(["autobahn-client", "--url", "WSS://[::1]:9001/", "--agent", "x y"])
                == .autobahnClient(url: "WSS://[::1]:9001/", agent: "x y"))
        #expect(try CommandLineOptions.parse(["autobahn-client", "--url", "ws://127.0.0.1:9001"])
                == .autobahnClient(url: "ws://127.0.0.1:9001", agent: "swift-websocket-sansio"))
    }
}
