#!/usr/bin/env bash
# Installs (idempotently) the peer of the access-log benchmark (bench/accesslog.sh):
# GoAccess (`goaccess`), run side by side with `lookout logs derive` on the same file.
set -euo pipefail

if command -v goaccess >/dev/null 2>&1 || [ -x /usr/bin/goaccess ]; then
    echo "access-log peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends goaccess
