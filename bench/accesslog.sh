#!/usr/bin/env bash
# Access-log parse + derive throughput: `lookout logs derive` and, side by side on the
# same generated combined-format file, GoAccess. Prints lines/s of each, per run, and the
# medians and their ratio.
#
# Usage: bench/accesslog.sh [MINUTES] [RATE]
#   MINUTES of traffic at RATE requests/s are generated (default 10 min at 3000/s,
#   1.8 M lines) with `lookout logs generate`.
#
# Environment:
#   RUNS=N         interleaved rounds (lookout, then GoAccess); medians are quoted (default 3)
#   LOOKOUT_BIN=…  use this lookout binary instead of building one
#   INJECTION=off  pass --no-injection (the content-injection check of each request line
#                  off): run once with and once without to measure the check's cost
#
# Needs: the Rust toolchain; goaccess (Debian package `goaccess`,
# tests/peers/install-accesslog.sh) for the comparison (skipped with a message when missing).
set -euo pipefail

MINUTES=${1:-10}
RATE=${2:-3000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

if [ -z "${LOOKOUT_BIN:-}" ]; then
    cargo build --release -q -p lookout
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
LOG="$WORK/access.log"
"$LOOKOUT_BIN" logs generate --minutes "$MINUTES" --rate "$RATE" > "$LOG"
LINES=$(wc -l < "$LOG")
echo "file: $LINES combined-format lines, $(du -h "$LOG" | cut -f1)"

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

GOACCESS=$(command -v goaccess || true)
[ -n "$GOACCESS" ] || echo "goaccess not found (Debian package goaccess): lookout alone"
: > "$WORK/lookout.rates"
: > "$WORK/goaccess.rates"
for run in $(seq 1 "$RUNS"); do
    start=$(now)
    "$LOOKOUT_BIN" logs derive "$LOG" --output "$WORK/series.csv" ${INJECTION:+$( [ "$INJECTION" = off ] && echo --no-injection )} 2> "$WORK/lookout.err"
    end=$(now)
    rate=$(awk -v n="$LINES" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "$rate" >> "$WORK/lookout.rates"
    echo "run $run: lookout  $rate lines/s ($(cat "$WORK/lookout.err"))"
    if [ -n "$GOACCESS" ]; then
        start=$(now)
        "$GOACCESS" "$LOG" --log-format=COMBINED --no-global-config -o "$WORK/report.json" > /dev/null 2>&1
        end=$(now)
        rate=$(awk -v n="$LINES" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
        echo "$rate" >> "$WORK/goaccess.rates"
        echo "run $run: goaccess $rate lines/s"
    fi
done
LOOKOUT_MEDIAN=$(median < "$WORK/lookout.rates")
echo "median lookout:  $LOOKOUT_MEDIAN lines/s (wall clock, process start to exit, including the CSV output)"
if [ -s "$WORK/goaccess.rates" ]; then
    GOACCESS_MEDIAN=$(median < "$WORK/goaccess.rates")
    echo "median goaccess: $GOACCESS_MEDIAN lines/s"
    awk -v a="$LOOKOUT_MEDIAN" -v b="$GOACCESS_MEDIAN" 'BEGIN { printf "ratio lookout / goaccess: %.2f\n", a / b }'
fi
