#!/usr/bin/env bash
# The hardening probe: `lookout serve` with its default config on loopback, steady
# ingestion and a /healthz probe every 100 ms, while bench/abuse.py throws the abuse of
# the hardening issue at it (heavy range queries, a match[] flood, idle and slowloris
# connections, held 16 MiB bodies, a lying Content-Length, huge labels). Prints one JSON
# line: peak RSS, /healthz latency, ingestion answers, acknowledged and kept samples, and
# what the server answered per phase. Targets: RSS < 1 GB, /healthz within 100 ms
# throughout, ingestion continues, every acknowledged sample kept.
#
# Usage: bench/abuse.sh [PHASE...]        (default: every phase)
# Environment: LOOKOUT_BIN=… (else built in release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
# The client side opens 2,200 connections at once.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
: > "$WORK/lookout.toml"
"$LOOKOUT_BIN" serve --config "$WORK/lookout.toml" --listen "127.0.0.1:$PORT" \
    --data-dir "$WORK/data" 2>"$WORK/lookout.log" &
PID=$!
for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
python3 "$ROOT/bench/abuse.py" "http://127.0.0.1:$PORT" "$PID" "$@"
echo "server log lines: $(wc -l < "$WORK/lookout.log"), of them ERROR: $(grep -c ERROR "$WORK/lookout.log" || true)"
