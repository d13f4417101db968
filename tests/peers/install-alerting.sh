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

bash pip-requirements.sh requirements-alerting.txt
