#!/usr/bin/env python3
"""Top-1 accuracy on the shape-anomaly development set (generate.py): for each series,
is the highest-scored point after the training prefix within ±100 points of the
anomaly? Side by side:

- `lookout detect --detector NAME` for each NAME given (the `score` column; ties go to
  the earliest point), and
- stumpy's past-only (left) matrix profile, window = one period estimated from the
  training prefix by autocorrelation (the same rule as the discord detector), the
  discord's location taken at its subsequence's last point, as lookout scores it.

    python3 evaluate.py LOOKOUT_BINARY [DATA_DIR] [--detectors discord,default]

Run with the peers venv's python (stumpy): tests/peers/install-shape.sh.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

SLACK = 100


def estimate_period(values, low=8, high=400):
    n = len(values)
    max_lag = min(high, n // 3)
    centred = values - values.mean()
    variance = float(centred @ centred)
    fallback = min(max(low, 32), high)
    if max_lag <= low + 1 or variance <= 0:
        return fallback
    acf = np.array([centred[: n - lag] @ centred[lag:] / variance for lag in range(max_lag + 2)])
    peaks = [lag for lag in range(max(low, 1), max_lag + 1)
             if acf[lag] > 0 and acf[lag] > acf[lag - 1] and acf[lag] >= acf[lag + 1]]
    if not peaks:
        return fallback
    highest = max(acf[lag] for lag in peaks)
    return next(lag for lag in peaks if acf[lag] >= 0.8 * highest)


def hit(index, entry):
    return entry["begin"] - SLACK <= index <= entry["end"] + SLACK


def lookout_top1(binary, detector, path, train):
    out = subprocess.run([binary, "detect", "--detector", detector, path],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    header = out[0].split(",")
    column = header.index("score")
    scores = np.array([float(line.split(",")[column]) for line in out[1:]])
    return train + int(np.argmax(scores[train:]))


def stumpy_top1(values, train):
    import stumpy
    m = estimate_period(values[:train])
    profile = stumpy.stump(values, m)
    left = profile[:, 2].astype(int)
    starts = np.arange(len(left))
    distance = np.zeros(len(left))
    valid = left >= 0
    for i in starts[valid]:
        a, b = values[i:i + m], values[left[i]:left[i] + m]
        sa, sb = a.std(), b.std()
        if sa == 0 or sb == 0:
            distance[i] = 0 if sa == sb else np.sqrt(2 * m)
            continue
        corr = np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb)
        distance[i] = np.sqrt(max(0.0, 2 * m * (1 - corr)))
    ends = starts + m - 1
    eligible = ends >= train
    best = np.argmax(np.where(eligible, distance, -1.0))
    return int(ends[best]), m


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    binary = args[0]
    data = args[1] if len(args) > 1 else os.path.expanduser("~/.cache/lookout/shape-dev")
    detectors = ["discord", "default"]
    for a in sys.argv[1:]:
        if a.startswith("--detectors="):
            detectors = a.split("=", 1)[1].split(",")
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    hits = {name: 0 for name in detectors + ["stumpy"]}
    seconds = {name: 0.0 for name in hits}
    for name, entry in sorted(manifest.items()):
        path = os.path.join(data, name + ".csv")
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1)
        row = [name]
        for detector in detectors:
            started = time.time()
            top = lookout_top1(binary, detector, path, entry["train"])
            seconds[detector] += time.time() - started
            hits[detector] += hit(top, entry)
            row.append(f"{detector}={top}{'*' if hit(top, entry) else ''}")
        started = time.time()
        top, m = stumpy_top1(values, entry["train"])
        seconds["stumpy"] += time.time() - started
        hits["stumpy"] += hit(top, entry)
        row.append(f"stumpy(m={m})={top}{'*' if hit(top, entry) else ''}")
        print(f"{' '.join(row)}  anomaly {entry['begin']}..{entry['end']}", flush=True)
    total = len(manifest)
    for detector, count in hits.items():
        print(f"{detector}: top-1 {count}/{total} = {100.0 * count / total:.1f} %  ({seconds[detector]:.1f} s)")


if __name__ == "__main__":
    main()
