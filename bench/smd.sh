#!/usr/bin/env bash
# Multivariate benchmark on the Server Machine Dataset (development machines): each
# machine's train then test rows are fed in order as one stream (a CSV with Unix-second
# timestamps 60 s apart and 38 value columns) through `lookout detect --multivariate`,
# exactly as a held-out machine is scored; on the test rows, the best F1 over all
# thresholds of the `score` column, each row counting on its own (no point adjustment).
# Detectors side by side (default: the old default `iforest`, and `default`, which is
# `pca`); printed: a Markdown table of per-machine F1, the mean, and rows/s of the whole
# `detect` run (CSV parsing and writing included; per machine the median of REPEATS runs).
#
# Usage: bench/smd.sh [MACHINE...]          (default: the 14 development machines)
# Environment: LOOKOUT_BIN=… (else built in release), DETECTORS="iforest default",
#              REPEATS=3, SMD_ARCHIVE (default ../shared/datasets/smd/smd-dev.tar.xz),
#              SMD_CACHE (default ~/.cache/lookout; the archive is unpacked there once).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ARCHIVE=${SMD_ARCHIVE:-$ROOT/../shared/datasets/smd/smd-dev.tar.xz}
CACHE=${SMD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lookout}
DETECTORS=${DETECTORS:-iforest default}
REPEATS=${REPEATS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

SMD="$CACHE/smd"
if [ ! -d "$SMD/test_label" ]; then
    [ -f "$ARCHIVE" ] || { echo "no SMD archive at $ARCHIVE (set SMD_ARCHIVE)" >&2; exit 1; }
    mkdir -p "$CACHE"
    tar -xJf "$ARCHIVE" -C "$CACHE"
fi
if [ "$#" -gt 0 ]; then
    MACHINES=("$@")
else
    MACHINES=(1-3 1-4 1-5 1-7 1-8 2-2 2-3 2-4 2-5 2-7 2-8 3-3 3-4 3-5)
fi
if [ -z "${LOOKOUT_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p lookout --bin lookout)
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
PY="python3 $ROOT/bench/smd/smd.py"

: > "$WORK/results.tsv"
for machine in "${MACHINES[@]}"; do
    read -r train test < <($PY csv "$SMD" "$machine" "$WORK/in.csv")
    for detector in $DETECTORS; do
        for run in $(seq 1 "$REPEATS"); do
            start=$(date +%s.%N)
            "$LOOKOUT_BIN" detect --multivariate --detector "$detector" "$WORK/in.csv" \
                --out "$WORK/out.csv"
            end=$(date +%s.%N)
            seconds=$(python3 -c "print($end - $start)")
            f1=$($PY score "$SMD" "$machine" "$WORK/out.csv")
            printf '%s\t%s\t%s\t%s\t%s\n' "$detector" "$machine" "$f1" \
                "$((train + test))" "$seconds" >> "$WORK/results.tsv"
        done
        echo "machine-$machine $detector: F1 $f1" >&2
    done
done
$PY table "$WORK/results.tsv"
