// SPDX-License-Identifier: Apache-2.0
struct ServeCommand {
    var host: String
    var port: Int
    func run() async -> Int32 { Terminal.error("ws: serve not yet implemented"); return 1 }
}
