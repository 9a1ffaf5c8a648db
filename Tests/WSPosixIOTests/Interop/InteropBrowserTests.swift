// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// A real browser (headless Chromium from Debian's package) against `ws serve`.
///
/// The browser opens `/selftest`, whose script uses the browser's own WebSocket against
/// `/echo` (text with non-ASCII, empty and large messages; binary with every byte value) and
/// `/chat` (two sockets), closes with 4001, and reports `SELFTEST PASS extensions=<negotiated>`
/// or `SELFTEST FAIL: <why>` to `/report`; `ws serve` prints that line. Chromium offers
/// permessage-deflate on every connection, and `ws serve` accepts it unless `--no-deflate`.
@Suite("Interop: headless Chromium", .serialized, .timeLimit(.minutes(1)))
struct InteropBrowserTests {
    /// Starts Chromium on `url` with a fresh profile; `extra` adds flags (e.g. `--dump-dom`).
    static func startChromium(_ url: String, extra: [String] = []) throws -> (Subprocess, URL) {
        let chromium = try Peers.require(Peers.chromium, "chromium (apt-get install chromium)")
        let profile = FileManager.default.temporaryDirectory
            .appendingPathComponent("ws-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let browser = try Subprocess([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                                      "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
                                      "--user-data-dir=\(profile.path)"] + extra + [url])
        return (browser, profile)
    }

    @Test("The browser's WebSocket passes the self-test page against ws serve, compressed unless --no-deflate",
          .enabled(if: Peers.available(Peers.chromium) && Peers.available(Peers.wsBinary)),
          arguments: [true, false])
    func selfTest(deflate: Bool) async throws {
        let (serve, port) = try await InteropToolTests.startServe(deflate ? [] : ["--no-deflate"])
        defer { serve.stop() }
        let (browser, profile) = try Self.startChromium("http://127.0.0.1:\(port)/selftest")
        defer {
            browser.stop()
            try? FileManager.default.removeItem(at: profile)
        }
        let verdict = try await serve.line(where: { $0.hasPrefix("SELFTEST") }, timeout: .seconds(45))
        // Chromium offers `permessage-deflate; client_max_window_bits`; ws serve's default
        // answer limits both windows to 2^12 (WebSocket.Compression.default).
        let expected = deflate ? "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12" : "none"
        #expect(verdict == "SELFTEST PASS extensions=\(expected)", "browser stderr: \(browser.errorOutput.suffix(1500))")
        // The browser's connections were /echo, two /chat and /report; /echo closed with 4001.
        // The server logs that close after its handler ends, which may come after the verdict
        // (sent on /report): wait for the line (bounded) rather than reading stderr at once.
        try await serve.waitForError(containing: "closed 4001")
    }

    @Test("The demo page, driven through its buttons, shows the echoed text and binary",
          .enabled(if: Peers.available(Peers.chromium) && Peers.available(Peers.wsBinary)))
    func demoPageEcho() async throws {
        let (serve, port) = try await InteropToolTests.startServe()
        defer { serve.stop() }
        let (browser, profile) = try Self.startChromium("http://127.0.0.1:\(port)/?auto")
        defer {
            browser.stop()
            try? FileManager.default.removeItem(at: profile)
        }
        var lines: [String] = []
        while lines.last != "DEMO END", lines.count < 10 {
            lines.append(try await serve.line(where: { $0.hasPrefix("DEMO ") }, timeout: .seconds(45)))
        }
        #expect(lines == ["DEMO ← hello ✓", "DEMO ← [binary 9 bytes] 68 65 6c 6c 6f 20 e2 9c 93", "DEMO END"])
    }

    @Test("The demo page is served and rendered",
          .enabled(if: Peers.available(Peers.chromium) && Peers.available(Peers.wsBinary)))
    func demoPage() async throws {
        let (serve, port) = try await InteropToolTests.startServe()
        defer { serve.stop() }
        let (browser, profile) = try Self.startChromium("http://127.0.0.1:\(port)/", extra: ["--dump-dom"])
        defer {
            browser.stop()
            try? FileManager.default.removeItem(at: profile)
        }
        #expect(await browser.waitForExit(timeout: .seconds(45)) == 0)
        let dom = browser.remainingOutput
        #expect(dom.contains("<h1>WebSocket demo</h1>"))
        #expect(dom.contains(#"<button id="connect">Connect</button>"#))
        #expect(dom.contains(#"<option>/echo</option><option>/chat</option>"#))
    }
}
