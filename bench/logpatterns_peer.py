"""Helpers of bench/logpatterns.sh.

  score STRUCTURED_CSV IDS            grouping accuracy of IDS (one pattern id a line, or
                                      the CSV of `lookout logs patterns`) against EventId
  content STRUCTURED_CSV OUT          writes the Content column, one line each
  drain3 INPUT OUT                    drain3 (default settings), one line at a time:
                                      writes one cluster id a line, prints lines/s
"""
import csv
import sys
import time
from collections import Counter, defaultdict


def read_ids(path):
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        first = f.readline()
        if first.startswith("line,pattern_id"):
            return [row[1] for row in csv.reader(f)]
        return [first.strip()] + [line.strip() for line in f]


def score(structured, ids_path):
    with open(structured, newline="", encoding="utf-8", errors="replace") as f:
        truth = [row["EventId"] for row in csv.DictReader(f)]
    ids = read_ids(ids_path)
    if len(ids) != len(truth):
        sys.exit(f"{ids_path}: {len(ids)} ids for {len(truth)} lines")
    sizes = Counter(truth)
    groups = defaultdict(list)
    for i, p in enumerate(ids):
        groups[p].append(i)
    correct = 0
    for lines in groups.values():
        first = truth[lines[0]]
        if all(truth[i] == first for i in lines) and sizes[first] == len(lines):
            correct += len(lines)
    print(f"{correct / len(truth):.3f}")


def content(structured, out):
    with open(structured, newline="", encoding="utf-8", errors="replace") as f, open(
        out, "w", encoding="utf-8"
    ) as o:
        for row in csv.DictReader(f):
            o.write(row["Content"].replace("\n", " ") + "\n")


def drain3(inp, out):
    import logging

    logging.disable(logging.CRITICAL)
    from drain3 import TemplateMiner

    miner = TemplateMiner()
    with open(inp, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f]
    started = time.perf_counter()
    ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
    seconds = time.perf_counter() - started
    with open(out, "w") as o:
        o.write("\n".join(map(str, ids)) + "\n")
    print(f"{len(lines) / max(seconds, 1e-9):.0f}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"score": score, "content": content, "drain3": drain3}[command](*args)
