#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the scale-out recipe on loopback: Redis, two `ws serve` instances sharing /chat through
# it, and a load balancer in front (HAProxy with the PROXY protocol, or nginx with forwarding
# headers). See Docs/ScalingOut.md.
#
#   Examples/ScaleOut/run.sh haproxy      # or: nginx
#
# Then connect to ws://127.0.0.1:$FRONT_PORT/chat (e.g. `ws connect` in two terminals). Stop
# one instance with `kill -TERM <its pid>` to watch it drain; Ctrl-C stops everything.
#
# Environment (defaults in brackets): FRONT_PORT [8000], WS1_PORT [8001], WS2_PORT [8002],
# REDIS_PORT [6390], DRAIN_SECONDS [2], WS [the ws binary of .build/debug], RUN_DIR [a new
# temporary directory; the logs are there: redis.log ws1.log ws2.log balancer.log].
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
balancer=${1:-haproxy}
case "$balancer" in haproxy|nginx) ;; *) echo "usage: $0 haproxy|nginx" >&2; exit 2 ;; esac
export FRONT_PORT=${FRONT_PORT:-8000} WS1_PORT=${WS1_PORT:-8001} WS2_PORT=${WS2_PORT:-8002}
REDIS_PORT=${REDIS_PORT:-6390}
DRAIN_SECONDS=${DRAIN_SECONDS:-2}
WS=${WS:-$root/.build/debug/ws}
RUN_DIR=${RUN_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ws-scaleout.XXXXXX")}
mkdir -p "$RUN_DIR"
[ -x "$WS" ] || { echo "run.sh: no ws binary at $WS (swift build first, or set WS)" >&2; exit 1; }

pids=()
cleanup() {
    trap - EXIT INT TERM
    # Twice: `ws serve` drains at the first SIGTERM and stops draining at the second.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Waits (at most 10 s) until FILE contains TEXT, as long as process PID runs.
wait_for() {
    local file=$1 text=$2 pid=$3
    for _ in $(seq 200); do
        grep -q -- "$text" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "run.sh: no '$text' in $file:" >&2
    tail -5 "$file" >&2 || true
    exit 1
}

/usr/bin/redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$RUN_DIR/redis.log" 2>&1 &
pids+=($!); redis_pid=$!
wait_for "$RUN_DIR/redis.log" "Ready to accept connections" "$redis_pid"

if [ "$balancer" = haproxy ]; then
    # HAProxy adds a PROXY v2 header to every connection: the instances require it from
    # loopback (their default trusted proxy) and log the real client.
    front=(--proxy-protocol)
else
    front=(--forwarded)
fi
for n in 1 2; do
    port_var=WS${n}_PORT
    "$WS" serve --host 127.0.0.1 --port "${!port_var}" "${front[@]}" --redis "redis://127.0.0.1:$REDIS_PORT" \
        --drain "$DRAIN_SECONDS" >"$RUN_DIR/ws$n.log" 2>&1 &
    pids+=($!); eval "ws${n}_pid=$!"
done
wait_for "$RUN_DIR/ws1.log" "redis: connected" "$ws1_pid"
wait_for "$RUN_DIR/ws2.log" "redis: connected" "$ws2_pid"

if [ "$balancer" = haproxy ]; then
    /usr/sbin/haproxy -db -f "$here/haproxy.cfg" >"$RUN_DIR/balancer.log" 2>&1 &
    pids+=($!); balancer_pid=$!
else
    sed -e "s|@FRONT_PORT@|$FRONT_PORT|g" -e "s|@WS1_PORT@|$WS1_PORT|g" -e "s|@WS2_PORT@|$WS2_PORT|g" \
        -e "s|@RUN_DIR@|$RUN_DIR|g" "$here/nginx.conf.template" >"$RUN_DIR/nginx.conf"
    /usr/sbin/nginx -p "$RUN_DIR" -e stderr -c "$RUN_DIR/nginx.conf" >"$RUN_DIR/balancer.log" 2>&1 &
    pids+=($!); balancer_pid=$!
fi
# Ready once /healthz answers through the balancer.
probe() {
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
             printf "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
             head -c 12 <&3' "$FRONT_PORT" 2>/dev/null
}
for attempt in $(seq 200); do
    [ "$(probe || true)" = "HTTP/1.1 200" ] && break
    kill -0 "$balancer_pid" 2>/dev/null || attempt=200
    [ "$attempt" = 200 ] && { echo "run.sh: $balancer did not answer on port $FRONT_PORT" >&2; tail -5 "$RUN_DIR/balancer.log" >&2; exit 1; }
    sleep 0.05
done

echo "ready: ws://127.0.0.1:$FRONT_PORT/chat through $balancer"
echo "logs: $RUN_DIR"
echo "pids: redis=$redis_pid ws1=$ws1_pid ws2=$ws2_pid $balancer=$balancer_pid"
wait
