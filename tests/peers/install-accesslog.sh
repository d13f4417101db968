#!/usr/bin/env bash
# Installs (idempotently) the access-log peers: nginx (`nginx`, the end-to-end test
# crates/lookout/tests/e2e_accesslog.rs serves on loopback) and GoAccess (`goaccess`, run
# side by side with `lookout logs derive` by bench/accesslog.sh).
set -euo pipefail

missing=()
for program in nginx goaccess; do
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ] && [ ! -x "/usr/bin/$program" ]; then
        missing+=("$program")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "access-log peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
