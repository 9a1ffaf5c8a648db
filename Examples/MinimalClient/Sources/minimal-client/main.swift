// SPDX-License-Identifier: Apache-2.0
// `minimal-client URL [TEXT]...`: sends each TEXT as a text message, prints every event until
// the server has answered each one, then closes. One line on stderr and exit 1 on failure.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MinimalClient
import WSProtocol

let arguments = Array(CommandLine.arguments.dropFirst())
guard let url = arguments.first else {
    print("usage: minimal-client URL [TEXT]...")
    exit(2)
}
do throws(MinimalClient.Failure) {
    var client = try MinimalClient(url: url)
    for text in arguments.dropFirst() { try client.send(.text(text)) }
    var answered = 0
    while answered < arguments.count - 1, let event = try client.nextEvent() {
        print(event)
        if case .message = event { answered += 1 }
    }
    try client.close()
    while let event = try client.nextEvent() { print(event) }
} catch {
    var stderr = StandardError()
    print("minimal-client: \(error)", to: &stderr)
    exit(1)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { _ = string.utf8CString.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count - 1) } }
}
