#!/usr/bin/env bash
# Runs every test of lookout. Installs, idempotently, what the tests need: the real
# peers the end-to-end tests start on loopback (Debian packages, PyPI packages in a
# virtual environment, npm packages from the lock file). Each `tests/peers/install*.sh`
# installs one group. With CI=true, a test whose peer is missing fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

for installer in tests/peers/install*.sh; do
    echo "== $installer"
    bash "$installer"
done

# Tests find the PyPI peers (moto, aiosmtpd, ...) here; see tests/peers/install-python.sh.
export LOOKOUT_PEERS_VENV="${LOOKOUT_PEERS_VENV:-$HOME/.cache/lookout/peers-venv}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
if [ -f web/package.json ]; then
    echo "== web tests"
    (cd web && npm test)
fi
