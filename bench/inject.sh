#!/usr/bin/env bash
# Content-injection benchmark: lookout-inject (`lookout scan requests`) and, side by side on
# the same inputs, libinjection (PyPI `libinjection-python`, its C detector, installed by
# tests/peers/install-inject.sh).
#
# 1. Accuracy on ../shared/datasets/webattacks/webattacks-dev.tar.xz (unpacked once into
#    ~/.cache/lookout/webattacks-dev): detection on libinjection's sqli-*/xss-* lists and
#    blazehttp's .black requests, false positives on libinjection's false_positives.txt and
#    blazehttp's .white requests, for both detectors.
# 2. Throughput: inputs classified per second by `lookout scan requests --lines` over one
#    large file (the corpus's inputs and request targets repeated to INPUTS lines), and by
#    libinjection over the same file with as many processes as lookout has threads; the
#    median of RUNS interleaved runs of each, and the ratio.
#
# Usage: bench/inject.sh [INPUTS]        (default 1000000)
# Environment: RUNS=N (default 3), THREADS=N (default 2), LOOKOUT_BIN=… (else built),
#              LOOKOUT_PEERS_VENV (default ~/.cache/lookout/peers-venv).
set -euo pipefail

INPUTS=${1:-1000000}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${LOOKOUT_PEERS_VENV:-$HOME/.cache/lookout/peers-venv}
ARCHIVE="$ROOT/../shared/datasets/webattacks/webattacks-dev.tar.xz"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/lookout/webattacks-dev"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -f "$ARCHIVE" ] || { echo "missing $ARCHIVE" >&2; exit 1; }
if [ ! -f "$CACHE/.unpacked" ]; then
    mkdir -p "$CACHE" && tar -xJf "$ARCHIVE" -C "$CACHE" && touch "$CACHE/.unpacked"
fi
DATA="$CACHE/webattacks"

if [ -z "${LOOKOUT_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p lookout)
    LOOKOUT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/lookout"
fi
PEER=""
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import libinjection' 2>/dev/null; then
    PEER="$VENV/bin/python $ROOT/bench/inject_peer.py"
else
    echo "libinjection not installed (bash tests/peers/install-inject.sh): its columns are skipped" >&2
fi

rate() { python3 -c "import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); print(f'{100*a/b:.2f} % ({a}/{b})')" "$1" "$2"; }
count_attacks() { grep -c '"attack":true' "$1" || true; }

echo "== accuracy"
lists=$(ls "$DATA"/libinjection/data/sqli-*.txt); xss=$(ls "$DATA"/libinjection/data/xss-*.txt)
strip() { grep -ahv '^#' "$@" | grep -av "^[[:space:]]*$" || true; }
strip $lists > "$WORK/sqli.txt"; strip $xss > "$WORK/xss.txt"
strip "$DATA/libinjection/data/false_positives.txt" > "$WORK/fp.txt"
for part in sqli xss fp; do
    "$LOOKOUT_BIN" scan requests --lines --threads "$THREADS" "$WORK/$part.txt" > "$WORK/$part.out" 2>/dev/null
done
find "$DATA/blazehttp-dev" -name '*.black' | sort > "$WORK/black.list"
find "$DATA/blazehttp-dev" -name '*.white' | sort > "$WORK/white.list"
xargs -a "$WORK/black.list" "$LOOKOUT_BIN" scan requests --threads "$THREADS" > "$WORK/black.out" 2>/dev/null
"$LOOKOUT_BIN" scan requests --threads "$THREADS" "$DATA/blazehttp-dev" 2>/dev/null | grep '\.white"' > "$WORK/white.out"
peer_json="{}"
[ -n "$PEER" ] && peer_json=$($PEER accuracy "$DATA")
peer() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); k=sys.argv[2]; print(f\"{100*d[k]['flagged']/d[k]['inputs']:.2f} % ({d[k]['flagged']}/{d[k]['inputs']})\" if k in d else '-')" "$peer_json" "$1"; }
printf '%-36s %-24s %-24s\n' "part" "lookout-inject" "libinjection"
printf '%-36s %-24s %-24s\n' "sqli-* lists, detected" "$(rate "$(count_attacks "$WORK/sqli.out")" "$(wc -l < "$WORK/sqli.txt")")" "$(peer 'libinjection sqli')"
printf '%-36s %-24s %-24s\n' "xss-* lists, detected" "$(rate "$(count_attacks "$WORK/xss.out")" "$(wc -l < "$WORK/xss.txt")")" "$(peer 'libinjection xss')"
printf '%-36s %-24s %-24s\n' "false_positives.txt, flagged" "$(rate "$(count_attacks "$WORK/fp.out")" "$(wc -l < "$WORK/fp.txt")")" "$(peer 'libinjection false_positives')"
printf '%-36s %-24s %-24s\n' "blazehttp .black, detected" "$(rate "$(count_attacks "$WORK/black.out")" "$(wc -l < "$WORK/black.list")")" "$(peer 'blazehttp black')"
printf '%-36s %-24s %-24s\n' "blazehttp .white, flagged" "$(rate "$(count_attacks "$WORK/white.out")" "$(wc -l < "$WORK/white.list")")" "$(peer 'blazehttp white')"

echo "== throughput ($INPUTS inputs, $THREADS threads/processes, median of $RUNS)"
# The inputs: every list line and every blazehttp request target, repeated.
{ cat "$WORK/sqli.txt" "$WORK/xss.txt" "$WORK/fp.txt"
  xargs -a "$WORK/white.list" -d '\n' head -qn1 | awk '{print $2}'
  xargs -a "$WORK/black.list" -d '\n' head -qn1 | awk '{print $2}'; } | grep -av '^$' > "$WORK/unit.txt"
: > "$WORK/big.txt"
while [ "$(wc -l < "$WORK/big.txt")" -lt "$INPUTS" ]; do cat "$WORK/unit.txt" >> "$WORK/big.txt"; done
head -n "$INPUTS" "$WORK/big.txt" > "$WORK/input.txt"
# Wall-clock rate and CPU-time rate (inputs per CPU-second, times the cores used): the
# machine is shared, and the CPU rate is what the detector would do on idle cores.
measure() { python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
wall = time.monotonic() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, r.ru_utime + r.ru_stime)
PY
}
ours=(); ours_cpu=(); theirs=(); theirs_cpu=()
for _ in $(seq 1 "$RUNS"); do
    read -r wall cpu < <(measure "$LOOKOUT_BIN" scan requests --lines --threads "$THREADS" "$WORK/input.txt")
    ours+=("$(python3 -c "print($INPUTS / $wall)")"); ours_cpu+=("$(python3 -c "print($INPUTS / $cpu * $THREADS)")")
    if [ -n "$PEER" ]; then
        read -r wall cpu < <($PEER throughput "$WORK/input.txt" "$THREADS" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["seconds"], d["cpu_seconds"])')
        theirs+=("$(python3 -c "print($INPUTS / $wall)")"); theirs_cpu+=("$(python3 -c "print($INPUTS / $cpu * $THREADS)")")
    fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
m_ours=$(median "${ours[@]}"); c_ours=$(median "${ours_cpu[@]}")
printf 'lookout scan requests --lines: %.0f inputs/s wall, %.0f inputs/s on %s idle cores (CPU time)\n' "$m_ours" "$c_ours" "$THREADS"
if [ -n "$PEER" ]; then
    m_theirs=$(median "${theirs[@]}"); c_theirs=$(median "${theirs_cpu[@]}")
    printf 'libinjection (python, %s processes): %.0f inputs/s wall, %.0f inputs/s on %s idle cores (CPU time)\n' "$THREADS" "$m_theirs" "$c_theirs" "$THREADS"
    python3 -c "print(f'ratio lookout/libinjection: {$m_ours/$m_theirs:.2f} wall, {$c_ours/$c_theirs:.2f} CPU time')"
fi
uptime
