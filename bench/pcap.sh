#!/usr/bin/env bash
# Offline capture analysis: `lookout pcap` (events and per-second series) side by side
# with `tshark -q -z io,stat,1` (per-second packet and byte counts only) on the same
# generated capture. Prints packets/s of each, median of RUNS runs, and the ratio.
#
# Usage: bench/pcap.sh [SECONDS] [PACKETS_PER_SECOND]
#   (default 60 s of traffic at 40,000 packets/s plus a 200,000 packets/s spoofed SYN
#   flood for 10 s: about 4.4 million packets)
#
# Environment:
#   RUNS=N         runs of each tool, interleaved (default 3)
#   LOOKOUT_BIN=…  use this lookout binary instead of building one
#   WORK=…         where the capture is written (default a temporary directory; the
#                  capture is about 70 bytes a packet)
#
# Needs: the Rust toolchain; tshark (Debian package `tshark`, installed by
# tests/peers/install-traffic.sh) for the comparison.
set -euo pipefail

SECONDS_OF_TRAFFIC=${1:-60}
RATE=${2:-40000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK=$(mktemp -d); OWN_WORK=1; fi
cleanup() { if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; else rm -f "$WORK/bench.pcap" "$WORK/series.csv"; fi; }
trap cleanup EXIT
cd "$ROOT"

if [ -z "${LOOKOUT_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
cargo build --release -q -p lookout-net --example synth_capture
SYNTH="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/synth_capture"
FLOOD_AT=$((SECONDS_OF_TRAFFIC / 2))
"$SYNTH" "$WORK/bench.pcap" "$SECONDS_OF_TRAFFIC" "$RATE" "syn@${FLOOD_AT}+10:200000"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
elapsed() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; return 1; }; end=$(date +%s.%N); echo "$end - $start" | bc -l; }

LOOKOUT_TIMES=()
TSHARK_TIMES=()
for run in $(seq 1 "$RUNS"); do
    LOOKOUT_TIMES+=("$(elapsed "$LOOKOUT_BIN" pcap "$WORK/bench.pcap" --series "$WORK/series.csv")")
    if command -v tshark >/dev/null 2>&1; then
        TSHARK_TIMES+=("$(elapsed tshark -n -q -z io,stat,1 -r "$WORK/bench.pcap")")
    fi
done
EVENTS=$("$LOOKOUT_BIN" pcap "$WORK/bench.pcap" --quiet | wc -l)
FRAMES=$("$LOOKOUT_BIN" pcap "$WORK/bench.pcap" 2>&1 >/dev/null | sed -E 's/.*: ([0-9]+) frames.*/\1/')
LOOKOUT_S=$(printf '%s\n' "${LOOKOUT_TIMES[@]}" | median)
echo "capture: $FRAMES packets over $SECONDS_OF_TRAFFIC s; lookout raised $EVENTS event(s)"
printf 'lookout pcap:            %8.2f s  %12.0f packets/s  (median of %d)\n' "$LOOKOUT_S" "$(echo "$FRAMES / $LOOKOUT_S" | bc -l)" "$RUNS"
if [ ${#TSHARK_TIMES[@]} -gt 0 ]; then
    TSHARK_S=$(printf '%s\n' "${TSHARK_TIMES[@]}" | median)
    printf 'tshark -z io,stat,1:     %8.2f s  %12.0f packets/s  (median of %d)\n' "$TSHARK_S" "$(echo "$FRAMES / $TSHARK_S" | bc -l)" "$RUNS"
    printf 'ratio (lookout / tshark speed): %.1fx\n' "$(echo "$TSHARK_S / $LOOKOUT_S" | bc -l)"
else
    echo "tshark not installed: run tests/peers/install-traffic.sh for the comparison"
fi
