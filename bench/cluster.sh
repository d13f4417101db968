#!/usr/bin/env bash
# Cluster-mode ingestion cost: the same remote-write load against a single `lookout
# serve` and against one cluster node (`[cluster]`, holding all 16 partitions, so it
# both publishes to JetStream and scores what it consumes) over three clustered
# nats-server processes (JetStream, R=3) on the same machine. Prints, per setup, the
# acknowledged samples/s and request latency (ingest_load), and for the cluster node
# the samples scored per second end to end (scored samples / (load time + the time the
# consumers needed to catch up after the load ended)).
#
# Usage: bench/cluster.sh [SECONDS] [SERIES] [BATCH] [CONCURRENCY]
# Environment: RUNS=N (medians of N interleaved rounds, default 1), LOOKOUT_BIN,
# LOAD_BIN (else built in release). Needs nats-server (tests/peers/install-cluster.sh).
set -euo pipefail

SECONDS_OF_LOAD=${1:-20}
SERIES=${2:-20000}
BATCH=${3:-2000}
CONCURRENCY=${4:-4}
RUNS=${RUNS:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
metric() { curl -fsS "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }

cd "$ROOT"
if [ -z "${LOOKOUT_BIN:-}" ] || [ -z "${LOAD_BIN:-}" ]; then
    cargo build --release -q -p lookout --bin lookout --example ingest_load
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOOKOUT=${LOOKOUT_BIN:-"$TARGET/release/lookout"}
LOAD=${LOAD_BIN:-"$TARGET/release/examples/ingest_load"}
NATS=$(command -v nats-server) || { echo "nats-server missing: run tests/peers/install-cluster.sh" >&2; exit 1; }

start_nats() {
    local client=() routes=() i j others
    for i in 0 1 2; do client+=("$(free_port)"); routes+=("$(free_port)"); done
    NATS_URLS=""
    for i in 0 1 2; do
        others=""
        for j in 0 1 2; do [ "$j" != "$i" ] && others+="nats://127.0.0.1:${routes[$j]},"; done
        mkdir -p "$WORK/nats-$i"
        "$NATS" -a 127.0.0.1 -p "${client[$i]}" -js -sd "$WORK/nats-$i" -n "n$i" --cluster_name bench \
            --cluster "nats://127.0.0.1:${routes[$i]}" --routes "${others%,}" >"$WORK/nats-$i.log" 2>&1 &
        PIDS+=("$!")
        NATS_URLS+="\"nats://127.0.0.1:${client[$i]}\", "
    done
    NATS_URLS="[${NATS_URLS%, }]"
}

# run NAME CLUSTER(0|1) OUT
run() {
    local name=$1 cluster=$2 out=$3 port pid result base acked scored began waited stream
    port=$(free_port)
    base="http://127.0.0.1:$port"
    rm -rf "$WORK/data"
    printf '[server]\nmax_series = %s\n' "$((SERIES * 2))" >"$WORK/$name.toml"
    if [ "$cluster" = 1 ]; then
        stream="bench$RANDOM"
        printf '[cluster]\nnode_id = "bench"\nnats = %s\nstream = "%s"\n' "$NATS_URLS" "$stream" >>"$WORK/$name.toml"
    fi
    "$LOOKOUT" serve --config "$WORK/$name.toml" --listen "127.0.0.1:$port" --data-dir "$WORK/data" 2>"$WORK/$name.log" &
    pid=$!
    PIDS+=("$pid")
    wait_http "$base/readyz"
    if [ "$cluster" = 1 ]; then
        for _ in $(seq 1 100); do
            [ "$(curl -fsS "$base/api/v1/cluster" | python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin)["partitions"] if p["owner"]))')" = 16 ] && break
            sleep 0.2
        done
    fi
    result=$("$LOAD" --url "$base/api/v1/write" --series "$SERIES" --batch "$BATCH" --concurrency "$CONCURRENCY" --duration "$SECONDS_OF_LOAD")
    began=$(date +%s.%N)
    acked=$(metric "$base" 'lookout_ingest_samples_total{protocol="remote_write"}')
    scored=$acked
    if [ "$cluster" = 1 ]; then
        for _ in $(seq 1 1200); do
            scored=$(metric "$base" 'lookout_ingest_samples_total{protocol="cluster"}')
            [ "${scored:-0}" = "$acked" ] && break
            sleep 0.1
        done
    fi
    waited=$(python3 -c "import time; print(round(time.time() - $began, 2))")
    kill -TERM "$pid"
    wait "$pid" || true
    echo "${result%\}},\"acked\":${acked:-0},\"scored\":${scored:-0},\"catch_up_s\":$waited}" >>"$out"
    echo "  $name: $(tail -n 1 "$out")"
}

start_nats
sleep 2
echo "load: $SERIES series, $BATCH samples per request, $CONCURRENCY connections, ${SECONDS_OF_LOAD}s, $(nproc) cores, $RUNS run(s); NATS: 3 servers, R=3"
for round in $(seq 1 "$RUNS"); do
    echo "round $round:"
    run single 0 "$WORK/single.jsonl"
    run cluster 1 "$WORK/cluster.jsonl"
done

python3 - "$WORK" <<'PY'
import json, os, statistics, sys
work = sys.argv[1]
rows = {n: [json.loads(l) for l in open(os.path.join(work, n + ".jsonl")) if l.strip()] for n in ("single", "cluster")}
med = lambda n, f: statistics.median(r[f] for r in rows[n])
scored_rate = lambda r: r["scored"] / (r["seconds"] + r["catch_up_s"])
print("%-8s %14s %9s %9s %16s %10s" % ("", "acked samp/s", "p50 ms", "p99 ms", "scored samp/s", "catch-up s"))
for n in rows:
    print("%-8s %14.0f %9.1f %9.1f %16.0f %10.1f" % (n, med(n, "samples_per_second"), med(n, "latency_ms_p50"),
          med(n, "latency_ms_p99"), statistics.median(scored_rate(r) for r in rows[n]), med(n, "catch_up_s")))
ratio = statistics.median(scored_rate(c) / scored_rate(s) for s, c in zip(rows["single"], rows["cluster"]))
print("cluster node / single node, scored samples/s (median of rounds): %.2f" % ratio)
PY
