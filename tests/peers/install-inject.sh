#!/usr/bin/env bash
# Installs (idempotently) libinjection (PyPI `libinjection-python`, its C code behind a
# Python wrapper) into the shared peers virtual environment ($LOOKOUT_PEERS_VENV, default
# ~/.cache/lookout/peers-venv): the peer bench/inject.sh measures lookout-inject against.
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-inject.txt
