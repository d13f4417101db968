#!/usr/bin/env bash
# Installs (idempotently) the peers of the shape-anomaly benchmark (bench/shape/):
# stumpy into the shared peers virtual environment.
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-shape.txt
