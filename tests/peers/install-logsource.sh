#!/usr/bin/env bash
# Installs (idempotently) the log-source peer: util-linux's `logger` (Debian package
# `bsdutils`, essential on Debian, so normally present), which the end-to-end test
# crates/lookout/tests/e2e_log_source.rs runs to send syslog over UDP (RFC 3164) and
# TCP (RFC 5424) to the `log` source on loopback.
set -euo pipefail

if command -v logger >/dev/null 2>&1 || [ -x /usr/bin/logger ]; then
    echo "log-source peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends bsdutils
