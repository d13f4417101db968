#!/usr/bin/env bash
# Memory of the access_log source with many distinct clients and paths: an hour of
# combined-format traffic from 1,000,000 client addresses over 100,000 paths, read by the
# source's collector alone in one process (crates/lookout-sources/examples/
# accesslog_memory.rs). Prints each run's peak resident memory and the median.
#
# Usage: bench/accesslog_memory.sh [LINES] [IPS] [PATHS]   (defaults 3600000 1000000 100000)
# Environment: RUNS=N rounds, median quoted (default 3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}
cargo build --release -q -p lookout-sources --example accesslog_memory
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/accesslog_memory"
peaks=()
for run in $(seq "$RUNS"); do
    out=$("$BIN" "$@")
    echo "run $run: $out"
    peaks+=("$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$out")")
done
median=$(printf '%s\n' "${peaks[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "median peak resident memory: $median KiB ($(awk -v k="$median" 'BEGIN { printf "%.1f", k / 1024 }') MiB; target < 64 MB)"
