#!/usr/bin/env bash
# Installs (idempotently) the access-log peers: nginx (`nginx`, the end-to-end tests
# crates/lookout/tests/e2e_accesslog.rs and e2e_accesslog_incidents.rs serve on loopback),
# curl, wrk and ApacheBench (`wrk`, `apache2-utils`: the traffic and the incidents of
# e2e_accesslog_incidents.rs), logrotate (`logrotate`: the rotations under traffic) and
# GoAccess (`goaccess`, run side by side with `lookout logs derive` by bench/accesslog.sh).
set -euo pipefail

# program:package
peers=(nginx:nginx curl:curl wrk:wrk ab:apache2-utils logrotate:logrotate goaccess:goaccess)
missing=()
for peer in "${peers[@]}"; do
    program="${peer%%:*}"
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ] && [ ! -x "/usr/bin/$program" ]; then
        missing+=("${peer#*:}")
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
