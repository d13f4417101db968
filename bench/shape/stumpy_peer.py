#!/usr/bin/env python3
"""Past-only matrix-profile discord with stumpy, the peer of bench/shape.sh.

Usage: stumpy_peer.py DATA_DIR OUT_DIR

For each series of DATA_DIR/labels.csv: the window is one period, estimated from the
training prefix alone by autocorrelation (first local maximum within 10 % of the best one
past the first zero crossing); stumpy.stump computes the matrix profile of the whole
series and its left (earlier-only) nearest-neighbour indices; each subsequence's score is
its z-normalised distance to that left neighbour (so no subsequence is compared with a
later one). Writes OUT_DIR/<file> with `index,start_score,end_score`: the score of the
subsequence starting at the row (the usual discord convention) and of the one ending at
it (what an online detector can report at that row).
"""

import csv
import os
import sys

import numpy as np
import stumpy


def period(prefix, min_lag=8, max_lag=512):
    x = np.asarray(prefix, dtype=float)
    x = x - x.mean()
    n = len(x)
    var = float(np.dot(x, x)) / n
    max_lag = min(max_lag, n // 3)
    if var <= 0:
        return 32
    r = np.array([np.dot(x[: n - lag], x[lag:]) / ((n - lag) * var) for lag in range(max_lag + 2)])
    negative = np.nonzero(r[1:] <= 0)[0]
    if len(negative) == 0:
        return 32
    first = max(int(negative[0]) + 1, min_lag)
    peaks = [lag for lag in range(first, max_lag + 1) if r[lag] >= r[lag - 1] and r[lag] >= r[lag + 1] and r[lag] > 0]
    if not peaks:
        return 32
    best = max(r[lag] for lag in peaks)
    if best < 0.3:
        return 32
    return next(lag for lag in peaks if r[lag] >= 0.9 * best)


def left_distances(values, m):
    profile = stumpy.stump(values, m)
    left = profile[:, 2].astype(np.int64)
    count = len(left)
    windows = np.lib.stride_tricks.sliding_window_view(values, m)
    mean = windows.mean(axis=1)
    std = windows.std(axis=1)
    std[std < 1e-12] = 1e-12
    scores = np.zeros(count)
    for begin in range(0, count, 4096):
        idx = np.arange(begin, min(count, begin + 4096))
        has = left[idx] >= 0
        i = idx[has]
        j = left[i]
        a = (windows[i] - mean[i, None]) / std[i, None]
        b = (windows[j] - mean[j, None]) / std[j, None]
        scores[i] = np.sqrt(((a - b) ** 2).sum(axis=1))
    return scores


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(data, "labels.csv")) as labels:
        rows = list(csv.DictReader(labels))
    for row in rows:
        with open(os.path.join(data, row["file"])) as series:
            next(series)
            values = np.array([float(line.split(",")[1]) for line in series])
        m = period(values[: int(row["train"])])
        scores = left_distances(values, m)
        start_score = np.zeros(len(values))
        start_score[: len(scores)] = scores
        end_score = np.zeros(len(values))
        end_score[m - 1 :] = scores
        with open(os.path.join(out, row["file"]), "w") as result:
            result.write("index,start_score,end_score\n")
            result.writelines(f"{k},{s:.6f},{e:.6f}\n" for k, (s, e) in enumerate(zip(start_score, end_score)))


if __name__ == "__main__":
    main()
