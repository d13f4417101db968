#!/usr/bin/env bash
# Installs (idempotently) the receivers the alerting tests deliver to:
# - Debian `prometheus-alertmanager` (the Alertmanager notifier's test);
# - into the shared peers virtual environment ($LOOKOUT_PEERS_VENV, default
#   ~/.cache/lookout/peers-venv): moto's server mode (SNS) and aiosmtpd (SMTP).
# With CI=true a missing receiver fails those tests; otherwise they skip with a message.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v prometheus-alertmanager >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus-alertmanager ]; then
    if command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=900 update -qq
        # The package's service is never started by the tests; they run the binary themselves.
        apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
        if command -v systemctl >/dev/null 2>&1; then
            systemctl stop prometheus-alertmanager >/dev/null 2>&1 || true
        fi
    else
        echo "install-alerting: apt-get not available; prometheus-alertmanager not installed" >&2
    fi
else
    echo "prometheus-alertmanager already installed"
fi

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
for line in open("requirements-alerting.txt"):
    line = line.split("#", 1)[0].strip()
    if line:
        name, pinned = line.split("==")
        wanted[name.split("[")[0]] = pinned
sys.exit(0 if all(version(n) == v for n, v in wanted.items()) else 1)
PY
then
    if [ -x "$venv/bin/moto_server" ]; then
        echo "alerting peers already installed in $venv"
        exit 0
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-alerting.txt
echo "alerting peers installed in $venv"
