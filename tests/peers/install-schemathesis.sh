#!/usr/bin/env bash
# Installs (idempotently) schemathesis (PyPI), the OpenAPI conformance tester that
# crates/lookout/tests/e2e_schemathesis.rs runs against `lookout serve`, into the shared
# peers virtual environment ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv).
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-schemathesis.txt
