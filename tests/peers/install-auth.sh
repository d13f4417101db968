#!/usr/bin/env bash
# Installs (idempotently) the peers of the auth-log tests: fail2ban (`fail2ban-regex`
# and its annotated sshd test logs are the parser's oracle), openssh-server (a real sshd
# on loopback for the auth_log source's end-to-end test) and sshpass (password logins
# from the test). The tests find them on PATH or in /usr/bin (/usr/sbin for sshd); with
# CI=true a missing peer fails its test, naming the package.
set -euo pipefail

missing=()
command -v fail2ban-regex >/dev/null 2>&1 || [ -x /usr/bin/fail2ban-regex ] || missing+=(fail2ban)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v sshpass >/dev/null 2>&1 || [ -x /usr/bin/sshpass ] || missing+=(sshpass)
if [ ${#missing[@]} -eq 0 ]; then
    echo "auth peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
# The packages ship systemd units; the tests start their own sshd on a free port.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
