#!/usr/bin/env bash
# The `log` source's throughput and memory on a generated application log:
# `lookout logs source FILE` runs the source's collector (file follower, syslog header
# split, bad-line checks, pattern miner, per-interval series and events) over the file
# read from its beginning, and prints lines/s and the peak resident memory.
#
# Usage: bench/logsource.sh [LINES] [MESSAGES]
#   LINES lines (default 2 000 000) drawn from MESSAGES message shapes (default 200),
#   each with numbers, addresses and ids as variables, RFC 3164 headers from 8 programs;
#   deterministic (awk's srand(1)).
#
# Environment:
#   RUNS=N         runs; the median lines/s is quoted (default 3)
#   LOOKOUT_BIN=…  use this lookout binary instead of building one
set -euo pipefail

LINES=${1:-2000000}
MESSAGES=${2:-200}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

if [ -z "${LOOKOUT_BIN:-}" ]; then
    cargo build --release -q -p lookout
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
LOG="$WORK/app.log"
awk -v lines="$LINES" -v messages="$MESSAGES" 'BEGIN {
    srand(1)
    split("api worker cron db cache auth mailer billing", programs, " ")
    split("started stopped failed retried queued served rejected flushed expired opened", verbs, " ")
    split("request job connection session payment order file token shard lease", nouns, " ")
    for (m = 1; m <= messages; m++) {
        # Words without digits (digits are masked as variables): m names the shape.
        word = sprintf("%c%c%c", 97 + m % 26, 97 + int(m / 26) % 26, 97 + int(m / 676) % 26)
        shape[m] = verbs[1 + (m % 10)] " " nouns[1 + int(m / 10) % 10] " stage " word
        owner[m] = programs[1 + (m % 8)]
    }
    for (i = 0; i < lines; i++) {
        m = 1 + int(messages * rand() * rand())
        printf "Dec  3 %02d:%02d:%02d host%d %s[%d]: %s id=%d from 10.0.%d.%d in %d ms\n",
            int(i / 360000) % 24, int(i / 6000) % 60, int(i / 100) % 60, i % 4,
            owner[m], 1000 + m, shape[m], int(rand() * 1e6), i % 256, m % 256, int(rand() * 900)
    }
}' > "$LOG"
echo "file: $(wc -l < "$LOG") lines, $(du -h "$LOG" | cut -f1), $MESSAGES message shapes"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: > "$WORK/rates"
for run in $(seq 1 "$RUNS"); do
    "$LOOKOUT_BIN" logs source "$LOG" 2> "$WORK/err"
    echo "run $run: $(cat "$WORK/err")"
    sed -n 's/.*lines_per_second=\([0-9]*\).*/\1/p' "$WORK/err" >> "$WORK/rates"
done
echo "median: $(median < "$WORK/rates") lines/s"
