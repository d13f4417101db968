#!/usr/bin/env bash
# Installs (idempotently) moto's server mode (`moto_server`) and boto3 into the shared peers
# virtual environment ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv). The
# cloudwatch source's tests start `moto_server` on a free loopback port and create EC2
# instances and CloudWatch data there; with CI=true a missing moto fails those tests.
set -euo pipefail
cd "$(dirname "$0")"
venv="${LOOKOUT_PEERS_VENV:-$HOME/.cache/lookout/peers-venv}"
mkdir -p "$(dirname "$venv")"
# Several installers share the venv: serialise them.
exec 9>"$(dirname "$venv")/.peers-venv.lock"
flock 9
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if "$venv/bin/python" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
wanted = {}
for line in open("requirements-cloudwatch.txt"):
    line = line.split("#", 1)[0].strip()
    if line:
        name, pinned = line.split("==")
        wanted[name.split("[")[0]] = pinned
sys.exit(0 if all(version(n) == v for n, v in wanted.items()) else 1)
PY
then
    if [ -x "$venv/bin/moto_server" ]; then
        echo "moto already installed in $venv"
        exit 0
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-cloudwatch.txt
echo "moto installed in $venv"
