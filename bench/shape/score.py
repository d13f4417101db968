#!/usr/bin/env python3
"""Top-1 accuracy of one detector's scores on a bench/shape data set.

Usage: score.py DATA_DIR RESULT_DIR COLUMN [--by-kind]

RESULT_DIR/<file> is a CSV with one row per input row and a COLUMN of scores (`score`
for `lookout detect`'s output). A series counts as found when its highest score after
the training prefix (the first such row on a tie) lies within the anomaly ±100 rows.
Prints the accuracy in % and, with --by-kind, the hits per anomaly kind and signal.
"""

import csv
import os
import sys
from collections import defaultdict

SLACK = 100


def main():
    data, results, column = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(os.path.join(data, "labels.csv")) as labels:
        rows = list(csv.DictReader(labels))
    hits = 0
    per = defaultdict(lambda: [0, 0])
    for row in rows:
        with open(os.path.join(results, row["file"])) as result:
            reader = csv.reader(result)
            header = next(reader)
            at = header.index(column)
            scores = [float(line[at]) for line in reader]
        train = int(row["train"])
        tail = scores[train:]
        top = train + max(range(len(tail)), key=lambda k: (tail[k], -k))
        found = int(row["start"]) - SLACK <= top <= int(row["end"]) + SLACK
        hits += found
        for key in (row["kind"], row["signal"]):
            per[key][0] += found
            per[key][1] += 1
    print(f"{100.0 * hits / len(rows):.1f}")
    if "--by-kind" in sys.argv:
        for key, (found, total) in sorted(per.items()):
            print(f"  {key}: {found}/{total}", file=sys.stderr)


if __name__ == "__main__":
    main()
