"""Helpers of bench/smd.sh (standard library only).

  smd.py csv SMD_DIR MACHINE OUT.csv      train then test rows as one CSV stream
                                           (Unix-second timestamps 60 s apart, then
                                           columns m1..m38); prints the row counts
  smd.py score SMD_DIR MACHINE DETECT.csv  best F1 (no point adjustment) of the
                                           `score` column over the test rows
  smd.py table RESULTS.tsv                 the Markdown table of per-machine F1 and means
"""
import csv
import statistics
import sys

START = 1_600_000_000


def rows(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def write_csv(smd, machine, out):
    train = rows(f"{smd}/train/machine-{machine}.txt")
    test = rows(f"{smd}/test/machine-{machine}.txt")
    width = len(train[0].split(","))
    with open(out, "w") as f:
        f.write("timestamp," + ",".join(f"m{j + 1}" for j in range(width)) + "\n")
        for i, line in enumerate(train + test):
            f.write(f"{START + 60 * i},{line}\n")
    print(len(train), len(test))


def best_f1(scores, labels):
    """Best F1 over every threshold; rows with equal scores fall on the same side."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    positives = sum(labels)
    tp = fp = 0
    best = 0.0
    for rank, i in enumerate(order):
        if labels[i]:
            tp += 1
        else:
            fp += 1
        if rank + 1 == len(order) or scores[order[rank + 1]] != scores[i]:
            best = max(best, 2 * tp / (tp + fp + positives))
    return best


def score(smd, machine, detect_csv):
    labels = [int(v) for v in rows(f"{smd}/test_label/machine-{machine}.txt")]
    with open(detect_csv) as f:
        reader = csv.DictReader(f)
        scores = [float(r["score"]) for r in reader]
    test = scores[len(scores) - len(labels):]
    print(f"{best_f1(test, labels):.4f}")


def table(results):
    # RESULTS.tsv: detector, machine, f1, rows, seconds (one line per run)
    f1 = {}
    speed = {}
    machines = []
    detectors = []
    with open(results) as f:
        for line in f:
            detector, machine, value, count, seconds = line.split("\t")
            if detector not in detectors:
                detectors.append(detector)
            if machine not in machines:
                machines.append(machine)
            f1[(detector, machine)] = float(value)
            speed.setdefault(detector, {}).setdefault(machine, []).append(
                (int(count), float(seconds))
            )
    print("| machine | " + " | ".join(detectors) + " |")
    print("|---|" + "---:|" * len(detectors))
    for m in machines:
        print(f"| {m} | " + " | ".join(f"{f1[(d, m)]:.3f}" for d in detectors) + " |")
    means = [statistics.mean(f1[(d, m)] for m in machines) for d in detectors]
    print("| **mean** | " + " | ".join(f"**{v:.3f}**" for v in means) + " |")
    rates = []
    for d in detectors:
        # per machine the median time of its runs; rows/s over all machines
        count = sum(runs[0][0] for runs in speed[d].values())
        seconds = sum(statistics.median(s for _, s in runs) for runs in speed[d].values())
        rates.append(count / seconds)
    print("| rows/s | " + " | ".join(f"{r:,.0f}" for r in rates) + " |")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "csv":
        write_csv(*sys.argv[2:5])
    elif command == "score":
        score(*sys.argv[2:5])
    elif command == "table":
        table(sys.argv[2])
    else:
        sys.exit(__doc__)
