#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS_PER_TARGET seconds (default 60), one
# after another, and prints the executions of each. Installs cargo-fuzz if missing.
# Needs the nightly toolchain (`rustup toolchain install nightly`).
#
# The committed seeds (fuzz/corpus/TARGET) are only read: what the fuzzer finds goes to a
# scratch corpus under $FUZZ_WORK (default $CARGO_TARGET_DIR or fuzz/target, /fuzz-corpus).
# A crash leaves its input in fuzz/artifacts/TARGET/ and makes this script exit non-zero;
# fixed crashes are kept under fuzz/regressions/TARGET/ and replayed first.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "SECONDS_PER_TARGET must be a positive integer, got '$seconds'" >&2
    exit 2
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzzing needs the nightly toolchain (cargo +nightly): rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "== cargo install cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd fuzz
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
work="${FUZZ_WORK:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz-corpus}"

echo "== cargo fuzz build"
cargo +nightly fuzz build

failed=()
summary=()
for target in "${targets[@]}"; do
    # Fixed crashes first: each must now run clean.
    if [ -d "regressions/$target" ] && [ -n "$(ls -A "regressions/$target")" ]; then
        echo "== $target: replaying regressions/$target"
        if ! cargo +nightly fuzz run "$target" "regressions/$target"/*; then
            failed+=("$target (regression)")
            continue
        fi
    fi
    mkdir -p "$work/$target"
    log="$work/$target.log"
    echo "== $target: ${seconds}s"
    set +e
    cargo +nightly fuzz run "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>&1 | tee "$log" \
        | grep -E '^(#[0-9]+.*(INITED|DONE)|Done|==[0-9]+== ERROR|SUMMARY|Test unit written)'
    statuses=("${PIPESTATUS[@]}")
    set -e
    status="${statuses[0]}"
    runs="$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')"
    summary+=("$(printf '%-18s %12s executions in %ss' "$target" "$runs" "$seconds")")
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
    fi
done

echo "== executions per target"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "== crashed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
