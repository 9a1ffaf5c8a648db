// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import WSPosixIO
import WSProtocol

@Suite("Proxy configuration: URLs and the environment (as curl)")
struct ProxyConfigurationTests {
    typealias Proxy = WebSocket.Proxy

    @Test func urls() throws {
        #expect(try Proxy(url: "http://proxy.example:3128/") == Proxy(kind: .http, host: "proxy.example", port: 3128))
        #expect(try Proxy(url: "proxy.example") == Proxy(kind: .http, host: "proxy.example", port: 1080))
        #expect(try Proxy(url: "SOCKS5H://[::1]:9050") == Proxy(kind: .socks5h, host: "::1", port: 9050))
        #expect(try Proxy(url: "socks://10.0.0.1") == Proxy(kind: .socks5, host: "10.0.0.1", port: 1080))
        #expect(try Proxy(url: "socks4a://h:1") == Proxy(kind: .socks4a, host: "h", port: 1))
        #expect(try Proxy(url: " http://h:8080 ") == Proxy(kind: .http, host: "h", port: 8080))
    }

    @Test func credentialsArePercentDecoded() throws {
        let proxy = try Proxy(url: "http://us%40er:p%3Ass%2F%C3%A9@proxy:3128")
        #expect(proxy.credentials == .init(user: "us@er", password: "p:ss/é"))
        #expect(try Proxy(url: "socks5h://user@h:1").credentials == .init(user: "user", password: ""))
        #expect(try Proxy(url: "socks5h://a:b@c@h:1").credentials == .init(user: "a", password: "b@c"))
    }

    @Test func credentialsAreNeverPrinted() throws {
        let proxy = try Proxy(url: "http://alice:s3cret@proxy:3128")
        #expect(proxy.description == "http://<credentials>@proxy:3128")
        #expect(String(reflecting: proxy) == "Proxy(http://<credentials>@proxy:3128)")
        var dumped = ""
        dump(proxy, to: &dumped)
        #expect(!dumped.contains("s3cret") && !dumped.contains("alice"))
        #expect("\(proxy.credentials!)" == "<credentials>")
        #expect(try Proxy(url: "socks5h://[::1]:1").description == "socks5h://[::1]:1")
    }

    @Test func invalidURLs() {
        #expect(throws: WebSocketError.invalidArgument("proxy: https:// proxies (TLS to the proxy) are not supported")) {
            _ = try Proxy(url: "https://proxy:443")
        }
        #expect(throws: WebSocketError.invalidArgument("proxy: unsupported scheme 'ftp'")) { _ = try Proxy(url: "ftp://h") }
        #expect(throws: WebSocketError.invalidArgument("proxy: invalid port '0'")) { _ = try Proxy(url: "http://h:0") }
        #expect(throws: WebSocketError.invalidArgument("proxy: invalid port 'x'")) { _ = try Proxy(url: "http://h:x") }
        #expect(throws: WebSocketError.invalidArgument("proxy: invalid port '+8080'")) { _ = try Proxy(url: "http://h:+8080") }
        #expect(throws: WebSocketError.invalidArgument("proxy: missing or invalid host")) { _ = try Proxy(url: "http://:80") }
        #expect(throws: WebSocketError.invalidArgument("proxy: a proxy URL has no path")) { _ = try Proxy(url: "http://h/path") }
        #expect(throws: WebSocketError.invalidArgument("proxy: invalid percent-encoding in the credentials")) {
            _ = try Proxy(url: "http://a%4:b@h")
        }
        #expect(throws: WebSocketError.invalidArgument("proxy: unterminated IPv6 address")) { _ = try Proxy(url: "http://[::1") }
    }

    static let env = ["http_proxy": "http://plain:3128", "https_proxy": "socks5h://secure:1080",
                      "all_proxy": "socks5://all:1080"]

    @Test func schemePicksTheVariable() throws {
        #expect(try Proxy.fromEnvironment(secure: false, host: "a.example", environment: Self.env)?.host == "plain")
        #expect(try Proxy.fromEnvironment(secure: true, host: "a.example", environment: Self.env)?.host == "secure")
        #expect(try Proxy.fromEnvironment(secure: true, host: "a.example", environment: ["all_proxy": "h:1"])?.host == "h")
        #expect(try Proxy.fromEnvironment(secure: false, host: "a.example", environment: ["ALL_PROXY": "h:1"])?.host == "h")
        #expect(try Proxy.fromEnvironment(secure: false, host: "a.example", environment: ["https_proxy": "h:1"]) == nil)
        #expect(try Proxy.fromEnvironment(secure: false, host: "a.example", environment: [:]) == nil)
    }

    @Test func lowerCaseWinsAndUpperCaseCounts() throws {
        let both = ["http_proxy": "lower:1", "HTTP_PROXY": "upper:1", "HTTPS_PROXY": "upper:2"]
        #expect(try Proxy.fromEnvironment(secure: false, host: "x", environment: both)?.host == "lower")
        #expect(try Proxy.fromEnvironment(secure: false, host: "x", environment: ["HTTP_PROXY": "upper:1"])?.host == "upper")
        #expect(try Proxy.fromEnvironment(secure: true, host: "x", environment: both)?.port == 2)
        // Empty counts as unset; HTTP_PROXY is ignored in a CGI program (httpoxy).
        #expect(try Proxy.fromEnvironment(secure: false, host: "x", environment: ["http_proxy": "", "all_proxy": "a:1"])?.host == "a")
        #expect(try Proxy.fromEnvironment(secure: false, host: "x",
                                          environment: ["HTTP_PROXY": "evil:1", "REQUEST_METHOD": "GET"]) == nil)
    }

    @Test func noProxy() throws {
        var env = Self.env
        env["no_proxy"] = "localhost, .internal.example,corp.example ,10.0.0.0/8,192.168.1.5,[::1],fd00::/8"
        for direct in ["localhost", "LOCALHOST", "a.internal.example", "internal.example", "corp.example",
                       "x.y.corp.example", "corp.example.", "10.1.2.3", "192.168.1.5", "::1", "[::1]", "fd12::1"] {
            #expect(try Proxy.fromEnvironment(secure: false, host: direct, environment: env) == nil, "\(direct)")
        }
        for proxied in ["notcorp.example", "corp.example.com", "11.0.0.1", "192.168.1.6", "::2", "fe80::1", "example"] {
            #expect(try Proxy.fromEnvironment(secure: false, host: proxied, environment: env)?.host == "plain", "\(proxied)")
        }
        #expect(try Proxy.fromEnvironment(secure: true, host: "any", environment: ["https_proxy": "h:1", "NO_PROXY": "*"]) == nil)
        #expect(try Proxy.fromEnvironment(secure: true, host: "any",
                                          environment: ["https_proxy": "h:1", "no_proxy": "other", "NO_PROXY": "*"]) != nil)
    }

    @Test func aBadVariableIsAnInvalidArgument() {
        #expect(throws: WebSocketError.invalidArgument("proxy: unsupported scheme 'ftp'")) {
            _ = try Proxy.fromEnvironment(secure: false, host: "x", environment: ["http_proxy": "ftp://h"])
        }
    }
}
