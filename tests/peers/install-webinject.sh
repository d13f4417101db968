#!/usr/bin/env bash
# Installs (idempotently) the web-injection peers: sqlmap (Debian package `sqlmap`), which
# crates/lookout/tests/e2e_webinject.rs runs in a bounded scan against a small application
# behind nginx on loopback, and nginx itself (also installed by install-accesslog.sh).
# The small application is python3's standard library (Debian `python3`).
set -euo pipefail

missing=()
for program in sqlmap:sqlmap nginx:nginx python3:python3; do
    name=${program%%:*}
    package=${program##*:}
    if ! command -v "$name" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$name" ] && [ ! -x "/usr/bin/$name" ]; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "web-injection peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
