#!/usr/bin/env bash
# Installs (idempotently) drain3 (PyPI), the Drain log parser bench/logpatterns.sh runs
# beside `lookout logs patterns`, into the shared peers virtual environment
# ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv).
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-logpattern.txt
