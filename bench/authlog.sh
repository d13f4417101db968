#!/usr/bin/env bash
# Auth-log parsing benchmark: `lookout scan auth-log` and, side by side on the same
# generated file, fail2ban's `fail2ban-regex` with the sshd filter, both in the
# `aggressive` mode (every form). Prints lines/s of each, the failures each found (they
# must agree) and the ratio lookout / fail2ban.
#
# Usage: bench/authlog.sh [LINES]
#
# Environment:
#   RUNS=N          repeat the comparison N times, interleaved (lookout, then fail2ban,
#                   then again), and print the median of each figure (default 3)
#   LOOKOUT_BIN=…   use this lookout binary instead of building one
#
# Needs: the Rust toolchain, python3 (the generator, bench/authlog_gen.py) and fail2ban
# (Debian package `fail2ban`; tests/peers/install-auth.sh installs it).
set -euo pipefail

LINES=${1:-500000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout
fi
TARGET=${CARGO_TARGET_DIR:-"$ROOT/target"}
LOOKOUT=${LOOKOUT_BIN:-"$TARGET/release/lookout"}
REGEX=$(command -v fail2ban-regex || true)
if [ -z "$REGEX" ]; then
    echo "fail2ban-regex not found: install the Debian package fail2ban" >&2
    exit 1
fi

python3 bench/authlog_gen.py "$LINES" >"$WORK/auth.log"
echo "file: $LINES generated lines ($(du -h "$WORK/auth.log" | cut -f1))"

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):.0f}')" "$1" "$2"; }
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

lookout_rates=() fail2ban_rates=() ratios=()
for run in $(seq 1 "$RUNS"); do
    start=$(now)
    "$LOOKOUT" scan auth-log --mode aggressive --quiet "$WORK/auth.log" >"$WORK/lookout.jsonl"
    lookout_seconds=$(python3 -c "print($(now) - $start)")
    lookout_failures=$(grep -c -E '"result":"failure"|"counts_as_failure":true' "$WORK/lookout.jsonl" || true)

    start=$(now)
    # `-o ip` prints one line per failure (its summary's "Failregex" total also counts
    # the helper lines that are no failure by themselves).
    TZ=UTC "$REGEX" -o ip "$WORK/auth.log" 'sshd[mode=aggressive]' >"$WORK/fail2ban.txt"
    fail2ban_seconds=$(python3 -c "print($(now) - $start)")
    fail2ban_failures=$(wc -l <"$WORK/fail2ban.txt")

    if [ "$lookout_failures" != "$fail2ban_failures" ]; then
        echo "run $run: the failures differ: lookout $lookout_failures, fail2ban $fail2ban_failures" >&2
        exit 1
    fi
    l=$(rate "$LINES" "$lookout_seconds")
    f=$(rate "$LINES" "$fail2ban_seconds")
    lookout_rates+=("$l") fail2ban_rates+=("$f")
    ratios+=("$(python3 -c "print($l / $f)")")
    printf 'run %d: lookout %s lines/s (%.2fs), fail2ban-regex %s lines/s (%.2fs), %s failures each\n' \
        "$run" "$l" "$lookout_seconds" "$f" "$fail2ban_seconds" "$lookout_failures"
done
printf 'median of %d runs: lookout %.0f lines/s, fail2ban-regex %.0f lines/s, ratio %.1fx\n' \
    "$RUNS" "$(median "${lookout_rates[@]}")" "$(median "${fail2ban_rates[@]}")" "$(median "${ratios[@]}")"
