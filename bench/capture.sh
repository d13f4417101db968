#!/usr/bin/env bash
# Live capture, the two ways side by side: `lookout serve` with a `packet_capture` source
# on one end of a veth pair, `capture = "ring"` (TPACKET_V3 memory-mapped ring) against
# `capture = "socket"` (a receive per frame), while hping3 floods the other end (a
# network namespace made and removed here) with spoofed SYNs for a bounded time.
# Prints, per way, medians of RUNS interleaved runs: frames hping3 sent, packets/s
# captured, the share captured, kernel drops, own drops (seconds dropped at the hand-over
# to ingestion), and the CPU time of the capture thread (capture and analysis) per
# million frames; then the ratios.
#
# Usage: bench/capture.sh [FLOOD_SECONDS]   (default 10)
#
# Environment:
#   RUNS=N         runs of each way, interleaved (default 3)
#   FLOODERS=N     hping3 processes flooding at once (default 1)
#   RING_SIZE=…    the ring's ring_size (default the source's, 32MiB)
#   LOOKOUT_BIN=…  use this lookout binary instead of building one
#
# Needs root (namespaces, capture), iproute2 and hping3 (tests/peers/install-traffic.sh).
# Traffic stays on the pair: the namespace has no route anywhere else.
set -euo pipefail

FLOOD_SECONDS=${1:-10}
RUNS=${RUNS:-3}
FLOODERS=${FLOODERS:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "bench/capture.sh needs root" >&2; exit 1; fi
command -v hping3 >/dev/null || { echo "hping3 missing: run tests/peers/install-traffic.sh" >&2; exit 1; }

if [ -z "${LOOKOUT_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p lookout --bin lookout)
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi

ID=$(( $$ % 10000 ))
NS="cbt$ID"; OUTER="cba$ID"; INNER="cbb$ID"
HOST=10.203.9.1; VICTIM=10.203.9.2
WORK=$(mktemp -d)
LOOKOUT_PID=""
cleanup() {
    if [ -n "$LOOKOUT_PID" ]; then kill "$LOOKOUT_PID" 2>/dev/null || true; wait "$LOOKOUT_PID" 2>/dev/null || true; fi
    ip link del "$OUTER" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$OUTER" type veth peer name "$INNER"
ip link set "$INNER" netns "$NS"
ip addr add "$HOST/30" dev "$OUTER"
ip link set "$OUTER" up
ip netns exec "$NS" ip addr add "$VICTIM/30" dev "$INNER"
ip netns exec "$NS" ip link set "$INNER" up

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
metric() { # metric NAME OUTCOME: the counter's value on /metrics (0 when absent)
    curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v n="$1" -v o="outcome=\"$2\"" \
        'index($0, n "{") == 1 && index($0, o) { v = $NF } END { print (v == "" ? 0 : v) }'
}
# CPU ticks of the capture thread (named lookout-packet_capture#0, cut to 15 characters).
cpu_ticks() {
    local task
    for task in /proc/"$1"/task/*; do
        if [ "$(cat "$task/comm")" = "lookout-packet_" ]; then
            awk '{ print $14 + $15 }' "$task/stat"; return
        fi
    done
    echo 0
}

one_run() { # one_run METHOD: prints "sent captured kernel_dropped own_dropped cpu_seconds"
    local method=$1 dir="$WORK/$1"
    rm -rf "$dir"; mkdir -p "$dir"
    cat >"$dir.toml" <<EOF
[[source]]
type = "packet_capture"
interface = "$OUTER"
capture = "$method"
${RING_SIZE:+ring_size = \"$RING_SIZE\"}
EOF
    "$LOOKOUT_BIN" serve --config "$dir.toml" --listen "127.0.0.1:$PORT" --data-dir "$dir" \
        >"$dir.log" 2>&1 &
    LOOKOUT_PID=$!
    for _ in $(seq 1 300); do
        ping -c 1 -W 0.1 -q "$VICTIM" >/dev/null 2>&1 || true
        if [ "$(metric lookout_packet_capture_frames_total captured)" != 0 ]; then break; fi
        kill -0 "$LOOKOUT_PID" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }
        sleep 0.1
    done
    sleep 1
    local captured0 kernel0 own0 cpu0
    captured0=$(metric lookout_packet_capture_frames_total captured)
    kernel0=$(metric lookout_packet_capture_frames_total kernel_dropped)
    own0=$(metric lookout_packet_capture_batches_total dropped)
    cpu0=$(cpu_ticks "$LOOKOUT_PID")
    local pids=()
    for f in $(seq 1 "$FLOODERS"); do
        timeout "$FLOOD_SECONDS" hping3 -S -p 80 --flood --rand-source -q "$VICTIM" \
            >"$WORK/hping$f.out" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    sleep 2
    local captured kernel own cpu sent=0
    captured=$(metric lookout_packet_capture_frames_total captured)
    kernel=$(metric lookout_packet_capture_frames_total kernel_dropped)
    own=$(metric lookout_packet_capture_batches_total dropped)
    cpu=$(cpu_ticks "$LOOKOUT_PID")
    for f in $(seq 1 "$FLOODERS"); do
        sent=$((sent + $(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$WORK/hping$f.out" | tail -1)))
    done
    kill "$LOOKOUT_PID"; wait "$LOOKOUT_PID" 2>/dev/null || true; LOOKOUT_PID=""
    echo "$sent $((captured - captured0)) $((kernel - kernel0)) $((own - own0)) $(echo "($cpu - $cpu0) / $(getconf CLK_TCK)" | bc -l)"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A RESULTS
for run in $(seq 1 "$RUNS"); do
    for method in ring socket; do
        line=$(one_run "$method")
        echo "run $run $method: sent captured kernel_drops own_drops cpu_s = $line" >&2
        RESULTS[$method]+="$line"$'\n'
    done
done

column() { printf '%s' "${RESULTS[$1]}" | awk -v c="$2" 'NF { print $c }' | median; }
echo "flood: $FLOODERS hping3 -S --flood --rand-source for $FLOOD_SECONDS s on a veth; medians of $RUNS runs"
printf '%-8s %12s %14s %9s %13s %10s %24s\n' way sent "captured/s" captured "kernel drops" "own drops" "thread CPU s / M frames"
for method in ring socket; do
    sent=$(column "$method" 1)
    rate=$(printf '%s' "${RESULTS[$method]}" | awk -v d="$FLOOD_SECONDS" 'NF { print $2 / d }' | median)
    share=$(printf '%s' "${RESULTS[$method]}" | awk 'NF && $1 > 0 { print 100 * $2 / $1 }' | median)
    kernel=$(column "$method" 3)
    own=$(column "$method" 4)
    cost=$(printf '%s' "${RESULTS[$method]}" | awk 'NF && $2 > 0 { print 1e6 * $5 / $2 }' | median)
    printf '%-8s %12.0f %14.0f %8.1f%% %13.0f %10.0f %24.2f\n' "$method" "$sent" "$rate" "$share" "$kernel" "$own" "$cost"
    declare "RATE_$method=$rate" "COST_$method=$cost"
done
printf 'ratio ring / socket: captured/s %.2fx, CPU per frame %.2fx\n' \
    "$(echo "$RATE_ring / $RATE_socket" | bc -l)" "$(echo "$COST_ring / $COST_socket" | bc -l)"
