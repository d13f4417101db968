#!/usr/bin/env bash
# Installs, idempotently, a pinned requirements file into the shared peers virtual
# environment ($LOOKOUT_PEERS_VENV, default ~/.cache/lookout/peers-venv), which the tests
# find through the same variable. Usage: pip-requirements.sh REQUIREMENTS_FILE
set -euo pipefail
requirements="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
venv="${LOOKOUT_PEERS_VENV:-$HOME/.cache/lookout/peers-venv}"
mkdir -p "$(dirname "$venv")"
# Several installers share the venv: serialise them.
exec 9>"$(dirname "$venv")/.peers-venv.lock"
flock 9
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if REQUIREMENTS="$requirements" "$venv/bin/python" - <<'PY' 2>/dev/null
import os, sys
from importlib.metadata import version
wanted = {}
for line in open(os.environ["REQUIREMENTS"]):
    line = line.split("#", 1)[0].strip()
    if line:
        name, pinned = line.split("==")
        wanted[name.split("[")[0]] = pinned
sys.exit(0 if all(version(n) == v for n, v in wanted.items()) else 1)
PY
then
    echo "$(basename "$requirements"): already installed in $venv"
    exit 0
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$(basename "$requirements"): installed in $venv"
