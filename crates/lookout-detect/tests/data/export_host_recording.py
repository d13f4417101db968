#!/usr/bin/env python3
"""Exports the host metrics a running `lookout serve` recorded (host source) as the
wide, gzip-compressed CSV the cold-start replay test reads.

    python3 export_host_recording.py http://127.0.0.1:18931 host-recording.csv.gz

One row per collection tick: `t_ms` then one column per series (its Prometheus key),
raw values exactly as stored (shortest round-trip decimal), empty when a series had no
sample in that tick. Uses `GET /api/v1/chart` (raw resolution when the window holds
fewer points than `max_points`).
"""
import csv
import gzip
import json
import sys
import urllib.parse
import urllib.request


def main(base, out):
    query = urllib.parse.urlencode(
        {"match": '{source="host"}', "start": "now-6h", "end": "now",
         "max_points": "200000", "limit": "100"})
    with urllib.request.urlopen(f"{base}/api/v1/chart?{query}") as response:
        data = json.load(response)["data"]
    columns = {}
    for series in data["series"]:
        if series["resolution"] != "raw":
            sys.exit(f"{series['key']}: not at raw resolution")
        columns[series["key"]] = dict(zip(series["t"], series["v"]))
    keys = sorted(columns)
    ticks = sorted({t for column in columns.values() for t in column})
    with gzip.open(out, "wt", compresslevel=9, newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["t_ms"] + keys)
        for t in ticks:
            row = [str(t)]
            for k in keys:
                v = columns[k].get(t)
                row.append("" if v is None else repr(float(v)))
            writer.writerow(row)
    print(f"{len(keys)} series, {len(ticks)} ticks, {ticks[0]}..{ticks[-1]}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
