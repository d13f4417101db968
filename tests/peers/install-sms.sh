#!/usr/bin/env bash
# Installs (idempotently) the peers of the SMS notifier tests:
# - Node.js/npm (Debian) when missing, and Stoplight Prism (`@stoplight/prism-cli`, pinned
#   with its dependencies in tests/peers/sms/package-lock.json) into the peers npm
#   directory ($LOOKOUT_PEERS_NPM, default ~/.cache/lookout/peers-npm), outside the
#   repository. Prism serves a mock of Twilio's API from Twilio's OpenAPI document
#   (../shared/specs/twilio_api_v2010.json, read by the tests, never copied here);
# - moto's server mode (SNS Publish to phone numbers) in the peers venv
#   (tests/peers/requirements-alerting.txt).
# With CI=true a missing peer fails those tests; otherwise they skip with a message.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends nodejs npm
else
    echo "npm already installed"
fi

target="${LOOKOUT_PEERS_NPM:-$HOME/.cache/lookout/peers-npm}"
mkdir -p "$target"
# npm ci only when the installed tree is older than the lock file (or missing).
if [ ! -f "$target/node_modules/.package-lock.json" ] || ! cmp -s sms/package-lock.json "$target/package-lock.json"; then
    cp sms/package.json sms/package-lock.json "$target/"
    (cd "$target" && npm ci --no-audit --no-fund --ignore-scripts)
else
    echo "$target/node_modules up to date"
fi
"$target/node_modules/.bin/prism" --version

bash pip-requirements.sh requirements-alerting.txt
