#!/usr/bin/env bash
# PromQL query benchmark: a Node Exporter Full style panel set of 20 range queries over
# HOSTS hosts' history (default 100 hosts, 23.8 h, one sample a minute), answered by
# lookout and by a real Prometheus holding the same samples, side by side in one run.
# lookout gets the samples by remote write (scored and stored as in production), Prometheus
# from a block backfilled with `promtool tsdb create-blocks-from openmetrics`. Each round
# asks every query of lookout, then of Prometheus; the figures are medians over RUNS rounds
# of the wall time of each answer (HTTP included), and the ratio lookout / Prometheus.
# The first round also checks that both answer the same number of series and points.
#
# Usage: bench/promql.sh [HOSTS] [HOURS]
#
# Environment:
#   RUNS=N          rounds (default 5)
#   SCRAPE=S        seconds between samples (default 60)
#   STEP=S          query step in seconds (default 60)
#   LOOKOUT_BIN=…   use this lookout binary instead of building one
#   DATA_BIN=…      use this data generator instead of building the example
#
# Needs: the Rust toolchain, python3, and the Debian package `prometheus` (prometheus,
# promtool).
set -euo pipefail

HOSTS=${1:-100}
HOURS=${2:-23.8}
RUNS=${RUNS:-5}
SCRAPE=${SCRAPE:-60}
STEP=${STEP:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 1200); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

for tool in prometheus promtool; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y prometheus" >&2; exit 1; }
done
cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ] || [ -z "${DATA_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout --example promql_data
fi
TARGET=${CARGO_TARGET_DIR:-"$ROOT/target"}
LOOKOUT=${LOOKOUT_BIN:-"$TARGET/release/lookout"}
DATA=${DATA_BIN:-"$TARGET/release/examples/promql_data"}

NOW_MS=$(($(date +%s) * 1000))
END_MS=$(( (NOW_MS - 120000) / (SCRAPE * 1000) * (SCRAPE * 1000) ))
GEN=("$DATA" --hosts "$HOSTS" --hours "$HOURS" --scrape "$SCRAPE" --end-ms "$END_MS")

# lookout: serve, then remote-write the history (oldest first).
LOOKOUT_PORT=$(free_port)
printf '[server]\nmax_series = 100000\n\n[detection]\nprofile = "default"\n' >"$WORK/lookout.toml"
"$LOOKOUT" serve --config "$WORK/lookout.toml" --listen "127.0.0.1:$LOOKOUT_PORT" \
    --data-dir "$WORK/lookout-data" 2>"$WORK/lookout.log" &
PIDS+=("$!")
wait_http "http://127.0.0.1:$LOOKOUT_PORT/readyz"
started=$(date +%s)
SPAN=$("${GEN[@]}" --url "http://127.0.0.1:$LOOKOUT_PORT/api/v1/write")
echo "lookout loaded $SPAN in $(( $(date +%s) - started )) s"

# Prometheus: the same samples as a backfilled block (the text file is removed after).
"${GEN[@]}" --openmetrics "$WORK/data.om" >/dev/null
promtool tsdb create-blocks-from openmetrics "$WORK/data.om" "$WORK/tsdb" >"$WORK/promtool.log"
rm -f "$WORK/data.om"
PROM_PORT=$(free_port)
printf 'global:\n  evaluation_interval: 1m\n' >"$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
    --storage.tsdb.retention.time=10y --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$WORK/prometheus.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$PROM_PORT/-/ready"

echo "$(nproc) cores, $RUNS round(s), step ${STEP}s, $(prometheus --version 2>&1 | head -n 1)"
python3 - "$LOOKOUT_PORT" "$PROM_PORT" "$SPAN" "$RUNS" "$STEP" <<'PY'
import json, statistics, sys, time, urllib.parse, urllib.request

lookout_port, prom_port, span, runs, step = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
start, end = span["start_ms"] / 1000, span["end_ms"] / 1000
queries = [
    '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)',
    'sum by (instance, mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
    'avg by (instance) (rate(node_cpu_seconds_total{mode="iowait"}[5m])) * 100',
    'count by (instance) (node_cpu_seconds_total{mode="idle"})',
    'node_load1',
    'node_load1 / on (instance) group_left count by (instance) (node_cpu_seconds_total{mode="idle"})',
    '100 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100)',
    'node_memory_MemTotal_bytes - node_memory_MemFree_bytes - (node_memory_Cached_bytes + node_memory_Buffers_bytes)',
    '100 - (node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes{fstype!="tmpfs"} * 100)',
    'rate(node_disk_read_bytes_total[5m])',
    'rate(node_disk_written_bytes_total[5m])',
    'rate(node_disk_io_time_seconds_total[5m])',
    'rate(node_network_receive_bytes_total{device!="lo"}[5m]) * 8',
    'rate(node_network_transmit_bytes_total{device!="lo"}[5m]) * 8',
    'topk(10, sum by (instance) (rate(node_network_receive_bytes_total[5m])))',
    'sum by (mode) (rate(node_cpu_seconds_total[5m]))',
    'irate(node_cpu_seconds_total{mode="user"}[5m])',
    'predict_linear(node_filesystem_avail_bytes{mountpoint="/"}[1h], 4 * 3600)',
    'max_over_time(node_load15[1h])',
    'sum by (instance) (increase(node_network_transmit_bytes_total[1h]))',
]

def ask(port, query):
    body = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step}).encode()
    began = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query_range", body, timeout=300) as r:
        answer = json.load(r)
    elapsed = time.perf_counter() - began
    if answer.get("status") != "success":
        raise SystemExit(f"{port} refused {query}: {answer}")
    result = answer["data"]["result"]
    return elapsed, (len(result), sum(len(s["values"]) for s in result))

times = {"lookout": [[] for _ in queries], "prometheus": [[] for _ in queries]}
for round_ in range(runs):
    for i, q in enumerate(queries):
        t_l, shape_l = ask(lookout_port, q)
        t_p, shape_p = ask(prom_port, q)
        times["lookout"][i].append(t_l)
        times["prometheus"][i].append(t_p)
        if round_ == 0 and shape_l != shape_p:
            print(f"DIFFERENT ANSWER for {q}: lookout {shape_l} series/points, prometheus {shape_p}")
print("%-4s %12s %14s %7s  %s" % ("#", "lookout ms", "prometheus ms", "ratio", "query"))
total_l = total_p = 0.0
ratios = []
for i, q in enumerate(queries):
    l = statistics.median(times["lookout"][i]) * 1000
    p = statistics.median(times["prometheus"][i]) * 1000
    total_l += l
    total_p += p
    ratios.append(l / p)
    print("%-4d %12.1f %14.1f %7.2f  %s" % (i + 1, l, p, l / p, q))
print("total of medians: lookout %.0f ms, prometheus %.0f ms, ratio %.2f; median of per-query ratios %.2f"
      % (total_l, total_p, total_l / total_p, statistics.median(ratios)))
PY
