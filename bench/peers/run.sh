#!/usr/bin/env bash
# Peer comparison of lookout's forest detectors.
#
#   1. Isolation Forest vs scikit-learn (fit + score time, ROC-AUC) on generated data
#      sets and, when the NAB corpus is present, one built from a NAB machine metric.
#   2. Random Cut Forest vs the krcf crate (score rank correlation, points/s).
#
# Usage: bench/peers/run.sh            (env: REPEATS=5, RCF_RUNS=3,
#                                       NAB_DIR=/work/shared/datasets/nab)
# Creates bench/peers/.venv on first use (python3 -m venv; versions pinned in
# requirements.txt). Timings are medians over REPEATS runs. lookout fits on one thread and
# scores both on one thread and over every core (score_many_parallel).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
REPEATS="${REPEATS:-5}"
RCF_RUNS="${RCF_RUNS:-3}"
NAB_DIR="${NAB_DIR:-/work/shared/datasets/nab}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import numpy, sklearn' 2>/dev/null \
    || ! diff <("$VENV/bin/pip" freeze | grep -iE '^(numpy|scikit-learn)==' | tr 'A-Z' 'a-z' | sort) \
              <(grep -vE '^\s*(#|$)' "$HERE/requirements.txt" | tr 'A-Z' 'a-z' | sort) >/dev/null; then
    "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
fi
PY="$VENV/bin/python"

DATA="$(mktemp -d)"
trap 'rm -rf "$DATA"' EXIT
"$PY" "$HERE/make_data.py" "$DATA" "$NAB_DIR"

(cd "$ROOT" && cargo build --quiet --release -p lookout-detect --example iforest_peer --example rcf_vs_krcf)
OURS="$TARGET/release/examples/iforest_peer"

echo "Isolation Forest: lookout vs scikit-learn $("$PY" -c 'import sklearn; print(sklearn.__version__)')" \
     "(100 trees, 256 samples, contamination 0.05; median of $REPEATS; $(nproc) cores)"
RESULTS="$DATA/results.jsonl"
for csv in "$DATA"/*.csv; do
    name="$(basename "$csv" .csv)"
    ours="$("$OURS" "$csv" "$REPEATS")"
    # Current numpy runs slower with these set; unset them for the peer's timing only.
    sk1="$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$HERE/sklearn_iforest.py" "$csv" "$REPEATS" 1)"
    skd="$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$HERE/sklearn_iforest.py" "$csv" "$REPEATS" default)"
    printf '{"name": "%s", "ours": %s, "sklearn_1": %s, "sklearn_default": %s}\n' \
        "$name" "$ours" "$sk1" "$skd" >> "$RESULTS"
done
"$PY" - "$RESULTS" <<'PYEOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| data set | rows x features | AUC lookout | AUC sklearn | fit s lookout | fit s sklearn (n_jobs=1 / default) | fit speed-up (1 / default) | score s lookout (1 thread / all cores) | score s sklearn (n_jobs=1 / default) | score speed-up, 1 thread vs n_jobs=1 | score speed-up, all cores vs default |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    o, s1, sd = r["ours"], r["sklearn_1"], r["sklearn_default"]
    print(f"| {r['name']} | {o['rows']} x {o['features']} | {o['auc']:.4f} | {s1['auc']:.4f} | "
          f"{o['fit_seconds']:.4f} | {s1['fit_seconds']:.4f} / {sd['fit_seconds']:.4f} | "
          f"{s1['fit_seconds']/o['fit_seconds']:.1f}x / {sd['fit_seconds']/o['fit_seconds']:.1f}x | "
          f"{o['score_seconds']:.4f} / {o['parallel_score_seconds']:.4f} | "
          f"{s1['score_seconds']:.4f} / {sd['score_seconds']:.4f} | "
          f"{s1['score_seconds']/o['score_seconds']:.1f}x | "
          f"{sd['score_seconds']/o['parallel_score_seconds']:.1f}x |")
PYEOF

echo
"$TARGET/release/examples/rcf_vs_krcf" "$NAB_DIR/data" "$RCF_RUNS"
