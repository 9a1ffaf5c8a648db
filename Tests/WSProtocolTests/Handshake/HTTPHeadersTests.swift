// SPDX-License-Identifier: Apache-2.0
import Testing
import WSProtocol

@Suite("RFC 9110 §5 Header fields")
struct HTTPHeadersTests {
    @Test("Name matching is ASCII case-insensitive only: same length, byte by byte")
    func nameMatching() {
        let h: HTTPHeaders = ["Sec-WebSocket-Key": "k", "X-\u{C9}t\u{E9}": "e", "Upgrade": "websocket"]
        #expect(h["sec-websocket-key"] == ["k"])
        #expect(h["SEC-WEBSOCKET-KEY"] == ["k"])
        #expect(h["sec-websocket-ke"] == [])
        #expect(h["sec-websocket-keys"] == [])
        #expect(h["sec-websocket-kez"] == [])
        #expect(h["Sec-WebSocket-Key\u{0}"] == [])
        #expect(h["X-\u{C9}t\u{E9}"] == ["e"])
        #expect(h["x-\u{C9}T\u{E9}"] == ["e"])
        #expect(h["X-\u{E9}t\u{E9}"] == [])  // no case folding beyond ASCII
        #expect(h["upgrade"] == ["websocket"] && h.contains(name: "UPGRADE") && !h.contains(name: "upgrad"))
        // "@" and "[" sit next to "A" and "Z": not letters.
        let edges: HTTPHeaders = ["@Z[": "1"]
        #expect(edges["@z["] == ["1"] && edges["`z["] == [] && edges["@z{"] == [])
    }

    @Test("Names are case-insensitive; order, spelling and duplicates are kept")
    func orderAndCase() {
        var h: HTTPHeaders = ["Host": "a", "X-Dup": "1"]
        h.add(name: "x-dup", value: "2")
        h.add(name: "Other", value: "3")
        #expect(h["X-DUP"] == ["1", "2"])
        #expect(h.first(name: "host") == "a")
        #expect(h.contains(name: "OTHER"))
        #expect(!h.contains(name: "Missing"))
        #expect(h.map(\.name) == ["Host", "X-Dup", "x-dup", "Other"])
        h.replaceOrAdd(name: "X-DUP", value: "9")
        #expect(h.map(\.name) == ["Host", "Other", "X-DUP"])
        #expect(h["x-dup"] == ["9"])
        h.remove(name: "host")
        #expect(h.count == 2)
    }

    @Test("Token lists span several fields, skip empty elements and trim whitespace (RFC 9110 §5.6.1)")
    func tokenLists() {
        let h: HTTPHeaders = ["Connection": "keep-alive, Upgrade", "Sec-WebSocket-Protocol": " chat ,, superchat ",
                              "sec-websocket-protocol": "v2.json"]
        #expect(h.tokens("Sec-WebSocket-Protocol") == ["chat", "superchat", "v2.json"])
        #expect(h.containsToken("upgrade", in: "connection"))
        #expect(!h.containsToken("upgrad", in: "Connection"))
    }

    @Test("Tufao's supportedProtocols: the offered subprotocols in order")
    func supportedProtocols() {
        let h: HTTPHeaders = ["Sec-WebSocket-Protocol": "chat, superchat", "Sec-WebSocket-Protocol": "mqtt"]
        #expect(UpgradeRequest.supportedProtocols(h) == ["chat", "superchat", "mqtt"])
        #expect(UpgradeRequest.supportedProtocols([:]) == [])
    }

    @Test("Fields that could inject lines are never written")
    func writingIsSafe() {
        let h: HTTPHeaders = ["Good": "yes", "Bad": "x\r\nInjected: 1", "Bad Name": "v", "Also": "ok"]
        #expect(!h.isValidForWriting)
        #expect(h.firstInvalidField?.name == "Bad")
        let head = HTTPResponseHead(status: 200, headers: h)
        #expect(head.bytes == "HTTP/1.1 200 OK\r\nGood: yes\r\nAlso: ok\r\n\r\n".bytes)
    }

    @Test("A response's bytes with a body get Content-Length; 204 and 304 get no body")
    func responseBytes() {
        let page = HTTPResponseHead(status: 200, headers: ["Content-Type": "text/html"]).bytes(body: "<p>hi</p>".bytes)
        #expect(page == "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>hi</p>".bytes)
        #expect(HTTPResponseHead(status: 204).bytes(body: "x".bytes) == "HTTP/1.1 204 No Content\r\n\r\n".bytes)
        #expect(HTTPResponseHead(status: 599).bytes(body: []) == "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n".bytes)
    }

    @Test("Request path and query")
    func pathAndQuery() {
        let r = HTTPRequestHead(method: "GET", target: "/chat?room=1&x=y")
        #expect(r.path == "/chat")
        #expect(r.query == "room=1&x=y")
        #expect(HTTPRequestHead(method: "GET", target: "/").query == nil)
    }
}
