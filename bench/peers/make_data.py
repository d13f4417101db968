"""Writes the peer-comparison data sets as CSV files (features..., label) into a directory.

Usage: python make_data.py OUT_DIR [NAB_DATA_DIR]

Sets:
  gauss_mix_100k_4   100,000 x 4: three Gaussian clusters, 5% uniform outliers in the bounding box
  gauss_mix_20k_10   20,000 x 10: two Gaussian clusters, 3% outliers shifted in 1-3 features
  heavy_tail_50k_6   50,000 x 6: Student-t inliers, 2% outliers on a far shell
  nab_machine_shingle  NAB realKnownCause/machine_temperature_system_failure.csv shingled
                     into rows of 8 consecutive values; label 1 inside NAB's anomaly windows
"""

import json
import os
import sys

import numpy as np


def write(path, features, labels):
    header = ",".join([f"f{i}" for i in range(features.shape[1])] + ["label"])
    data = np.column_stack([features, labels.astype(np.int64)])
    fmt = ["%.10g"] * features.shape[1] + ["%d"]
    np.savetxt(path, data, delimiter=",", header=header, comments="", fmt=fmt)


def gauss_mix(rng, n, d, clusters, outlier_share):
    n_out = int(n * outlier_share)
    n_in = n - n_out
    centres = rng.uniform(-5, 5, size=(clusters, d))
    which = rng.integers(0, clusters, size=n_in)
    inliers = centres[which] + rng.normal(0, 1, size=(n_in, d))
    lo, hi = inliers.min(axis=0), inliers.max(axis=0)
    outliers = rng.uniform(lo, hi, size=(n_out, d))
    return shuffle(rng, inliers, outliers)


def shifted_features(rng, n, d, outlier_share):
    n_out = int(n * outlier_share)
    n_in = n - n_out
    centres = np.stack([np.zeros(d), np.full(d, 3.0)])
    inliers = centres[rng.integers(0, 2, size=n_in)] + rng.normal(0, 1, size=(n_in, d))
    outliers = centres[rng.integers(0, 2, size=n_out)] + rng.normal(0, 1, size=(n_out, d))
    for row in outliers:
        k = rng.integers(1, 4)
        cols = rng.choice(d, size=k, replace=False)
        row[cols] += rng.choice([-1, 1], size=k) * rng.uniform(4, 7, size=k)
    return shuffle(rng, inliers, outliers)


def heavy_tail(rng, n, d, outlier_share):
    n_out = int(n * outlier_share)
    n_in = n - n_out
    inliers = rng.standard_t(5, size=(n_in, d))
    direction = rng.normal(size=(n_out, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    outliers = direction * rng.uniform(8, 10, size=(n_out, 1))
    return shuffle(rng, inliers, outliers)


def shuffle(rng, inliers, outliers):
    x = np.vstack([inliers, outliers])
    y = np.concatenate([np.zeros(len(inliers)), np.ones(len(outliers))])
    order = rng.permutation(len(x))
    return x[order], y[order]


def nab_machine(nab_dir, shingle=8):
    name = "realKnownCause/machine_temperature_system_failure.csv"
    path = os.path.join(nab_dir, "data", name)
    windows_path = os.path.join(nab_dir, "labels", "combined_windows.json")
    if not (os.path.exists(path) and os.path.exists(windows_path)):
        return None
    timestamps, values = [], []
    with open(path) as f:
        next(f)
        for line in f:
            ts, value = line.strip().split(",")
            timestamps.append(np.datetime64(ts.replace(" ", "T")))
            values.append(float(value))
    with open(windows_path) as f:
        windows = json.load(f).get(name, [])
    ts = np.array(timestamps)
    label = np.zeros(len(ts), dtype=bool)
    for start, end in windows:
        s = np.datetime64(start.replace(" ", "T")[:26])
        e = np.datetime64(end.replace(" ", "T")[:26])
        label |= (ts >= s) & (ts <= e)
    v = np.array(values)
    rows = np.lib.stride_tricks.sliding_window_view(v, shingle)
    return rows, label[shingle - 1 :]


def main():
    out = sys.argv[1]
    nab_dir = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/datasets/nab"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240601)
    write(os.path.join(out, "gauss_mix_100k_4.csv"), *gauss_mix(rng, 100_000, 4, 3, 0.05))
    write(os.path.join(out, "shifted_20k_10.csv"), *shifted_features(rng, 20_000, 10, 0.03))
    write(os.path.join(out, "heavy_tail_50k_6.csv"), *heavy_tail(rng, 50_000, 6, 0.02))
    nab = nab_machine(nab_dir)
    if nab is None:
        print(f"NAB corpus not found under {nab_dir}: skipping the NAB data set", file=sys.stderr)
    else:
        write(os.path.join(out, "nab_machine_temp_shingle8.csv"), *nab)


if __name__ == "__main__":
    main()
