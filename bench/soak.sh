#!/usr/bin/env bash
# Soak: `lookout serve` for DURATION seconds (default 3600) under paced remote-write load
# (SERIES series, RATE rounds per second: by default 100,000 series at 1 sample/s each,
# about a quarter to a half of the measured capacity), with range queries every 5 s and
# an alert rule over every series (alerts shown in the API, no notifier). Samples the
# server's resident memory every 10 s and prints its growth after the first 10 minutes
# (target: under 5 %) and the ERROR lines it logged (target: none). Not run in CI.
#
# Usage: bench/soak.sh [DURATION] [SERIES] [RATE]
# Environment: LOOKOUT_BIN=…, LOAD_BIN=… (else built in release).
set -euo pipefail
DURATION=${1:-3600}
SERIES=${2:-100000}
RATE=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ] || [ -z "${LOAD_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout --example ingest_load
fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
LOOKOUT=${LOOKOUT_BIN:-"$TARGET/lookout"}
LOAD=${LOAD_BIN:-"$TARGET/examples/ingest_load"}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/lookout.toml" <<TOML
[server]
max_series = $((SERIES * 2))

[[alert.rule]]
name = "soak"
match = '{job="bench"}'
min_score = 0.9
TOML
"$LOOKOUT" serve --config "$WORK/lookout.toml" --listen "127.0.0.1:$PORT" \
    --data-dir "$WORK/data" 2>"$WORK/lookout.log" &
PID=$!
PIDS+=("$PID")
for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
"$LOAD" --url "http://127.0.0.1:$PORT/api/v1/write" --series "$SERIES" --batch 5000 \
    --concurrency 2 --duration "$DURATION" --rate "$RATE" > "$WORK/load.out" &
PIDS+=("$!")
(
    while sleep 5; do
        end=$(date +%s)
        curl -fsS -G "http://127.0.0.1:$PORT/api/v1/query_range" \
            --data-urlencode 'query=avg by (instance) (bench_metric_7)' \
            --data-urlencode "start=$((end - 600))" --data-urlencode "end=$end" \
            --data-urlencode 'step=15s' >/dev/null || echo "query failed at $end" >> "$WORK/queries.err"
    done
) &
PIDS+=("$!")
echo "seconds rss_mib" > "$WORK/rss"
for elapsed in $(seq 10 10 "$DURATION"); do
    sleep 10
    awk -v t="$elapsed" '$1 == "VmRSS:" { printf "%d %.1f\n", t, $2 / 1024 }' "/proc/$PID/status" >> "$WORK/rss"
done
wait "${PIDS[1]}" || true
cat "$WORK/load.out"
awk 'NR > 1 { if ($1 <= 600) base = $2; last = $2; if ($2 > peak) peak = $2 }
     END { printf "rss after 10 min: %.1f MiB, at the end: %.1f MiB, peak %.1f MiB, growth after 10 min: %.1f %%\n", base, last, peak, base ? 100 * (last - base) / base : 0 }' "$WORK/rss"
echo "failed queries: $(cat "$WORK/queries.err" 2>/dev/null | wc -l)"
echo "ERROR lines logged: $(grep -c ERROR "$WORK/lookout.log" || true); alerts firing: $(curl -fsS "http://127.0.0.1:$PORT/api/v1/alerts" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(len(d.get("alerts", d)) if isinstance(d, dict) else len(d))')"
