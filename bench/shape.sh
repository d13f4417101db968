#!/usr/bin/env bash
# Shape-anomaly benchmark: periodic series (ECG-like, respiration, power demand, gait) with
# one subtle injected anomaly each (distorted, missing, noise burst, stretched, amplitude,
# shifted peak), written by bench/shape/gen.py (seeded). Each series is scored as a new
# user would: `lookout detect FILE.csv` with `default`, with `thorough` and with the
# `discord` detector alone, and, side by side, stumpy's past-only matrix-profile discord
# (window one period estimated from the training prefix). A series counts as found when
# the top score after its training prefix (the first third) lies within the anomaly
# ±100 rows (bench/shape/score.py); printed: top-1 accuracy in % per detector.
#
# Usage: bench/shape.sh [COUNT] [SEED]     (default 96 series, seed 20261204)
# Environment: LOOKOUT_BIN=… (else built), BY_KIND=1 (hits per kind and signal on stderr),
#              SHAPE_VENV (default bench/shape/.venv; created with numpy and stumpy).
set -euo pipefail

COUNT=${1:-96}
SEED=${2:-20261204}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${SHAPE_VENV:-$ROOT/bench/shape/.venv}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import numpy, stumpy' 2>/dev/null; then
    "$VENV/bin/pip" install --quiet -r "$ROOT/bench/shape/requirements.txt"
fi
PY="$VENV/bin/python"
if [ -z "${LOOKOUT_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p lookout)
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
KIND_FLAG=()
[ -n "${BY_KIND:-}" ] && KIND_FLAG=(--by-kind)

"$PY" "$ROOT/bench/shape/gen.py" "$WORK/data" --count "$COUNT" --seed "$SEED"
FILES=$(cd "$WORK/data" && ls ./*.csv | grep -v labels.csv)

echo "Shape anomalies: $COUNT series, seed $SEED, top-1 within the anomaly ±100 rows after the training prefix"
for detector in default thorough discord; do
    mkdir -p "$WORK/$detector"
    for file in $FILES; do
        "$LOOKOUT_BIN" detect --detector "$detector" "$WORK/data/$file" --out "$WORK/$detector/$file"
    done
    printf '  lookout %-9s %s %%\n' "$detector" "$("$PY" "$ROOT/bench/shape/score.py" "$WORK/data" "$WORK/$detector" score "${KIND_FLAG[@]}")"
done
"$PY" "$ROOT/bench/shape/stumpy_peer.py" "$WORK/data" "$WORK/stumpy"
STUMPY=$("$PY" -c 'import stumpy; print(stumpy.__version__)')
printf '  stumpy %s past-only discord, at the discord start %s %%\n' "$STUMPY" \
    "$("$PY" "$ROOT/bench/shape/score.py" "$WORK/data" "$WORK/stumpy" start_score "${KIND_FLAG[@]}")"
printf '  stumpy %s past-only discord, at the discord end   %s %%\n' "$STUMPY" \
    "$("$PY" "$ROOT/bench/shape/score.py" "$WORK/data" "$WORK/stumpy" end_score "${KIND_FLAG[@]}")"
