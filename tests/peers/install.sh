#!/usr/bin/env bash
# Installs (idempotently) the real peers the end-to-end tests start on loopback:
# Prometheus and promtool (`prometheus`), node_exporter (`prometheus-node-exporter`), and
# VictoriaMetrics (`victoria-metrics`, for bench/ingest.sh). The tests find them on PATH
# or in /usr/bin; with CI=true a missing peer fails its test, naming the package.
set -euo pipefail

missing=()
for pair in prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter \
            victoria-metrics:victoria-metrics; do
    program=${pair%%:*}
    package=${pair##*:}
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/bin/$program" ]; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
# The packages ship systemd units; the tests start their own instances on free ports.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
