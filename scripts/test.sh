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
# A short run of every fuzz target (fuzz/README.md): a crash fails the tests. It needs
# the nightly toolchain, which rustup fetches from outside the package registries: where
# it is missing the run is skipped, loudly.
echo "== fuzz (${FUZZ_SECONDS:-20} s per target)"
if cargo +nightly --version >/dev/null 2>&1; then
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
else
    echo "FUZZ SKIPPED: no nightly toolchain (rustup toolchain install nightly), the fuzz targets were not run" >&2
fi
