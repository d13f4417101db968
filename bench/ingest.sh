#!/usr/bin/env bash
# Remote-write ingestion benchmark: lookout (detection and storage on) and, side by side
# with the same payloads, VictoriaMetrics. Prints samples/s, request latency (for lookout
# an acknowledgement means scored, committed and queryable), peak RSS, and the ratio.
#
# Usage: bench/ingest.sh [SECONDS] [SERIES] [BATCH] [CONCURRENCY]
# Needs: the Rust toolchain; victoria-metrics (Debian package `victoria-metrics`) for the
# comparison (skipped with a message when missing).
set -euo pipefail

SECONDS_OF_LOAD=${1:-30}
SERIES=${2:-100000}
BATCH=${3:-5000}
CONCURRENCY=${4:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_mib() { awk -v key="$2" '$1 == key":" { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

cd "$ROOT"
cargo build --release -q -p lookout --bin lookout --example ingest_load
LOOKOUT="$ROOT/target/release/lookout"
LOAD="$ROOT/target/release/examples/ingest_load"

run_load() { "$LOAD" --url "$1" --series "$SERIES" --batch "$BATCH" --concurrency "$CONCURRENCY" --duration "$SECONDS_OF_LOAD"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "load: $SERIES series, $BATCH samples per request, $CONCURRENCY connections, ${SECONDS_OF_LOAD}s, $(nproc) cores"

PORT=$(free_port)
printf '[server]\nmax_series = %s\n' "$((SERIES * 2))" > "$WORK/lookout.toml"
"$LOOKOUT" serve --config "$WORK/lookout.toml" --listen "127.0.0.1:$PORT" --data-dir "$WORK/lookout-data" 2>"$WORK/lookout.log" &
LOOKOUT_PID=$!
PIDS+=("$LOOKOUT_PID")
wait_http "http://127.0.0.1:$PORT/readyz"
LOOKOUT_RESULT=$(run_load "http://127.0.0.1:$PORT/api/v1/write")
LOOKOUT_HWM=$(rss_mib "$LOOKOUT_PID" VmHWM)
LOOKOUT_RSS=$(rss_mib "$LOOKOUT_PID" VmRSS)
ACTIVE=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '$1 == "lookout_series_active" { print $2 }')
kill -TERM "$LOOKOUT_PID"; wait "$LOOKOUT_PID" || true
echo "lookout:         $LOOKOUT_RESULT"
echo "lookout memory:  peak RSS ${LOOKOUT_HWM} MiB, RSS at end ${LOOKOUT_RSS} MiB, ${ACTIVE} active series"

VM=$(command -v victoria-metrics || true)
if [ -z "$VM" ]; then
    echo "victoria-metrics not installed (apt-get install -y victoria-metrics): comparison skipped"
    exit 0
fi
VM_PORT=$(free_port)
"$VM" -storageDataPath "$WORK/vm-data" -httpListenAddr "127.0.0.1:$VM_PORT" -retentionPeriod 1y >"$WORK/vm.log" 2>&1 &
VM_PID=$!
PIDS+=("$VM_PID")
wait_http "http://127.0.0.1:$VM_PORT/health"
VM_RESULT=$(run_load "http://127.0.0.1:$VM_PORT/api/v1/write")
VM_HWM=$(rss_mib "$VM_PID" VmHWM)
echo "victoria-metrics: $VM_RESULT"
echo "victoria-metrics memory: peak RSS ${VM_HWM} MiB"
python3 - "$LOOKOUT_RESULT" "$VM_RESULT" <<'PY'
import json, sys
lookout, vm = (json.loads(arg) for arg in sys.argv[1:3])
print("ratio lookout / victoria-metrics (samples/s): %.2f" % (lookout["samples_per_second"] / vm["samples_per_second"]))
PY
