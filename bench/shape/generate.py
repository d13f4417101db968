#!/usr/bin/env python3
"""Generates the development set of the shape-anomaly benchmark: periodic signals
(ECG-like, respiration, power demand, gait), each with one subtle injected anomaly of
one of several kinds, after a training prefix. Deterministic (seeded); writes data, so
it writes outside the repository:

    python3 generate.py OUT_DIR        # default ~/.cache/lookout/shape-dev

Per series `NAME.csv` (timestamp,value; one point a second) and one `manifest.json`
listing, per file, the training prefix length and the anomaly's first and last index.
"""
import json
import math
import os
import sys

import numpy as np

LENGTH = 10_000
TRAIN = 3_000
KINDS = ["distorted", "missing", "noise", "slowed"]
SEEDS = [1, 2]


def ecg_beat(n, rng, distorted=False):
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    def bump(centre, width, height):
        return height * np.exp(-0.5 * ((t - centre) / width) ** 2)
    qrs_width = 0.018 * (1.8 if distorted else 1.0)
    t_height = -0.25 if distorted else 0.3
    return (bump(0.2, 0.025, 0.12) - bump(0.37, 0.01, 0.15) + bump(0.4, qrs_width, 1.0)
            - bump(0.43, 0.012, 0.25) + bump(0.65, 0.05, t_height))


def respiration_cycle(n, rng, distorted=False):
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    inhale = 0.4 if not distorted else 0.25
    rise = np.where(t < inhale, np.sin(0.5 * math.pi * t / inhale), 0.0)
    fall = np.where(t >= inhale, np.exp(-4.0 * (t - inhale) / (1 - inhale)), 0.0)
    shape = rise + fall * (1.0 if t[0] >= 0 else 0)
    if distorted:
        shape = shape + 0.35 * np.sin(6 * math.pi * t) * (t > 0.5)
    return shape


def power_cycle(n, rng, distorted=False):
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    morning = np.exp(-0.5 * ((t - 0.33) / 0.05) ** 2)
    evening = 1.3 * np.exp(-0.5 * ((t - 0.78) / 0.07) ** 2)
    if distorted:
        morning = 0.3 * morning  # a holiday morning
        evening = np.exp(-0.5 * ((t - 0.7) / 0.07) ** 2)
    return 0.3 + morning + evening + 0.15 * np.sin(2 * math.pi * t)


def gait_cycle(n, rng, distorted=False):
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    heel = np.exp(-0.5 * ((t - 0.12) / 0.03) ** 2)
    toe = 0.8 * np.exp(-0.5 * ((t - 0.45) / 0.05) ** 2)
    swing = -0.4 * np.exp(-0.5 * ((t - 0.75) / 0.08) ** 2)
    if distorted:
        toe = 0.35 * np.exp(-0.5 * ((t - 0.55) / 0.09) ** 2)  # a limp
    return heel + toe + swing


SIGNALS = {
    "ecg": (ecg_beat, 140, 0.02),
    "respiration": (respiration_cycle, 300, 0.03),
    "power": (power_cycle, 96, 0.04),
    "gait": (gait_cycle, 110, 0.03),
}


def series(signal, kind, seed):
    make, period, noise = SIGNALS[signal]
    rng = np.random.default_rng(seed * 1000 + hash_name(signal + kind))
    cycles, lengths = [], []
    anomaly_cycle = None
    position = 0
    index = 0
    target = int(rng.integers(TRAIN + 1500, LENGTH - 3 * period))
    while position < LENGTH + 2 * period:
        n = max(8, int(round(period * (1 + 0.03 * rng.standard_normal()))))
        amplitude = 1 + 0.05 * rng.standard_normal()
        cycle_noise = noise
        distorted = False
        if anomaly_cycle is None and position >= target:
            anomaly_cycle = index
            if kind == "distorted":
                distorted = True
            elif kind == "slowed":
                n = int(n * 1.6)
            elif kind == "noise":
                cycle_noise = noise * 6
        cycle = amplitude * make(n, rng, distorted)
        if anomaly_cycle == index and kind == "missing":
            cycle = np.full(n, cycle[0]) + 0.02 * np.sin(np.linspace(0, math.pi, n))
        cycle = cycle + cycle_noise * rng.standard_normal(n)
        if anomaly_cycle == index:
            begin, end = position, position + n - 1
        cycles.append(cycle)
        lengths.append(n)
        position += n
        index += 1
    values = np.concatenate(cycles)[:LENGTH]
    values = values + 0.1 * np.sin(np.arange(LENGTH) * 2 * math.pi / 5000.0)  # slow drift
    return values, begin, end


def hash_name(text):
    return sum((i + 1) * ord(c) for i, c in enumerate(text)) % 997


def main(out):
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for signal in SIGNALS:
        for kind in KINDS:
            for seed in SEEDS:
                name = f"{signal}_{kind}_{seed}"
                values, begin, end = series(signal, kind, seed)
                with open(os.path.join(out, name + ".csv"), "w") as f:
                    f.write("timestamp,value\n")
                    for i, v in enumerate(values):
                        f.write(f"{1_700_000_000 + i},{v:.6f}\n")
                manifest[name] = {"train": TRAIN, "begin": int(begin), "end": int(end)}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(f"{len(manifest)} series in {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/lookout/shape-dev"))
