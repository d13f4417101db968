#!/usr/bin/env bash
# Calibration: how often quiet series score over a threshold. Generates quiet series of
# six kinds (Gaussian, Laplace, daily cycle + noise, a low percentage, small counts,
# log-normal; 40,000 one-minute points each, two seeds), runs `lookout detect` with the
# default profile on each and prints, past the first 5,000 points, the fraction of points
# scoring at least 0.3, 0.5, 0.6 and 0.9, and the points inside anomalies. Every point
# counted is a false alarm: nothing was injected.
#
# Usage: bench/calibration.sh   Environment: LOOKOUT_BIN=… (else built in release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout
fi
LOOKOUT=${LOOKOUT_BIN:-"${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"}
python3 - "$WORK" <<'PY'
import math, random, sys
work = sys.argv[1]
kinds = {
    "gauss": lambda i, r: r.gauss(50, 5),
    "laplace": lambda i, r: 50 + (r.expovariate(1) - r.expovariate(1)) * 3,
    "daily": lambda i, r: 50 + 20 * math.sin(2 * math.pi * i / 1440) + r.gauss(0, 3),
    "percent": lambda i, r: min(100, max(0, r.gauss(3, 1))),
    "counts": lambda i, r: float(sum(1 for _ in range(20) if r.random() < 0.2)),
    "lognormal": lambda i, r: r.lognormvariate(3, 0.5),
}
for seed_index, (kind, draw) in enumerate(sorted(kinds.items())):
    for seed in range(2):
        r = random.Random(1000 * seed_index + seed)
        with open(f"{work}/{kind}_{seed}.csv", "w") as out:
            out.write("timestamp,value\n")
            for i in range(40000):
                out.write(f"{1700000000 + 60 * i},{draw(i, r):.4f}\n")
PY
for file in "$WORK"/*.csv; do
    "$LOOKOUT" detect "$file" --out "$file.scored"
done
python3 - "$WORK" <<'PY'
import csv, glob, os, sys
print(f"{'series':<14}{'>=0.3':>10}{'>=0.5':>10}{'>=0.6':>10}{'>=0.9':>10}{'anomaly points':>16}")
for path in sorted(glob.glob(f"{sys.argv[1]}/*.scored")):
    rows = list(csv.reader(open(path)))[1:][5000:]
    scores = [float(row[2]) for row in rows]
    rate = lambda t: sum(1 for s in scores if s >= t) / len(scores)
    anomalous = sum(1 for row in rows if row[3] == "1")
    name = os.path.basename(path).removesuffix(".csv.scored")
    print(f"{name:<14}" + "".join(f"{rate(t):>10.1e}" for t in (0.3, 0.5, 0.6, 0.9)) + f"{anomalous:>16}")
PY
