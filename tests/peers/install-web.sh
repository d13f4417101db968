#!/usr/bin/env bash
# Installs (idempotently) what the dashboard's tests need: Debian's Chromium for the
# end-to-end tests (driven by playwright-core; Playwright's own browser download is never
# used), Node.js/npm when missing, and the npm packages of web/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "chromium and npm already installed"
fi

# npm ci only when node_modules is older than the lock file (or missing).
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    (cd web && npm ci --no-audit --no-fund)
else
    echo "web/node_modules up to date"
fi
