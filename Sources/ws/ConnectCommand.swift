// SPDX-License-Identifier: Apache-2.0
struct ConnectCommand {
    var options: CommandLineOptions.Connect
    func run() async -> Int32 { Terminal.error("ws: connect not yet implemented"); return 1 }
}
