#!/usr/bin/env python3
"""Periodic series with one subtle injected shape anomaly each, for bench/shape.sh.

Usage: gen.py OUT_DIR [--count N] [--seed S]

Writes OUT_DIR/NNN_<signal>_<kind>.csv (header `timestamp,value`, Unix seconds, one row a
minute) and OUT_DIR/labels.csv (`file,train,start,end,signal,kind,period`): rows
[0, train) are the training prefix (a third of the series), the anomaly covers rows
[start, end] (0-based, inclusive) and always lies after the prefix.

Signals (each built cycle by cycle, every cycle with its own length jitter, amplitude
jitter, baseline wander and Gaussian noise):
  ecg          P wave, QRS complex, T wave; period 60..260 points
  respiration  asymmetric breathing (fast inhale, slow exhale); period 80..320
  power        daily demand with a morning and an evening peak, weekends lower (weekly
               cycle of seven days); 48 or 96 points a day
  gait         stride of two steps with unequal heel strikes; period 40..160

Anomaly kinds (one cycle, or part of one, of the test part):
  distorted    a cycle of another shape (wide QRS and inverted T; a sigh with a second
               hump; a flattened morning peak; a limping step)
  missing      a cycle replaced by the baseline (plus noise)
  noise        a burst of extra noise over a third to a whole cycle
  stretched    one cycle 1.4-1.8 times as long (slowed)
  amplitude    one cycle 0.55-0.7 or 1.35-1.6 times as tall
  shifted      the cycle's main peak moved by 8-15 % of the period

Only the Python standard library and numpy are used; the same seed writes the same files.
"""

import argparse
import os

import numpy as np

KINDS = ["distorted", "missing", "noise", "stretched", "amplitude", "shifted"]
SIGNALS = ["ecg", "respiration", "power", "gait"]


def gauss(u, centre, width, height):
    return height * np.exp(-0.5 * ((u - centre) / width) ** 2)


def ecg(u, variant, shift):
    r = 0.40 + shift
    if variant == "distorted":
        return (gauss(u, 0.2, 0.025, 0.12) + gauss(u, r - 0.03, 0.02, -0.1)
                + gauss(u, r, 0.03, 0.75) + gauss(u, r + 0.04, 0.025, -0.25)
                + gauss(u, 0.65, 0.05, -0.2))
    return (gauss(u, 0.2, 0.025, 0.12) + gauss(u, r - 0.03, 0.01, -0.1)
            + gauss(u, r, 0.012, 1.0) + gauss(u, r + 0.03, 0.01, -0.2)
            + gauss(u, 0.65 + shift / 2, 0.05, 0.3))


def respiration(u, variant, shift):
    peak = 0.35 + shift
    w = np.where(u < peak, u / peak * 0.5, 0.5 + (u - peak) / (1 - peak) * 0.5)
    base = 0.5 - 0.5 * np.cos(2 * np.pi * w)
    if variant == "distorted":
        base = base * 0.8 + gauss(u, 0.7, 0.06, 0.35)
    return base


def power(u, variant, shift, weekend):
    scale = 0.7 if weekend else 1.0
    morning = gauss(u, 0.33 + shift, 0.05, 0.6 * scale)
    evening = gauss(u, 0.78, 0.06, 0.9 * scale)
    day = gauss(u, 0.55, 0.15, 0.35 * scale)
    if variant == "distorted":
        morning = gauss(u, 0.33, 0.12, 0.25 * scale)
    return 0.3 + morning + evening + day


def gait(u, variant, shift):
    first = gauss(u, 0.1 + shift, 0.03, 1.0) + gauss(u, 0.2 + shift, 0.05, -0.3)
    second_height = 0.8
    second_width = 0.03
    if variant == "distorted":
        second_height, second_width = 0.5, 0.06
    second = gauss(u, 0.6, second_width, second_height) + gauss(u, 0.7, 0.05, -0.25)
    return first + second + 0.15 * np.sin(2 * np.pi * u)


def cycle_values(signal, length, variant, shift, index):
    u = np.arange(length) / length
    if signal == "ecg":
        return ecg(u, variant, shift)
    if signal == "respiration":
        return respiration(u, variant, shift)
    if signal == "power":
        return power(u, variant, shift, weekend=index % 7 in (5, 6))
    return gait(u, variant, shift)


def make_series(rng, signal, kind):
    if signal == "ecg":
        period = int(rng.integers(60, 261))
    elif signal == "respiration":
        period = int(rng.integers(80, 321))
    elif signal == "power":
        period = int(rng.choice([48, 96]))
    else:
        period = int(rng.integers(40, 161))
    length = int(rng.integers(5000, 30001))
    train = length // 3
    jitter = 0.01 if signal == "power" else rng.uniform(0.01, 0.04)
    noise = rng.uniform(0.01, 0.04)
    amp_jitter = rng.uniform(0.02, 0.05)
    cycles_needed = int(length / (period * 0.85)) + 4
    lengths = np.maximum(8, np.round(period * (1 + jitter * rng.standard_normal(cycles_needed))))
    lengths = lengths.astype(int)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # The anomalous cycle: wholly after the prefix and at least two periods before the end.
    eligible = np.nonzero((starts >= train + period) & (starts + 3 * period < length))[0]
    target = int(rng.choice(eligible))
    if kind == "stretched":
        lengths[target] = int(round(lengths[target] * rng.uniform(1.4, 1.8)))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces = []
    start_label = end_label = None
    for index, (start, cycle_length) in enumerate(zip(starts, lengths)):
        if start >= length:
            break
        variant = "distorted" if (index == target and kind == "distorted") else "normal"
        shift = 0.0
        if index == target and kind == "shifted":
            shift = rng.choice([-1, 1]) * rng.uniform(0.08, 0.15)
        values = cycle_values(signal, cycle_length, variant, shift, index)
        amp = 1 + amp_jitter * rng.standard_normal()
        if index == target and kind == "amplitude":
            amp *= rng.uniform(0.55, 0.7) if rng.random() < 0.5 else rng.uniform(1.35, 1.6)
        values = values * amp
        if index == target and kind == "missing":
            floor = values.min()
            values = np.full(cycle_length, floor)
        if index == target:
            start_label = int(start)
            end_label = int(start + cycle_length - 1)
        pieces.append(values)
    x = np.concatenate(pieces)[:length]
    t = np.arange(length)
    wander = 0.05 * np.sin(2 * np.pi * t / (period * rng.uniform(7, 13)) + rng.uniform(0, 6.3))
    x = x + wander + noise * rng.standard_normal(length)
    if kind == "noise":
        burst = int(period * rng.uniform(0.33, 1.0))
        begin = start_label + int(rng.integers(0, max(1, end_label - start_label - burst)))
        x[begin:begin + burst] += rng.uniform(0.08, 0.15) * rng.standard_normal(burst)
        start_label, end_label = begin, begin + burst - 1
    offset = {"ecg": 0.0, "respiration": 12.0, "power": 400.0, "gait": 1.0}[signal]
    gain = {"ecg": 1.0, "respiration": 3.0, "power": 150.0, "gait": 9.81}[signal]
    return offset + gain * x, train, start_label, end_label, period


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=96)
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    labels = ["file,train,start,end,signal,kind,period"]
    for number in range(args.count):
        signal = SIGNALS[number % len(SIGNALS)]
        kind = KINDS[(number // len(SIGNALS)) % len(KINDS)]
        x, train, start, end, period = make_series(rng, signal, kind)
        name = f"{number:03d}_{signal}_{kind}.csv"
        with open(os.path.join(args.out, name), "w") as out:
            out.write("timestamp,value\n")
            base = 1_700_000_000
            out.writelines(f"{base + 60 * i},{v:.5f}\n" for i, v in enumerate(x))
        labels.append(f"{name},{train},{start},{end},{signal},{kind},{period}")
    with open(os.path.join(args.out, "labels.csv"), "w") as out:
        out.write("\n".join(labels) + "\n")


if __name__ == "__main__":
    main()
