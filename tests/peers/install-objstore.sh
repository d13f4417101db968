#!/usr/bin/env bash
# Installs (idempotently) moto's server mode (`moto_server`) into the shared peers virtual
# environment ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv). The object
# store's S3 tests (crates/lookout-objstore/tests/s3_moto.rs) start it on a free loopback
# port with a versioned bucket; with CI=true a missing moto fails those tests.
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-cloudwatch.txt
