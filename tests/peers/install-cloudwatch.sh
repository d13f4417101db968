#!/usr/bin/env bash
# Installs (idempotently) moto's server mode (`moto_server`) and boto3 into the shared peers
# virtual environment ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv). The
# cloudwatch source's tests start `moto_server` on a free loopback port and create EC2
# instances and CloudWatch data there; with CI=true a missing moto fails those tests.
set -euo pipefail
cd "$(dirname "$0")"
bash pip-requirements.sh requirements-cloudwatch.txt
