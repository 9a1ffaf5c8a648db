# SPDX-License-Identifier: Apache-2.0
# Sourced by Scripts/bench-user-cpu and Scripts/bench-instructions (from Benchmarks/): builds
# the echo servers they measure and names the command that starts each one.
#
#   echo_servers_build             compiles the C load generator and floors, builds WSEchoServer,
#                                  SwiftFloor and `ws` (release); sets BIN and WS
#   echo_server_cmd NAME PORT      sets `cmd` (the command) and `path` (the resource to load);
#                                  unknown names, or a *-before server without its binary, exit 2
#
# Servers: c-fast, c-floor, swift-floor, swift-async-floor, ours (WSEchoServer inline),
# ours-async (WSEchoServer async), ours-inplace (WSEchoServer inplace: the message handler,
# messages borrowed in place), ws-serve (`ws serve`, /echo, no deflate), ws-serve-before (the
# `ws` binary named by WS_BEFORE, e.g. a copy built before a change), ours-before and
# ours-inplace-before (the WSEchoServer binary named by ECHO_BEFORE).

echo_servers_build() {
    mkdir -p bin
    cc -O2 -Wall -Wextra -o bin/loadgen C/loadgen.c
    cc -O2 -Wall -Wextra -o bin/echo_server C/echo_server.c
    cc -O3 -Wall -Wextra -o bin/echo_server_fast C/echo_server_fast.c
    # SwiftPM can keep the file list of the root package (a path dependency) from an earlier
    # build of this package: a source file added since then is then missing ("cannot find
    # type"), seen on 4 December. Touching this package's manifest makes it read the dependency
    # again.
    touch Package.swift
    swift build -c release --product WSEchoServer >&2
    swift build -c release --product SwiftFloor >&2
    BIN="$(swift build -c release --show-bin-path)"
    (cd .. && swift build -c release --product ws >&2)
    WS="$(cd .. && swift build -c release --show-bin-path)/ws"
}

echo_server_cmd() {
    local name=$1 port=$2 mode
    path=/
    case "$name" in
        c-fast) cmd=(bin/echo_server_fast "$port") ;;
        c-floor) cmd=(bin/echo_server "$port") ;;
        swift-floor) cmd=("$BIN/SwiftFloor" sync "$port") ;;
        swift-async-floor) cmd=("$BIN/SwiftFloor" async "$port") ;;
        ours) cmd=("$BIN/WSEchoServer" inline "$port") ;;
        ours-async) cmd=("$BIN/WSEchoServer" async "$port") ;;
        ours-inplace) cmd=("$BIN/WSEchoServer" inplace "$port") ;;
        ws-serve) cmd=("$WS" serve --host 127.0.0.1 --port "$port" --no-deflate); path=/echo ;;
        ws-serve-before)
            [ -x "${WS_BEFORE:-}" ] || { echo "$(basename "$0"): ws-serve-before needs WS_BEFORE=path/to/ws" >&2; exit 2; }
            cmd=("$WS_BEFORE" serve --host 127.0.0.1 --port "$port" --no-deflate); path=/echo ;;
        ours-before|ours-inplace-before)
            [ -x "${ECHO_BEFORE:-}" ] || { echo "$(basename "$0"): $name needs ECHO_BEFORE=path/to/WSEchoServer" >&2; exit 2; }
            mode=inline; [ "$name" = ours-inplace-before ] && mode=inplace
            cmd=("$ECHO_BEFORE" "$mode" "$port") ;;
        *) echo "$(basename "$0"): unknown server '$name'" >&2; exit 2 ;;
    esac
}
