#!/usr/bin/env bash
# Log pattern mining benchmark: `lookout logs patterns` on the RAW lines of the loghub 2k
# samples (../shared/datasets/loghub/loghub-dev.tar.xz, unpacked once into
# ~/.cache/lookout/loghub) and, side by side, drain3 (PyPI, default settings, installed by
# tests/peers/install-logpattern.sh) on the header-stripped Content column and on the raw
# lines. Prints per-system grouping accuracy, then lines/s of both over the eight raw
# files concatenated REPEAT times.
#
# Usage: bench/logpatterns.sh
# Environment: REPEAT=N (default 20), LOOKOUT_BIN=… (else built with --release),
#              LOOKOUT_PEERS_VENV (default ~/.cache/lookout/peers-venv).
set -euo pipefail

REPEAT=${REPEAT:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${LOOKOUT_PEERS_VENV:-$HOME/.cache/lookout/peers-venv}
ARCHIVE="$ROOT/../shared/datasets/loghub/loghub-dev.tar.xz"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lookout/loghub"
PEER="$ROOT/bench/logpatterns_peer.py"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$CACHE/loghub/HDFS/HDFS_2k.log" ]; then
    [ -f "$ARCHIVE" ] || { echo "missing $ARCHIVE" >&2; exit 1; }
    mkdir -p "$CACHE" && tar -xJf "$ARCHIVE" -C "$CACHE"
fi
DATA="$CACHE/loghub"
if [ -z "${LOOKOUT_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p lookout)
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
DRAIN3=""
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import drain3' 2>/dev/null; then
    DRAIN3="$VENV/bin/python $PEER drain3"
else
    echo "drain3 not installed (bash tests/peers/install-logpattern.sh): its columns are skipped" >&2
fi

SYSTEMS="Apache HDFS HPC Linux Mac OpenStack Spark Windows"
mean() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(f'{sum(v)/len(v):.3f}')" "$@"; }
printf '%-10s %8s %15s %12s\n' system lookout drain3_content drain3_raw
all_l=(); all_c=(); all_r=()
for s in $SYSTEMS; do
    raw="$DATA/$s/${s}_2k.log"; truth="$DATA/$s/${s}_2k.log_structured.csv"
    "$LOOKOUT_BIN" logs patterns "$raw" --output "$WORK/$s.csv" 2>/dev/null
    l=$(python3 "$PEER" score "$truth" "$WORK/$s.csv"); all_l+=("$l")
    c=-; r=-
    if [ -n "$DRAIN3" ]; then
        python3 "$PEER" content "$truth" "$WORK/$s.content"
        $DRAIN3 "$WORK/$s.content" "$WORK/$s.dc" >/dev/null
        $DRAIN3 "$raw" "$WORK/$s.dr" >/dev/null
        c=$(python3 "$PEER" score "$truth" "$WORK/$s.dc"); all_c+=("$c")
        r=$(python3 "$PEER" score "$truth" "$WORK/$s.dr"); all_r+=("$r")
    fi
    printf '%-10s %8s %15s %12s\n' "$s" "$l" "$c" "$r"
done
printf '%-10s %8s %15s %12s\n' mean "$(mean "${all_l[@]}")" \
    "$([ -n "$DRAIN3" ] && mean "${all_c[@]}" || echo -)" "$([ -n "$DRAIN3" ] && mean "${all_r[@]}" || echo -)"

echo "== throughput: the eight raw files concatenated $REPEAT times"
for _ in $(seq "$REPEAT"); do for s in $SYSTEMS; do cat "$DATA/$s/${s}_2k.log"; done; done > "$WORK/all.log"
lines=$(wc -l < "$WORK/all.log")
lookout_rate=$("$LOOKOUT_BIN" logs patterns "$WORK/all.log" --output /dev/null 2>&1 | sed -n 's/.*lines_per_second=\([0-9]*\).*/\1/p')
echo "lookout: $lines lines, $lookout_rate lines/s"
if [ -n "$DRAIN3" ]; then
    drain_rate=$($DRAIN3 "$WORK/all.log" "$WORK/all.dr")
    echo "drain3:  $lines lines, $drain_rate lines/s"
    python3 -c "import sys; print(f'ratio: {int(sys.argv[1]) / int(sys.argv[2]):.1f}x')" "$lookout_rate" "$drain_rate"
fi
