// SPDX-License-Identifier: Apache-2.0
// `nio-ws serve [PORT]`: the demo server (/echo, /chat, /report) on SwiftNIO with WSProtocol.
// `nio-ws send URL TEXT...`: sends each TEXT, prints each answer, closes.
// One line on stderr and exit status 1 (2 for a usage mistake) on failure.
import NIOCore
import NIOPosix
import WSNIO
import WSProtocol

func fail(_ text: String, status: Int32) -> Never {
    FileDescriptorOutput.standardError.write("nio-ws: \(text)\n")
    exit(status)
}

let arguments = Array(CommandLine.arguments.dropFirst())
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
switch arguments.first {
case "serve":
    let port = arguments.count > 1 ? Int(arguments[1]) : 8080
    guard let port, (0...65535).contains(port) else { fail("invalid port", status: 2) }
    do {
        let channel = try await DemoServer.bind(group: group, port: port).get()
        print("listening on ws://127.0.0.1:\(channel.localAddress?.port ?? port)")
        try await channel.closeFuture.get()
    } catch {
        fail("cannot listen on port \(port): \(error)", status: 1)
    }
case "send" where arguments.count >= 2:
    do {
        let client = try await WebSocketClient.connect(url: arguments[1], group: group)
        var iterator = client.events.makeAsyncIterator()
        for text in arguments.dropFirst(2) {
            try await client.send(.text(text))
            guard let answer = await iterator.next() else { fail("closed early", status: 1) }
            print(answer)
        }
        try await client.close()
        while let event = await iterator.next() { print(event) }
    } catch {
        fail("\(error)", status: 1)
    }
default:
    fail("usage: nio-ws serve [PORT] | nio-ws send URL TEXT...", status: 2)
}

/// Writes to a file descriptor (standard error) without Foundation.
struct FileDescriptorOutput {
    static let standardError = FileDescriptorOutput(fd: 2)
    let fd: Int32
    func write(_ text: String) {
        _ = text.utf8CString.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count - 1) }
    }
}
