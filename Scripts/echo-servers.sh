# SPDX-License-Identifier: Apache-2.0
# Sourced by Scripts/bench-user-cpu and Scripts/bench-instructions (from Benchmarks/): builds
# the echo servers they measure and names the command that starts each one.
#
#   echo_servers_build             compiles the C load generator and floors, builds WSEchoServer,
#                                  SwiftFloor and `ws` (release); sets BIN and WS
#   echo_server_cmd NAME PORT      sets `cmd` (the command), `path` (the resource to load) and
#                                  `lg` (the load generator: `bin/loadgen`, or `bin/loadgen-tls -S`
#                                  for a wss:// server); unknown names, or a *-before server
#                                  without its binary, exit 2
#
# Servers: c-fast, c-floor, swift-floor, swift-async-floor, ours (WSEchoServer inline),
# ours-async (WSEchoServer async), ours-inplace (WSEchoServer inplace: the message handler,
# messages borrowed in place), ws-serve (`ws serve`, /echo, no deflate), ws-serve-before (the
# `ws` binary named by WS_BEFORE, e.g. a copy built before a change), ours-before and
# ours-inplace-before (the WSEchoServer binary named by ECHO_BEFORE). Over wss:// (a throwaway
# certificate for 127.0.0.1, made on first use): ours-tls (WSEchoServer inline with
# --tls-cert/--tls-key, as Scripts/bench-tls runs it), ours-tls-before (ECHO_BEFORE's) and
# c-floor-tls (echo_server.c built with OpenSSL).

echo_servers_build() {
    mkdir -p bin
    cc -O2 -Wall -Wextra -o bin/loadgen C/loadgen.c
    cc -O2 -Wall -Wextra -o bin/echo_server C/echo_server.c
    cc -O3 -Wall -Wextra -o bin/echo_server_fast C/echo_server_fast.c
    cc -O2 -Wall -Wextra -DWITH_OPENSSL -o bin/echo_server-tls C/echo_server.c -lssl -lcrypto
    cc -O2 -Wall -Wextra -DWITH_OPENSSL -o bin/loadgen-tls C/loadgen.c -lssl -lcrypto
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

# A certificate and key for the wss:// servers (EC P-256, CN localhost, SAN 127.0.0.1, valid a
# day), made again once per run in results/tls-certs (ignored by git; no trap to remove them,
# which would replace the calling script's).
echo_servers_tls_certs() {
    [ -n "${TLS_DIR:-}" ] && return 0
    TLS_DIR="$PWD/results/tls-certs"
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null
}

echo_server_cmd() {
    local name=$1 port=$2 mode
    path=/
    lg=(bin/loadgen)
    case "$name" in
        ours-tls|ours-tls-before|c-floor-tls)
            echo_servers_tls_certs
            lg=(bin/loadgen-tls -S)
            if [ "$name" != c-floor-tls ]; then
                local binary="$BIN/WSEchoServer"
                if [ "$name" = ours-tls-before ]; then
                    [ -x "${ECHO_BEFORE:-}" ] || { echo "$(basename "$0"): $name needs ECHO_BEFORE=path/to/WSEchoServer" >&2; exit 2; }
                    binary=$ECHO_BEFORE
                fi
                cmd=("$binary" --tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem" --tls-session-tickets 2 inline "$port")
            else
                cmd=(bin/echo_server-tls "$port" "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem")
            fi ;;
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
