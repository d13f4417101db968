#!/usr/bin/env bash
# Remote-write ingestion benchmark: lookout (detection and storage on) and, side by side
# with the same payloads, VictoriaMetrics. Prints samples/s, request latency (for lookout
# an acknowledgement means scored, committed and queryable), peak RSS, and the ratio.
#
# Usage: bench/ingest.sh [SECONDS] [SERIES] [BATCH] [CONCURRENCY]
#
# Environment:
#   RUNS=N          repeat the whole comparison N times, interleaved (lookout, then
#                   VictoriaMetrics, then again), and print the median of each figure;
#                   the machine is shared, so medians of interleaved runs are the figures
#                   to quote (default 1)
#   LOOKOUT_BIN=…   use this lookout binary instead of building one
#   BASELINE_BIN=…  also run this other lookout binary (e.g. an older build) in each round,
#                   to compare before/after under the same conditions
#   LOAD_BIN=…      use this load generator instead of building the example
#
# Needs: the Rust toolchain; victoria-metrics (Debian package `victoria-metrics`) for the
# comparison (skipped with a message when missing).
set -euo pipefail

SECONDS_OF_LOAD=${1:-30}
SERIES=${2:-100000}
BATCH=${3:-5000}
CONCURRENCY=${4:-4}
RUNS=${RUNS:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_mib() { awk -v key="$2" '$1 == key":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ] || [ -z "${LOAD_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout --example ingest_load
fi
LOOKOUT=${LOOKOUT_BIN:-"$ROOT/target/release/lookout"}
LOAD=${LOAD_BIN:-"$ROOT/target/release/examples/ingest_load"}
VM=$(command -v victoria-metrics || true)

run_load() { "$LOAD" --url "$1" --series "$SERIES" --batch "$BATCH" --concurrency "$CONCURRENCY" --duration "$SECONDS_OF_LOAD"; }

# One lookout run; appends a JSON line (load figures + memory) to $2.
run_lookout() {
    local binary=$1 out=$2 port pid result hwm rss active
    port=$(free_port)
    rm -rf "$WORK/lookout-data"
    printf '[server]\nmax_series = %s\n' "$((SERIES * 2))" >"$WORK/lookout.toml"
    "$binary" serve --config "$WORK/lookout.toml" --listen "127.0.0.1:$port" \
        --data-dir "$WORK/lookout-data" 2>"$WORK/lookout.log" &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$port/readyz"
    result=$(run_load "http://127.0.0.1:$port/api/v1/write")
    hwm=$(rss_mib "$pid" VmHWM)
    rss=$(rss_mib "$pid" VmRSS)
    active=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '$1 == "lookout_series_active" { print $2 }')
    kill -TERM "$pid"
    wait "$pid" || true
    echo "${result%\}},\"peak_rss_mib\":$hwm,\"rss_mib\":$rss,\"active_series\":${active:-0}}" >>"$out"
    echo "  $(basename "$out" .jsonl): $(tail -n 1 "$out")"
}

run_vm() {
    local out=$1 port pid result hwm
    port=$(free_port)
    rm -rf "$WORK/vm-data"
    "$VM" -storageDataPath "$WORK/vm-data" -httpListenAddr "127.0.0.1:$port" -retentionPeriod 1y >"$WORK/vm.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$port/health"
    result=$(run_load "http://127.0.0.1:$port/api/v1/write")
    hwm=$(rss_mib "$pid" VmHWM)
    kill -TERM "$pid"
    wait "$pid" || true
    echo "${result%\}},\"peak_rss_mib\":$hwm}" >>"$out"
    echo "  $(basename "$out" .jsonl): $(tail -n 1 "$out")"
}

echo "load: $SERIES series, $BATCH samples per request, $CONCURRENCY connections, ${SECONDS_OF_LOAD}s, $(nproc) cores, $RUNS run(s)"
[ -z "$VM" ] && echo "victoria-metrics not installed (apt-get install -y victoria-metrics): comparison skipped"
for run in $(seq 1 "$RUNS"); do
    echo "round $run:"
    run_lookout "$LOOKOUT" "$WORK/lookout.jsonl"
    if [ -n "${BASELINE_BIN:-}" ]; then run_lookout "$BASELINE_BIN" "$WORK/baseline.jsonl"; fi
    if [ -n "$VM" ]; then run_vm "$WORK/victoria-metrics.jsonl"; fi
done

python3 - "$WORK" <<'PY'
import json, os, statistics, sys
work = sys.argv[1]
runs = {}
for name in ("lookout", "baseline", "victoria-metrics"):
    path = os.path.join(work, name + ".jsonl")
    if os.path.exists(path):
        runs[name] = [json.loads(line) for line in open(path) if line.strip()]
fields = ["samples_per_second", "latency_ms_p50", "latency_ms_p99", "latency_ms_max", "retries", "peak_rss_mib"]
print("medians over %d round(s):" % len(runs["lookout"]))
print("%-17s %12s %9s %9s %9s %8s %9s" % ("", "samples/s", "p50 ms", "p99 ms", "max ms", "retries", "peak MiB"))
for name, rows in runs.items():
    med = [statistics.median(row[f] for row in rows) for f in fields]
    print("%-17s %12.0f %9.1f %9.1f %9.1f %8.0f %9.0f" % (name, *med))
steady = ["steady_samples_per_second", "steady_latency_ms_p50", "steady_latency_ms_p99", "steady_latency_ms_max"]
print("steady state (after the first round, when every series exists), medians:")
print("%-17s %12s %9s %9s %9s" % ("", "samples/s", "p50 ms", "p99 ms", "max ms"))
for name, rows in runs.items():
    med = [statistics.median(row[f] for row in rows) for f in steady]
    print("%-17s %12.0f %9.1f %9.1f %9.1f" % (name, *med))
if "victoria-metrics" in runs:
    vm = runs["victoria-metrics"]
    for name in ("lookout", "baseline"):
        if name in runs:
            ratios = [a["samples_per_second"] / b["samples_per_second"] for a, b in zip(runs[name], vm)]
            print("ratio %s / victoria-metrics (samples/s, median of rounds): %.2f  (rounds: %s)"
                  % (name, statistics.median(ratios), ", ".join("%.2f" % r for r in ratios)))
PY
